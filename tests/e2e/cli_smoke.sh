#!/usr/bin/env bash
# The command-line tool end to end: inspect on every conformance model, gen-model + run streams
# text and reports its speed, and bad input gives a clear message and a non-zero exit, never a crash.
# Usage: cli_smoke.sh ONPREM SHARED_DIR WORK_DIR
set -uo pipefail
onprem=$1 shared=$2 work=$3
mkdir -p "$work"
fails=0
check() {  # check NAME EXPECTED_RC PATTERN -- command...
  local name=$1 want_rc=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if { [ "$want_rc" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want_rc" != 0 ] && { [ $rc -eq 0 ] || [ $rc -gt 127 ]; }; } \
     || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name (rc $rc): $(head -c 400 <<<"$out")"
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
for m in "$shared"/conformance/models/*.gguf; do
  check "inspect $(basename "$m")" 0 "recurrent state per sequence" -- "$onprem" inspect "$m"
done
model="$work/moe.gguf"
check "gen-model" 0 "wrote" -- "$onprem" gen-model --preset tiny-moe --type Q4_K_M -o "$model"
check "run streams and reports speed" 0 "generation: [0-9]+ tokens in .* tokens/s" -- "$onprem" run -m "$model" -p "Hello" -n 16 --seed 3
check "run greedy" 0 "prompt: 1 tokens" -- "$onprem" run -m "$model" -p "H" -n 4 --temp 0
# Bad input: missing file, truncated file, a vocabulary-only file, bad token ids, bad options.
check "missing file" 1 "cannot open" -- "$onprem" run -m "$work/nope.gguf" -p x
head -c 100000 "$model" > "$work/trunc.gguf"
check "truncated file" 1 "truncated at byte" -- "$onprem" run -m "$work/trunc.gguf" -p x
printf 'GGUF\x03\x00\x00\x00' > "$work/tiny.gguf"
check "header only" 1 "truncated at byte 8" -- "$onprem" inspect "$work/tiny.gguf"
check "not a GGUF file" 1 "p64.ids: corrupt at byte 0: not a GGUF file" -- "$onprem" run -m "$shared/conformance/prompts/p64.ids" -p x
check "not a model" 1 "general.architecture' is missing" -- "$onprem" run -m "$(dirname "$0")/../fuzz/corpus/vocab.gguf" -p x
echo "1 2 999999" > "$work/ids.txt"
check "token id outside the vocabulary" 1 "outside the vocabulary" -- "$onprem" logits -m "$model" --tokens "$work/ids.txt" --out "$work/o.bin"
echo "1 2 x" > "$work/bad.txt"
check "not a token id" 1 "not a token id" -- "$onprem" logits -m "$model" --tokens "$work/bad.txt" --out "$work/o.bin"
check "bad type" 1 "unknown weight type" -- "$onprem" gen-model --type Q3_K -o "$work/x.gguf"
check "detokenize bad id" 1 "not a token id" -- bash -c "echo 5 99999 | '$onprem' detokenize -m '$model'"
# The planner: the documented JSON keys, an SVG, a recommendation, and clear errors.
check "plan --json keys" 0 '"total_bytes"' -- "$onprem" plan --model qwen3.6-35b-a3b --quant Q8_0 --ctx 65536 --parallel 2 --kv-type Q8_0 --json
for key in weights_bytes kv_cache_bytes state_bytes compute_bytes total_bytes decode_bytes_per_token break_even_tokens_per_month; do
  check "plan --json has $key" 0 "\"$key\"" -- "$onprem" plan --json
done
check "plan on a GGUF file" 0 "Q4_K" -- "$onprem" plan --model "$model" --ctx 1024
check "plan --svg" 0 "plot:" -- "$onprem" plan --device "RTX 5090" --svg "$work/tco.svg"
check "svg written" 0 "<polyline id=\"onprem\"" -- cat "$work/tco.svg"
check "plan recommend" 0 "model +qwen3.6-27b" -- "$onprem" plan recommend --context 120000 --data regulated
check "plan unknown model" 1 "unknown model" -- "$onprem" plan --model llama-70b
check "plan unknown quant" 1 "unknown weight type" -- "$onprem" plan --quant Q2_X
# Chat: rendering, a refused conversation, the unknown-template warning, constrained run.
check "render-chat" 0 "<think>" -- bash -c "echo '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}' | '$onprem' render-chat"
check "render-chat refuses no user query" 1 "No user query" -- bash -c "echo '{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\"}]}' | '$onprem' render-chat"
check "render-chat warns on a template that renders otherwise" 0 "differs from the built-in Qwen3.6 format" -- bash -c "echo '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}' | '$onprem' render-chat -m '$shared/conformance/models/qwen35-tiny-F32.gguf'"
echo '{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}' > "$work/schema.json"
echo '{%- for m in messages %}<{{ m.role }}>{{ m.content | upper }}{% endfor %}' > "$work/t.jinja"
check "render-chat --template" 0 "<user>HI" -- bash -c "echo '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}' | '$onprem' render-chat --template '$work/t.jinja'"
echo '{% if %}' > "$work/bad.jinja"
check "serve --chat-template refuses a broken template" 1 "line 1" -- "$onprem" serve -m "$model" --chat-template "$work/bad.jinja" --port 1
check "inspect says how the file's template renders" 0 "renders as the built-in Qwen3.6 format" -- "$onprem" inspect "$(dirname "$0")/../../models/onprem-default-Q8_0.gguf" --no-tensors
check "run --json-schema" 0 "finish: stop" -- "$onprem" run -m "$model" -p x --json-schema "$work/schema.json" --output-only -n 200
exit $fails
