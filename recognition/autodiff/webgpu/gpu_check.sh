#!/usr/bin/env bash
# WebGPU on a real GPU: the webgpu kernel tests, the webgpu benchmark (GEMM, reference-CNN conv
# kernels) and a PyTorch CUDA fp32 peer, on a bare Linux NVIDIA machine that has only this repo.
#
# Needs, carried with the repo: `.gl/` (made once on the dev machine, see
# /work/.library/device/README.md) holding the Vulkan/GL loader .debs (libvulkan1, …) and
# `deno.xz` (the x86-64 Deno 2.9.6 binary, xz-compressed: there is no network there). No
# node_modules needed: the webgpu code and tests import no npm package.
#
# Usage (from the repo root, as root): bash recognition/autodiff/webgpu/gpu_check.sh
# Dry run here (llvmpipe, no dpkg): GPU_CHECK_SKIP_LOADERS=1 GPU_CHECK_QUICK=1 bash …/gpu_check.sh
# Logs go to $OUT (or /tmp/gpu_check) as test.log, bench.log, torch.log, autodiff_bench.log.
set -uo pipefail
cd "$(dirname "$0")/../../.."
LOG=${OUT:-/tmp/gpu_check}
mkdir -p "$LOG"
step() { echo "== $* ($(date -u +%T))"; }

step "loaders"
if [ -z "${GPU_CHECK_SKIP_LOADERS:-}" ]; then # set it for a dry run on a dev machine
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

# The NVIDIA Vulkan ICD: use the driver's own manifest when the loader's default dirs lack one.
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  for j in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$j" ]; then export VK_DRIVER_FILES=$j; break; fi
  done
fi
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] &&
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<loader default>}"
nvidia-smi -L 2>/dev/null

step "adapter"
cat >/tmp/probe_adapter.ts <<'TS'
const a = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
if (!a) { console.log("no WebGPU adapter"); Deno.exit(1); }
console.log(JSON.stringify({ description: a.info.description, vendor: a.info.vendor,
  architecture: a.info.architecture, fallback: a.info.isFallbackAdapter,
  maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize }));
TS
if ! timeout 60 deno run -A /tmp/probe_adapter.ts; then
  echo "no adapter: Vulkan diagnostics follow"
  ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1
  ldconfig -p | grep -i -e vulkan -e nvidia | head -20
  VK_LOADER_DEBUG=error,warn timeout 60 deno run -A /tmp/probe_adapter.ts 2>&1 | tail -20
  exit 1
fi

step "webgpu kernel tests"
timeout 180 deno test -A tests/autodiff_webgpu_test.ts 2>&1 | tee "$LOG/test.log" | tail -25

step "webgpu benchmark"
SIZES=512,1024,2048,4096
[ -n "${GPU_CHECK_QUICK:-}" ] && SIZES=128 BENCH_EXTRA="--no-conv --min-seconds 0"
timeout 240 deno run -A recognition/autodiff/webgpu/bench.ts --json --no-cpu \
  --sizes $SIZES ${BENCH_EXTRA:-} 2>&1 | tee "$LOG/bench.log"

if [ -f tasks/bench_autodiff.ts ] && grep -q benchWebgpu tasks/bench_autodiff.ts; then
  step "autodiff bench (webgpu section, whole training steps)"
  timeout 240 deno task bench autodiff --backend webgpu --json 2>&1 | tee "$LOG/autodiff_bench.log" | tail -30
fi

step "PyTorch CUDA fp32 peer"
PYTHONUNBUFFERED=1 timeout 150 python3 recognition/autodiff/webgpu/torch_cuda_peer.py \
  512,1024,2048,4096 2>&1 | tee "$LOG/torch.log"
step "done"
