#!/usr/bin/env bash
# Checks ember as a package, the way a product that embeds it uses it (a test of the suite:
# ctest -R package):
#   1. `cmake --install BUILD --prefix` a temporary folder;
#   2. every installed header compiles on its own, with only the installed headers and the
#      flags pkg-config gives (so no installed header includes one that was left out);
#   3. examples/embedding, a separate CMake project, builds against the prefix with
#      find_package(ember), and again with pkg-config alone;
#   4. it loads a checkpoint that the build's fashion_mnist trains for 100 steps, classifies
#      test images (better than chance), fine-tunes and saves; the saved weights load again.
#
#   tools/check_package.sh BUILD_DIR
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: tools/check_package.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
echo "installed to a temporary prefix: $(find "$prefix/include" -name '*.h' | wc -l) headers," \
     "$(ls "$prefix/lib" | grep -c '^libember') libraries"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
read -r -a cflags <<<"$(pkg-config --cflags ember)"
compile_alone() {  # compile_alone HEADER: a translation unit that includes only HEADER
  echo "#include \"$1\"" | c++ -std=c++20 -fsyntax-only "${cflags[@]}" -x c++ - || { echo "  in $1" >&2; return 1; }
}
export -f compile_alone
export cflags_text="${cflags[*]}"
(cd "$prefix/include/ember" && find . -name '*.h' | sed 's|^\./||' | sort |
   xargs -P "$(nproc)" -I{} bash -c 'cflags=($cflags_text); compile_alone "$1"' _ {})
echo "every installed header compiles on its own"

cmake -S "$source_dir/examples/embedding" -B "$work/embedding" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/embedding" -j "$(nproc)" >/dev/null
read -r -a libs <<<"$(pkg-config --libs ember)"
# (the rpath: where a shared build's libraries are, as a user would set it or LD_LIBRARY_PATH)
c++ -std=c++20 -O1 "$source_dir/examples/embedding/main.cpp" "${cflags[@]}" "${libs[@]}" -Wl,-rpath,"$prefix/lib" \
  -o "$work/embedding-pkg-config"
echo "examples/embedding builds with find_package(ember) and with pkg-config"

"$build/examples/fashion_mnist" --max-epochs 1 --limit-train-batches 100 --limit-val-batches 2 --workers 0 \
  --threads 1 --out "$work/run" >"$work/train.log" 2>&1
"$work/embedding/embedding" "$work/run/checkpoints/last.safetensors" --out "$work/tuned.safetensors" | tee "$work/run.log"
accuracy=$(sed -n 's/^accuracy before fine-tuning: \([0-9.]*\).*/\1/p' "$work/run.log")
awk -v a="$accuracy" 'BEGIN { exit !(a > 0.5) }' || { echo "the loaded checkpoint classifies at $accuracy" >&2; exit 1; }
# The fine-tuned file is a bare state_dict: it loads with no prefix, here through the pkg-config build.
"$work/embedding-pkg-config" "$work/tuned.safetensors" --prefix "" --steps 0 --out "$work/again.safetensors" >/dev/null
echo "package check passed"
