#include "router/pii.h"

namespace onprem::router {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool email_local(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }
bool email_domain(char c) { return is_alnum(c) || c == '.' || c == '-'; }

// user@host.tld: a local part, an '@', a domain with a dot and a 2+ letter top-level label.
void find_emails(std::string_view s, std::vector<PiiFinding>* out) {
  for (size_t at = s.find('@'); at != std::string_view::npos; at = s.find('@', at + 1)) {
    size_t b = at;
    while (b > 0 && email_local(s[b - 1])) --b;
    size_t e = at + 1;
    while (e < s.size() && email_domain(s[e])) ++e;
    while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;  // a sentence's final period
    if (b == at || e == at + 1) continue;
    const std::string_view domain = s.substr(at + 1, e - at - 1);
    const size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || domain.size() - dot - 1 < 2) continue;
    bool tld_letters = true;
    for (char c : domain.substr(dot + 1)) tld_letters = tld_letters && !is_digit(c) && c != '-';
    if (tld_letters) out->push_back({"email", b, e - b});
  }
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

// The check digit of numbers issued before October 2020 (later ones are random, so a valid
// date and sex digit with a hyphen are enough).
bool rrn_checksum(std::string_view d13) {
  static const int w[12] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (int i = 0; i < 12; ++i) sum += (d13[i] - '0') * w[i];
  return (11 - sum % 11) % 10 == d13[12] - '0';
}

void classify_run(const DigitRun& r, std::vector<PiiFinding>* out) {
  const size_t n = r.digits.size(), len = r.end - r.begin;
  // Korean RRN: YYMMDD-SNNNNNN (S = 1..8), or 13 digits in a row with a valid check digit.
  if (!r.plus && !r.paren && n == 13 && r.digits[6] >= '1' && r.digits[6] <= '8' && valid_rrn_date(r.digits)) {
    if ((r.groups.size() == 2 && r.groups[0] == 6 && r.seps == "-") || (r.groups.size() == 1 && rrn_checksum(r.digits))) {
      out->push_back({"kr_rrn", r.begin, len});
      return;
    }
  }
  // Payment cards: 13-19 digits, in one run or groups of 4 (Amex 4-6-5), with a valid Luhn digit.
  if (!r.plus && !r.paren && n >= 13 && n <= 19 && luhn_valid(r.digits)) {
    bool grouped = r.groups.size() == 1;
    if (!grouped) {
      grouped = true;
      for (size_t i = 0; i + 1 < r.groups.size(); ++i) grouped = grouped && (r.groups[i] == 4 || (i == 1 && r.groups[i] == 6));
      for (char c : r.seps) grouped = grouped && (c == ' ' || c == '-');
    }
    if (grouped) {
      out->push_back({"card", r.begin, len});
      return;
    }
  }
  // Phone numbers: 9-15 digits in at least three groups (or '+' and two), no group over 4 digits
  // after the first, separators space / hyphen / parentheses. Dates (8 digits) and versions
  // (dots are not separators here) do not qualify.
  if (n >= 9 && n <= 15 && (r.groups.size() >= 3 || (r.plus && r.groups.size() >= 2))) {
    bool shape = r.groups[0] <= 4;
    for (size_t i = 1; i < r.groups.size(); ++i) shape = shape && r.groups[i] >= 2 && r.groups[i] <= 4;
    if (shape) out->push_back({"phone", r.begin, len});
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
  for (size_t i = 0; i < s.size();) {
    const bool start = is_digit(s[i]) || ((s[i] == '+' || s[i] == '(') && i + 1 < s.size() && is_digit(s[i + 1]));
    // Runs start at a word boundary: "v2-3456-7890" or "id12345..." are not personal data.
    const bool boundary = i == 0 || !(is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '_');
    if (!start || !boundary) {
      ++i;
      continue;
    }
    DigitRun r = scan_run(s, i, " -");
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
