// core/util/charset.h: the auto rule, and GB18030 decoded through the C library's iconv.
#include "core/util/charset.h"

#include <catch2/catch.hpp>
#include <string>

using namespace gongshu;

namespace {

Charset detect(std::initializer_list<std::string> pieces, std::string* why = nullptr) {
  AutoDetector d;
  for (const auto& p : pieces) d.feed(p);
  if (why) *why = d.reason();
  return d.decide();
}

}  // namespace

TEST_CASE("charset: auto takes a BOM or valid UTF-8 as UTF-8, anything else as GB18030") {
  std::string why;
  CHECK(detect({"name\n张三\n"}, &why) == Charset::kUtf8);
  CHECK(why == "valid UTF-8");
  CHECK(detect({"\xEF\xBB\xBFname\n\xD5\xC5"}, &why) == Charset::kUtf8);
  CHECK(why == "UTF-8 byte order mark");
  CHECK(detect({"name\n\xD5\xC5\xC8\xFD\n"}, &why) == Charset::kGb18030);  // 张三 in GBK
  CHECK(why == "not UTF-8 at byte 5");
  // A UTF-8 character cut between two pieces is still UTF-8; cut at the end of the input is not.
  CHECK(detect({"ab\xE5\xBC", "\xA0", "cd"}) == Charset::kUtf8);
  CHECK(detect({"ab\xE5\xBC"}, &why) == Charset::kGb18030);
  CHECK(why == "not UTF-8 at byte 2");
  CHECK(detect({"x", "\xD5\xC5"}, &why) == Charset::kGb18030);
  CHECK(why == "not UTF-8 at byte 1");
  CHECK(detect({""}) == Charset::kUtf8);
  // A byte order mark split over pieces is still one.
  CHECK(detect({"\xEF", "\xBB\xBF\xD5\xC5"}, &why) == Charset::kUtf8);
  CHECK(why == "UTF-8 byte order mark");
  CHECK(detect({"\xEF\xBB"}, &why) == Charset::kGb18030);
}

TEST_CASE("charset: encoding names") {
  CHECK(*parse_encoding("GBK") == EncodingChoice::kGb18030);
  CHECK(*parse_encoding("utf8") == EncodingChoice::kUtf8);
  CHECK(*parse_encoding("auto") == EncodingChoice::kAuto);
  CHECK_FALSE(parse_encoding("latin1"));
  CHECK(std::string(charset_name(Charset::kGb18030)) == "GB18030");
}

TEST_CASE("charset: GB18030 to UTF-8, two- and four-byte characters, invalid bytes named") {
  auto gb = TextDecoder::create(Charset::kGb18030);
  REQUIRE(gb);
  std::string s = "\xD5\xC5\xC8\xFD,\x95\x5C";  // 张三,昞 — 0x5C (a backslash) as a trailing byte
  REQUIRE(gb->to_utf8(s));
  CHECK(s == "张三,昞");
  s = "\x95\x32\x82\x36 \xA2\xE3";  // U+20000 (four bytes) and the euro sign
  REQUIRE(gb->to_utf8(s));
  CHECK(s == "\xF0\xA0\x80\x80 €");
  s = "ok";
  REQUIRE(gb->to_utf8(s));
  CHECK(s == "ok");
  s = "ab\x81\x20";  // a lead byte followed by a space
  auto bad = gb->to_utf8(s);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == "not valid GB18030 at byte 2 (bytes 81 20)");
  CHECK(s == "ab\x81\x20");  // unchanged
  s = "ab\xD5";              // cut short
  REQUIRE_FALSE(gb->to_utf8(s));
  // The decoder goes on after an error.
  s = "\xD5\xC5";
  REQUIRE(gb->to_utf8(s));
  CHECK(s == "张");

  auto utf8 = TextDecoder::create(Charset::kUtf8);
  REQUIRE(utf8);
  s = "张三";
  REQUIRE(utf8->to_utf8(s));
  CHECK(s == "张三");
  s = "x\xD5\xC5";
  auto not_utf8 = utf8->to_utf8(s);
  REQUIRE_FALSE(not_utf8);
  CHECK(not_utf8.error().message() == "not valid UTF-8 at byte 1 (bytes D5 C5)");
  // Moved-from decoders are empty and safe to destroy.
  TextDecoder moved = std::move(*gb);
  s = "\xC8\xFD";
  REQUIRE(moved.to_utf8(s));
  CHECK(s == "三");
}
