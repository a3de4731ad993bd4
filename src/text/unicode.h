// Byte-level helpers: the GPT-2 byte <-> character alphabet (formats.md §6.1) and UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace onprem::text {

// The character (as a code point) that stands for byte b in token texts.
uint32_t byte_to_codepoint(uint8_t b);
// The byte a code point stands for, or -1 if it is not in the alphabet.
int codepoint_to_byte(uint32_t cp);

// Appends the UTF-8 encoding of cp.
void append_utf8(std::string& out, uint32_t cp);
// Decodes one code point at s[i]; returns its length, or 0 for an invalid sequence.
size_t decode_utf8(std::string_view s, size_t i, uint32_t* cp);
// Length of the sequence a lead byte starts (1..4), or 0 if it cannot start one.
size_t utf8_sequence_length(uint8_t lead);

// Bytes -> byte-level alphabet text ("Ġhello").
std::string bytes_to_alphabet(std::string_view bytes);
// Byte-level alphabet text -> bytes; characters outside the alphabet are copied as UTF-8.
std::string alphabet_to_bytes(std::string_view text);

// How many leading bytes of s can be emitted without cutting a UTF-8 sequence in two: a trailing
// lead byte whose sequence is not yet complete (with its continuation bytes) is held back.
size_t utf8_complete_prefix(std::string_view s);

// Valid UTF-8 kept, every byte that is not part of a valid sequence replaced by U+FFFD: what an
// API returns of a model's raw bytes (JSON strings must be valid UTF-8).
std::string sanitize_utf8(std::string_view s);

}  // namespace onprem::text
