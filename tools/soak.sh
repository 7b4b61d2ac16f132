#!/usr/bin/env bash
# Soak test (not in CI): a 2-rank ddp run of the Fashion-MNIST CNN is killed every 1-3 minutes,
# at random with SIGKILL (no warning: it resumes from its newest mid-epoch last.safetensors) or
# SIGTERM (a preemption: it saves preempted.safetensors and exits 75), and resumed each time,
# until it finishes; beside it the same run goes uninterrupted. Both must end with the same
# weights, bit for bit.
#
#   tools/soak.sh [EPOCHS] [MIN_SECONDS] [MAX_SECONDS] [fashion_mnist flags...]
#
# Defaults: 80 epochs without early stopping, kills 60 to 180 s apart: about an hour on 2 cores,
# where the two runs share the cores (an epoch takes about 40 s each). Run it after
# `tools/dev.sh test` has built build/ (EMBER_BUILD=dir for another build). It prints each kill
# and the verdict. A short check: tools/soak.sh 2 5 15 --limit-train-batches 60 --limit-val-batches 2
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-80}
min_wait=${2:-60}
max_wait=${3:-180}
shift $(($# < 3 ? $# : 3))
build=${EMBER_BUILD:-build}
work=$(mktemp -d /tmp/ember-soak.XXXXXX)
flags=(--strategy ddp --epochs "$epochs" --patience 0 --threads 1 --workers 1 --checkpoint-every 25 --seed 3 "$@")

launch() {  # launch OUT [fashion_mnist flags]: starts one run in its own process group (so a kill
            # reaches every rank) and sets pid to its leader, ember-run
  local out=$1
  shift
  setsid "./$build/tools/ember-run" --nproc 2 "./$build/examples/fashion_mnist" "${flags[@]}" --out "$out" "$@" \
    >> "$out.log" 2>&1 &
  pid=$!
}

newest_checkpoint() {  # the most recent of last.safetensors and preempted.safetensors in OUT
  ls -t "$1"/checkpoints/last.safetensors "$1"/checkpoints/preempted.safetensors 2>/dev/null | head -n 1 || true
}

mkdir -p "$work/straight" "$work/interrupted"
launch "$work/straight"
straight=$pid
kills=0
resume=()
while true; do
  launch "$work/interrupted" "${resume[@]}"
  wait_for=$((min_wait + RANDOM % (max_wait - min_wait + 1)))
  finished=0
  for _ in $(seq "$wait_for"); do
    if ! kill -0 "$pid" 2>/dev/null; then finished=1; break; fi
    sleep 1
  done
  if [ "$finished" -eq 1 ]; then
    status=0
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] && break
    [ "$status" -eq 75 ] || { echo "soak: the run failed with code $status"; tail "$work/interrupted.log"; exit 1; }
  else
    signal=$([ $((RANDOM % 2)) -eq 0 ] && echo KILL || echo TERM)
    kills=$((kills + 1))
    echo "soak: $(date +%T) kill $kills with SIG$signal after ${wait_for} s"
    kill -"$signal" -- -"$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  checkpoint=$(newest_checkpoint "$work/interrupted")
  resume=()
  if [ -n "$checkpoint" ]; then resume=(--resume "$checkpoint"); fi
  echo "soak: resuming from ${checkpoint:-the start}"
done
echo "soak: $(date +%T) the interrupted run finished after $kills kills; waiting for the uninterrupted one"
wait "$straight" || { echo "soak: the uninterrupted run failed"; tail "$work/straight.log"; exit 1; }

# The model tensors of the two final last.safetensors, byte for byte.
/usr/bin/python3 - "$work/straight/checkpoints/last.safetensors" "$work/interrupted/checkpoints/last.safetensors" <<'PY'
import json, struct, sys
def model_tensors(path):
    data = open(path, "rb").read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    start = 8 + length
    return {name: data[start + info["data_offsets"][0]:start + info["data_offsets"][1]]
            for name, info in header.items() if name.startswith("model.")}
a, b = model_tensors(sys.argv[1]), model_tensors(sys.argv[2])
if a.keys() != b.keys() or any(a[name] != b[name] for name in a):
    sys.exit("soak: FAILED, the resumed run's weights differ from the uninterrupted run's")
print(f"soak: passed, {len(a)} weight tensors identical bit for bit")
PY
rm -rf "$work"
