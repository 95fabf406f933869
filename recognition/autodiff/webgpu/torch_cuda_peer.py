"""PyTorch CUDA fp32 peer for the webgpu benchmark (run by gpu_check.sh on an NVIDIA machine).

Measures, in fp32 with TF32 off (our WGSL kernels are plain fp32):
  - GEMM n^3 GFLOP/s for the sizes given;
  - the reference CNN's conv kernels (4x conv3x3 32/64/128/256 ch, strides 1/2/2/2, pad 1,
    batch 32 of 3x64x64): forward + input grad + weight grad, images/s — the same work as
    `convImagesPerSecond` in bench.ts;
  - the autodiff bench's two nets (cnn, ir; imported from tasks/bench_autodiff_torch.py) as
    whole training steps at batch 32 with one loss read-back per step, images/s.
Prints one JSON line at the end.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timeit(fn, min_s=0.5):
    fn()
    torch.cuda.synchronize()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        torch.cuda.synchronize()
        s = time.perf_counter() - t0
        if s >= min_s or reps >= 4096:
            return s / reps
        reps *= 2


def main():
    sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "512,1024,2048,4096").split(",")]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}
    for n in sizes:
        a = torch.randn(n, n, device=dev)
        b = torch.randn(n, n, device=dev)
        s = timeit(lambda: a @ b)
        out[f"torch_cuda_gemm{n}_gflops"] = round(2 * n**3 / s / 1e9, 2)
        print(f"torch cuda: GEMM {n}^3 {2 * n**3 / s / 1e9:.1f} GFLOP/s", flush=True)

    layers = [(3, 32, 64, 1), (32, 64, 64, 2), (64, 128, 32, 2), (128, 256, 16, 2)]
    xs = [torch.randn(32, ci, hw, hw, device=dev, requires_grad=i > 0) for i, (ci, co, hw, s) in enumerate(layers)]
    ws = [torch.randn(co, ci, 3, 3, device=dev, requires_grad=True) for (ci, co, hw, s) in layers]
    bs = [torch.zeros(co, device=dev, requires_grad=True) for (ci, co, hw, s) in layers]

    def conv_step():
        for x, w, b, (ci, co, hw, s) in zip(xs, ws, bs, layers):
            y = F.conv2d(x, w, b, stride=s, padding=1)
            y.backward(y.detach())

    s = timeit(conv_step)
    out["torch_cuda_conv_images_per_s"] = round(32 / s, 1)
    print(f"torch cuda: reference-CNN conv kernels fwd+bwd {32 / s:.1f} images/s", flush=True)

    # The autodiff bench's own nets (tasks/bench_autodiff_torch.py), so the figures compare.
    import importlib.util
    import math
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tasks", "bench_autodiff_torch.py")
    spec = importlib.util.spec_from_file_location("bench_autodiff_torch", path)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    for name in ["cnn", "ir"]:
        torch.manual_seed(0)
        if name == "cnn":
            model, shape, classes, emb, kind, m = peer.Cnn(), (3, 64, 64), 64, 128, "cosface", 0.4
        else:
            model, shape, classes, emb, kind, m = peer.Ir(), (3, 112, 96), 1000, 256, "arcface", 0.5
        model = model.to(dev).train()
        head = nn.Parameter(torch.randn(classes, emb, device=dev) * math.sqrt(2 / emb))
        opt = torch.optim.SGD(list(model.parameters()) + [head], lr=0.01, momentum=0.9, weight_decay=5e-4)
        x = torch.randn(32, *shape, device=dev)
        labels = torch.randint(0, classes, (32,), device=dev)

        def train_step():
            cos = F.normalize(model(x)) @ F.normalize(head).t()
            loss = F.cross_entropy(peer.margin_logits(cos, labels, kind, 30.0, m), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss  # no read-back per step, as the Deno bench (which reads the last loss)

        s = timeit(train_step)
        out[f"torch_cuda_{name}_images_per_s"] = round(32 / s, 1)
        print(f"torch cuda: net {name} training step (batch 32) {32 / s:.1f} images/s", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
