#include "core/ids/normalize.h"

#include <catch2/catch.hpp>

#include <string>

namespace gongshu::ids {
namespace {

TEST_CASE("normalize_identifier maps width, case and surrounding spaces", "[ids]") {
  struct Case {
    std::string input;
    std::string expected;
  };
  const Case cases[] = {
      {"11010519491231002X", "11010519491231002X"},
      {"11010519491231002x", "11010519491231002X"},
      {"  11010519491231002X\t\r\n", "11010519491231002X"},
      {"\xE3\x80\x80"
       "11010519491231002X"
       "\xE3\x80\x80\xE3\x80\x80",
       "11010519491231002X"},
      {" \xE3\x80\x80 91350100m000100y43 \xE3\x80\x80 ", "91350100M000100Y43"},
      // Full-width digits U+FF11 U+FF10 and full-width x (U+FF58) and X (U+FF38).
      {"\xEF\xBC\x91\xEF\xBC\x90"
       "1234",
       "101234"},
      {"\xEF\xBD\x98\xEF\xBC\xB8", "XX"},
      // Full-width A (U+FF21), Z (U+FF3A), a (U+FF41), z (U+FF5A); 0 (U+FF10) and 9 (U+FF19).
      {"\xEF\xBC\xA1\xEF\xBC\xBA\xEF\xBD\x81\xEF\xBD\x9A\xEF\xBC\x90\xEF\xBC\x99", "AZAZ09"},
      // Inner spaces, punctuation and other characters are kept for the checkers to report.
      {"1 2-3", "1 2-3"},
      {"\xC3\xA9t\xC3\xA9", "\xC3\xA9T\xC3\xA9"},
      {"\xE3\x80\x80"
       "1\xE3\x80\x80"
       "2",
       "1\xE3\x80\x80"
       "2"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    auto n = normalize_identifier(c.input);
    REQUIRE(n);
    CHECK(*n == c.expected);
    // Normalised text is a fixed point.
    auto again = normalize_identifier(*n);
    REQUIRE(again);
    CHECK(*again == *n);
  }
}

TEST_CASE("normalize_identifier refuses what cannot be an identifier", "[ids]") {
  struct Case {
    std::string input;
    std::string reason;
  };
  const Case cases[] = {
      {"", "empty identifier"},
      {" \t\r\n", "empty identifier"},
      {"\xE3\x80\x80 \xE3\x80\x80", "empty identifier"},
      {std::string(65, '1'), "too long: 65 bytes after trimming, at most 64"},
      {"  " + std::string(1000, 'A') + "  ", "too long: 1000 bytes after trimming, at most 64"},
      {"\x80"
       "1234",
       "invalid UTF-8 at byte 1"},                          // lone continuation byte
      {"12\xC0\x80", "invalid UTF-8 at byte 3"},            // overlong NUL
      {"12\xC1\xBF", "invalid UTF-8 at byte 3"},            // overlong 2-byte
      {"1\xE0\x80\xAF", "invalid UTF-8 at byte 2"},         // overlong 3-byte
      {"1\xF0\x80\x80\xAF", "invalid UTF-8 at byte 2"},     // overlong 4-byte
      {"1\xED\xA0\x80", "invalid UTF-8 at byte 2"},         // surrogate U+D800
      {"1\xF4\x90\x80\x80", "invalid UTF-8 at byte 2"},     // beyond U+10FFFF
      {"1\xF5\x80\x80\x80", "invalid UTF-8 at byte 2"},     // invalid lead byte
      {"1\xFF", "invalid UTF-8 at byte 2"},                 //
      {"123\xE3\x80", "invalid UTF-8 at byte 4"},           // truncated sequence
      {"123\xE3\x41\x80", "invalid UTF-8 at byte 4"},       // bad continuation
      {"  1\xEF\xBC", "invalid UTF-8 at byte 4"},           // counted in the raw input
      {"\xE3\x80\x80\xE3\x80", "invalid UTF-8 at byte 4"},  // truncated space after a space
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    auto n = normalize_identifier(c.input);
    REQUIRE_FALSE(n);
    CHECK(n.error().code() == ErrorCode::kInvalidArgument);
    CHECK(n.error().message() == c.reason);
  }
}

TEST_CASE("normalize_identifier limit is on trimmed bytes", "[ids]") {
  CHECK(normalize_identifier(std::string(64, '1')));
  CHECK(normalize_identifier("  " + std::string(64, '1') + "\xE3\x80\x80"));
  // 22 full-width digits are 66 bytes though only 22 characters.
  std::string wide;
  for (int i = 0; i < 22; ++i) wide += "\xEF\xBC\x91";
  CHECK_FALSE(normalize_identifier(wide));
}

TEST_CASE("utf8_length and bad_character_reason count characters", "[ids]") {
  CHECK(utf8_length("") == 0);
  CHECK(utf8_length("abc") == 3);
  CHECK(utf8_length("a\xC3\xA9\xE3\x80\x80\xF0\x9F\x98\x80") == 4);

  CHECK(bad_character_reason("1234Q6", 4) == "bad character 'Q' at position 5");
  CHECK(bad_character_reason("12 4", 2) == "bad character U+0020 at position 3");
  CHECK(bad_character_reason(std::string("1\x01", 2), 1) == "bad character U+0001 at position 2");
  CHECK(bad_character_reason("1\x7F", 1) == "bad character U+007F at position 2");
  CHECK(bad_character_reason("\xC3\xA9\xC3\xA9Z", 4) == "bad character 'Z' at position 3");
  CHECK(bad_character_reason("1\xF0\x9F\x98\x80", 1) == "bad character U+1F600 at position 2");
  CHECK(bad_character_reason("1\xE2\x80\xAE", 1) == "bad character U+202E at position 2");

  CHECK(first_non_ascii("abc") == 3);
  CHECK(first_non_ascii("ab\xC3\xA9") == 2);
}

}  // namespace
}  // namespace gongshu::ids
