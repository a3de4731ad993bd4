#!/usr/bin/python3
"""Checks a vocabulary learned with --whole-chars: every normal token is whole UTF-8 characters or
a part of one character (its lead byte first, if it has it). The byte alphabet is written out here
again, not imported, so a mistake in tools/train/bpe.py cannot hide itself.
Usage: whole_chars.py VOCAB_JSON"""
import json
import sys

printable = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
byte_of, extra = {}, 0
for b in range(256):
    if b in printable:
        byte_of[chr(b)] = b
    else:
        byte_of[chr(256 + extra)] = b
        extra += 1

vocab = json.load(open(sys.argv[1]))
bad = []
for tok, kind in zip(vocab["tokens"], vocab["types"]):
    if kind != 1:  # control, user-defined and padding tokens are not BPE pieces
        continue
    s = bytes(byte_of[c] for c in tok)
    try:
        s.decode("utf-8")
        continue
    except UnicodeDecodeError:
        pass
    if len(s) > 3 or any(x & 0xC0 != 0x80 for x in s[1:]):
        bad.append(s)
if bad:
    print("%d tokens span a character boundary, e.g. %s" % (len(bad), bad[:5]), file=sys.stderr)
    sys.exit(1)
print("whole characters: all %d normal tokens are whole characters or part of one" % vocab["types"].count(1))
