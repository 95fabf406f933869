"""PyTorch CUDA fp32 peer for the webgpu benchmark (run by gpu_check.sh on an NVIDIA machine).

Measures, in fp32 with TF32 off (our WGSL kernels are plain fp32):
  - GEMM n^3 GFLOP/s for the sizes given;
  - the reference CNN's conv kernels (4x conv3x3 32/64/128/256 ch, strides 1/2/2/2, pad 1,
    batch 32 of 3x64x64): forward + input grad + weight grad, images/s — the same work as
    `convImagesPerSecond` in bench.ts;
  - net (a) of issue 4 as a whole training step (conv+BN+ReLU x4, global avg pool,
    fc 256->128, CosFace over 64 classes, SGD momentum), images/s.
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

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            chans, strides, blocks, c = [32, 64, 128, 256], [1, 2, 2, 2], [], 3
            for co, st in zip(chans, strides):
                blocks += [nn.Conv2d(c, co, 3, st, 1, bias=False), nn.BatchNorm2d(co), nn.ReLU()]
                c = co
            self.body = nn.Sequential(*blocks)
            self.fc = nn.Linear(256, 128)
            self.head = nn.Parameter(torch.randn(64, 128) * 0.01)

        def forward(self, x, y):
            e = self.fc(self.body(x).mean((2, 3)))
            cos = F.normalize(e) @ F.normalize(self.head).t()
            logits = 64.0 * (cos - 0.35 * F.one_hot(y, 64))
            return F.cross_entropy(logits, y)

    net = Net().to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(32, 3, 64, 64, device=dev)
    y = torch.randint(0, 64, (32,), device=dev)

    def train_step():
        opt.zero_grad(set_to_none=True)
        net(x, y).backward()
        opt.step()

    s = timeit(train_step)
    out["torch_cuda_cnn_images_per_s"] = round(32 / s, 1)
    print(f"torch cuda: net (a) training step {32 / s:.1f} images/s", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
