#!/usr/bin/env bash
# Known-answer check of align/ (manual; needs ../shared/data, ~10 min on two busy cores):
# 1. align the raw LFW View 1 images with `deno task align` (EP=auto|node|wasm, default auto);
# 2. compare our 5 points with ../shared/data/lfw-view1/aligned112.csv (the points the same two
#    models gave; expected mean error ≤ 1.5 px);
# 3. score our crops with the package's public embedder fr_feature.onnx (RGB, (x−127)/128) on
#    pairsDevTest.txt with the threshold from pairsDevTrain.txt (expected ≥ 99.0 %; the shared
#    crops give 99.10 %).
set -euo pipefail
cd "$(dirname "$0")/../.."
LFW=${LFW:-../shared/data/lfw-view1}
EP=${EP:-auto}
OUT=${OUT:-out/lfw-view1-aligned112-$EP}
DENO=${DENO:-deno}
$DENO task align --in "$LFW/images" --out "$OUT" --workers "${WORKERS:-2}" --ep "$EP"
$DENO run -A align/scripts/known_answer.ts "$OUT" "$LFW/aligned112.csv"
FR=$($DENO eval 'console.log(new URL(import.meta.resolve("npm:faceplugin-face-recognition-js@0.0.1/model/fr_feature.onnx")).pathname)')
$DENO task evaluate --model "$FR" --mean 127 --std 128 --name faceplugin-ours \
  --pairs "$LFW/pairsDevTest.txt" --threshold-from "$LFW/pairsDevTrain.txt" \
  --images "$OUT" --out "$OUT.eval"
python3 - "$OUT.eval/results.json" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))["synface"]
print(f"fr_feature on our crops: DevTrain {100*r['train_accuracy']:.2f}% at thr {r['threshold']:.3f}, DevTest {100*r['accuracy']:.2f}% (shared crops: 99.55% / 0.298 / 99.10%)")
PY
