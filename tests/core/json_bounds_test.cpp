// The JSON bounds check: exact at its edges, linear on hostile bodies, and the parser is never
// reached past them (a 100,000-deep body would overflow its stack).
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "core/json_bounds.h"

using onprem::core::json_bounds_error;
using onprem::core::JsonLimits;

namespace {
std::string nested(int depth) { return std::string(size_t(depth), '[') + std::string(size_t(depth), ']'); }
std::string object_with_keys(size_t n) {
  std::string s = "{";
  for (size_t i = 0; i < n; ++i) {
    s.append(i ? ",\"k" : "\"k");
    s.append(std::to_string(i));
    s.append("\":1");
  }
  s.push_back('}');
  return s;
}
}  // namespace

TEST(JsonBounds, DepthAtItsEdge) {
  const JsonLimits lim;
  EXPECT_FALSE(json_bounds_error(nested(lim.max_depth), lim));
  const auto e = json_bounds_error(nested(lim.max_depth + 1), lim);
  ASSERT_TRUE(e);
  EXPECT_NE(e->find("deeper than 64"), std::string::npos) << *e;
  // Brackets inside strings are text, not nesting; escaped quotes do not end a string.
  std::string brackets = "{\"a\":\"";
  brackets.append(1000, '[');
  brackets.append("\\\"");
  brackets.append(1000, '{');
  brackets.append("\"}");
  EXPECT_FALSE(json_bounds_error(brackets, lim));
}

TEST(JsonBounds, KeysPerObjectAndInAllAtTheirEdges) {
  JsonLimits lim;
  lim.max_keys_per_object = 100;
  lim.max_keys_total = 250;
  EXPECT_FALSE(json_bounds_error(object_with_keys(100), lim));
  EXPECT_TRUE(json_bounds_error(object_with_keys(101), lim));
  // Three objects of 90 keys: each within its bound, 270 in all over the total.
  std::string three = "[";
  for (int i = 0; i < 3; ++i) {
    if (i) three.push_back(',');
    three.append(object_with_keys(90));
  }
  three.push_back(']');
  const auto e = json_bounds_error(three, lim);
  ASSERT_TRUE(e);
  EXPECT_NE(e->find("250 keys"), std::string::npos) << *e;
  // Colons inside strings and arrays are not keys.
  EXPECT_FALSE(json_bounds_error("[\"a:b:c\", \"::::\"]", lim));
}

TEST(JsonBounds, LinearOnHostileBodies) {
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(json_bounds_error(nested(100000)));
  EXPECT_TRUE(json_bounds_error(object_with_keys(200000)));
  std::string long_string(8 << 20, 'x');
  long_string.front() = long_string.back() = '"';
  EXPECT_FALSE(json_bounds_error(long_string));
  // Not a timing assertion: a guard that the checks above did not go quadratic (they take
  // milliseconds; quadratic would take minutes).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
}
