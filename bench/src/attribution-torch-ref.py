"""PyTorch reference for bench/src/attribution-bench.ts: the same four attribution workloads on
torchvision's MobileNetV2 feature extractor (random weights: timing only), CPU, 2 threads, as in
ASSETS.md. Prints one JSON line `TORCH_JSON {...}` (median ms per workload) and a small table.

    python3 bench/src/attribution-torch-ref.py [--reps 3]
"""
import json
import statistics
import sys
import time

import torch
import torchvision

torch.set_num_threads(2)
reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
torch.manual_seed(0)
model = torchvision.models.mobilenet_v2().features.eval()
for p in model.parameters():
    p.requires_grad_(False)
x = torch.rand(1, 3, 224, 224)
C = 263  # one channel of the pooled features, as in the TF.js bench


def score(inp):
    return model(inp)[:, C].mean(dim=(1, 2))  # one value per image


def grad_of(inp):
    inp = inp.detach().requires_grad_(True)
    score(inp).sum().backward()
    return inp.grad


def saliency():
    return grad_of(x).abs().amax(1)


def smoothgrad(samples=50, batch=10):
    sigma = 0.15 * (x.max() - x.min())
    total = torch.zeros_like(x[0])
    for _ in range(samples // batch):
        noisy = x.repeat(batch, 1, 1, 1) + sigma * torch.randn(batch, 3, 224, 224)
        total += grad_of(noisy).sum(0)
    return (total / samples).abs().amax(0)


def integrated_gradients(steps=50, batch=10):
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    total = torch.zeros_like(x[0])
    for b in range(steps // batch):
        a = alphas[b * batch : (b + 1) * batch].view(-1, 1, 1, 1)
        total += grad_of(a * x).sum(0)
    return (x[0] * total / steps).sum(0)


def occlusion(window=16, stride=8, batch=64):
    pos = [(y, xx) for y in range(0, 224 - window + 1, stride) for xx in range(0, 224 - window + 1, stride)]
    with torch.no_grad():
        base = score(x)
        drops = []
        for i in range(0, len(pos), batch):
            chunk = pos[i : i + batch]
            occluded = x.repeat(len(chunk), 1, 1, 1)
            for k, (y, xx) in enumerate(chunk):
                occluded[k, :, y : y + window, xx : xx + window] = 0
            drops.append(base - score(occluded))
    return torch.cat(drops)


results = {}
for name, fn, n in [
    ("saliency", saliency, max(reps, 5)),
    ("smoothGrad", smoothgrad, reps),
    ("integratedGradients", integrated_gradients, reps),
    ("occlusion", occlusion, 1),
]:
    fn()  # warm-up
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    results[name] = {"medianMs": statistics.median(times), "timesMs": times}
    print(f"{name:22s} {statistics.median(times):10.1f} ms  ({', '.join(f'{t:.0f}' for t in times)})", flush=True)

import resource

results["peakRssMiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
results["torch"] = torch.__version__
print("TORCH_JSON " + json.dumps(results), flush=True)
