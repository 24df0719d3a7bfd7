// printable() and is_printable(): what a terminal would act on is written out, valid text is not.
#include "core/util/printable.h"

#include <catch2/catch.hpp>

#include "core/util/html_text.h"

namespace gongshu {
namespace {

TEST_CASE("printable escapes control characters, C1 controls, bidi overrides and bad bytes") {
  CHECK(printable("host\x1b]0;pwned\x07") == "host\\x1b]0;pwned\\x07");
  CHECK(printable("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(printable(std::string_view("nul\0x", 5)) == "nul\\x00x");
  CHECK(printable("del\x7f") == "del\\x7f");
  CHECK(printable("back\\slash") == "back\\\\slash");
  // U+009B is a one-character CSI on many terminals; U+202E reverses what follows.
  CHECK(printable("\xc2\x9b"
                  "2J") == "\\u009b2J");
  CHECK(printable("abc\xe2\x80\xae"
                  "cba") == "abc\\u202ecba");
  CHECK(printable("\xe2\x81\xa6x\xe2\x80\xa8") == "\\u2066x\\u2028");
  // Not UTF-8: a lone continuation byte, a truncated sequence, an overlong form, a surrogate.
  CHECK(printable("\x80") == "\\x80");
  CHECK(printable("a\xe4\xb8") == "a\\xe4\\xb8");
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");
}

TEST_CASE("printable_lines keeps line breaks and escapes the rest") {
  CHECK(printable_lines("line 1\nline\x1b[2 2\n") == "line 1\nline\\x1b[2 2\n");
  CHECK(printable_lines("no break\r") == "no break\\r");
  CHECK(printable_lines("") == "");
}

TEST_CASE("printable leaves valid text, Chinese included, as it is") {
  for (const char* s : {"", "sjz-gongan", "石家庄市公安局", "测试人口 people.cond",
                        "Zhang San 张三", "emoji 😀", "full-width ＡＢＣ　。"}) {
    CHECK(printable(s) == s);
    CHECK(is_printable(s));
  }
}

TEST_CASE("is_printable refuses what printable would escape, but a backslash") {
  CHECK(is_printable("C:\\agency"));
  for (std::string_view s :
       {std::string_view("a\x1b"), std::string_view("a\n"), std::string_view("\t"),
        std::string_view("\x7f"), std::string_view("\xc2\x85"), std::string_view("\xe2\x80\xae"),
        std::string_view("\xff"), std::string_view("x\0", 2)}) {
    INFO(printable(s));
    CHECK(!is_printable(s));
  }
}

}  // namespace
}  // namespace gongshu

TEST_CASE("html_text escapes markup after making the text printable") {
  using gongshu::html_text;
  CHECK(html_text("<script>alert('x')</script> & \"q\"") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  CHECK(html_text("户籍地址 Beijing") == "户籍地址 Beijing");
  // A bidirectional override and an escape sequence are written out, then escaped for HTML.
  CHECK(html_text("a\u202Eb") == "a\\u202eb");
  CHECK(html_text("\x1b[31m<") == "\\x1b[31m&lt;");
}
