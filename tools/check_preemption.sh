#!/usr/bin/env bash
# A scheduler's notice to a training program: SIGTERM during training ends well_log with exit code
# 75 and a resumable checkpoint in its --out directory (never in the directory it was started
# from), and a run resumed from that checkpoint finishes. A CTest test (tests/CMakeLists.txt).
#
#   tools/check_preemption.sh WELL_LOG_PROGRAM
set -euo pipefail
program=$(realpath "$1")
work=$(mktemp -d /tmp/ember-preemption.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
# A small run that trains for a few seconds on one thread.
flags=(train --task binary --instances 200 --val-instances 2 --test-instances 2 --scale 0.05 --max-epochs 1
       --threads 1 --workers 0 --base-width 4 --previews 0 --out run)

fail() {
  echo "check_preemption: $*"
  cat log
  exit 1
}

"$program" "${flags[@]}" > log 2>&1 &
pid=$!
# Signal once the progress bar shows training (before fit starts, SIGTERM just ends the process).
for _ in $(seq 600); do
  grep -q "batches" log && break
  kill -0 "$pid" 2> /dev/null || fail "the run ended before it trained"
  sleep 0.1
done
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 75 ] || fail "a SIGTERM during training ended the run with code $status, not 75"
[ -f run/checkpoints/preempted.safetensors ] || fail "no run/checkpoints/preempted.safetensors"
[ ! -e checkpoints ] || fail "a checkpoints folder appeared outside --out"
grep -q "resume" log || fail "the message does not say how to resume"

"$program" "${flags[@]}" --resume run/checkpoints/preempted.safetensors > log 2>&1 ||
  fail "the resumed run failed"
echo "check_preemption: SIGTERM -> exit 75 with run/checkpoints/preempted.safetensors; the resumed run finished"
