#!/usr/bin/env bash
# The layering checker must reject a tree where core/ includes model/, and accept the reverse.
set -u
checker=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/core" "$tmp/src/model"
echo '#include "model/config.h"' > "$tmp/src/core/bad.h"
echo '#include "core/status.h"' > "$tmp/src/model/good.h"
if "$checker" "$tmp/src" >/dev/null; then echo "checker accepted core -> model"; exit 1; fi
rm "$tmp/src/core/bad.h"
"$checker" "$tmp/src" >/dev/null || { echo "checker rejected a valid tree"; exit 1; }
echo "checker ok"
