#include "chat/output_parser.h"

#include <cstdio>

#include "chat/tool_args.h"

namespace onprem::chat {

namespace {

constexpr std::string_view kThinkOpen = "<think>", kThinkClose = "</think>", kCallOpen = "<tool_call>",
                           kCallClose = "</tool_call>", kFunction = "<function=", kFunctionClose = "</function",
                           kParam = "<parameter=", kParamClose = "</parameter";

bool at(std::string_view s, size_t i, std::string_view tag) { return s.compare(i, tag.size(), tag) == 0; }

// Length of the longest suffix of s that is a proper prefix of one of the tags.
size_t partial_tag_suffix(std::string_view s, std::initializer_list<std::string_view> tags) {
  size_t best = 0;
  for (auto tag : tags)
    for (size_t n = std::min(tag.size() - 1, s.size()); n > best; --n)
      if (s.substr(s.size() - n) == tag.substr(0, n)) {
        best = n;
        break;
      }
  return best;
}

// s[i..] is a proper prefix of a tag (more input could complete it).
bool partial_at(std::string_view s, size_t i, std::initializer_list<std::string_view> tags) {
  const std::string_view rest = s.substr(i);
  for (auto tag : tags)
    if (rest.size() < tag.size() && tag.substr(0, rest.size()) == rest) return true;
  return false;
}

bool space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string call_id(uint64_t seed, int index) {
  uint64_t z = seed * 0x9e3779b97f4a7c15ull + uint64_t(index) + 1, h[2];
  for (auto& x : h) {
    z += 0x9e3779b97f4a7c15ull;
    uint64_t y = z;
    y = (y ^ (y >> 30)) * 0xbf58476d1ce4e5b9ull;
    y = (y ^ (y >> 27)) * 0x94d049bb133111ebull;
    x = y ^ (y >> 31);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "call_%016llx%08llx", (unsigned long long)h[0],
                (unsigned long long)(h[1] & 0xffffffffull));
  return buf;
}

std::string trim_one_newline(std::string_view v) {
  if (!v.empty() && v.front() == '\n') v.remove_prefix(1);
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  return std::string(v);
}

}  // namespace

OutputParser::OutputParser(Json tools, ParserOptions opt)
    : tools_(std::move(tools)), opt_(opt), mode_(opt.thinking_open ? Mode::kReasoning : Mode::kContent) {}

std::vector<OutputDelta> OutputParser::push(std::string_view text) {
  std::vector<OutputDelta> d;
  buf_.append(text);
  run(false, d);
  return d;
}

std::vector<OutputDelta> OutputParser::finish() {
  std::vector<OutputDelta> d;
  run(true, d);
  if (mode_ == Mode::kReasoning && !out_.reasoning_closed && !out_.reasoning.empty() && out_.content.empty() &&
      out_.tool_calls.empty())
    emit_warning("the output ended inside the reasoning (no </think>)", d);
  return d;
}

void OutputParser::run(bool final, std::vector<OutputDelta>& d) {
  for (;;) {
    const bool progressed = mode_ == Mode::kCall ? step_call(final, d) : step_text(final, d);
    if (!progressed) break;
  }
}

void OutputParser::emit_warning(std::string msg, std::vector<OutputDelta>& d) {
  out_.warnings.push_back(msg);
  OutputDelta x;
  x.kind = OutputDelta::Kind::kWarning;
  x.text = std::move(msg);
  d.push_back(std::move(x));
}

void OutputParser::emit_text(std::string_view text, std::vector<OutputDelta>& d) {
  std::string t;
  if (mode_ == Mode::kReasoning) {
    // Trailing newlines wait: a </think> right after them swallows them.
    t = held_newlines_ + std::string(text);
    size_t keep = t.size();
    while (keep > 0 && t[keep - 1] == '\n') --keep;
    held_newlines_ = t.substr(keep);
    t.resize(keep);
  } else {
    t = std::string(text);
  }
  if (t.empty()) return;
  OutputDelta x;
  x.kind = mode_ == Mode::kReasoning ? OutputDelta::Kind::kReasoning : OutputDelta::Kind::kContent;
  x.text = t;
  (mode_ == Mode::kReasoning ? out_.reasoning : out_.content) += t;
  d.push_back(std::move(x));
}

bool OutputParser::step_text(bool final, std::vector<OutputDelta>& d) {
  if (strip_newlines_ || strip_space_) {
    size_t i = 0;
    while (i < buf_.size() && (strip_space_ ? space(buf_[i]) : buf_[i] == '\n')) ++i;
    buf_.erase(0, i);
    if (buf_.empty()) return false;
    strip_newlines_ = strip_space_ = false;
  }
  // The model may open its own <think> when the prompt did not.
  if (mode_ == Mode::kContent && !out_.reasoning_closed && out_.content.empty() && out_.tool_calls.empty()) {
    if (at(buf_, 0, kThinkOpen)) {
      buf_.erase(0, kThinkOpen.size());
      mode_ = Mode::kReasoning;
      strip_newlines_ = true;
      return true;
    }
    if (!final && partial_at(buf_, 0, {kThinkOpen})) return false;
  }
  const bool reasoning = mode_ == Mode::kReasoning;
  std::vector<std::string_view> tags;
  if (reasoning) tags = {kThinkClose};
  if (opt_.parse_tool_calls) {
    tags.push_back(kCallOpen);
    if (!reasoning) tags.push_back(kFunction);  // back-off: a bare <function= in the answer
  }
  size_t best = std::string::npos;
  std::string_view tag;
  for (auto t : tags) {
    const size_t p = buf_.find(t);
    if (p < best) best = p, tag = t;
  }
  if (best == std::string::npos) {
    size_t hold = 0;
    if (!final)
      for (auto t : tags) hold = std::max(hold, partial_tag_suffix(buf_, {t}));
    emit_text(std::string_view(buf_).substr(0, buf_.size() - hold), d);
    buf_.erase(0, buf_.size() - hold);
    return false;
  }
  emit_text(std::string_view(buf_).substr(0, best), d);
  buf_.erase(0, best + tag.size());
  if (tag == kThinkClose) {
    held_newlines_.clear();
    out_.reasoning_closed = true;
    mode_ = Mode::kContent;
    strip_newlines_ = true;
    return true;
  }
  held_newlines_.clear();
  block_in_reasoning_ = reasoning;
  block_backoff_ = tag == kFunction;
  block_ = block_backoff_ ? std::string(kFunction) : std::string();
  if (reasoning) emit_warning("a tool call was written inside the reasoning; parsed as a call", d);
  if (block_backoff_) emit_warning("<function=...> without <tool_call>; parsed as a call", d);
  mode_ = Mode::kCall;
  fn_emitted_ = params_emitted_ = 0;
  begin_emitted_ = false;
  return true;
}

OutputParser::Block OutputParser::parse_block(std::string_view s, bool final) const {
  Block b;
  size_t i = 0;
  const auto any = {kFunction, kCallClose, kParam, kParamClose, kFunctionClose};
  for (;;) {
    while (i < s.size() && space(s[i])) ++i;
    if (i >= s.size()) {
      if (final) b.closed = true, b.end = i, b.malformed = b.functions.empty();
      return b;
    }
    if (at(s, i, kCallClose)) {
      b.closed = true, b.end = i + kCallClose.size(), b.malformed = b.functions.empty();
      return b;
    }
    if (!at(s, i, kFunction)) {
      if (!final && partial_at(s, i, any)) return b;
      if (b.functions.empty() && !block_backoff_) {
        // Not a call: the block is text up to </tool_call> (or the end).
        const size_t close = s.find(kCallClose, i);
        if (close == std::string_view::npos && !final) return b;
        b.closed = b.malformed = true;
        b.end = close == std::string_view::npos ? s.size() : close + kCallClose.size();
        return b;
      }
      ++i;  // stray text between functions
      continue;
    }
    Function f;
    f.begin = i;
    const size_t gt = s.find('>', i + kFunction.size());
    if (gt == std::string_view::npos) {
      if (!final) return b;
      b.closed = b.malformed = true, b.end = s.size();
      return b;
    }
    f.name = py_strip(s.substr(i + kFunction.size(), gt - i - kFunction.size()));
    f.name_done = true;
    i = gt + 1;
    bool block_closed = false;
    for (;;) {
      while (i < s.size() && space(s[i])) ++i;
      if (at(s, i, kParam)) {
        const size_t kgt = s.find('>', i + kParam.size());
        if (kgt == std::string_view::npos) {
          if (!final) return b.functions.push_back(f), b;
          i = s.size();
          continue;
        }
        const std::string key = py_strip(s.substr(i + kParam.size(), kgt - i - kParam.size()));
        const size_t v = kgt + 1;
        size_t e = std::string_view::npos;
        for (auto t : {kParamClose, kParam, kFunctionClose, kCallClose}) e = std::min(e, s.find(t, v));
        if (e == std::string_view::npos) {
          if (!final) return b.functions.push_back(f), b;
          e = s.size();
        }
        f.params.emplace_back(key, trim_one_newline(s.substr(v, e - v)));
        i = e;
        if (at(s, i, kParamClose)) {
          const size_t cgt = s.find('>', i);
          if (cgt == std::string_view::npos) {
            if (!final) {
              f.params.pop_back();  // wait for the whole closing tag
              return b.functions.push_back(f), b;
            }
            i = s.size();
            continue;
          }
          const bool fused = s.substr(i, cgt - i).find("function") != std::string_view::npos;  // </parameter_function>
          i = cgt + 1;
          if (fused) {
            f.closed = true;
            break;
          }
        }
        continue;
      }
      if (at(s, i, kFunctionClose)) {
        const size_t cgt = s.find('>', i);
        if (cgt == std::string_view::npos && !final) return b.functions.push_back(f), b;
        i = cgt == std::string_view::npos ? s.size() : cgt + 1;
        f.closed = true;
        break;
      }
      if (at(s, i, kCallClose)) {
        f.closed = true, block_closed = true;
        break;
      }
      if (i >= s.size()) {
        if (!final) return b.functions.push_back(f), b;
        f.closed = true, block_closed = true;
        break;
      }
      if (!final && partial_at(s, i, any)) return b.functions.push_back(f), b;
      ++i;  // stray text inside the function
    }
    f.end = i;
    b.functions.push_back(f);
    if (block_closed) {
      b.closed = true;
      b.end = at(s, i, kCallClose) ? i + kCallClose.size() : i;
      return b;
    }
    if (block_backoff_) {  // a bare function ends the call; an optional </tool_call> may follow
      size_t j = i;
      while (j < s.size() && space(s[j])) ++j;
      if (at(s, j, kCallClose))
        i = j + kCallClose.size();
      else if (!final && j < s.size() && partial_at(s, j, {kCallClose}))
        return b;
      else if (!final && j >= s.size())
        return b;
      b.closed = true, b.end = i;
      return b;
    }
  }
}

bool OutputParser::step_call(bool final, std::vector<OutputDelta>& d) {
  block_ += buf_;
  buf_.clear();
  const Block b = parse_block(block_, final);
  const Mode back = block_in_reasoning_ ? Mode::kReasoning : Mode::kContent;
  auto as_text = [&](std::string_view raw, const std::string& why) {
    emit_warning(why, d);
    const Mode m = mode_;
    mode_ = back;
    emit_text(raw, d);
    mode_ = m;
  };
  if (b.closed && b.malformed) {
    as_text((block_backoff_ ? "" : std::string(kCallOpen)) + block_.substr(0, b.end),
            "a <tool_call> without a parsable function; returned as text");
  }
  for (; fn_emitted_ < b.functions.size(); ++fn_emitted_) {
    const Function& f = b.functions[fn_emitted_];
    if (!f.name_done) break;
    if (!begin_emitted_) {
      // A call to a function the request did not declare is still a call: as text it would be
      // markup in the answer; as a call the client's agent loop answers "no such tool", and the
      // model can recover.
      if (!tool_known(tools_, f.name)) emit_warning("call to undeclared function '" + f.name + "'", d);
      ParsedToolCall c;
      c.id = call_id(opt_.id_seed, call_index_);
      c.name = f.name;
      c.in_reasoning = block_in_reasoning_;
      out_.tool_calls.push_back(c);
      OutputDelta x;
      x.kind = OutputDelta::Kind::kToolCallBegin, x.index = call_index_, x.id = c.id, x.name = c.name;
      d.push_back(std::move(x));
      begin_emitted_ = true;
    }
    ParsedToolCall& c = out_.tool_calls.back();
    auto args_delta = [&](std::string frag) {
      c.arguments_json += frag;
      OutputDelta x;
      x.kind = OutputDelta::Kind::kToolCallArguments, x.index = call_index_, x.text = std::move(frag);
      d.push_back(std::move(x));
    };
    for (; params_emitted_ < f.params.size(); ++params_emitted_) {
      const auto& [key, raw] = f.params[params_emitted_];
      const Json v = convert_parameter(raw, parameter_schema(tools_, f.name, key));
      c.arguments[key] = v;
      args_delta((params_emitted_ == 0 ? "{" : ", ") + py_json_dumps(Json(key)) + ": " + py_json_dumps(v));
    }
    if (!f.closed && !b.closed) break;
    args_delta(params_emitted_ == 0 ? "{}" : "}");
    ++call_index_;
    params_emitted_ = 0;
    begin_emitted_ = false;
  }
  if (!b.closed) return false;
  if (final && !b.malformed && !at(block_, b.end >= kCallClose.size() ? b.end - kCallClose.size() : 0, kCallClose) &&
      !block_backoff_)
    emit_warning("the output ended inside a tool call; closing tags were missing", d);
  buf_ = block_.substr(b.end);
  block_.clear();
  mode_ = back;
  strip_space_ = true;
  return true;
}

ParsedOutput parse_output(std::string_view text, const Json& tools, const ParserOptions& opt) {
  OutputParser p(tools, opt);
  p.push(text);
  p.finish();
  return p.result();
}

}  // namespace onprem::chat
