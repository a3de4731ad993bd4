#!/usr/bin/env bash
# Fails when a src/ folder includes a header of a higher layer or of a sibling on the same layer
# (design.md: each folder links only to lower layers). Usage: check_includes.sh SRC_DIR
set -uo pipefail
src=${1:?usage: check_includes.sh SRC_DIR}
declare -A layer=([core]=0 [gguf]=1 [quant]=1 [kernels]=2 [backend]=2 [model]=3 [sample]=4 [text]=4
                  [engine]=5 [chat]=5 [protocol]=6 [api]=7 [router]=8 [planner]=9)
# planner is a side layer: it may use core, gguf and model only; only router (the ledger's TCO costs) includes it.
declare -A planner_ok=([core]=1 [gguf]=1 [model]=1 [planner]=1)
bad=0
for dir in "$src"/*/; do
  own=$(basename "$dir")
  [ -n "${layer[$own]+x}" ] || { echo "unknown folder src/$own: add it to the layer table"; bad=1; continue; }
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include[[:space:]]*"([^"/]+)\/.*/\1/' <<<"$line")
    [ "$inc" = "$own" ] && continue
    if [ -z "${layer[$inc]+x}" ]; then continue; fi
    if [ "$own" = planner ]; then
      [ -n "${planner_ok[$inc]+x}" ] || { echo "$file: planner may not include $inc/"; bad=1; }
    elif [ "$own" = router ] && [ "$inc" = planner ]; then :
    elif [ "$inc" = planner ] || [ "${layer[$inc]}" -ge "${layer[$own]}" ]; then
      echo "$file: $own (layer ${layer[$own]}) includes $inc/ (layer ${layer[$inc]})"
      bad=1
    fi
  done < <(grep -rHE '^[[:space:]]*#include[[:space:]]*"[a-z_]+/' "$dir" || true)
done
[ $bad -eq 0 ] && echo "layering ok"
exit $bad
