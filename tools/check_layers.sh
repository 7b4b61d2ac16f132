#!/usr/bin/env bash
# Checks every #include "..." of ember's sources against the layering of docs/design.md: a layer
# includes only itself and the layers below it. Prints each upward include and exits 1 if any.
#
#   kernels <- core <- io <- nn;  core <- optim, data <- distributed (also optim) <- trainer
#   examples and tools use the public layers (core and up), never kernels/ directly;
#   tests and bench may include anything (they test and measure the kernels themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [kernels]="kernels"
  [core]="core kernels"
  [io]="io core"
  [nn]="nn io core"
  [optim]="optim core"
  [data]="data core"
  [distributed]="distributed optim core"
  [trainer]="trainer nn io optim data distributed core"
  [examples]="examples trainer nn io optim data distributed core"
  [tools]="tools trainer nn io optim data distributed core"
)

violations=0
for layer in "${!allowed[@]}"; do
  [[ -d $layer ]] || continue
  while IFS=: read -r file line text; do
    included=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$text")
    top=${included%%/*}
    [[ $included == */* ]] || continue  # a file next to the includer
    [[ -d $top ]] || continue           # not one of ember's folders (a system or third-party header)
    if [[ " ${allowed[$layer]} " != *" $top "* ]]; then
      echo "$file:$line: $layer/ includes $included (allowed: ${allowed[$layer]})"
      violations=$((violations + 1))
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$layer" \
             --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' || true)
done

if ((violations > 0)); then
  echo "check_layers: $violations upward include(s); see docs/design.md (Layers)" >&2
  exit 1
fi
echo "check_layers: every include goes to the same layer or one below it"
