#include <gtest/gtest.h>

#include <random>

#include "router/pii.h"

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
  for (const char* s : {"call +1 415 555 0100 now", "010-1234-5678", "(415) 555-0100", "+82 10 1234 5678", "+44 20 7946 0958"})
    EXPECT_EQ(kinds(s), std::vector<std::string>{"phone"}) << s;
  for (const char* s : {"2026-11-29", "version 1.2.3456", "10.0.0.1", "port 8080 and 443", "id 1234567890123", "v2-3456-7890",
                        "x = 12 345 678"})
    EXPECT_TRUE(kinds(s).empty()) << s;
}

TEST(Pii, FindsKoreanResidentRegistrationNumbers) {
  EXPECT_EQ(kinds("주민번호 900101-1234567 입니다"), std::vector<std::string>{"kr_rrn"});
  EXPECT_EQ(kinds("850230-2345678"), std::vector<std::string>{"kr_rrn"});  // day 30 of a month: the shape, not the calendar
  EXPECT_TRUE(kinds("901301-1234567").empty());  // month 13
  EXPECT_TRUE(kinds("900101-9234567").empty());  // no such sex digit
  // Without the hyphen only a valid pre-2020 check digit counts: build one.
  std::string d = "900101123456";
  static const int w[12] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (int i = 0; i < 12; ++i) sum += (d[i] - '0') * w[i];
  const std::string good = d + char('0' + (11 - sum % 11) % 10);
  std::string bad = good;
  bad[12] = bad[12] == '9' ? '0' : char(bad[12] + 1);
  EXPECT_EQ(kinds(good), std::vector<std::string>{"kr_rrn"});
  EXPECT_NE(kinds(bad), std::vector<std::string>{"kr_rrn"});
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
