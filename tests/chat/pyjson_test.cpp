#include <gtest/gtest.h>

#include "chat/pyjson.h"

namespace onprem::chat {
namespace {

// Values Python prints (python3 -c 'print(repr(x))'), derived independently of our code.
TEST(PyJson, FloatRepr) {
  EXPECT_EQ(py_float_repr(1.0), "1.0");
  EXPECT_EQ(py_float_repr(0.1), "0.1");
  EXPECT_EQ(py_float_repr(1e-05), "1e-05");
  EXPECT_EQ(py_float_repr(0.0001), "0.0001");
  EXPECT_EQ(py_float_repr(1e16), "1e+16");
  EXPECT_EQ(py_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(py_float_repr(123456.789), "123456.789");
  EXPECT_EQ(py_float_repr(-2.5e-10), "-2.5e-10");
  EXPECT_EQ(py_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
}

TEST(PyJson, DumpsAndStr) {
  const Json j = Json::parse(R"({"b": [1, 2.0, "x\ny", null, true], "a": {"é": "\u0001"}})");
  EXPECT_EQ(py_json_dumps(j), "{\"b\": [1, 2.0, \"x\\ny\", null, true], \"a\": {\"é\": \"\\u0001\"}}");
  EXPECT_EQ(py_str(Json(true)), "True");
  EXPECT_EQ(py_str(Json()), "None");
  EXPECT_EQ(py_str(Json(3.0)), "3.0");
  EXPECT_EQ(py_strip("\u3000 \n x y \t\u00a0"), "x y");
}

}  // namespace
}  // namespace onprem::chat
