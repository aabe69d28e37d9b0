"""PyTorch CUDA reference for cnnviz's GPU bench (bench/src/gpu-entry.ts runs it in the same call).

torchvision MobileNetV2 with random weights, float32 (TF32 off, as WebGPU computes in f32), timed with
torch.cuda.synchronize: saliency (forward + input gradient of one logit, map read back), SmoothGrad-50 as one
batch, and style transfer at 256px for 100 Adam steps on the image (Gram losses at Conv1_relu and
block_{1,3,6,13}_expand_relu, content at block_6_expand_relu, TV). Prints one JSON line.
Usage: python3 torch_ref.py [--quick] [--size 224] [--samples 50] [--steps 100] [--style-size 256] [--reps 10]
       [--device cpu]  (checks the script on a machine without CUDA; the bench itself never passes it)
"""
import json
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

    result = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu",
        "size": size,
        "samples": samples,
        "steps": steps,
        "styleSize": style_size,
        "forward_ms": timed(forward, reps),
        "saliency_ms": timed(saliency, reps),
        "smoothgrad_ms": timed(smoothgrad, max(3, reps // 2)),
        "style_ms": timed(style, 3 if not quick else 1, warm=1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
