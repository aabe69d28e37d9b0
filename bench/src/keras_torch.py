"""A Keras functional graph (as exported by bench/src/keras-export.ts) run in PyTorch on the same weights.

Each layer is interpreted with torch ops in NCHW, with TensorFlow's padding rules ('same' pads the extra
row/column at the bottom/right), so that a TF.js model and its torch twin compute the same numbers. ReLU-like
units go through `relu_fn`, so that a caller can swap their backward pass (guided backprop, deconvnet).
Supported: InputLayer, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Activation, ZeroPadding2D, Add,
Concatenate, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dense, Dropout.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F


def load_graph(folder):
    """Reads graph.json + weights.bin from `folder`: (layers, {layer name: [torch tensors]})."""
    with open(os.path.join(folder, "graph.json")) as f:
        graph = json.load(f)
    blob = np.fromfile(os.path.join(folder, "weights.bin"), dtype=np.float32)
    weights = {}
    for layer in graph["layers"]:
        ws = []
        for w in layer["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            ws.append(torch.from_numpy(blob[w["offset"] : w["offset"] + n].reshape(w["shape"]).copy()))
        weights[layer["name"]] = ws
    return graph, weights


def _same_pad(size, k, s, d=1):
    k_eff = (k - 1) * d + 1
    out = math.ceil(size / s)
    total = max((out - 1) * s + k_eff - size, 0)
    return total // 2, total - total // 2


def _pad_for(x, cfg, kernel):
    if cfg.get("padding", "valid") != "same":
        return x
    s = cfg.get("strides", [1, 1])
    d = cfg.get("dilation_rate", [1, 1])
    top, bottom = _same_pad(x.shape[2], kernel[0], s[0], d[0])
    left, right = _same_pad(x.shape[3], kernel[1], s[1], d[1])
    return F.pad(x, (left, right, top, bottom))


def _activation(name, x, relu_fn):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return relu_fn(x, None)
    if name == "softmax":
        return torch.softmax(x, dim=1)
    raise ValueError(f"activation {name} not supported")


def run(graph, weights, x, taps, relu_fn=None):
    """Runs the graph on `x` (NCHW) and returns {tap: activation (NCHW)}; stops after the last tap."""
    relu_fn = relu_fn or (lambda t, max_value: t.clamp(0, max_value) if max_value is not None else F.relu(t))
    out = {}
    need = set(taps)
    for layer in graph["layers"]:
        cls, cfg, name = layer["className"], layer["config"], layer["name"]
        ins = [out[i] for i in layer["inputs"]]
        w = weights[name]
        if cls == "InputLayer":
            y = x
        elif cls == "Conv2D":
            k = w[0].permute(3, 2, 0, 1)  # HWIO -> OIHW
            h = _pad_for(ins[0], cfg, k.shape[2:])
            y = F.conv2d(h, k, w[1] if cfg.get("use_bias") else None, cfg["strides"], 0, cfg.get("dilation_rate", [1, 1]))
            y = _activation(cfg.get("activation"), y, relu_fn)
        elif cls == "DepthwiseConv2D":
            c = ins[0].shape[1]
            k = w[0].permute(2, 3, 0, 1).reshape(-1, 1, w[0].shape[0], w[0].shape[1])  # HWCM -> (C*M)1HW
            h = _pad_for(ins[0], cfg, k.shape[2:])
            y = F.conv2d(h, k, w[1] if cfg.get("use_bias") else None, cfg["strides"], 0, cfg.get("dilation_rate", [1, 1]), groups=c)
            y = _activation(cfg.get("activation"), y, relu_fn)
        elif cls == "BatchNormalization":
            i = 0
            gamma = w[i] if cfg.get("scale", True) else None
            i += 1 if cfg.get("scale", True) else 0
            beta = w[i] if cfg.get("center", True) else None
            i += 1 if cfg.get("center", True) else 0
            mean, var = w[i], w[i + 1]
            y = F.batch_norm(ins[0], mean, var, gamma, beta, False, 0.0, cfg["epsilon"])
        elif cls == "ReLU":
            y = relu_fn(ins[0], cfg.get("max_value"))
        elif cls == "Activation":
            y = _activation(cfg["activation"], ins[0], relu_fn)
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            y = F.pad(ins[0], (l, r, t, b))
        elif cls == "Add":
            y = ins[0]
            for t in ins[1:]:
                y = y + t
        elif cls == "Concatenate":
            y = torch.cat(ins, dim=1)
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            pool = cfg["pool_size"]
            h = ins[0]
            if cfg.get("padding") == "same":
                top, bottom = _same_pad(h.shape[2], pool[0], cfg["strides"][0])
                left, right = _same_pad(h.shape[3], pool[1], cfg["strides"][1])
                if cls == "MaxPooling2D":
                    h = F.pad(h, (left, right, top, bottom), value=-math.inf)
                    y = F.max_pool2d(h, pool, cfg["strides"])
                else:  # TF averages over the valid cells only
                    y = F.avg_pool2d(F.pad(h, (left, right, top, bottom)), pool, cfg["strides"])
                    ones = F.pad(torch.ones_like(ins[0][:1, :1]), (left, right, top, bottom))
                    y = y / F.avg_pool2d(ones, pool, cfg["strides"])
            else:
                fn = F.max_pool2d if cls == "MaxPooling2D" else F.avg_pool2d
                y = fn(h, pool, cfg["strides"])
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(dim=(2, 3))
        elif cls == "Flatten":
            y = ins[0].permute(0, 2, 3, 1).flatten(1) if ins[0].dim() == 4 else ins[0].flatten(1)
        elif cls == "Dense":
            y = _activation(cfg.get("activation"), ins[0] @ w[0] + (w[1] if cfg.get("use_bias", True) else 0), relu_fn)
        elif cls == "Dropout":
            y = ins[0]
        else:
            raise ValueError(f"layer class {cls} ({name}) not supported")
        out[name] = y
        need.discard(name)
        if not need:
            break
    return {t: out[t] for t in taps}


class GuidedReLU(torch.autograd.Function):
    """Guided backprop (Springenberg et al. 2015): dx = (dy > 0) * (0 < x <= cap) * dy."""

    @staticmethod
    def forward(ctx, x, cap):
        ctx.save_for_backward(x)
        ctx.cap = cap
        return x.clamp(0, cap) if cap is not None else x.clamp(min=0)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        mask = x > 0
        if ctx.cap is not None:
            mask = mask & (x <= ctx.cap)
        return dy.clamp(min=0) * mask, None


class DeconvReLU(torch.autograd.Function):
    """Deconvnet (Zeiler & Fergus 2014): dx = (dy > 0) * dy, whatever the unit did going forward (a ReLU6's
    cap included)."""

    @staticmethod
    def forward(ctx, x, cap):
        return x.clamp(0, cap) if cap is not None else x.clamp(min=0)

    @staticmethod
    def backward(ctx, dy):
        return dy.clamp(min=0), None


RULES = {
    "plain": None,
    "guided": lambda t, cap: GuidedReLU.apply(t, cap),
    "deconvnet": lambda t, cap: DeconvReLU.apply(t, cap),
}
