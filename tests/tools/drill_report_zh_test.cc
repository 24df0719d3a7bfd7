// The drill report read by Chinese civil servants (issue 18): a real drill (audit-tamper, the
// fastest built-in scenario) run under zh_CN.UTF-8 and under C.UTF-8. Every check in the report
// carries a Chinese line and an English line, whatever the language the drill ran under; the
// signed JSON does not change with the language (it is what the signature covers); the report
// verifies and reads the same under either language; and gongshu-drill's help is Chinese under
// zh_CN.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/test_support.h"
#include "tests/tools/zh_env.h"

namespace gongshu::testing {
namespace {

using zh::contains;

const std::string kDrill = binary_path("bin/gongshu-drill");
const std::string kCtl = binary_path("bin/gongshuctl");

// A CJK ideograph (U+4E00..U+9FFF: three UTF-8 bytes, E4..E9 lead) anywhere in s.
bool has_chinese(const std::string& s) {
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0xE4 && b <= 0xE9 && (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xC0) == 0x80)
      return true;
  }
  return false;
}

struct Drill {
  RunResult run;
  nlohmann::json json;
  std::string report;  // the signed report file
};

Drill run_drill(const TempDir& dir, const std::string& lang, const std::string& key) {
  Drill d;
  d.report = dir.file(lang + ".report");
  d.run = zh::run({kDrill, "run", "audit-tamper", "--report", d.report, "--key", key, "--json"},
                  zh::lang(lang));
  REQUIRE(d.run.exit_code == 0);
  d.json = nlohmann::json::parse(d.run.out);
  return d;
}

// The JSON with what differs from one run to the next masked (times, counts, durations, ids,
// keys and hashes, the sandbox's directory): the text around them is what the language could
// change, and must not.
std::string masked(std::string json) {
  json = std::regex_replace(json, std::regex("/[^\" ]*gongshu-drill[^\" ]*"), "<dir>");
  json = std::regex_replace(json, std::regex("drill-[0-9T]+-[0-9a-f]{8}"), "<report id>");
  json = std::regex_replace(json, std::regex("[0-9a-f]{16,}"), "<hex>");
  json = std::regex_replace(json, std::regex("[0-9]+(\\.[0-9]+)?"), "<n>");
  return json;
}

}  // namespace

TEST_CASE(
    "zh_CN: a drill report carries every check in Chinese and in English; its JSON and "
    "signature do not depend on the language") {
  TempDir dir;
  std::string key = dir.file("operator.key");
  REQUIRE(run_process({kCtl, "keygen", "--kind", "operator", "--out", key}).exit_code == 0);

  Drill zh_run = run_drill(dir, "zh_CN.UTF-8", key);
  Drill c_run = run_drill(dir, "C.UTF-8", key);

  // The progress lines speak the reader's language (the report does not).
  CHECK(contains(zh_run.run.err, "✓ 未改动的导出文件验证通过；证据：gongshu-audit 退出码 0"));
  CHECK(contains(c_run.run.err, "✓ the untouched export verifies — gongshu-audit exit 0"));
  CHECK_FALSE(contains(c_run.run.err, "未改动的导出文件"));

  for (const Drill* d : {&zh_run, &c_run}) {
    INFO("report written under " << d->report);
    const auto& steps = d->json["scenarios"][0]["steps"];
    REQUIRE(steps.size() == 6);  // the sandbox, then the plan's five steps
    std::string text = read_text(d->report + ".txt");
    std::string html = read_text(d->report + ".html");
    size_t checks = 0;
    for (const auto& st : steps) {
      std::string title_zh = st["title_zh"];
      INFO("step " << st["step"] << ": " << st["title"]);
      CHECK(has_chinese(title_zh));
      // The English title is for a reader of English only, as the expectations are.
      CHECK_FALSE(has_chinese(st["title"].get<std::string>()));
      CHECK(contains(text, "\n       " + title_zh + "\n"));
      for (const auto& e : st["expectations"]) {
        ++checks;
        std::string exp = e["expectation"], ev = e["evidence"];
        std::string exp_zh = e["expectation_zh"], ev_zh = e["evidence_zh"];
        INFO(exp << " — " << ev);
        // A Chinese reader and an English reader each get the whole check in their language.
        CHECK(has_chinese(exp_zh));
        CHECK(has_chinese(ev_zh));
        CHECK_FALSE(has_chinese(exp));
        CHECK_FALSE(has_chinese(ev));
        CHECK(e["held"] == true);
        CHECK(contains(text, "       ✓ 成立 " + exp_zh + "；证据：" + ev_zh + "\n"));
        CHECK(contains(text, "       ✓ held " + exp + "; evidence: " + ev + "\n"));
        CHECK(contains(html, "；证据："));
      }
    }
    // sandbox: none; tamper: the clean export and four alterations; expect: one; verify: three
    // per agent and the drill's mark.
    CHECK(checks >= 1 + 4 + 1 + 1 + 8 + 1);
    // The figures a plan expects on are named in Chinese too.
    CHECK(contains(text, "数据 figure 定位到审计日志项的篡改数（tamper_located） = 4\n"));
  }

  // The same drill under either language: the JSON differs only in what differs from run to run
  // (times, counts, ids, hashes), never in its words.
  CHECK(masked(zh_run.run.out) == masked(c_run.run.out));

  // What was signed is the JSON printed, byte for byte; it verifies under either language, and
  // the text it is rendered to is the same bytes under both.
  std::string signed_bytes = read_text(zh_run.report);
  REQUIRE(signed_bytes.rfind(zh_run.run.out, 0) == 0);
  auto v_zh = zh::run({kDrill, "verify-report", zh_run.report}, zh::lang("zh_CN.UTF-8"));
  auto v_c = zh::run({kDrill, "verify-report", zh_run.report}, zh::lang("C.UTF-8"));
  REQUIRE(v_zh.exit_code == 0);
  REQUIRE(v_c.exit_code == 0);
  // The verdict line is the reader's; the report after it is the same bytes in both.
  auto body = [](const std::string& out) { return out.substr(out.find('\n') + 1); };
  CHECK(contains(v_zh.out, "报告未被篡改"));
  CHECK(contains(v_c.out, "report verified"));
  CHECK(body(v_zh.out) == body(v_c.out));
  CHECK(body(v_zh.out) == "\n" + read_text(zh_run.report + ".txt"));
  auto v_other = zh::run({kDrill, "verify-report", c_run.report}, zh::lang("zh_CN.UTF-8"));
  CHECK(v_other.exit_code == 0);

  // An altered Chinese evidence line breaks the signature like any other byte.
  std::string altered = signed_bytes;
  size_t at = altered.find("退出码 0");
  REQUIRE(at != std::string::npos);
  altered.replace(at, std::string("退出码 0").size(), "退出码 1");
  write_text(dir.file("altered.report"), altered);
  auto refused =
      zh::run({kDrill, "verify-report", dir.file("altered.report")}, zh::lang("zh_CN.UTF-8"));
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.err, "签名验证未通过：报告在签名后被改动"));
}

TEST_CASE("zh_CN: gongshu-drill's help and each subcommand's help are in Chinese") {
  auto zh_env = zh::lang("zh_CN.UTF-8");
  auto c_env = zh::lang("C.UTF-8");
  // Each: the command line, an English sentence of its help, the Chinese that replaces it.
  struct Help {
    std::vector<std::string> args;
    std::string english;
    std::string chinese;
  };
  const std::vector<Help> helps = {
      {{"--help"}, "emergency drills: run incident scenarios", "逐步计时"},
      {{"list", "--help"}, "List the built-in scenarios", "列出"},
      {{"show", "--help"}, "Show a scenario's steps and expectations", "预期"},
      {{"run", "--help"}, "Run scenarios against a throwaway sandbox platform", "沙箱"},
      {{"verify-report", "--help"}, "Prove a signed drill report unaltered", "报告"},
  };
  for (const auto& h : helps) {
    std::vector<std::string> argv = {kDrill};
    argv.insert(argv.end(), h.args.begin(), h.args.end());
    INFO(h.args.front());
    auto zh_help = zh::run(argv, zh_env);
    auto c_help = zh::run(argv, c_env);
    CHECK(zh_help.exit_code == 0);
    CHECK(contains(c_help.out, h.english));
    CHECK_FALSE(contains(zh_help.out, h.english));
    CHECK(contains(zh_help.out, h.chinese));
    // Every line that explains something carries Chinese: the options' and subcommands'
    // descriptions (CLI11's own words, the usage line and group headers, are the catalogue's
    // too, checked in ctl_zh_test).
    std::istringstream lines(zh_help.out);
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      // "  --option TEXT  description" or "  name  description": the description after 2+ spaces
      if (std::regex_match(line, m, std::regex("^\\s+\\S.*?\\s{2,}(\\S.*)$"))) {
        std::string desc = m[1];
        INFO(line);
        if (std::regex_search(desc, std::regex("[A-Za-z]{3,} [a-z]{3,} [a-z]{3,}")))
          CHECK(has_chinese(desc));
      }
    }
  }
}

}  // namespace gongshu::testing
