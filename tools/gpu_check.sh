#!/usr/bin/env bash
# The GPU check in one call, for the lent GPU machine (or any machine with nvcc and a GPU):
# build with CUDA, run the GPU test suite and the CPU suite, run the GPU benches (kernels, GEMM,
# MLP and CNN training steps) with PyTorch's figures beside them, train the Fashion-MNIST CNN on the GPU in f32 and in 16-mixed, and print
# one summary at the end. Logs go to $OUT (default build-gpu/report).
#
# On the device tool (no package archive there): first, here, `bash tools/gpu_deps.sh`; then
#   run(command="bash tools/gpu_check.sh", carry=["build-deps"])
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build-gpu/report}
mkdir -p "$OUT"
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"

prefix=()
if [[ -d build-deps/usr ]]; then
  deps="$PWD/build-deps/usr"
  prefix=(-DCMAKE_PREFIX_PATH="$deps" -DCMAKE_INCLUDE_PATH="$deps/include"
          -DCMAKE_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu")
  export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu:$deps/lib:${LD_LIBRARY_PATH:-}"
fi

# cuDNN: the toolkit's, or the one inside PyTorch's nvidia-cudnn wheel.
if [[ ! -f /usr/local/cuda/include/cudnn.h && -z "${CUDNN_ROOT:-}" ]]; then
  CUDNN_ROOT=$(python3 -c "import nvidia.cudnn as m; print(list(m.__path__)[0])" 2>/dev/null || true)
  [[ -n "$CUDNN_ROOT" ]] && export CUDNN_ROOT && export LD_LIBRARY_PATH="$CUDNN_ROOT/lib:${LD_LIBRARY_PATH:-}"
fi

# NCCL: the toolkit's, or the one inside PyTorch's nvidia-nccl wheel.
if [[ ! -f /usr/local/cuda/include/nccl.h && -z "${NCCL_ROOT:-}" ]]; then
  NCCL_ROOT=$(python3 -c "import nvidia.nccl as m; print(list(m.__path__)[0])" 2>/dev/null || true)
  [[ -n "$NCCL_ROOT" ]] && export NCCL_ROOT && export LD_LIBRARY_PATH="$NCCL_ROOT/lib:${LD_LIBRARY_PATH:-}"
fi

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1
log "GPU: $(cat "$OUT/gpu.txt")"
log "nvcc: $(nvcc --version | tail -1)"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if ! cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DEMBER_CUDA=ON \
       -DCMAKE_CUDA_ARCHITECTURES=90 "${prefix[@]}" > "$OUT/configure.log" 2>&1; then
  log "configure FAILED (see $OUT/configure.log)"; tail -20 "$OUT/configure.log"; exit 1
fi
start=$(date +%s)
if ! cmake --build build-gpu -j"$(nproc)" > "$OUT/build.log" 2>&1; then
  log "build FAILED (see $OUT/build.log)"; grep -m20 -E "error" "$OUT/build.log"; exit 1
fi
log "build: $(( $(date +%s) - start )) s"

status=0
(cd build-gpu && ctest -L gpu --output-on-failure --timeout 300) > "$OUT/gpu_tests.log" 2>&1 || status=1
log "GPU tests: $(grep -E 'tests passed|tests failed' "$OUT/gpu_tests.log" | tail -1)"
grep -E "\(Failed\)|\(Skipped\)|\(Timeout\)" "$OUT/gpu_tests.log" | sed 's/^/   /' | tee -a "$OUT/summary.txt"
(cd build-gpu && ctest -R "NCCL" --output-on-failure --timeout 300) > "$OUT/nccl_tests.log" 2>&1 || status=1
log "NCCL tests (world of one): $(grep -E 'tests passed|tests failed' "$OUT/nccl_tests.log" | tail -1)"
grep -E "\(Failed\)|\(Skipped\)|\(Timeout\)" "$OUT/nccl_tests.log" | sed 's/^/   /' | tee -a "$OUT/summary.txt"
(cd build-gpu && ctest -LE gpu -j"$(nproc)" --timeout 300) > "$OUT/cpu_tests.log" 2>&1 || status=1
log "CPU tests: $(grep -E 'tests passed|tests failed' "$OUT/cpu_tests.log" | tail -1)"

# The op table: every op of core/ops on CUDA in f32/f16/bf16 against its f64 CPU result, then
# timed against the device's limits; the GEMM versions for learners.
./build-gpu/tests/ember_op_tests > "$OUT/op_table.log" 2>&1 || status=1
log "op table (every op on CPU and CUDA): $(grep -E '^\[doctest\] test cases' "$OUT/op_table.log" | tail -1)"
grep -A4 "ERROR" "$OUT/op_table.log" | head -40 | sed 's/^/   /' | tee -a "$OUT/summary.txt"
./build-gpu/tests/ember_op_tests --perf > "$OUT/op_perf.txt" 2>&1 || status=1
./build-gpu/bench/gemm_versions --sizes 1024,4096 > "$OUT/gemm_versions.txt" 2>&1 || status=1

./build-gpu/bench/cuda_bench > "$OUT/cuda_bench.txt" 2>&1 || status=1
./build-gpu/bench/cuda_train_step > "$OUT/cuda_train_step.txt" 2>&1 || status=1
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  python3 bench/peers/torch_cuda_peer.py > "$OUT/torch_peer.txt" 2>&1 || status=1
  python3 bench/peers/torch_cuda_train_step.py > "$OUT/torch_train_step.txt" 2>&1 || status=1
else
  echo "peer not installed (python3 with CUDA PyTorch)" | tee "$OUT/torch_peer.txt" > "$OUT/torch_train_step.txt"
fi

# The main job on the GPU, f32 and 16-mixed (the issue: the same test accuracy within 0.5 points).
data=/usr/share/datasets/fashion-mnist
[[ -d build-deps/usr/share/datasets/fashion-mnist ]] && data=build-deps/usr/share/datasets/fashion-mnist
for precision in 32 16-mixed; do
  log_file="$OUT/fashion_mnist_$precision.log"
  start=$(date +%s)
  ./build-gpu/examples/fashion_mnist --device cuda --precision "$precision" --data "$data" \
      --out "build-gpu/fashion_mnist_$precision" > "$log_file" 2>&1 || status=1
  log "main job $precision: $(( $(date +%s) - start )) s, $(grep -m1 -o 'test accuracy of the best checkpoint: .*' "$log_file" || echo FAILED), $(grep -o '[0-9]* samples/s' "$log_file" | tail -1)"
done

echo
echo "================ ember on $(cut -d, -f1 "$OUT/gpu.txt") ================"
cat "$OUT/summary.txt"
cat "$OUT/cuda_bench.txt"
cat "$OUT/op_perf.txt"
cat "$OUT/gemm_versions.txt"
cat "$OUT/torch_peer.txt"
cat "$OUT/cuda_train_step.txt"
cat "$OUT/torch_train_step.txt"
exit $status
