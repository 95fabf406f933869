#!/usr/bin/env bash
# Manual check of the evaluation pipeline against a known answer (see ../../shared/data/README.md):
# the public embedder model/fr_feature.onnx of npm faceplugin-face-recognition-js@0.0.1 (MIT),
# installed into a temp folder OUTSIDE the repo (never a dependency of the product), scored on
# LFW View 1 aligned112: expected 99.55% on pairsDevTrain (thr ≈ 0.298) and 99.10% on
# pairsDevTest at that threshold (RGB, (x−127)/128, NCHW, cosine). ~15 min on one busy core.
set -euo pipefail
cd "$(dirname "$0")/../.."
FP=${FP:-/tmp/faceplugin}
LFW=${LFW:-../shared/data/lfw-view1}
OUT=${OUT:-out/eval_faceplugin}
if [ ! -f "$FP/node_modules/faceplugin-face-recognition-js/model/fr_feature.onnx" ]; then
  mkdir -p "$FP"
  (cd "$FP" && npm install --no-save --ignore-scripts faceplugin-face-recognition-js@0.0.1 >/dev/null)
fi
deno task evaluate --model "$FP/node_modules/faceplugin-face-recognition-js/model/fr_feature.onnx" \
  --mean 127 --std 128 --name faceplugin "$@" \
  --pairs "$LFW/pairsDevTest.txt" --threshold-from "$LFW/pairsDevTrain.txt" \
  --images "$LFW/aligned112" --out "$OUT"
python3 - "$OUT/results.json" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))["synface"]
print(f"synface: DevTrain {100*r['train_accuracy']:.2f}% at thr {r['threshold']:.3f}, DevTest {100*r['accuracy']:.2f}% (expected 99.55% / 0.298 / 99.10%)")
PY
