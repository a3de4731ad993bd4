#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "gguf/file.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace onprem::tools {

namespace {

struct TokOptions {
  std::string model;
  bool special = false;
  bool pieces = false;
  bool jsonl = false;
};

core::Expected<text::Tokenizer> load_tokenizer(const std::string& path) {
  ONPREM_TRY_ASSIGN(file, gguf::File::open(path));
  ONPREM_TRY_ASSIGN(vocab, text::load_vocab(file));
  return text::Tokenizer::create(std::move(vocab));
}

// Control characters escaped; bytes that are not (complete) UTF-8 shown as \xNN, since a token
// may hold part of a character.
std::string escape_piece(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    const size_t n = text::decode_utf8(s, i, &cp);
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (n == 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.append(s, i, n);
      i += n;
      continue;
    }
    ++i;
  }
  return out;
}

}  // namespace

Run add_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Read UTF-8 text on stdin, print token ids separated by spaces");
  auto opt = std::make_shared<TokOptions>();
  add_model_option(cmd, opt->model, "GGUF file with a tokenizer");
  cmd->add_flag("--special", opt->special, "Parse special-token text such as <|im_start|> into its id");
  cmd->add_flag("--pieces", opt->pieces, "Print id and piece, one token per line");
  cmd->add_flag("--jsonl", opt->jsonl,
                "Batch mode: each input line is a JSON string; print one line of ids per input line");
  return [opt]() -> int {
    auto tok = load_tokenizer(opt->model);
    if (!tok) return fail(tok.error().to_string());
    if (opt->jsonl) {
      std::string line;
      size_t line_no = 0;
      while (std::getline(std::cin, line)) {
        ++line_no;
        std::string text;
        try {
          text = nlohmann::json::parse(line).get<std::string>();
        } catch (const nlohmann::json::exception& e) {
          return fail("line " + std::to_string(line_no) + " is not a JSON string: " + e.what());
        }
        const auto ids = tok->encode(text, opt->special);
        std::string out;
        for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
        std::cout << out << '\n';
      }
      return 0;
    }
    const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    const auto ids = tok->encode(input, opt->special);
    std::ostringstream out;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (opt->pieces)
        out << ids[i] << '\t' << escape_piece(tok->token_bytes(ids[i], true)) << '\n';
      else
        out << (i ? " " : "") << ids[i];
    }
    if (!opt->pieces) out << '\n';
    std::cout << out.str();
    return 0;
  };
}

Run add_detokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("detokenize", "Read token ids on stdin, print the text they decode to");
  auto opt = std::make_shared<TokOptions>();
  add_model_option(cmd, opt->model, "GGUF file with a tokenizer");
  cmd->add_flag("--special", opt->special, "Print the text of control tokens too");
  return [opt]() -> int {
    auto tok = load_tokenizer(opt->model);
    if (!tok) return fail(tok.error().to_string());
    std::vector<int32_t> ids;
    std::string word;
    while (std::cin >> word) {
      char* end = nullptr;
      const long v = std::strtol(word.c_str(), &end, 10);
      if (*end != '\0' || v < 0 || size_t(v) >= tok->vocab().size())
        return fail("'" + word + "' is not a token id (0.." + std::to_string(tok->vocab().size() - 1) + ")");
      ids.push_back(int32_t(v));
    }
    std::cout << tok->decode(ids, opt->special);
    return 0;
  };
}

}  // namespace onprem::tools
