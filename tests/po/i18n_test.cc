// core/util/i18n.h: placeholders, and the real catalogue chosen by the environment.
#include "core/util/i18n.h"

#include <catch2/catch.hpp>
#include <clocale>
#include <cstdlib>
#include <string>

using gongshu::tr;
using gongshu::trf;
using gongshu::i18n::format;

TEST_CASE("i18n::format fills placeholders in order or by number") {
  CHECK(format("agency {} not found", {"a1"}) == "agency a1 not found");
  CHECK(format("{1} after {0}", {"x", "y"}) == "y after x");
  CHECK(format("{{literal}} {}", {"v"}) == "{literal} v");
  // A placeholder without its argument stays visible; nothing is read past the arguments.
  CHECK(format("{} and {}", {"one"}) == "one and {}");
  CHECK(format("{7}", {"one"}) == "{7}");
  CHECK(format("unclosed {", {"x"}) == "unclosed {");
  CHECK(trf("{} of {}", 3, std::string("five")) == "3 of five");
}

TEST_CASE("i18n::init takes the language from the environment, numbers stay C") {
  ::setenv(gongshu::i18n::kLocaleDirEnv, GONGSHU_BINARY_DIR "/share/locale", 1);
  ::unsetenv("LANGUAGE");
  ::unsetenv("LC_ALL");
  ::unsetenv("LC_MESSAGES");
  ::setenv("LANG", "zh_CN.UTF-8", 1);
  gongshu::i18n::init("gongshu-tools");
  INFO("the zh_CN.UTF-8 locale must exist: scripts/lib/common.sh generates it (localedef)");
  REQUIRE(std::string(std::setlocale(LC_MESSAGES, nullptr)) == "zh_CN.UTF-8");
  CHECK(gongshu::i18n::locale_dir() == GONGSHU_BINARY_DIR "/share/locale");
  CHECK(std::string(tr("Options")) == "选项");
  CHECK(trf("internal error: {}", "x") == "内部错误：x");
  CHECK(std::string(std::setlocale(LC_NUMERIC, nullptr)) == "C");

  ::setenv("LANG", "C.UTF-8", 1);
  gongshu::i18n::init("gongshu-tools");
  CHECK(std::string(tr("Options")) == "Options");
  ::setenv("LANG", "C", 1);
  gongshu::i18n::init("gongshu-tools");
}
