// The translated files of po/POTFILES send every literal meant for people through the catalogue
// (tests/po/i18n_lint.h states what the lint sees and what it cannot).
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/po/i18n_lint.h"

using gongshu::test::i18n_lint;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("i18n lint: flags literals for people that bypass tr()") {
  SECTION("prose, streamed words and table headers are found") {
    const auto f = i18n_lint(
        "void f() {\n"
        "  std::cerr << \"agency not found\\n\";\n"
        "  std::cout << \"OK\" << x;\n"
        "  Table t({\"agency\", tr(\"name\")});\n"
        "  return Error{\"cannot open \" + path};\n"
        "}\n");
    REQUIRE(f.size() == 4);
    CHECK(f[0].line == 2);
    CHECK(f[0].literal == "agency not found\n");
    CHECK(f[1].line == 3);
    CHECK(f[1].reason == "streamed without tr()");
    CHECK(f[2].line == 4);
    CHECK(f[2].reason == "table header without tr()");
    CHECK(f[3].line == 5);
    CHECK(f[3].reason == "prose without tr()");
  }
  SECTION("wrapped, machine-facing and exempt literals pass") {
    const auto f = i18n_lint(
        "#include \"core/util/i18n.h\"\n"
        "// a comment with \"quoted words in it\"\n"
        "void f() {\n"
        "  std::cerr << tr(\"agency not found\") << \": \" << id << \"\\n\";\n"
        "  std::cout << trf(\"{} records \"\n"
        "                   \"stored\", n);\n"
        "  json.key(\"created_at\");\n"
        "  cmd->add_option(\"--until\", until, tr(\"the last day\"));\n"
        "  std::cout << \"gongshu v1\";  // i18n-exempt: the protocol's name\n"
        "  char c = '\"';\n"
        "  auto s = R\"(raw \"text\")\";\n"
        "  if (auto r = ctx.require(c, \"list alerts\", {\"operator\"}); !r) return r;\n"
        "  return refuse(v1::API_NOT_FOUND, \"no alert \" + id);\n"
        "}\n");
    for (const auto& x : f) INFO(x.line << ": " << x.literal << " — " << x.reason);
    // The raw string is prose outside tr(): found, and the only one.
    REQUIRE(f.size() == 1);
    CHECK(f[0].line == 11);
    CHECK(f[0].literal == "raw \"text\"");
  }
}

TEST_CASE("the files of po/POTFILES send their messages through the catalogue") {
  std::ifstream list(std::string(GONGSHU_SOURCE_DIR) + "/po/POTFILES");
  REQUIRE(list);
  std::string path;
  int files = 0;
  while (std::getline(list, path)) {
    if (path.empty() || path[0] == '#') continue;
    ++files;
    const std::string text = read(std::string(GONGSHU_SOURCE_DIR) + "/" + path);
    REQUIRE_FALSE(text.empty());
    const auto findings = i18n_lint(text);
    for (const auto& f : findings) {
      UNSCOPED_INFO(path << ":" << f.line << ": " << f.reason << ": \"" << f.literal << "\"");
    }
    CHECK(findings.empty());
  }
  CHECK(files >= 3);
}
