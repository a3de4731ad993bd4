#include <gtest/gtest.h>

#include <random>

#include "router/pii.h"
#include "router/pii_scan.h"

using namespace onprem::router;

namespace {

std::vector<std::string> kinds(const std::string& text) {
  std::vector<std::string> k;
  for (const auto& f : find_pii(text)) k.push_back(f.kind);
  return k;
}

// The Luhn check digit computed the long way (double every second digit from the right of the
// payload, sum the digits of the products), independent of luhn_valid's loop.
char luhn_digit(const std::string& payload) {
  int sum = 0;
  for (size_t i = 0; i < payload.size(); ++i) {
    int d = payload[payload.size() - 1 - i] - '0';
    if (i % 2 == 0) {
      const int p = 2 * d;
      d = p / 10 + p % 10;
    }
    sum += d;
  }
  return char('0' + (10 - sum % 10) % 10);
}

}  // namespace

TEST(Pii, FindsEmailAddressesAndNotLookalikes) {
  EXPECT_EQ(kinds("write to jane.doe+ops@corp.example.com."), std::vector<std::string>{"email"});
  const auto f = find_pii("x a_b@x.io y");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].offset, 2u);
  EXPECT_EQ(f[0].length, 8u);
  EXPECT_TRUE(kinds("@decorator and user@localhost and a@b.c and git@github").empty());
}

TEST(Pii, FindsPhoneNumbersButNotDatesVersionsOrAddresses) {
  for (const char* s :
       {"call +1 415 555 0100 now", "010-1234-5678", "(415) 555-0100", "+82 10 1234 5678", "+44 20 7946 0958"})
    EXPECT_EQ(kinds(s), std::vector<std::string>{"phone"}) << s;
  for (const char* s : {"2026-11-29", "version 1.2.3456", "10.0.0.1", "port 8080 and 443", "id 1234567890123",
                        "v2-3456-7890", "x = 12 345 678"})
    EXPECT_TRUE(kinds(s).empty()) << s;
}

TEST(Pii, FindsKoreanResidentRegistrationNumbers) {
  EXPECT_EQ(kinds("주민번호 900101-1234567 입니다"), std::vector<std::string>{"kr_rrn"});
  EXPECT_EQ(kinds("850230-2345678"),
            std::vector<std::string>{"kr_rrn"});  // day 30 of a month: the shape, not the calendar
  EXPECT_TRUE(kinds("901301-1234567").empty());   // month 13
  EXPECT_TRUE(kinds("900101-9234567").empty());   // no such sex digit
  // Without the hyphen: numbers issued since October 2020 have no check digit, so a valid date
  // and sex digit decide, with or without a pre-2020 check digit.
  EXPECT_EQ(kinds("2101013456789"), std::vector<std::string>{"kr_rrn"});
  EXPECT_EQ(kinds("900101 1234567"), std::vector<std::string>{"kr_rrn"});
  EXPECT_TRUE(kinds("9013011234567").empty());  // month 13
}

TEST(Pii, CardNumbersNeedAValidCheckDigit) {
  std::mt19937 rng(7);
  for (int len : {13, 15, 16, 19}) {
    for (int trial = 0; trial < 50; ++trial) {
      std::string payload = "4";
      while (int(payload.size()) < len - 1) payload += char('0' + rng() % 10);
      const std::string good = payload + luhn_digit(payload);
      EXPECT_TRUE(luhn_valid(good)) << good;
      std::string bad = good;
      bad.back() = bad.back() == '9' ? '0' : char(bad.back() + 1);
      EXPECT_FALSE(luhn_valid(bad)) << bad;
      EXPECT_EQ(kinds("card " + good + " exp"), std::vector<std::string>{"card"}) << good;
      EXPECT_TRUE(kinds("card " + bad + " exp").empty() || kinds("card " + bad + " exp")[0] != "card") << bad;
    }
  }
  EXPECT_EQ(kinds("4111 1111 1111 1111"), std::vector<std::string>{"card"});
  EXPECT_EQ(kinds("4111-1111-1111-1111"), std::vector<std::string>{"card"});
  EXPECT_EQ(kinds("3782 822463 10005"), std::vector<std::string>{"card"});  // Amex 4-6-5
}

TEST(Pii, ClassesRise) {
  EXPECT_EQ(pii_class(find_pii("nothing here")), DataClass::kPublic);
  EXPECT_EQ(pii_class(find_pii("a@b.io")), DataClass::kConfidential);
  EXPECT_EQ(pii_class(find_pii("a@b.io and 4111 1111 1111 1111")), DataClass::kRegulated);
}

TEST(Pii, LinearOnLongInput) {
  std::string s(2'000'000, '1');
  for (size_t i = 0; i < s.size(); i += 3) s[i] = '-';
  s += std::string(1'000'000, '@');
  EXPECT_NO_THROW(find_pii(s));
}

// ---- the guard's reading of whole requests (pii_scan.h) ----

namespace {
DataClass text_class(const std::string& t) { return pii_class(scan_text(t).findings); }
}  // namespace

TEST(PiiScan, NormalisesLookalikesAndInvisibleCharacters) {
  EXPECT_EQ(normalize_for_pii("\uFF10\uFF11\uFF10"), "010");                 // full-width digits
  EXPECT_EQ(normalize_for_pii("a\uFF20b"), "a@b");                           // full-width @
  EXPECT_EQ(normalize_for_pii("a\u200B@\u00ADb"), "a@b");                    // zero-width space, soft hyphen
  EXPECT_EQ(normalize_for_pii("1\u20132\u22123"), "1-2-3");                  // en dash, minus sign
  EXPECT_EQ(normalize_for_pii(std::string("ok\xFF", 3)), "ok\xEF\xBF\xBD");  // a bad byte: U+FFFD
}

TEST(PiiScan, FindsEveryFormOfTheCorpus) {
  // The forms of tests/e2e/pii_corpus.mjs, each alone in a string.
  const char* forms[] = {"jisoo.kim@example.com",
                         "김지수@example.com",
                         "jisoo@예시.한국",
                         "jisoo\uFF20example.com",
                         "jisoo\u200B@example.com",
                         "jisoo at example dot com",
                         "jisoo [at] example [dot] com",
                         "bWFpbCBqaXNvby5raW1AZXhhbXBsZS5jb20=",
                         "jisoo.kim%40example.com",
                         "jisoo\\u0040example.com",
                         "jisoo @ example.com",
                         "010-2903-4529",
                         "01029034529",
                         "+821030044530",
                         "+82 10 3004 4530",
                         "010.3206.4532",
                         "(02) 3456-7890",
                         "\uFF10\uFF11\uFF10-3206-4532",
                         "900101-1234567",
                         "900101 1234567",
                         "2101013456789",
                         "4111 1111 1111 1111",
                         "4111.1111.1111.1111",
                         "5500000000000004",
                         "5500-0000-0000-0004"};
  for (const char* f : forms) EXPECT_NE(text_class(std::string("contact ") + f + " ref zq1"), DataClass::kPublic) << f;
}

TEST(PiiScan, LeavesOrdinaryCodingTextPublic) {
  for (const char* t :
       {"look at docs.python.org for the API", "meet at 5 in room 3", "the build at 10.0.0.12 failed",
        "version 2.14.1 of numpy", "2026-12-02 release", "port 8080", "sha 4f1c2a9", "x = a @ b (matrix product)",
        "SELECT * FROM t WHERE id = 12345", "use @Override on the method"})
    EXPECT_EQ(text_class(t), DataClass::kPublic) << t;
}

TEST(PiiScan, ReadsEveryFieldAndNestedJson) {
  using onprem::chat::Json;
  const Json bodies[] = {
      Json::parse(R"({"messages":[{"role":"user","content":"hi"}],"user":"jisoo.kim@example.com"})"),
      Json::parse(R"({"messages":[],"tools":[{"type":"function","function":{"name":"f",)"
                  R"("description":"mail a@corp.example.com"}}]})"),
      Json::parse(
          R"({"messages":[],"tools":[{"function":{"parameters":{"properties":{"q":{"enum":["010-2903-4529"]}}}}}]})"),
      Json::parse(R"({"messages":[],"stop":["4111 1111 1111 1111"]})"),
      Json::parse(R"({"messages":[{"role":"assistant",)"
                  R"("tool_calls":[{"function":{"arguments":"{\"q\":\"jisoo\\u0040example.com\"}"}}]}]})"),
      Json::parse(R"({"messages":[{"role":"user","content":[{"type":"image_url",)"
                  R"("image_url":{"url":"https://x.example/?u=jisoo%40example.com"}}]}]})"),
      Json::parse(R"({"messages":[{"role":"user","name":"900101-1234567","content":"hi"}]})"),
      Json::parse(R"({"messages":[{"role":"user","content":"phone"}],"metadata":{"n":4111111111111111}})"),
      Json::parse(
          R"({"messages":[{"role":"user","content":"write to jisoo.kim"},{"role":"user","content":"@example.com"}]})"),
  };
  for (const auto& b : bodies) EXPECT_NE(pii_class(scan_json(b).findings), DataClass::kPublic) << b.dump();
  EXPECT_EQ(
      pii_class(scan_json(Json::parse(R"({"messages":[{"role":"user","content":"refactor main.cpp"}]})")).findings),
      DataClass::kPublic);
}

TEST(PiiScan, WhatItCannotReadIsUninspectableNotPublic) {
  // JSON nested 100,000 deep inside a string: refused before any parse recurses.
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  onprem::chat::Json body = {{"messages", {{{"role", "user"}, {"content", deep}}}}};
  const auto scan = scan_json(body);
  EXPECT_NE(scan.uninspectable, "");
  ScanLimits tight;
  tight.max_strings = 10;
  onprem::chat::Json many = onprem::chat::Json::array();
  for (int i = 0; i < 20; ++i) many.push_back(std::to_string(i * 7));
  EXPECT_NE(scan_json(many, tight).uninspectable, "");
}

TEST(PiiScan, LinearOnHostileText) {
  std::string spaces(1'000'000, ' ');
  spaces += "at";
  std::string b64(1'000'000, 'A');
  std::string escapes;
  for (int i = 0; i < 100000; ++i) escapes += "\\u0040";
  EXPECT_NO_THROW(scan_text(spaces));
  EXPECT_NO_THROW(scan_text(b64));
  EXPECT_NO_THROW(scan_text(escapes));
}
