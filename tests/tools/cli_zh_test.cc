// CLI11's own words under zh_CN (core/util/i18n_cli.h): every help screen of the five binaries —
// each command and subcommand, found by walking the help's own list of subcommands — carries no
// label CLI11 writes in English ("Usage:", "Options:", "REQUIRED", "INT in [1 - 3600]",
// "[Option Group: …]" …), and the usage errors CLI11 raises (a value out of range, a required
// option missing, an unexpected argument, a value not in a set) are Chinese sentences; under the
// C locale the same screens and errors are CLI11's English.
#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/zh_env.h"

namespace gongshu::ctl {
namespace {

using gongshu::testing::RunResult;
using gongshu::testing::zh::contains;
using gongshu::testing::zh::lang;
using gongshu::testing::zh::run;

const std::string kCtl = gongshu::testing::binary_path("bin/gongshuctl");
const std::string kAudit = gongshu::testing::binary_path("bin/gongshu-audit");
const std::string kDaemon = gongshu::testing::binary_path("bin/gongshud");
const std::string kAgent = gongshu::testing::binary_path("bin/gongshu-agent");
const std::string kDrill = gongshu::testing::binary_path("bin/gongshu-drill");

// What CLI11 writes itself, in English, on a help screen (in the layout it writes it).
const char* const kCli11English[] = {
    "Usage:",
    "Options:",
    "Subcommands:",
    "Positionals:",
    "POSITIONALS",
    "REQUIRED",
    "Excludes:",
    "Needs:",
    "[Option Group",
    " in [",
    "[OPTIONS]",
    "SUBCOMMAND",
    " TEXT",
    " INT",
    " UINT",
    ":INT",
    "POSITIVE",
    "NONNEGATIVE",
    "Print this help message",
    "Display program version",
};

// The names listed under the help screen's subcommand heading ("子命令：" / "Subcommands:").
std::vector<std::string> subcommands(const std::string& help, const std::string& heading) {
  std::vector<std::string> out;
  std::istringstream in(help);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == heading) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.empty()) break;
    if (line.size() > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
      out.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return out;
}

// Walks every help screen under `argv`, checking each; returns how many it read.
int walk(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
         const std::string& heading, bool chinese) {
  std::vector<std::string> cmd = argv;
  cmd.push_back("--help");
  RunResult r = run(cmd, env);
  std::string where;
  for (size_t i = 1; i < argv.size(); ++i) where += argv[i] + " ";
  INFO(argv[0] << " " << where << "--help\n" << r.out);
  CHECK(r.exit_code == 0);
  if (chinese) {
    for (const char* english : kCli11English) {
      INFO("CLI11's English: " << english);
      CHECK_FALSE(contains(r.out, english));
    }
    CHECK(contains(r.out, "用法："));
    CHECK(contains(r.out, "选项："));
  } else {
    CHECK(contains(r.out, "Usage: "));
    CHECK(contains(r.out, "Options:"));
  }
  int screens = 1;
  for (const std::string& sub : subcommands(r.out, heading)) {
    std::vector<std::string> next = argv;
    next.push_back(sub);
    screens += walk(next, env, heading, chinese);
  }
  return screens;
}

TEST_CASE("zh_CN: no CLI11 English on any help screen of the five binaries") {
  const auto zh = lang("zh_CN.UTF-8");
  for (const std::string& bin : {kCtl, kAgent, kDaemon, kAudit, kDrill}) {
    const int screens = walk({bin}, zh, "子命令：", true);
    INFO(bin);
    CHECK(screens > 4);  // the walk found the subcommands
  }
  // The option group's title and a range, in Chinese.
  RunResult list = run({kCtl, "alert", "list", "--help"}, zh);
  CHECK(contains(list.out, "选项组：连接"));
  CHECK(contains(list.out, "--timeout 整数:1 至 3600"));
  CHECK(contains(list.out, "--limit 非负整数:1 至 10000"));
  RunResult review = run({kCtl, "catalog", "review", "--help"}, zh);
  CHECK(contains(review.out, "--approve 排除：--reject"));
  CHECK(contains(review.out, "--note 文本 必填"));
  // Columns aligned by display width: the description of a Chinese-labelled option starts in
  // the same column as --json's (30), each Chinese character counting two.
  CHECK(contains(review.out, "  --note 文本 必填            原因"));
  CHECK(contains(review.out, "  --json                      "));
}

TEST_CASE("C: CLI11's English stays on the help screens") {
  const auto c = lang("C");
  CHECK(walk({kAgent}, c, "Subcommands:", false) > 4);
  RunResult list = run({kCtl, "alert", "list", "--help"}, c);
  CHECK(contains(list.out, "[Option Group: connection]"));
  CHECK(contains(list.out, "--timeout INT:INT in [1 - 3600]"));
  RunResult review = run({kCtl, "catalog", "review", "--help"}, c);
  CHECK(contains(review.out, "Positionals:\n  ID TEXT REQUIRED            Dataset id\n"));
  CHECK(contains(review.out, "--approve Excludes: --reject"));
}

TEST_CASE("zh_CN: CLI11's usage errors are Chinese sentences, English under C") {
  struct Case {
    std::vector<std::string> argv;
    std::string chinese;
    std::string english;
  };
  const std::vector<Case> cases = {
      {{kCtl, "alert", "list", "--limit", "0"},
       "--limit：值 0 不在 1 至 10000 的范围内",
       "--limit: Value 0 not in range 1 to 10000"},
      {{kAgent, "submit", "x.csv"}, "缺少必需的选项或参数：--dataset", "--dataset is required"},
      {{kAudit, "show", "--seq", "0", "x"},
       "--seq：0 不是正数",
       "--seq: 0 is not a positive number"},
      {{kCtl, "keygen", "--kind", "zz", "x"},
       "--kind：zz 不是可选值 {agent,",
       "--kind: zz not in {agent,"},
      {{kDrill}, "缺少子命令", "A subcommand is required"},
      {{kDaemon, "check-config", "--config", "x", "a", "b"},
       "不应出现的参数：b a",
       "The following arguments were not expected: b a"},
      {{kCtl, "catalog", "review", "x", "--approve", "--reject", "--note", "n"},
       "--approve 与 --reject 不能同时使用",
       "--approve excludes --reject"},
      {{kCtl, "alert", "list", "--limit"},
       "--limit：缺少 1 个值（非负整数:1 至 10000）",
       "--limit: 1 required UINT:INT in [1 - 10000] missing"},
  };
  for (const Case& c : cases) {
    RunResult zh = run(c.argv, lang("zh_CN.UTF-8"));
    CHECK(zh.exit_code == 2);
    CHECK(contains(zh.err, c.chinese));
    CHECK(contains(zh.err, "加 --help 运行可查看详细说明。"));
    RunResult en = run(c.argv, lang("C"));
    CHECK(en.exit_code == 2);
    CHECK(contains(en.err, c.english));
    CHECK(contains(en.err, "Run with --help for more information."));
  }
}

}  // namespace
}  // namespace gongshu::ctl
