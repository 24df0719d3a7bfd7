// The translated files of po/POTFILES send every literal meant for people through the catalogue
// (tests/po/i18n_lint.h states what the lint sees and what it cannot).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "tests/po/i18n_lint.h"

using gongshu::test::fragment_reason;
using gongshu::test::i18n_lint;
using gongshu::test::tr_messages;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A message as one line: \n, \t and \\ escaped (tests/po/fragments_allowed.txt).
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out;
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
        "  GONGSHU_CHECK_MSG(n == 0, \"a writer's records were not finished\");\n"
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

TEST_CASE("fragment lint: messages glued at run time are found", "[fragments]") {
  const auto m = tr_messages(
      "void f() {\n"
      "  std::cout << tr(\"agency \") << id << tr(\" not found\");\n"
      "  std::cout << trf(\"{} of {}\", \" x \", n) << trn(\"{} row\", \"{} rows \", n);\n"
      "  std::cout << tr(\"(none)\") << trf(\", root {}\", g(a, \" y\"));\n"
      "}\n");
  REQUIRE(m.size() == 7);
  CHECK(m[0].msgid == "agency ");
  CHECK(m[0].line == 2);
  CHECK(m[2].msgid == "{} of {}");  // trf's argument " x " is not a message
  CHECK(m[4].msgid == "{} rows ");  // trn's plural is one
  CHECK(m[6].msgid == ", root {}");
  CHECK(fragment_reason("agency ") == "ends with a space");
  CHECK(fragment_reason(" not found") == "starts with a space");
  CHECK(fragment_reason("{} of {}").empty());
  CHECK(fragment_reason("(none)") == "starts with punctuation");
  CHECK(fragment_reason(", root {}") == "starts with punctuation");
  CHECK(fragment_reason(": now") == "starts with punctuation");
  CHECK(fragment_reason("agency {} not found\n").empty());
  CHECK(fragment_reason("用法：{}").empty());
  CHECK(fragment_reason("... (the list shows them all)").empty());
  CHECK(fragment_reason(". Done") == "starts with punctuation");
}

// Every message of po/POTFILES is whole: no fragment a translator cannot order, except those
// tests/po/fragments_allowed.txt lists (each with its reason there). A new fragment fails here;
// write it as one sentence with placeholders (trf("{} of {}", a, b)).
TEST_CASE("the files of po/POTFILES hand the catalogue whole messages", "[fragments]") {
  std::set<std::pair<std::string, std::string>> allowed;
  {
    std::ifstream in(std::string(GONGSHU_SOURCE_DIR) + "/tests/po/fragments_allowed.txt");
    REQUIRE(in);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      const size_t tab = line.find('\t');
      REQUIRE(tab != std::string::npos);
      allowed.insert({line.substr(0, tab), line.substr(tab + 1)});
    }
  }
  std::ifstream list(std::string(GONGSHU_SOURCE_DIR) + "/po/POTFILES");
  REQUIRE(list);
  std::string path;
  int messages = 0, fragments = 0;
  std::set<std::pair<std::string, std::string>> seen;
  while (std::getline(list, path)) {
    if (path.empty() || path[0] == '#') continue;
    for (const auto& m : tr_messages(read(std::string(GONGSHU_SOURCE_DIR) + "/" + path))) {
      ++messages;
      const std::string why = fragment_reason(m.msgid);
      if (why.empty()) continue;
      if (allowed.count({path, escaped(m.msgid)}) != 0) {
        seen.insert({path, escaped(m.msgid)});
        continue;
      }
      ++fragments;
      UNSCOPED_INFO(path << ":" << m.line << ": " << why << ": \"" << m.msgid << "\"");
      if (std::getenv("GONGSHU_PRINT_FRAGMENTS") != nullptr) {
        std::cout << path << "\t" << escaped(m.msgid) << "\n";
      }
    }
  }
  CHECK(messages > 500);
  CHECK(fragments == 0);
  // A listed message no longer in the source (made whole, or moved): the line can go.
  for (const auto& a : allowed) {
    if (seen.count(a) == 0) {
      WARN("no longer needed in fragments_allowed.txt: " << a.first << "\t" << a.second);
    }
  }
}
