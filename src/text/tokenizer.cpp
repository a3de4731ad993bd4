#include "text/tokenizer.h"

#include <queue>

#include "text/unicode.h"

namespace onprem::text {

core::Expected<Tokenizer> Tokenizer::create(Vocab vocab) {
  ONPREM_TRY_ASSIGN(re, PreTokenizerRegex::create(vocab.pre));
  return Tokenizer(std::move(vocab), std::move(re));
}

Tokenizer::Tokenizer(Tokenizer&& other) noexcept
    : vocab_(std::move(other.vocab_)), regex_(std::move(other.regex_)), cache_(std::move(other.cache_)) {}

namespace {

// A span of the text that is either raw (to be split and BPE'd) or one special token.
struct Fragment {
  size_t begin, end;
  int32_t special;  // -1 for raw text
};

// Longest special tokens first: each is cut out of every raw fragment where it occurs.
std::vector<Fragment> partition_special(std::string_view text, const Vocab& v, bool parse_special) {
  std::vector<Fragment> frags{{0, text.size(), -1}};
  for (int32_t id : v.special_ids) {
    const TokenType t = v.types[size_t(id)];
    if (!parse_special && t != TokenType::kUserDefined) continue;
    const std::string& s = v.tokens[size_t(id)];
    std::vector<Fragment> next;
    next.reserve(frags.size());
    for (const Fragment& f : frags) {
      if (f.special >= 0) {
        next.push_back(f);
        continue;
      }
      size_t pos = f.begin;
      while (pos < f.end) {
        const size_t hit = text.substr(0, f.end).find(s, pos);
        if (hit == std::string_view::npos) break;
        if (hit > pos) next.push_back({pos, hit, -1});
        next.push_back({hit, hit + s.size(), id});
        pos = hit + s.size();
      }
      if (pos < f.end) next.push_back({pos, f.end, -1});
    }
    frags.swap(next);
  }
  return frags;
}

}  // namespace

void Tokenizer::bpe(std::string_view piece, std::vector<int32_t>& out) const {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  // One symbol per byte; symbols are a linked list over the byte positions.
  struct Sym {
    int32_t id;
    int prev, next;
    bool alive;
  };
  const int n = int(piece.size());
  std::vector<Sym> sym(static_cast<size_t>(n));
  bool byte_fallback = false;
  for (int i = 0; i < n; ++i) {
    sym[size_t(i)] = {vocab_.byte_ids[uint8_t(piece[size_t(i)])], i - 1, i + 1 < n ? i + 1 : -1, true};
    byte_fallback |= sym[size_t(i)].id < 0;
  }
  struct Cand {
    int32_t rank;
    int left, right;
    int32_t left_id, right_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> q;
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0 || sym[size_t(l)].id < 0 || sym[size_t(r)].id < 0) return;
    const uint64_t key = (uint64_t(uint32_t(sym[size_t(l)].id)) << 32) | uint32_t(sym[size_t(r)].id);
    auto it = vocab_.merges.find(key);
    if (it != vocab_.merges.end()) q.push({it->second.rank, l, r, sym[size_t(l)].id, sym[size_t(r)].id});
  };
  if (!byte_fallback)
    for (int i = 0; i + 1 < n; ++i) try_add(i, i + 1);
  while (!q.empty()) {
    const Cand c = q.top();
    q.pop();
    Sym& L = sym[size_t(c.left)];
    // Stale if either side was merged away or changed since the pair was queued.
    if (!L.alive || L.next != c.right || L.id != c.left_id || sym[size_t(c.right)].id != c.right_id ||
        !sym[size_t(c.right)].alive)
      continue;
    Sym& R = sym[size_t(c.right)];
    L.id = vocab_.merges.at((uint64_t(uint32_t(c.left_id)) << 32) | uint32_t(c.right_id)).result;
    L.next = R.next;
    if (R.next >= 0) sym[size_t(R.next)].prev = c.left;
    R.alive = false;
    try_add(L.prev, c.left);
    try_add(c.left, L.next);
  }
  std::vector<int32_t> ids;
  for (int i = 0; i >= 0 && i < n; i = sym[size_t(i)].next) {
    if (sym[size_t(i)].id >= 0) ids.push_back(sym[size_t(i)].id);
    // A byte without a token of its own cannot be represented: it is dropped, as llama.cpp does.
  }
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() > 100000) cache_.clear();
  cache_.emplace(std::string(piece), std::move(ids));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  std::vector<int32_t> out;
  if (vocab_.add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  for (const Fragment& f : partition_special(text, vocab_, parse_special)) {
    if (f.special >= 0) {
      out.push_back(f.special);
      continue;
    }
    for (std::string_view piece : regex_.split(text.substr(f.begin, f.end - f.begin))) bpe(piece, out);
  }
  if (vocab_.add_eos && vocab_.eos_id >= 0) out.push_back(vocab_.eos_id);
  return out;
}

std::string Tokenizer::token_bytes(int32_t id, bool special) const {
  if (id < 0 || size_t(id) >= vocab_.size()) return {};
  const std::string& t = vocab_.tokens[size_t(id)];
  switch (vocab_.types[size_t(id)]) {
    case TokenType::kNormal:
    case TokenType::kByte:
      return alphabet_to_bytes(t);
    case TokenType::kUserDefined:
      return t;
    case TokenType::kControl:
      return special ? t : std::string();
    default:
      return {};  // unknown / unused (padding) tokens have no text
  }
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool special) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id, special);
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_.token_bytes(id, special_);
  const size_t n = utf8_complete_prefix(pending_);
  std::string out = pending_.substr(0, n);
  pending_.erase(0, n);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace onprem::text
