#include "core/util/encoding.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "core/util/json.h"
#include "core/util/printable.h"

namespace gongshu {
namespace {

TEST_CASE("hex round trip and errors") {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  CHECK(hex_encode(b) == "0001abff");
  CHECK(*hex_decode("0001ABff") == b);
  CHECK(hex_decode("abc").error().message() == "hex: odd length 3");
  CHECK(hex_decode("zz").error().message() == "hex: bad character at position 1");
  CHECK(hex_decode("0g").error().message() == "hex: bad character at position 2");
  CHECK(hex_decode("")->empty());
}

TEST_CASE("base64 matches RFC 4648 test vectors") {
  struct Vec {
    const char* plain;
    const char* encoded;
  };
  for (auto v : {Vec{"", ""}, Vec{"f", "Zg=="}, Vec{"fo", "Zm8="}, Vec{"foo", "Zm9v"},
                 Vec{"foob", "Zm9vYg=="}, Vec{"fooba", "Zm9vYmE="}, Vec{"foobar", "Zm9vYmFy"}}) {
    CHECK(base64_encode(as_bytes(v.plain)) == v.encoded);
    auto d = base64_decode(v.encoded);
    REQUIRE(d);
    CHECK(as_chars(*d) == v.plain);
  }
  CHECK(!base64_decode("Zm9"));   // bad length
  CHECK(!base64_decode("Zm9*"));  // bad character
  CHECK(!base64_decode("Zh=="));  // non-canonical padding bits
  CHECK(!base64_decode("=Zm9"));  // padding in the middle
}

TEST_CASE("base64 round trips random data") {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 100; ++n) {
    Bytes b(n);
    for (auto& x : b) x = uint8_t(rng());
    auto d = base64_decode(base64_encode(b));
    REQUIRE(d);
    CHECK(*d == b);
  }
}

TEST_CASE("z85 matches the ZeroMQ RFC 32 example") {
  Bytes hello = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
  CHECK(*z85_encode(hello) == "HelloWorld");
  CHECK(*z85_decode("HelloWorld") == hello);
  CHECK(!z85_encode(Bytes(3)));
  CHECK(
      !z85_decode("Hello"
                  "Worl"));
  CHECK(!z85_decode("Hell\"World"));
  CHECK(!z85_decode("#####"));  // 85^5 - 1 overflows 32 bits
}

TEST_CASE("JsonWriter escapes and separates") {
  JsonWriter w;
  w.begin_object()
      .field("name", "张三 \"x\"\n")
      .field("n", int64_t(-3))
      .field("ok", true)
      .key("list")
      .begin_array()
      .value(1)
      .value("a")
      .null()
      .end_array()
      .end_object();
  CHECK(w.str() == "{\"name\":\"张三 \\\"x\\\"\\n\",\"n\":-3,\"ok\":true,\"list\":[1,\"a\",null]}");
  CHECK(json_quote(std::string_view("\x01", 1)) == "\"\\u0001\"");
}

TEST_CASE("JsonWriter writes valid UTF-8 that is safe on a terminal") {
  // ESC, DEL, a C1 CSI (U+009B), a right-to-left override and bytes that are not UTF-8.
  CHECK(json_quote("a\x1b[2Jb") == "\"a\\u001b[2Jb\"");
  CHECK(json_quote("\x7f") == "\"\\u007f\"");
  CHECK(json_quote("\xc2\x9b"
                   "31m") == "\"\\u009b31m\"");
  CHECK(json_quote("\xe2\x80\xae"
                   "txt") == "\"\\u202etxt\"");
  CHECK(json_quote("\xff\xc3(") == "\"\xef\xbf\xbd\xef\xbf\xbd(\"");
  CHECK(json_quote("石家庄市公安局 😀") == "\"石家庄市公安局 😀\"");
  // Another encoder's output made as safe, structure untouched.
  CHECK(json_terminal_safe("{\"a\":\"x\xc2\x9by\x7f\xe2\x80\xae张\"}") ==
        "{\"a\":\"x\\u009by\\u007f\\u202e张\"}");
}

TEST_CASE("json_dump_terminal_safe: invalid UTF-8 does not throw, nothing reaches a terminal raw") {
  // A name from an agent with bytes that are not UTF-8, an ESC sequence, DEL, a C1 CSI, a
  // right-to-left override and Chinese: what a plain dump() throws on, or prints as is.
  const std::string hostile =
      "a\xff\xc3(b\x1b]52;c;eA==\x07\x7f\xc2\x9b"
      "31m\xe2\x80\xae"
      "张";
  nlohmann::json j = {{"name", hostile}, {"n", 3}};
  nlohmann::ordered_json o = {{"name", hostile}, {"list", {hostile, "ok"}}};
  CHECK_THROWS(j.dump());  // the bug: one bad byte and the command dies
  std::string out_j, out_o;
  REQUIRE_NOTHROW(out_j = json_dump_terminal_safe(j));
  REQUIRE_NOTHROW(out_o = json_dump_terminal_safe(o));
  for (const std::string& out : {out_j, out_o}) {
    // Every byte a terminal would act on is escaped: the text is valid UTF-8, printable as is.
    CHECK(is_printable(out));
    CHECK(out.find('\x1b') == std::string::npos);
    CHECK(out.find('\x7f') == std::string::npos);
    CHECK(out.find('\n') == std::string::npos);  // compact: one line per document
  }
  CHECK(out_o ==
        "{\"name\":\"a\xef\xbf\xbd\xef\xbf\xbd(b\\u001b]52;c;eA==\\u0007\\u007f\\u009b31m"
        "\\u202e张\",\"list\":[\"a\xef\xbf\xbd\xef\xbf\xbd(b\\u001b]52;c;eA==\\u0007\\u007f"
        "\\u009b31m\\u202e张\",\"ok\"]}");
  // Scripts read the same characters back, the bad bytes as U+FFFD.
  auto back = nlohmann::json::parse(out_j);
  CHECK(back["n"] == 3);
  CHECK(back["name"] ==
        "a\xef\xbf\xbd\xef\xbf\xbd(b\x1b]52;c;eA==\x07\x7f\xc2\x9b"
        "31m\xe2\x80\xae"
        "张");
}

}  // namespace
}  // namespace gongshu
