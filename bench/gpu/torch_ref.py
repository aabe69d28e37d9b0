"""PyTorch CUDA reference for cnnviz's GPU bench (bench/src/gpu-entry.ts runs it in the same call).

torchvision MobileNetV2 with random weights, float32 (TF32 off, as WebGPU computes in f32), timed with
torch.cuda.synchronize, every result read back to the host: saliency (forward + input gradient of one logit),
SmoothGrad-50 and IG-50 as one batch each, occlusion 16/8 in batches of 128 windows, Grad-CAM at the last conv,
DeepDream (octaves x steps at block_13_expand_relu, jitter), feature visualisation (Lucid's loop: Fourier,
decorrelated colour, transforms, Adam 0.05), style transfer at 256px for 100 Adam steps (Gram losses at
Conv1_relu and block_{1,3,6,13}_expand_relu, content at block_6_expand_relu, TV), the feed-forward style network
(Johnson et al.: width 32, 5 residual blocks, instance norm), exact t-SNE (P by bisection, 1000 steps) and exact
kNN (k = 10, mm + topk in blocks). Prints one JSON line.
Usage: python3 torch_ref.py [--quick] [--only saliency,smoothgrad,...] [--size 224] [--samples 50] [--steps 100]
       [--style-size 256] [--reps 10] [--ig-steps 50] [--window 16] [--stride 8] [--dream-octaves 3]
       [--dream-steps 10] [--fv-size 224] [--fv-steps 512] [--fast-style-size 512] [--tsne-n 10000]
       [--tsne-dims 50] [--tsne-iterations 1000] [--knn-n 10000] [--knn-d 1280] [--knn-k 10]
       [--device cpu]  (checks the script on a machine without CUDA; the bench itself never passes it)
"""
import json
import math
import statistics
import sys
import time


def arg(name, default):
    if name in sys.argv:
        return type(default)(sys.argv[sys.argv.index(name) + 1])
    return default


def main():
    quick = "--quick" in sys.argv
    size = arg("--size", 96 if quick else 224)
    samples = arg("--samples", 8 if quick else 50)
    steps = arg("--steps", 4 if quick else 100)
    style_size = arg("--style-size", 96 if quick else 256)
    reps = arg("--reps", 2 if quick else 10)
    only = arg("--only", "saliency,smoothgrad,style").split(",")
    ig_steps = arg("--ig-steps", 4 if quick else 50)
    window = arg("--window", 16)
    stride = arg("--stride", 16 if quick else 8)
    dream_octaves = arg("--dream-octaves", 2 if quick else 3)
    dream_steps = arg("--dream-steps", 2 if quick else 10)
    fv_size = arg("--fv-size", 96 if quick else 224)
    fv_steps = arg("--fv-steps", 4 if quick else 512)
    fast_size = arg("--fast-style-size", 96 if quick else 512)
    tsne_n = arg("--tsne-n", 300 if quick else 10000)
    tsne_dims = arg("--tsne-dims", 50)
    tsne_iterations = arg("--tsne-iterations", 50 if quick else 1000)
    knn_n = arg("--knn-n", 500 if quick else 10000)
    knn_d = arg("--knn-d", 1280)
    knn_k = arg("--knn-k", 10)
    try:
        import torch
        import torchvision
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"torch": "unavailable", "why": str(e).splitlines()[0]}))
        return
    dev = arg("--device", "cuda")  # "cpu" only to check this script where there is no GPU
    if dev == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"torch": "unavailable", "why": "torch.cuda.is_available() is False"}))
        return
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(weights=None).to(dev).eval()
    for p in model.parameters():
        p.requires_grad_(False)

    def timed(fn, n, warm=3):
        for _ in range(warm):
            fn()
        sync()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            sync()
            ts.append((time.perf_counter() - t0) * 1000)
        return statistics.median(ts)

    x = torch.rand(1, 3, size, size, device=dev)

    def forward():
        with torch.no_grad():
            model(x)

    def saliency():
        xx = x.clone().requires_grad_(True)
        model(xx)[0, 3].backward()
        return xx.grad.abs().amax(1).cpu()

    def smoothgrad():
        xx = (x + 0.15 * torch.randn(samples, 3, size, size, device=dev)).requires_grad_(True)
        model(xx)[:, 3].sum().backward()
        return xx.grad.mean(0).abs().amax(0).cpu()

    feats = model.features
    style_blocks = {1, 3, 6, 13}

    def taps(img):
        out = {}
        h = feats[0](img)
        out["Conv1_relu"] = h
        for k in range(0, 14):
            blk = feats[k + 1]
            y = h
            for j, layer in enumerate(blk.conv):
                y = layer(y)
                if j == 0 and k in style_blocks:
                    out["block_%d_expand_relu" % k] = y
                    if k == 13:
                        return out
            h = h + y if blk.use_res_connect else y
        return out

    def gram(f):
        n, c, hh, ww = f.shape
        f = f.reshape(c, hh * ww)
        return f @ f.t() / (hh * ww)

    style_names = ["Conv1_relu"] + ["block_%d_expand_relu" % k for k in sorted(style_blocks)]

    def style():
        content = torch.rand(1, 3, style_size, style_size, device=dev)
        style_img = torch.rand(1, 3, style_size, style_size, device=dev)
        with torch.no_grad():
            st = taps(style_img)
            targets = [gram(st[n]) for n in style_names]
            content_target = taps(content)["block_6_expand_relu"]
        img = content.clone().requires_grad_(True)
        opt = torch.optim.Adam([img], lr=0.02)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            out = taps(img)
            s = sum(((gram(out[n]) - t) ** 2).mean() for n, t in zip(style_names, targets))
            c = ((out["block_6_expand_relu"] - content_target) ** 2).mean()
            tv = (img[:, :, 1:, :] - img[:, :, :-1, :]).abs().mean() + (img[:, :, :, 1:] - img[:, :, :, :-1]).abs().mean()
            loss = c + 10 * s + tv
            loss.backward()
            opt.step()
            with torch.no_grad():
                img.clamp_(0, 1)
        return img.detach().cpu()

    def ig():
        alphas = (torch.arange(ig_steps, device=dev, dtype=torch.float32) + 0.5) / ig_steps
        xx = (alphas[:, None, None, None] * x).requires_grad_(True)
        model(xx)[:, 3].sum().backward()
        return (xx.grad.mean(0) * x[0]).sum(0).cpu()

    def occlusion():
        with torch.no_grad():
            base = model(x)[0, 3]
            pos = [(yy, xx) for yy in range(0, size - window + 1, stride) for xx in range(0, size - window + 1, stride)]
            drops = []
            for start in range(0, len(pos), 128):
                chunk = pos[start : start + 128]
                batch = x.repeat(len(chunk), 1, 1, 1)
                for i, (yy, xx) in enumerate(chunk):
                    batch[i, :, yy : yy + window, xx : xx + window] = 0
                drops.append(base - model(batch)[:, 3])
            return torch.cat(drops).cpu()

    def gradcam():
        a = model.features(x).detach().requires_grad_(True)
        logits = model.classifier(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(a, 1), 1))
        (g,) = torch.autograd.grad(logits[0, 3], a)
        cam = torch.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
        return torch.nn.functional.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False).cpu()

    dream_trunk = torch.nn.Sequential(*feats[:14], feats[14].conv[0])  # ends at block_13_expand_relu

    def deepdream():
        img = torch.rand(1, 3, size, size, device=dev)
        g = torch.Generator().manual_seed(0)
        for o in range(dream_octaves):
            side = round(size / 1.4 ** (dream_octaves - 1 - o))
            img = torch.nn.functional.interpolate(img, size=(side, side), mode="bilinear", align_corners=False)
            for _ in range(dream_steps):
                dy, dx = torch.randint(-16, 17, (2,), generator=g).tolist()
                xx = torch.roll(img, (dy, dx), (2, 3)).requires_grad_(True)
                dream_trunk(xx).pow(2).mean().backward()
                step = xx.grad / (xx.grad.abs().mean() + 1e-8)
                img = torch.roll((xx + 0.01 * step).detach(), (-dy, -dx), (2, 3)).clamp(0, 1)
        return torch.nn.functional.interpolate(img, size=(size, size), mode="bilinear", align_corners=False).cpu()

    corr = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
    corr = (corr / corr.norm(dim=0).max()).to(dev)
    fy = torch.fft.fftfreq(fv_size)[:, None]
    fx = torch.fft.rfftfreq(fv_size)[None, :]
    fv_scale = (1.0 / torch.maximum((fx * fx + fy * fy).sqrt(), torch.tensor(1.0 / fv_size)) * fv_size).to(dev)
    fv_scales = [1 + (i - 5) / 50 for i in range(11)]
    fv_angles = list(range(-10, 11)) + [0] * 5

    def featvis(n_steps=fv_steps):
        F = torch.nn.functional
        spectrum = (0.01 * torch.randn(1, 3, fv_size, fv_size // 2 + 1, 2, device=dev)).requires_grad_(True)
        opt = torch.optim.Adam([spectrum], lr=0.05)
        g = torch.Generator().manual_seed(0)

        def jit(t, d):
            dy, dx = torch.randint(-d, d + 1, (2,), generator=g).tolist()
            return torch.roll(t, (dy, dx), (2, 3))

        for _ in range(n_steps):
            opt.zero_grad(set_to_none=True)
            spec = torch.view_as_complex(spectrum) * fv_scale
            img = torch.fft.irfft2(spec, s=(fv_size, fv_size), norm="ortho") / 4.0
            img = torch.sigmoid(torch.einsum("nchw,dc->ndhw", img, corr))
            t = jit(F.pad(img, (12, 12, 12, 12), value=0.5), 8)
            sc = fv_scales[torch.randint(len(fv_scales), (), generator=g).item()]
            an = math.radians(fv_angles[torch.randint(len(fv_angles), (), generator=g).item()])
            theta = torch.tensor([[math.cos(an) / sc, -math.sin(an) / sc, 0.0], [math.sin(an) / sc, math.cos(an) / sc, 0.0]], device=dev)[None]
            t = F.grid_sample(t, F.affine_grid(theta, t.shape, align_corners=False), mode="bilinear", padding_mode="zeros", align_corners=False)
            loss = -dream_trunk(jit(t, 4))[0, 42].mean()
            loss.backward()
            opt.step()
        return img.detach().cpu()

    class Johnson(torch.nn.Module):
        def __init__(self, w=32, blocks=5):
            super().__init__()
            nn = torch.nn

            def cb(i, o, k, s, relu=True):
                layers = [nn.ReflectionPad2d(k // 2), nn.Conv2d(i, o, k, s), nn.InstanceNorm2d(o, affine=True)]
                return nn.Sequential(*(layers + [nn.ReLU()] if relu else layers))

            self.down = nn.Sequential(cb(3, w, 9, 1), cb(w, 2 * w, 3, 2), cb(2 * w, 4 * w, 3, 2))
            self.res = nn.ModuleList([nn.Sequential(cb(4 * w, 4 * w, 3, 1), cb(4 * w, 4 * w, 3, 1, False)) for _ in range(blocks)])
            self.up = nn.Sequential(nn.Upsample(scale_factor=2), cb(4 * w, 2 * w, 3, 1), nn.Upsample(scale_factor=2), cb(2 * w, w, 3, 1))
            self.out = nn.Sequential(nn.ReflectionPad2d(4), nn.Conv2d(w, 3, 9), nn.Sigmoid())

        def forward(self, t):
            t = self.down(t)
            for r in self.res:
                t = t + r(t)
            return self.out(self.up(t))

    def make_clusters(n, d, seed):
        g = torch.Generator().manual_seed(seed)
        centres = 4 * torch.randn(10, d, generator=g)
        labels = torch.randint(0, 10, (n,), generator=g)
        return (centres[labels] + torch.randn(n, d, generator=g)).to(dev)

    def tsne_exact(pts, iterations):
        n = pts.shape[0]
        sq = (pts * pts).sum(1, keepdim=True)
        D = (sq + sq.t() - 2 * pts @ pts.t()).clamp_min(0)
        off = 1 - torch.eye(n, device=dev)
        lo = torch.zeros(n, 1, device=dev)
        hi = torch.full((n, 1), 1e4, device=dev)
        beta = torch.ones(n, 1, device=dev)
        target = math.log(30)
        for _ in range(40):
            Pc = torch.exp(-D * beta) * off
            sumP = Pc.sum(1, keepdim=True) + 1e-12
            H = torch.log(sumP) + beta * (D * Pc).sum(1, keepdim=True) / sumP
            flat = H > target
            lo = torch.where(flat, beta, lo)
            hi = torch.where(flat, hi, beta)
            beta = (lo + hi) / 2
        Pc = torch.exp(-D * beta) * off
        P = Pc / Pc.sum(1, keepdim=True)
        P = (P + P.t()) / (2 * n)
        del D, Pc
        Y = 1e-4 * torch.randn(n, 2, device=dev)
        V = torch.zeros_like(Y)
        lr = max(n / 12 / 4, 50)
        for i in range(iterations):
            s2 = (Y * Y).sum(1, keepdim=True)
            num = off / (1 + s2 + s2.t() - 2 * Y @ Y.t())
            Q = num / num.sum()
            W = ((12 if i < 250 else 1) * P - Q) * num
            grad = 4 * (W.sum(1, keepdim=True) * Y - W @ Y)
            V = (0.5 if i < 250 else 0.8) * V - lr * grad
            Y = Y + V
        return Y.cpu()

    def knn_blocked(f, k):
        sq = (f * f).sum(1)
        out = []
        for start in range(0, f.shape[0], 1024):
            q = f[start : start + 1024]
            d = sq[start : start + 1024, None] + sq[None, :] - 2 * q @ f.t()
            out.append(torch.topk(d, k + 1, largest=False).indices)
        return torch.cat(out).cpu()

    result = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu",
        "size": size,
        "samples": samples,
        "steps": steps,
        "styleSize": style_size,
    }

    def row(name, key, fn):
        if name in only:
            t0 = time.perf_counter()
            try:
                result[key] = fn()
            except Exception as e:  # noqa: BLE001  (one failing row must not lose the others)
                result[key + "_error"] = str(e).splitlines()[0]
            result[key + "_wall_s"] = round(time.perf_counter() - t0, 2)

    few = max(1, min(3, reps))
    row("saliency", "forward_ms", lambda: timed(forward, reps))
    row("saliency", "saliency_ms", lambda: timed(saliency, reps))
    row("smoothgrad", "smoothgrad_ms", lambda: timed(smoothgrad, max(3, reps // 2)))
    row("ig", "ig_ms", lambda: timed(ig, max(3, reps // 2)))
    row("occlusion", "occlusion_ms", lambda: timed(occlusion, few))
    row("gradcam", "gradcam_ms", lambda: timed(gradcam, reps))
    row("deepdream", "deepdream_ms", lambda: timed(deepdream, few, warm=1))
    if "featvis" in only:
        featvis(3)  # cuDNN's autotuning and the FFT plans, outside the timed run
        row("featvis", "featvis_ms", lambda: timed(featvis, 1, warm=0))
    row("style", "style_ms", lambda: timed(style, 3 if not quick else 1, warm=1))
    if "faststyle" in only:
        net = Johnson().to(dev).eval()
        img = torch.rand(1, 3, fast_size, fast_size, device=dev)

        def faststyle():
            with torch.no_grad():
                return net(img).cpu()

        row("faststyle", "faststyle_ms", lambda: timed(faststyle, reps))
    if "tsne" in only:
        pts = make_clusters(tsne_n, tsne_dims, 12)
        tsne_exact(pts, 5)
        row("tsne", "tsne_ms", lambda: timed(lambda: tsne_exact(pts, tsne_iterations), 1, warm=0))
    if "knn" in only:
        f = make_clusters(knn_n, knn_d, 13)
        row("knn", "knn_ms", lambda: timed(lambda: knn_blocked(f, knn_k), few))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
