"""Byte-level BPE learned on the rendered corpus, in the GGUF conventions the engine reads
(tokenizer.ggml.model gpt2, pre-tokenizer qwen35): 256 byte tokens, the learned merges, then the
Qwen special tokens at the end with their roles (control or user-defined).

The pre-tokenizer pattern is the one src/text/pretokenize.cpp uses (Python's `regex` module has
the same Unicode classes as PCRE2). Special tokens are cut out of the text before counting, as the
tokenizer matches them whole.
"""
import collections

import regex

PATTERN = (r"'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}|"
           r" ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
CONTROL, USER_DEFINED, NORMAL = 3, 4, 1
# The Qwen3.5/3.6 added tokens in their official order, with their roles.
SPECIALS = [("<|endoftext|>", CONTROL), ("<|im_start|>", CONTROL), ("<|im_end|>", CONTROL), ("<|object_ref_start|>", CONTROL),
            ("<|object_ref_end|>", CONTROL), ("<|box_start|>", CONTROL), ("<|box_end|>", CONTROL), ("<|quad_start|>", CONTROL),
            ("<|quad_end|>", CONTROL), ("<|vision_start|>", CONTROL), ("<|vision_end|>", CONTROL), ("<|vision_pad|>", CONTROL),
            ("<|image_pad|>", CONTROL), ("<|video_pad|>", CONTROL), ("<tool_call>", USER_DEFINED), ("</tool_call>", USER_DEFINED),
            ("<|fim_prefix|>", CONTROL), ("<|fim_middle|>", CONTROL), ("<|fim_suffix|>", CONTROL), ("<|fim_pad|>", CONTROL),
            ("<|repo_name|>", CONTROL), ("<|file_sep|>", CONTROL), ("<tool_response>", USER_DEFINED), ("</tool_response>", USER_DEFINED),
            ("<think>", USER_DEFINED), ("</think>", USER_DEFINED), ("<|audio_start|>", CONTROL), ("<|audio_end|>", CONTROL),
            ("<tts_pad>", USER_DEFINED), ("<tts_text_bos>", USER_DEFINED), ("<tts_text_eod>", USER_DEFINED),
            ("<tts_text_bos_single>", USER_DEFINED), ("<|audio_pad|>", CONTROL)]


def byte_alphabet():
    """GPT-2's reversible byte -> printable code point map."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return out


# With words_apart, a word's leading space or quote is learned apart from its letters: no merge
# joins them (an experiment, not the committed vocabulary's recipe; docs/default-model.md). So a name
# is the same tokens wherever it stands: " Oslo" in a question, "Oslo" at the start of a call's
# value line, "\"Oslo" in a tool's JSON result. With merges across that boundary, the three are
# different token sequences, and copying a name from the question into a call is a lookup the
# model must learn per name, never for a name it has not seen. Digits are single tokens anyway.
WORD_PREFIX = regex.compile(r"^([^\r\n\p{L}\p{N}])([\p{L}\p{M}]+)$")


def words_of(texts, words_apart=False):
    special_re = regex.compile("|".join(regex.escape(s) for s, _ in SPECIALS))
    pre = regex.compile(PATTERN)
    alpha = byte_alphabet()
    counts = collections.Counter()
    for t in texts:
        for part in special_re.split(t):
            for piece in pre.findall(part):
                m = WORD_PREFIX.match(piece) if words_apart else None
                for unit in (m.groups() if m else (piece,)):
                    counts["".join(alpha[b] for b in unit.encode("utf-8"))] += 1
    return counts


# With whole_chars, no merge joins a piece of one character to another character: a token is whole
# characters or a part of one. Byte-level BPE otherwise learns tokens like "스" plus the first byte
# of whatever syllable followed it most often, so a Korean name the corpus never had is cut
# differently in every context and its tokens are ones the model rarely saw.
def whole_chars_join(alpha):
    byte_of = {c: b for b, c in alpha.items()}

    def joinable(a, b):
        s = bytes(byte_of[c] for c in a + b)
        try:
            s.decode("utf-8")
            return True
        except UnicodeDecodeError:
            # A part of one character: at most its lead byte, first.
            leads = [i for i, x in enumerate(s) if x & 0xC0 != 0x80]
            return leads in ([], [0])
    return joinable


def learn(texts, n_vocab, words_apart=False, whole_chars=False):
    """Returns (tokens, types, merges, ids of <|endoftext|> and <|im_end|>)."""
    alpha = byte_alphabet()
    n_merges = n_vocab - 256 - len(SPECIALS)
    words = [(list(w), n) for w, n in words_of(texts, words_apart).items()]
    joinable = whole_chars_join(alpha) if whole_chars else (lambda a, b: True)
    pairs = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words that contain it
    for i, (syms, n) in enumerate(words):
        for a, b in zip(syms, syms[1:]):
            if joinable(a, b):
                pairs[(a, b)] += n
                where[(a, b)].add(i)
    merges = []
    while len(merges) < n_merges and pairs:
        # Most frequent pair; ties broken by the pair itself so the result does not depend on hashing.
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if best[1] < 2:
            break
        (a, b), _ = best
        merges.append((a, b))
        for i in list(where[(a, b)]):
            syms, n = words[i]
            for x, y in zip(syms, syms[1:]):
                if (x, y) not in pairs:
                    continue
                pairs[(x, y)] -= n
                if pairs[(x, y)] <= 0:
                    del pairs[(x, y)]
            out, j = [], 0
            while j < len(syms):
                if j + 1 < len(syms) and syms[j] == a and syms[j + 1] == b:
                    out.append(a + b)
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            words[i] = (out, n)
            for x, y in zip(out, out[1:]):
                if joinable(x, y):
                    pairs[(x, y)] += n
                    where[(x, y)].add(i)
        del where[(a, b)]
    tokens = [alpha[b] for b in range(256)] + [a + b for a, b in merges]
    types = [NORMAL] * len(tokens)
    for s, t in SPECIALS:
        tokens.append(s)
        types.append(t)
    # Unused merge budget (a small corpus) is filled so the vocabulary has the asked-for size.
    while len(tokens) < n_vocab:
        tokens.append("[PAD%d]" % len(tokens))
        types.append(5)  # UNUSED
    eot = tokens.index("<|endoftext|>")
    eos = tokens.index("<|im_end|>")
    return tokens, types, [a + " " + b for a, b in merges], eot, eos
