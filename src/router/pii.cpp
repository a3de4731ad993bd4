#include "router/pii.h"

namespace onprem::router {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// Bytes of non-ASCII code points count as letters: internationalised local parts (Hangul) and
// domains (IDN) are addresses too.
bool non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool email_local(char c) {
  return is_alnum(c) || non_ascii(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool email_domain(char c) { return is_alnum(c) || non_ascii(c) || c == '.' || c == '-'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// user@host.tld: a local part, an '@' (with up to two spaces or line breaks either side: an
// address split across lines or messages), a domain with a dot and a 2+ letter top-level label.
void find_emails(std::string_view s, std::vector<PiiFinding>* out, const char* kind = "email") {
  for (size_t at = s.find('@'); at != std::string_view::npos; at = s.find('@', at + 1)) {
    size_t lb = at;
    for (int k = 0; k < 2 && lb > 0 && space(s[lb - 1]); ++k) --lb;
    size_t b = lb;
    while (b > 0 && email_local(s[b - 1])) --b;
    size_t ds = at + 1;
    for (int k = 0; k < 2 && ds < s.size() && space(s[ds]); ++k) ++ds;
    size_t e = ds;
    while (e < s.size() && email_domain(s[e])) ++e;
    while (e > ds && (s[e - 1] == '.' || s[e - 1] == '-')) --e;  // a sentence's final period
    if (b == lb || e == ds) continue;
    const std::string_view domain = s.substr(ds, e - ds);
    const size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || domain.size() - dot - 1 < 2) continue;
    bool tld_letters = true;
    for (char c : domain.substr(dot + 1)) tld_letters = tld_letters && !is_digit(c) && c != '-';
    if (tld_letters) out->push_back({kind, b, e - b});
  }
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

// "name at example dot com", "name [at] example [dot] com": the spelled-out words become '@' and
// '.', then the e-mail finder runs. An unbracketed "at" only counts where a "dot" was spelled out
// too, so "look at docs.python.org" stays prose.
void find_spelled_emails(std::string_view s, std::vector<PiiFinding>* out) {
  std::string r;
  r.reserve(s.size());
  bool dots = false, bracketed_at = false;
  size_t i = 0;
  while (i < s.size()) {
    // A word "at" or "dot", optionally in brackets, between spaces. Every look-ahead is bounded,
    // so a long run of spaces costs linear time.
    size_t j = i;
    while (j < s.size() && j - i < 3 && space(s[j])) ++j;
    const bool open = j < s.size() && (s[j] == '[' || s[j] == '(' || s[j] == '{');
    size_t w = open ? j + 1 : j;
    if (open && w < s.size() && s[w] == ' ') ++w;
    size_t we = w;
    while (we < s.size() && we - w <= 3 && is_alnum(s[we])) ++we;
    std::string word;
    for (size_t k = w; k < we; ++k) word += lower(s[k]);
    size_t after = we;
    if (after < s.size() && s[after] == ' ' && open) ++after;
    const bool close = after < s.size() && (s[after] == ']' || s[after] == ')' || s[after] == '}');
    if (close) ++after;
    const bool spaced_left = open || j > i, spaced_right = close || (after < s.size() && space(s[after]));
    if ((word == "at" || word == "dot") && spaced_left && spaced_right && open == close && i > 0 && !space(s[i - 1])) {
      for (int k = 0; k < 3 && after < s.size() && space(s[after]); ++k) ++after;
      if (after < s.size() && (is_alnum(s[after]) || non_ascii(s[after]))) {
        r += word == "at" ? '@' : '.';
        dots = dots || word == "dot";
        bracketed_at = bracketed_at || (word == "at" && open);
        i = after;
        continue;
      }
    }
    r += s[i++];
  }
  if (dots || bracketed_at) find_emails(r, out, "email");
}

// A run of digit groups joined by single separators, starting at a digit, '+' or '('.
struct DigitRun {
  size_t begin = 0, end = 0;
  std::string digits;
  std::vector<size_t> groups;  // digits per group
  std::string seps;            // separator between groups
  bool plus = false, paren = false;
};

DigitRun scan_run(std::string_view s, size_t i, std::string_view separators) {
  DigitRun r;
  r.begin = i;
  if (s[i] == '+') r.plus = true, ++i;
  size_t g = 0;
  while (i < s.size()) {
    if (is_digit(s[i])) {
      r.digits += s[i++];
      ++g;
      continue;
    }
    const bool paren = s[i] == '(' || s[i] == ')';
    const bool sep = separators.find(s[i]) != std::string_view::npos || paren;
    // A separator must be followed by a digit (or a parenthesis and a digit) to continue the run.
    size_t j = i + 1;
    while (sep && j < s.size() && (s[j] == ' ' || s[j] == '(' || s[j] == ')') && j - i < 2) ++j;
    if (!sep || j >= s.size() || !is_digit(s[j])) break;
    r.paren = r.paren || paren;
    if (g) r.groups.push_back(g), r.seps += s[i];
    g = 0;
    i = j;
  }
  if (g) r.groups.push_back(g);
  r.end = i;
  return r;
}

bool valid_rrn_date(std::string_view d) {
  const int month = (d[2] - '0') * 10 + (d[3] - '0');
  const int day = (d[4] - '0') * 10 + (d[5] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

bool separators_in(std::string_view seps, std::string_view allowed) {
  for (char c : seps)
    if (allowed.find(c) == std::string_view::npos) return false;
  return true;
}

void classify_run(const DigitRun& r, std::vector<PiiFinding>* out) {
  const size_t n = r.digits.size(), len = r.end - r.begin;
  // Korean RRN: YYMMDD-SNNNNNN (S = 1..8), with a hyphen, space or dot, or 13 digits in a row.
  // Numbers issued since October 2020 have no check digit, so a valid date and sex digit decide.
  if (!r.plus && !r.paren && n == 13 && r.digits[6] >= '1' && r.digits[6] <= '8' && valid_rrn_date(r.digits)) {
    if ((r.groups.size() == 2 && r.groups[0] == 6) || r.groups.size() == 1) {
      out->push_back({"kr_rrn", r.begin, len});
      return;
    }
  }
  // Payment cards: 13-19 digits, in one run or groups of 4 (Amex 4-6-5), with a valid Luhn digit.
  if (!r.plus && !r.paren && n >= 13 && n <= 19 && luhn_valid(r.digits)) {
    bool grouped = r.groups.size() == 1;
    if (!grouped) {
      grouped = true;
      for (size_t i = 0; i + 1 < r.groups.size(); ++i)
        grouped = grouped && (r.groups[i] == 4 || (i == 1 && r.groups[i] == 6));
    }
    if (grouped) {
      out->push_back({"card", r.begin, len});
      return;
    }
  }
  // Phone numbers.
  // - International: '+' and 8-15 digits, however grouped (+821030044530, +82 10-3004-4530).
  if (r.plus && n >= 8 && n <= 15) {
    out->push_back({"phone", r.begin, len});
    return;
  }
  // - A Korean mobile number written without separators: 01[016789] and 7-8 digits.
  if (r.groups.size() == 1 && (n == 10 || n == 11) && r.digits[0] == '0' && r.digits[1] == '1' &&
      std::string_view("016789").find(r.digits[2]) != std::string_view::npos) {
    out->push_back({"phone", r.begin, len});
    return;
  }
  // - 9-15 digits in at least three groups, no group over 4 digits after the first. Dates
  //   (8 digits) do not qualify, nor a dotted IPv4 address (four groups of at most 3).
  if (n >= 9 && n <= 15 && r.groups.size() >= 3) {
    bool shape = r.groups[0] <= 4;
    for (size_t i = 1; i < r.groups.size(); ++i) shape = shape && r.groups[i] >= 2 && r.groups[i] <= 4;
    bool ipv4 = r.groups.size() == 4 && separators_in(r.seps, ".");
    for (size_t g : r.groups) ipv4 = ipv4 && g <= 3;
    if (shape && !ipv4) out->push_back({"phone", r.begin, len});
  }
}

}  // namespace

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl && (d *= 2) > 9) d -= 9;
    sum += d;
    dbl = !dbl;
  }
  return !digits.empty() && sum % 10 == 0;
}

std::vector<PiiFinding> find_pii(std::string_view s) {
  std::vector<PiiFinding> out;
  find_emails(s, &out);
  find_spelled_emails(s, &out);
  for (size_t i = 0; i < s.size();) {
    const bool start = is_digit(s[i]) || ((s[i] == '+' || s[i] == '(') && i + 1 < s.size() && is_digit(s[i + 1]));
    // Runs start at a word boundary: "v2-3456-7890" or "id12345..." are not personal data.
    const bool boundary = i == 0 || !(is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '_');
    if (!start || !boundary) {
      ++i;
      continue;
    }
    DigitRun r = scan_run(s, i, " -.");
    const bool ends_clean = r.end >= s.size() || !(is_alnum(s[r.end]) || s[r.end] == '_');
    if (ends_clean) classify_run(r, &out);
    i = std::max(r.end, i + 1);
  }
  return out;
}

DataClass pii_class(const std::vector<PiiFinding>& findings) {
  DataClass c = DataClass::kPublic;
  for (const auto& f : findings) {
    const DataClass k = (f.kind == "kr_rrn" || f.kind == "card") ? DataClass::kRegulated : DataClass::kConfidential;
    if (k > c) c = k;
  }
  return c;
}

}  // namespace onprem::router
