"""PyTorch side of bench/src/feature-vis-bench.ts: Lucid's feature-visualisation loop (Fourier parameterisation
with 1/f scaling, decorrelated colour + sigmoid, pad 12 / jitter 8 / random scale 0.9..1.1 and rotation -10..10
degrees / jitter 4, Adam lr 0.05, objective = mean of one channel) on torchvision's InceptionV3 cut after
Mixed_6b (= Keras mixed4) or MobileNetV2 cut at features[14].conv[0] (= Keras block_13_expand_relu). Random weights: timing only. CPU, 2 threads unless --threads.
Prints one line `TORCH_JSON {...}`.

    python3 bench/src/feature-vis-torch.py --model inception-v3 --steps 64 --size 224 --channel 97
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F
import torchvision


def arg(name, default):
    return type(default)(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


model_name = arg("--model", "inception-v3")
steps = arg("--steps", 64)
size = arg("--size", 224)
unit = arg("--channel", 97)
torch.set_num_threads(arg("--threads", 2))
torch.manual_seed(0)

if model_name == "inception-v3":
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    trunk = torch.nn.Sequential(
        net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, net.maxpool1, net.Conv2d_3b_1x1,
        net.Conv2d_4a_3x3, net.maxpool2, net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b,
    )
else:
    features = torchvision.models.mobilenet_v2(weights=None).features
    trunk = torch.nn.Sequential(*features[:14], features[14].conv[0])  # ends at block_13_expand_relu
trunk.eval()
for p in trunk.parameters():
    p.requires_grad_(False)

# Lucid's colour decorrelation (color_correlation_svd_sqrt / its max column norm).
corr = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
corr = corr / corr.norm(dim=0).max()
fy = torch.fft.fftfreq(size)[:, None]
fx = torch.fft.rfftfreq(size)[None, :]
scale = 1.0 / torch.maximum((fx * fx + fy * fy).sqrt(), torch.tensor(1.0 / size)) * math.sqrt(size * size)
spectrum = (0.01 * torch.randn(1, 3, size, size // 2 + 1, 2)).requires_grad_(True)
opt = torch.optim.Adam([spectrum], lr=0.05)
scales = [1 + (i - 5) / 50 for i in range(11)]
angles = list(range(-10, 11)) + [0] * 5


def image():
    spec = torch.view_as_complex(spectrum) * scale
    img = torch.fft.irfft2(spec, s=(size, size), norm="ortho") / 4.0
    img = torch.einsum("nchw,dc->ndhw", img, corr)
    return torch.sigmoid(img)


def jitter(x, d):
    dy, dx = torch.randint(-d, d + 1, (2,)).tolist()
    return torch.roll(x, (dy, dx), (2, 3))


def transform(x):
    x = F.pad(x, (12, 12, 12, 12), value=0.5)
    x = jitter(x, 8)
    s = scales[torch.randint(len(scales), ()).item()]
    a = math.radians(angles[torch.randint(len(angles), ()).item()])
    theta = torch.tensor([[math.cos(a) / s, -math.sin(a) / s, 0.0], [math.sin(a) / s, math.cos(a) / s, 0.0]])[None]
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return jitter(x, 4)


t0 = time.perf_counter()
c0 = resource.getrusage(resource.RUSAGE_SELF)
for _ in range(steps):
    opt.zero_grad(set_to_none=True)
    act = trunk(transform(image()))
    loss = -act[0, unit].mean()
    loss.backward()
    opt.step()
ms = (time.perf_counter() - t0) * 1000
c1 = resource.getrusage(resource.RUSAGE_SELF)
cpu_ms = (c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime) * 1000
print(
    "TORCH_JSON "
    + json.dumps({"model": model_name, "steps": steps, "size": size, "ms": ms, "cpuMs": cpu_ms, "threads": torch.get_num_threads(), "torch": torch.__version__}),
    flush=True,
)
