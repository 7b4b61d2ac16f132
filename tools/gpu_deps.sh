#!/usr/bin/env bash
# Stages the Debian build dependencies and the Fashion-MNIST files into build-deps/ (same
# layout as /usr, about 42 MB), for the lent GPU machine: it has nvcc, CMake and PyTorch but no
# package archive. Carry build-deps with the device tool's `carry`; tools/gpu_check.sh finds it.
#
# usage (here): bash tools/gpu_deps.sh   ->  build-deps/usr/{include,lib,share}/...
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libeigen3-dev doctest-dev nlohmann-json3-dev libbenchmark-dev libbenchmark1debian zlib1g-dev zlib1g
          libgloo-dev libgloo0 libhiredis-dev libhiredis0.14 libibverbs1 libnl-3-200 libnl-route-3-200
          dataset-fashion-mnist)
rm -rf build-deps
mkdir -p build-deps
for package in "${packages[@]}"; do
  dpkg -L "$package" >/dev/null 2>&1 || { echo "gpu_deps: $package is not installed (bash tools/dev.sh test installs it)" >&2; exit 1; }
  # Files and symlinks keep their paths, so the CMake package files' relative paths still hold.
  dpkg -L "$package" | while read -r path; do
    if [[ -f "$path" || -L "$path" ]] && [[ ! -d "$path" ]]; then cp -P --parents "$path" build-deps/; fi
  done
done
# A symlink to an absolute path (libz.so -> /lib/...) would point outside the copy: copy its target.
find build-deps -type l | while read -r link; do
  target=$(readlink "$link")
  if [[ "$target" == /* ]]; then cp --remove-destination "$(readlink -f "$target")" "$link"; fi
done
# Gloo's CMake package names its library by absolute path (/usr/lib/...): point it into the copy.
sed -i 's#"/usr/lib/#"${_IMPORT_PREFIX}/lib/#' build-deps/usr/share/cmake/Gloo/GlooTargets-*.cmake
# Documentation is not needed to build.
rm -rf build-deps/usr/share/doc build-deps/usr/share/man
du -sh build-deps
