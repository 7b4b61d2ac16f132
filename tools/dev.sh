#!/usr/bin/env bash
# Sets up a Debian 12 machine for ember (installing only what is missing), builds, and runs
# the main job or the tests. Works as root or as a user with sudo.
#
#   tools/dev.sh train [fashion_mnist flags]  build, then train the Fashion-MNIST CNN (default run)
#   tools/dev.sh well-log train --task T      build, then run the well-log example (any well_log command)
#   tools/dev.sh test                         build, then run the whole test suite with CTest (twice:
#                                             also with EMBER_CPU_ISA=generic; on AVX512-BF16 CPUs
#                                             its bf16 tests a third time with the dot products forced)
#                                             and the fuzzers for a short fixed run each
#   tools/dev.sh six-techniques [flags]       build, then measure the six speed techniques (bench/six_techniques)
#   tools/dev.sh sanitize                     the test suite built with ASan + UBSan
#   tools/dev.sh fuzz NAME [libFuzzer flags]  one fuzzer of tests/fuzz for as long as the flags say
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ccache libeigen3-dev doctest-dev zlib1g-dev nlohmann-json3-dev
          libbenchmark-dev libgloo-dev dataset-fashion-mnist libpng-dev libcli11-dev pkgconf
          clang libclang-rt-14-dev libomp-14-dev redis-server)

install_missing() {
  local missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# The fuzzers' build (tests/fuzz): clang, everything under ASan + UBSan, no tests or programs.
fuzz_build=(build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
            -DEMBER_FUZZ=ON -DEMBER_CUDA=OFF -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_EXAMPLES=OFF -DEMBER_BUILD_BENCH=OFF)

# configure_and_build DIR [cmake options...]
configure_and_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

command=${1:-}
shift || true
case "$command" in
  train)
    install_missing
    configure_and_build build -DCMAKE_BUILD_TYPE=Release
    ./build/examples/fashion_mnist "$@"
    ;;
  well-log)
    install_missing
    configure_and_build build -DCMAKE_BUILD_TYPE=Release
    ./build/examples/well_log "$@"
    ;;
  six-techniques)
    install_missing
    configure_and_build build -DCMAKE_BUILD_TYPE=Release
    ./build/bench/six_techniques "$@"
    ;;
  test)
    install_missing
    configure_and_build build -DCMAKE_BUILD_TYPE=Release
    ctest --test-dir build --output-on-failure -j "$(nproc)"
    # Again with the portable CPU kernels forced (kernels/cpu/isa.h), so the variants a machine
    # without AVX-512 runs stay correct too (the package, --help and bench checks need no second run).
    EMBER_CPU_ISA=generic ctest --test-dir build --output-on-failure -j "$(nproc)" -E "^(package|help: |six_techniques)"
    # Where the CPU has the bf16 dot products but runs them slower than the f32 FMAs, the kernels
    # widen bf16 instead (kernels/cpu/isa.h): the tests that reach the dot-product kernels run
    # once more with them forced, so they stay correct on every machine that has them.
    if grep -qw avx512_bf16 /proc/cpuinfo; then
      EMBER_CPU_ISA=avx512_bf16 ctest --test-dir build --output-on-failure -j "$(nproc)" -E "^help: " \
        -R "bf16|f16|half|mixed|autocast|conv|matmul|GEMM|linear"
    fi
    # Every reader of outside bytes under libFuzzer for a short fixed run (tests/fuzz).
    configure_and_build "${fuzz_build[@]}"
    ctest --test-dir build-fuzz --output-on-failure -j "$(nproc)"
    ;;
  fuzz)
    install_missing
    name=${1:?usage: tools/dev.sh fuzz NAME [libFuzzer flags], NAME one of tests/fuzz/fuzz_*.cpp}
    shift
    configure_and_build "${fuzz_build[@]}"
    mkdir -p "build-fuzz/tests/fuzz/corpus_$name"
    "./build-fuzz/tests/fuzz/fuzz_$name" -dict="tests/fuzz/dictionaries/$name.dict" -malloc_limit_mb=512 "$@" \
      "build-fuzz/tests/fuzz/corpus_$name" "tests/fuzz/corpus/$name"
    ;;
  sanitize)
    install_missing
    configure_and_build build-sanitize -DCMAKE_BUILD_TYPE=Debug -DEMBER_SANITIZE=ON \
      -DEMBER_BUILD_BENCH=OFF
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)"
    ;;
  *)
    echo "usage: tools/dev.sh train|well-log|six-techniques|test|sanitize|fuzz" >&2
    exit 2
    ;;
esac
