"""PyTorch-CPU peer of `deno task bench autodiff`: the same two nets (see bench_autodiff_nets.ts),
same batch, same margin heads, SGD momentum 0.9 / wd 5e-4, 2 threads; fastest of N timed steps. Prints progress to stderr
and one JSON line to stdout. Exit code 3 when torch is not installed."""
import argparse
import json
import math
import resource
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch not installed", file=sys.stderr)
    sys.exit(3)


def conv_bn_relu(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(conv_bn_relu(3, 32, 1), conv_bn_relu(32, 64, 2),
                                  conv_bn_relu(64, 128, 2), conv_bn_relu(128, 256, 2))
        self.fc = nn.Linear(256, 128)

    def forward(self, x):
        return self.fc(self.body(x).mean(dim=(2, 3)))


class IrBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.prelu = nn.PReLU(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return y + (self.down(x) if self.down is not None else x)


class Ir(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.prelu = nn.PReLU(32)
        self.layers = nn.Sequential(IrBlock(32, 32, 2), IrBlock(32, 64, 2), IrBlock(64, 128, 2),
                                    IrBlock(128, 256, 2))
        self.bn2 = nn.BatchNorm2d(256)
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(256 * 7 * 6, 256)
        self.features = nn.BatchNorm1d(256)

    def forward(self, x):
        y = self.layers(self.prelu(self.bn1(self.conv1(x))))
        return self.features(self.fc(torch.flatten(self.dropout(self.bn2(y)), 1)))


def margin_logits(cos, labels, kind, s, m):
    onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
    if kind == "cosface":
        phi = cos - m
    else:
        sine = torch.sqrt((1.0 - cos * cos).clamp(0, 1))
        phi = cos * math.cos(m) - sine * math.sin(m)
        th, mm = math.cos(math.pi - m), math.sin(math.pi - m) * m
        phi = torch.where(cos > th, phi, cos - mm)
    return s * (onehot * phi + (1 - onehot) * cos)


def bench(name, steps, batch):
    torch.manual_seed(0)
    if name == "cnn":
        model, shape, classes, emb, kind, m = Cnn(), (3, 64, 64), 64, 128, "cosface", 0.4
    else:
        model, shape, classes, emb, kind, m = Ir(), (3, 112, 96), 1000, 256, "arcface", 0.5
    head = nn.Parameter(torch.randn(classes, emb) * math.sqrt(2 / emb))
    opt = torch.optim.SGD(list(model.parameters()) + [head], lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, *shape)
    labels = torch.randint(0, classes, (batch,))
    model.train()

    def step():
        cos = F.normalize(model(x)) @ F.normalize(head).t()
        loss = F.cross_entropy(margin_logits(cos, labels, kind, 30.0, m), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(2):
        step()
    times, cpus = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = step()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    times.sort()
    dt, med, cpu = times[0], times[len(times) // 2], min(cpus)
    print(f"  torch {name}: best {dt * 1000:.0f} ms/step = {batch / dt:.1f} images/s "
          f"(median {batch / med:.1f}; {batch / cpu:.1f} images/CPU-s), loss {loss:.3f}",
          file=sys.stderr)
    return batch / dt, batch / cpu, batch / med


def gemm(n):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    reps = 4
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 / ((time.perf_counter() - t0) / reps) / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    res = {
        "torch_version": torch.__version__,
        "torch_gemm_gflops_1024": round(gemm(1024), 2),
    }
    cnn, ir = bench("cnn", a.steps, a.batch), bench("ir", max(2, a.steps - 2), a.batch)
    res |= {
        "torch_cnn_images_per_s": round(cnn[0], 2),
        "torch_ir_images_per_s": round(ir[0], 2),
        "torch_cnn_images_per_cpu_s": round(cnn[1], 2),
        "torch_ir_images_per_cpu_s": round(ir[1], 2),
        "torch_cnn_images_per_s_median": round(cnn[2], 2),
        "torch_ir_images_per_s_median": round(ir[2], 2),
        "torch_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
