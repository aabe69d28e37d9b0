"""Trains a fast style network (Johnson et al. 2016) in PyTorch on CPU, with exactly `trainStyleNetwork`'s network and
loss, and writes it where bench/src/style-network-from-torch.ts turns it into a cnnviz style network.

Why PyTorch: it trains this network on 2 CPU cores about 20x faster per crop pixel than TF.js on WASM, so the same
2-hour budget buys Johnson et al.'s widths and ~10,000 crops of 192 px. What must not differ does not:
  - the network is `buildStyleNetwork`'s (reflection padding, conv with bias, instance norm with eps 1e-5 and the
    biased variance, ReLU, residual blocks, nearest-neighbour upsampling then conv, 9x9 conv to RGB, sigmoid), with
    its layer names, so the weights load into it unchanged;
  - the loss network is the zoo MobileNetV2 run by keras_torch.py on the exported weights; the losses are
    losses/style.ts's (relative Gram distance with Grams divided by H*W, relative feature distance, mean squared
    neighbour differences), and trainStyleNetwork's logit penalty and colour term (--palette: colorTarget 'palette');
  - before training, the content, style and TV losses of prep's parity images must equal cnnviz's to 1e-4 relative.

    python3 bench/src/train-style-network-torch.py --prep /tmp/style-torch --photos /tmp/photos/train \
        --style starry_night --out /tmp/starry-torch [--minutes 50] [--width 32] [--blocks 5] [--size 192] \
        [--batch 4] [--min-crop 0.5] [--style-weight 100] [--tv-weight 10] [--lr 1e-3] [--lr-final 5e-5] [--threads 2]
        [--init DIR] [--color-weight 2 --palette packages/models/assets/images/starry_night.jpg] [--bf16]

Writes DIR/graph.json + weights.bin (keras-export's format: layers with names and weight shapes in TF.js's layout)
and DIR/log.json, every --save-every seconds and at the end (a temporary file, then renamed).
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_torch  # noqa: E402


class InstanceNorm(nn.Module):
    """CnnvizInstanceNormalization: per image and channel over H, W; biased variance; eps inside the rsqrt."""

    def __init__(self, c):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(c))
        self.beta = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return F.instance_norm(x, weight=self.gamma, bias=self.beta, eps=1e-5)  # one fused pass, same formula


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, k, stride, relu, names):
        super().__init__()
        self.pad = k // 2
        self.conv = nn.Conv2d(cin, cout, k, stride)
        nn.init.xavier_uniform_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.norm = InstanceNorm(cout)
        self.relu = relu
        self.names = names  # (conv layer name, norm layer name), as buildStyleNetwork names them

    def forward(self, x):
        y = self.norm(self.conv(F.pad(x, (self.pad,) * 4, mode="reflect")))
        return F.relu(y) if self.relu else y


class StyleNet(nn.Module):
    """buildStyleNetwork(width, residualBlocks), NCHW; `logits` returns the pre-sigmoid output."""

    def __init__(self, width, blocks):
        super().__init__()
        self.width, self.blocks = width, blocks
        n = [0]

        def name(kind):
            s = f"{kind}_{n[0]}"
            n[0] += 1
            return s

        def block(cin, cout, k, stride, relu=True):
            name("pad")
            conv, norm = name("conv"), name("norm")
            if relu:
                name("relu")
            return ConvBlock(cin, cout, k, stride, relu, (conv, norm))

        w = width
        self.down = nn.ModuleList([block(3, w, 9, 1), block(w, 2 * w, 3, 2), block(2 * w, 4 * w, 3, 2)])
        self.res = nn.ModuleList()
        for _ in range(blocks):
            self.res.append(nn.ModuleList([block(4 * w, 4 * w, 3, 1), block(4 * w, 4 * w, 3, 1, relu=False)]))
            name("residual")
        self.up = nn.ModuleList()
        for cin, cout in ((4 * w, 2 * w), (2 * w, w)):
            name("up")
            self.up.append(block(cin, cout, 3, 1))
        name("pad")
        self.out_name = name("conv")
        self.out = nn.Conv2d(w, 3, 9)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def logits(self, x):
        for b in self.down:
            x = b(x)
        for a, b in self.res:
            x = x + b(a(x))
        for b in self.up:
            x = b(F.interpolate(x, scale_factor=2, mode="nearest"))
        return self.out(F.pad(x, (4,) * 4, mode="reflect"))

    def convs(self):
        """(name, conv) and (name, norm) pairs in layer order, with buildStyleNetwork's names."""
        blocks = list(self.down) + [b for pair in self.res for b in pair] + list(self.up)
        for b in blocks:
            yield b.names[0], b.conv
            yield b.names[1], b.norm
        yield self.out_name, self.out

    def save(self, folder, probe):
        """keras-export's format: graph.json (names, weight shapes, offsets) + weights.bin, TF.js layouts; and the
        network's output on `probe` [1,3,H,W] as probe.bin (HWC float32), for the converter to compare with TF.js's."""
        os.makedirs(folder, exist_ok=True)
        layers, chunks, offset = [], [], 0
        for name, m in self.convs():
            if isinstance(m, nn.Conv2d):
                ws = [m.weight.detach().permute(2, 3, 1, 0), m.bias.detach()]  # OIHW -> HWIO
            else:
                ws = [m.gamma.detach(), m.beta.detach()]
            entry = {"name": name, "weights": []}
            for t in ws:
                a = t.contiguous().numpy().astype(np.float32).ravel()
                entry["weights"].append({"shape": list(t.shape), "offset": offset})
                chunks.append(a)
                offset += a.size
            layers.append(entry)
        meta = {"width": self.width, "residualBlocks": self.blocks, "layers": layers, "probe": list(probe.shape[2:]) + [3]}
        with torch.no_grad():
            y = torch.sigmoid(self.logits(probe))[0].permute(1, 2, 0).contiguous().numpy()
        files = (("weights.bin", np.concatenate(chunks).tobytes()), ("probe.bin", y.tobytes()), ("graph.json", json.dumps(meta).encode()))
        for fname, data in files:
            tmp = os.path.join(folder, fname + ".tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, os.path.join(folder, fname))

    def load(self, folder):
        _, by_name = keras_torch.load_graph(folder)  # save() writes keras-export's layout, so its reader serves
        for name, m in self.convs():
            ws = by_name[name]
            with torch.no_grad():
                if isinstance(m, nn.Conv2d):
                    m.weight.copy_(ws[0].permute(3, 2, 0, 1))
                    m.bias.copy_(ws[1])
                else:
                    m.gamma.copy_(ws[0])
                    m.beta.copy_(ws[1])


def gram(a):
    n, c, h, w = a.shape
    f = a.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def style_loss(acts, targets):
    """losses/style.ts styleLoss, equal layer weights: per image sum_l w_l ||G - A||^2 / ||A||^2."""
    total = 0
    for a, t in zip(acts, targets):
        total = total + (gram(a) - t).square().sum(dim=(1, 2)) / (t.square().sum() + 1e-12)
    return total / len(acts)


def content_loss(a, target):
    n = a.shape[0]
    return (a - target).reshape(n, -1).square().sum(1) / (target.reshape(n, -1).square().sum(1) + 1e-12)


def tv_loss(y):
    return (y[:, :, 1:] - y[:, :, :-1]).square().mean(dim=(1, 2, 3)) + (y[:, :, :, 1:] - y[:, :, :, :-1]).square().mean(dim=(1, 2, 3))


def color_loss(y, x, cell):
    """trainStyleNetwork's colour term (TF's 'same' average pooling counts only the cells inside)."""
    pool = lambda t: F.avg_pool2d(t, cell, cell, ceil_mode=True, count_include_pad=False)  # noqa: E731
    return (pool(y) - pool(x)).square().mean(dim=(1, 2, 3))


def color_stats(x):
    """Per image RGB mean [N,3] and covariance [N,3,3] (color-transfer.ts colorStats)."""
    flat = x.flatten(2).transpose(1, 2)  # [N, HW, 3]
    mean = flat.mean(1, keepdim=True)
    centred = flat - mean
    return mean, centred.transpose(1, 2) @ centred / flat.shape[1]


def sqrtm(c, inverse=False):
    """Square root (or its inverse) of symmetric PSD [N,3,3], regularised like color-transfer.ts (trace * 1e-3 / 3)."""
    eye = torch.eye(3).expand_as(c)
    trace = c.diagonal(dim1=1, dim2=2).sum(-1)[:, None, None]
    vals, vecs = torch.linalg.eigh(c + eye * (trace * 1e-3 / 3 + 1e-12))
    vals = vals.clamp_min(1e-12).sqrt()
    vals = 1 / vals if inverse else vals
    return vecs @ torch.diag_embed(vals) @ vecs.transpose(1, 2)


def match_colors(x, target_mean, target_sqrt):
    """color-transfer.ts matchColors: each image's colours linearly mapped to the target's mean and covariance."""
    mean, cov = color_stats(x)
    n, _, h, w = x.shape
    flat = x.flatten(2).transpose(1, 2) - mean
    out = flat @ (sqrtm(cov, inverse=True) @ target_sqrt) + target_mean
    return out.transpose(1, 2).reshape(n, 3, h, w).clamp(0, 1)


def load_photo(path):
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()


def random_crop(img, size, rng, min_crop=0.5):
    """trainStyleNetwork's crops: a square of min_crop..1 (0.5) of the short side, resized to `size`, flipped half the
    time."""
    _, h, w = img.shape
    side = max(1, round(min(h, w) * (min_crop + (1 - min_crop) * rng.random())))
    top, left = rng.randrange(h - side + 1), rng.randrange(w - side + 1)
    crop = F.interpolate(img[None, :, top : top + side, left : left + side], size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return crop.flip(3) if rng.random() < 0.5 else crop


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--prep", required=True)
    p.add_argument("--photos", required=True)
    p.add_argument("--style", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--init")
    p.add_argument("--minutes", type=float, default=50)
    p.add_argument("--steps", type=int, default=10**9)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--blocks", type=int, default=5)
    p.add_argument("--size", type=int, default=192)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--min-crop", type=float, default=0.5, help="smallest crop side, as a fraction of the short side")
    p.add_argument("--content-weight", type=float, default=1)
    p.add_argument("--style-weight", type=float, default=100)
    p.add_argument("--tv-weight", type=float, default=10)
    p.add_argument("--logit-penalty", type=float, default=1)
    p.add_argument("--logit-limit", type=float, default=4)
    p.add_argument("--color-weight", type=float, default=0)
    p.add_argument("--color-pool", type=int, default=8)
    p.add_argument("--palette", help="painting file: the colour term's target is then each crop recoloured to its palette")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-final", type=float, default=None, help="cosine decay to this learning rate over --minutes")
    p.add_argument("--bf16", action="store_true", help="run the style network in bfloat16 (autocast; weights stay float32)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-every", type=float, default=300)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    meta = json.load(open(os.path.join(args.prep, "meta.json")))
    graph, weights = keras_torch.load_graph(args.prep)
    for ws in weights.values():
        for w in ws:
            w.requires_grad_(False)
    content, style_layers = meta["content"], meta["styleLayers"]
    taps = [content] + style_layers

    def features(x):
        return keras_torch.run(graph, weights, x, taps)

    s = meta["styles"][args.style]
    blob = np.fromfile(os.path.join(args.prep, f"gram-{args.style}.bin"), dtype=np.float32)
    targets, at = [], 0
    for shape in s["grams"]:
        targets.append(torch.from_numpy(blob[at : at + shape[0] * shape[1]].reshape(shape).copy()))
        at += shape[0] * shape[1]
    with torch.no_grad():
        # Parity with cnnviz's own losses (prep computed them with TF.js on the same images and weights).
        par = torch.from_numpy(np.fromfile(os.path.join(args.prep, "parity.bin"), dtype=np.float32).reshape(2, 128, 128, 3)).permute(0, 3, 1, 2)
        fa = features(par)
        mine = {
            "contentLoss": float(content_loss(fa[content][:1], fa[content][1:])[0]),
            "tvLoss": float(tv_loss(par[:1])[0]),
            "styleLoss": float(style_loss([fa[l][:1] for l in style_layers], targets)[0]),
        }
    theirs = {"contentLoss": meta["contentLoss"], "tvLoss": meta["tvLoss"], "styleLoss": s["styleLoss"]}
    for k, v in theirs.items():
        rel = abs(mine[k] - v) / abs(v)
        print(f"parity {k}: torch {mine[k]:.6g}, cnnviz {v:.6g}, rel diff {rel:.1e}", flush=True)
        if rel > 1e-4:
            raise SystemExit(f"{k} differs from cnnviz's by {rel:.1e}: the loss is not the same")

    palette = None
    if args.palette:
        pm, pc = color_stats(load_photo(args.palette)[None])
        palette = (pm, sqrtm(pc))
    photos = [load_photo(os.path.join(args.photos, f)) for f in sorted(os.listdir(args.photos)) if f.lower().endswith((".jpg", ".jpeg", ".png"))]
    net = StyleNet(args.width, args.blocks)
    if args.init:
        net.load(args.init)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    print(f"{len(photos)} photos; width {args.width}, {args.blocks} blocks, {sum(p.numel() for p in net.parameters())} parameters; "
          f"{args.size} px x {args.batch}; weights content {args.content_weight} style {args.style_weight} tv {args.tv_weight} "
          f"colour {args.color_weight}{' (palette)' if palette else ''}; lr {args.lr}", flush=True)
    log, t0, last_save, step, skipped = [], time.time(), time.time(), 0, 0
    budget = args.minutes * 60
    while step < args.steps and time.time() - t0 < budget:
        if args.lr_final is not None:
            frac = min(1.0, (time.time() - t0) / budget)
            for g in opt.param_groups:
                g["lr"] = args.lr_final + 0.5 * (args.lr - args.lr_final) * (1 + math.cos(math.pi * frac))
        x = torch.cat([random_crop(photos[rng.randrange(len(photos))], args.size, rng, args.min_crop) for _ in range(args.batch)])
        with torch.no_grad():
            target = keras_torch.run(graph, weights, x, [content])[content]  # run() stops at its last tap
        # The style network's convolutions dominate a step: with them in bfloat16 (AMX/AVX-512 BF16) a step took 0.69 s
        # against 1.18 s on 2 threads. The loss network in bfloat16 gained nothing measurable, so it stays float32 and
        # the losses stay cnnviz's.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            z = net.logits(x).float()
        y = torch.sigmoid(z)
        f = features(y)
        c = content_loss(f[content], target)
        st = style_loss([f[l] for l in style_layers], targets)
        tv = tv_loss(y)
        total = args.content_weight * c + args.style_weight * st + args.tv_weight * tv
        if args.color_weight > 0:
            total = total + args.color_weight * color_loss(y, x if palette is None else match_colors(x, *palette), args.color_pool)
        loss = total.mean()
        if args.logit_penalty > 0:
            loss = loss + args.logit_penalty * F.relu(z.abs() - args.logit_limit).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # A perfectly flat crop (a zoomed-in patch of a uniform background; float32 and bfloat16 alike) gives a
        # non-finite gradient at the first convolution, which Adam's moments would spread to every weight; the step is
        # skipped instead, as AMP's gradient scaler does.
        if not all(torch.isfinite(q.grad).all() for q in net.parameters() if q.grad is not None) or not torch.isfinite(loss):
            skipped += 1
            print(f"step {step + 1}: non-finite loss or gradient, skipped ({skipped} so far)", flush=True)
            continue
        opt.step()
        step += 1
        log.append({"step": step, "t": round(time.time() - t0, 1), "loss": float(loss), "content": float(c.mean()), "style": float(st.mean()), "tv": float(tv.mean())})
        if step % 20 == 0:
            recent = log[-20:]
            mean = lambda k: sum(r[k] for r in recent) / len(recent)  # noqa: E731
            print(f"step {step} {time.time() - t0:.0f} s: loss {mean('loss'):.4f} content {mean('content'):.4f} style {mean('style'):.5f} tv {mean('tv'):.5f}", flush=True)
        if time.time() - last_save > args.save_every:
            net.save(args.out, par[:1])
            last_save = time.time()
    net.save(args.out, par[:1])
    with open(os.path.join(args.out, "log.json.tmp"), "w") as fh:
        json.dump({"args": vars(args), "steps": step, "skipped": skipped, "seconds": round(time.time() - t0), "log": log}, fh)
    os.replace(os.path.join(args.out, "log.json.tmp"), os.path.join(args.out, "log.json"))
    print(f"done: {step} steps in {time.time() - t0:.0f} s -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
