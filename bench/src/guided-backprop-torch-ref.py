"""PyTorch side of bench/src/guided-backprop-torch.ts: the exported Keras graph in torch (keras_torch.py), the
gradient of one channel's mean (or of one unit) w.r.t. the image with guided, deconvnet and plain ReLU backward passes.
Writes torch-<rule>.bin (HWC float32) into the folder and prints `TORCH_JSON {rule: {maxRelDiff}}` against
the cnnviz-<rule>.bin files there.

    python3 bench/src/guided-backprop-torch-ref.py <folder written by guided-backprop-torch.ts>
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_torch  # noqa: E402

torch.set_num_threads(2)
folder = sys.argv[1]
meta = json.load(open(os.path.join(folder, "meta.json")))
graph, weights = keras_torch.load_graph(folder)
size, layer, unit = meta["size"], meta["layer"], meta["unit"]
img = np.fromfile(os.path.join(folder, "image.bin"), dtype=np.float32).reshape(size, size, 3)
result = {}
for rule in meta["rules"]:
    x = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous().requires_grad_(True)
    act = keras_torch.run(graph, weights, x, [layer], keras_torch.RULES[rule])[layer]
    pos = meta.get("pos")
    (act[0, unit, pos[0], pos[1]] if pos else act[0, unit].mean()).backward()
    g = x.grad[0].permute(1, 2, 0).contiguous().numpy()
    g.astype(np.float32).tofile(os.path.join(folder, f"torch-{rule}.bin"))
    ours = np.fromfile(os.path.join(folder, f"cnnviz-{rule}.bin"), dtype=np.float32).reshape(g.shape)
    scale = float(np.abs(g).max())
    result[rule] = {
        "maxRelDiff": float(np.abs(ours - g).max() / scale) if scale > 0 else float(np.abs(ours).max()),
        "maxAbsTorch": scale,
        "relL2": float(np.linalg.norm(ours - g) / max(np.linalg.norm(g), 1e-30)),
        "worstPixel": [int(v) for v in np.unravel_index(np.abs(ours - g).argmax(), g.shape)],
    }
print("TORCH_JSON " + json.dumps(result), flush=True)
