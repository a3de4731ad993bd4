# shellcheck shell=bash
# The default model's recipe (docs/default-model.md, "How the recipe came to copy"), sourced by
# build_default.sh, which builds with it, and tests/train/check.sh, which checks its determinism:
# - corpus: 80 % of training names invented, half of those from uniformly drawn letters or syllables;
#   half of the tool results in compact JSON (JSON.stringify's style), half spaced (json.dumps');
# - vocabulary: no merge joins a word's leading space or quote to its letters, nor a part of one
#   character to another character;
# - training: DeltaNet layers 1 and 2 wired as a copying circuit keyed on the two tokens before,
#   call argument values weighted 3;
# - continuation: the trained file, trained on from where it stopped (the next batches), with a
#   fresh optimizer, warm-up and cosine decay from a quarter of the first stage's peak rate.
# shellcheck disable=SC2034,SC2054 # used by the scripts that source this; "1,2" is one argument
recipe_corpus=(--invented 0.8 --random-names 0.5 --compact-json 0.5)
recipe_vocab=(--words-apart --whole-chars)
recipe_loss=(--value-weight 3)
recipe_train=(--wire-copy 1,2 --wire-pair-dims 24 "${recipe_loss[@]}")
recipe_continue=("${recipe_loss[@]}" --lr 6e-4)
