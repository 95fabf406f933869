#!/usr/bin/env bash
# WebGPU on a real GPU: the webgpu kernel tests, the webgpu kernel benchmark (GEMM, reference-CNN
# conv kernels with a per-kernel GPU-time profile and a tile sweep), the autodiff bench's
# whole-network training steps on the webgpu backend, and a PyTorch CUDA fp32 peer of all of
# them, on a bare Linux NVIDIA machine that has only this repo and no network.
#
# Needs `.gl/` carried with the repo (git-ignored; made on the dev machine, see
# /work/.library/device/README.md): the Vulkan/GL loader .debs (libvulkan1, …), `deno.xz`
# (x86-64 Deno 2.9.6, xz) and `deno_npm.tar.xz` (a DENO_DIR npm cache holding zod etc., for the
# engine; not onnxruntime-web). node_modules is not needed (it is 184 MiB: it cannot travel).
#
# Usage, from the repo root, as root:  bash recognition/autodiff/webgpu/gpu_check.sh
# Dry run on a dev machine (llvmpipe, no dpkg into /, tiny sizes):
#   GPU_CHECK_SKIP_LOADERS=1 GPU_CHECK_QUICK=1 bash recognition/autodiff/webgpu/gpu_check.sh
# Logs: $OUT (or /tmp/gpu_check)/{test,bench,nets,profile,torch}.log. Each step has its own
# timeout (100+120+120+90+100 s at most, within one 600 s device call); typically 3–5 min.
set -uo pipefail
cd "$(dirname "$0")/../../.."
LOG=${OUT:-/tmp/gpu_check}
mkdir -p "$LOG"
QUICK=${GPU_CHECK_QUICK:-}
step() { echo "== $* ($(date -u +%T))"; }

step "loaders"
if [ -z "${GPU_CHECK_SKIP_LOADERS:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
ldconfig -p | grep -q libvulkan.so.1 || echo "warning: libvulkan.so.1 still not found"

step "deno"
if ! command -v deno >/dev/null; then
  if command -v xz >/dev/null; then xz -dc .gl/deno.xz >/usr/local/bin/deno
  else python3 -c 'import lzma,sys; sys.stdout.buffer.write(lzma.open(".gl/deno.xz").read())' >/usr/local/bin/deno
  fi
  chmod +x /usr/local/bin/deno
fi
deno --version | head -1
export DENO_NO_UPDATE_CHECK=1
# Offline npm cache for the engine's zod import (used with --no-config below, so Deno does not
# try to install every npm package of deno.json into node_modules).
NPM_DIR=/tmp/gpu_check_deno_dir
if [ ! -d "$NPM_DIR/npm" ] && [ -f .gl/deno_npm.tar.xz ]; then
  mkdir -p "$NPM_DIR"
  python3 -c 'import lzma,sys,tarfile; tarfile.open(fileobj=lzma.open(".gl/deno_npm.tar.xz")).extractall(sys.argv[1])' "$NPM_DIR"
fi

# The NVIDIA Vulkan ICD: use the driver's own manifest when the loader's default dirs lack one.
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  for j in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$j" ]; then export VK_DRIVER_FILES=$j; break; fi
  done
fi
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<loader default>}"
nvidia-smi -L 2>/dev/null

step "adapter"
cat >/tmp/probe_adapter.ts <<'TS'
const a = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
if (!a) { console.log("no WebGPU adapter"); Deno.exit(1); }
console.log(JSON.stringify({ description: a.info.description, vendor: a.info.vendor,
  architecture: a.info.architecture, fallback: a.info.isFallbackAdapter,
  maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
  timestamps: a.features.has("timestamp-query") }));
TS
if ! timeout 60 deno run -A /tmp/probe_adapter.ts; then
  echo "no adapter: Vulkan diagnostics follow"
  ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1
  ldconfig -p | grep -i -e vulkan -e nvidia | head -20
  VK_LOADER_DEBUG=error,warn timeout 60 deno run -A /tmp/probe_adapter.ts 2>&1 | tail -20
  exit 1
fi

step "webgpu kernel tests"
DENO_DIR=$NPM_DIR timeout 100 deno test -A --no-config tests/autodiff_webgpu_test.ts 2>&1 |
  tee "$LOG/test.log" | tail -25

step "webgpu kernel benchmark"
if [ -n "$QUICK" ]; then ARGS="--sizes 128 --min-seconds 0 --conv-batch 1 --profile"
else ARGS="--sizes 512,1024,2048,4096 --profile --tune"; fi
DENO_DIR=$NPM_DIR timeout 120 deno run -A --no-config tasks/bench_webgpu.ts --json --no-cpu $ARGS 2>&1 |
  tee "$LOG/bench.log"

step "autodiff bench, webgpu backend (whole training steps, batch 32)"
if [ -f tasks/bench_autodiff.ts ] && [ -z "$QUICK" ]; then
  DENO_DIR=$NPM_DIR timeout 120 deno run -A --no-config tasks/bench_autodiff.ts \
    --backends webgpu --no-torch --steps 5 --json 2>&1 | tee "$LOG/nets.log"
fi

step "webgpu: GPU time per kernel of one training step of each net (batch 32)"
if [ -f tasks/bench_autodiff_nets.ts ] && [ -z "$QUICK" ]; then
  cat >/tmp/gpu_check_profile.ts <<TS
import * as ag from "$PWD/recognition/autodiff/mod.ts";
import { buildNet, trainStep } from "$PWD/tasks/bench_autodiff_nets.ts";
import { createWebgpuBackend } from "$PWD/recognition/autodiff/webgpu/mod.ts";
const be = (await createWebgpuBackend())!;
ag.useBackend(be);
for (const name of ["cnn", "ir"] as const) {
  const net = buildNet(name);
  const opt = new ag.SGD([...net.model.parameters(), net.head], { lr: 0.01, momentum: 0.9 });
  const [c, h, w] = net.input;
  const x = ag.keep(ag.tensor(new Float32Array(32 * c * h * w).map((_, i) => Math.sin(i)), [32, c, h, w]));
  const ys = Array.from({ length: 32 }, (_, i) => (i * 7) % net.classes);
  const labels = ag.keep(ag.tensor(ys, [32])), targets = ag.keep(ag.oneHot(ys, net.classes));
  for (let i = 0; i < 2; i++) await trainStep(net, opt, x, labels, targets).item();
  let t0 = performance.now();
  for (let i = 0; i < 3; i++) trainStep(net, opt, x, labels, targets);
  await be.flush();
  const ms = (performance.now() - t0) / 3;
  console.log(\`\${name}: \${ms.toFixed(1)} ms/step (\${(32000 / ms).toFixed(1)} images/s), \${be.submits} submits so far\`);
  if (!be.startProfile()) continue;
  trainStep(net, opt, x, labels, targets);
  const t = await be.stopProfile();
  const total = Object.values(t).reduce((a, e) => a + e.ms, 0);
  const n = Object.values(t).reduce((a, e) => a + e.count, 0);
  console.log(\`  GPU time \${total.toFixed(2)} ms in \${n} dispatches; top kernels:\`);
  for (const [k, e] of Object.entries(t).sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
    console.log(\`  \${e.ms.toFixed(3).padStart(9)} ms \${String(e.count).padStart(4)}× \${k}\`);
  }
}
be.dispose();
TS
  DENO_DIR=$NPM_DIR timeout 90 deno run -A --no-config /tmp/gpu_check_profile.ts 2>&1 |
    tee "$LOG/profile.log"
fi

step "PyTorch CUDA fp32 peer"
PYTHONUNBUFFERED=1 timeout 100 python3 recognition/autodiff/webgpu/torch_cuda_peer.py \
  512,1024,2048,4096 2>&1 | tee "$LOG/torch.log"
step "bench train on webgpu: ir10_half and lresnet50e_ir @ 112x96, batch 128, no micro-batching"
if [ -z "$QUICK" ]; then
  for arch in ir10_half lresnet50e_ir; do
    DENO_DIR=$NPM_DIR timeout ${GPU_CHECK_TRAIN_S:-100} deno run -A --no-config --cached-only \
      tasks/bench_train.ts --arch $arch --input 112x96 --batch 128 --steps 3 --backend webgpu --json 2>&1 |
      tee -a "$LOG/train.log" | tail -8
  done
fi

step "done"
