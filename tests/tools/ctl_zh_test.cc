// The Chinese interface (issue 18): gongshuctl and gongshu-audit run under LANG=zh_CN.UTF-8
// speak Simplified Chinese — help, usage errors, results, table headers — from the catalogue
// built into build/share/locale (po/zh_CN.po), while --json and exit codes stay as they are;
// under the C locale they speak English. The zh_CN.UTF-8 locale must exist (scripts/lib/common.sh
// generates it): a missing locale fails here, it is not skipped.
#include <catch2/catch.hpp>
#include <clocale>
#include <csignal>
#include <cstdio>

#include "core/util/clock.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/tools/zh_env.h"

namespace gongshu::ctl {
namespace {

using daemon::testing::DaemonFixture;
using daemon::testing::FixtureOptions;
using gongshu::testing::RunResult;

const std::string kCtl = gongshu::testing::binary_path("bin/gongshuctl");
const std::string kAudit = gongshu::testing::binary_path("bin/gongshu-audit");
const std::string kDaemon = gongshu::testing::binary_path("bin/gongshud");
const std::string kAgent = gongshu::testing::binary_path("bin/gongshu-agent");
const std::string kDrill = gongshu::testing::binary_path("bin/gongshu-drill");

using gongshu::testing::zh::contains;
using gongshu::testing::zh::lang;
using gongshu::testing::zh::run;

TEST_CASE("zh_CN: the locale exists on this machine") {
  const char* old = std::setlocale(LC_ALL, nullptr);
  const std::string saved = old ? old : "C";
  INFO("generate it: localedef -i zh_CN -f UTF-8 zh_CN.UTF-8 (scripts/lib/common.sh does)");
  CHECK(std::setlocale(LC_ALL, "zh_CN.UTF-8") != nullptr);
  std::setlocale(LC_ALL, saved.c_str());
}

TEST_CASE("zh_CN: gongshu-audit help and usage errors in Chinese, English under C") {
  const auto zh = lang("zh_CN.UTF-8");
  RunResult help = run({kAudit, "--help"}, zh);
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "用法："));
  CHECK(contains(help.out, "子命令："));
  CHECK(contains(help.out, "离线核验审计日志导出文件"));
  CHECK(contains(help.out, "显示本帮助信息并退出"));
  RunResult verify_help = run({kAudit, "verify", "--help"}, zh);
  CHECK(contains(verify_help.out, "审计日志导出文件"));
  CHECK(contains(verify_help.out, "退出状态：0 核验通过"));

  RunResult usage = run({kAudit, "verify"}, zh);
  CHECK(usage.exit_code == 2);
  CHECK(contains(usage.err, "缺少必需的选项或参数"));
  CHECK(contains(usage.err, "加 --help 运行可查看详细说明。"));

  RunResult english = run({kAudit, "verify"}, lang("C"));
  CHECK(english.exit_code == 2);
  CHECK(contains(english.err, "is required"));
  CHECK_FALSE(contains(english.err, "缺少"));
  CHECK(contains(run({kAudit, "--help"}, lang("C")).out, "Usage:"));

  // A verification that fails on a bad --checkpoint note: --json is the same bytes in both
  // languages (the English reason), the text for people is Chinese.
  gongshu::testing::TempDir dir;
  const std::string note = dir.file("note.txt");
  gongshu::testing::write_text(note, "hello\n");
  const std::string key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  const std::vector<std::string> argv{
      kAudit, "verify", dir.file("audit.export"), "--key", key, "--checkpoint", note, "--json"};
  RunResult json_zh = run(argv, zh);
  RunResult json_c = run(argv, lang("C.UTF-8"));
  CHECK(json_zh.exit_code == 2);
  CHECK(json_zh.exit_code == json_c.exit_code);
  CHECK(json_zh.out == json_c.out);
  CHECK(contains(json_c.out, ": not a checkpoint note: "));
  RunResult text_zh = run(std::vector<std::string>(argv.begin(), argv.end() - 1), zh);
  CHECK(text_zh.exit_code == 2);
  CHECK(contains(text_zh.err, "不是检查点签名注记"));
  // consistency-check the same: a note that is not one, refused in English in --json.
  const std::vector<std::string> check{kAudit, "consistency", note, note,
                                       note,   "--key",       key,  "--json"};
  RunResult check_zh = run(check, zh);
  CHECK(check_zh.exit_code == 2);
  CHECK(check_zh.out == run(check, lang("C.UTF-8")).out);
  CHECK(contains(check_zh.out, ": not a checkpoint note: "));
  // check-proof the same: a file that is not an inclusion proof.
  const std::vector<std::string> proof{kAudit, "check-proof", note, "--key", key, "--json"};
  RunResult proof_zh = run(proof, zh);
  CHECK(proof_zh.exit_code == 2);
  CHECK(proof_zh.out == run(proof, lang("C.UTF-8")).out);
  CHECK(contains(proof_zh.out, ": not an inclusion proof (it does not start with "));
  RunResult proof_text = run(std::vector<std::string>(proof.begin(), proof.end() - 1), zh);
  CHECK(proof_text.exit_code == 2);
  CHECK(contains(proof_text.err, "不是包含证明"));
}

TEST_CASE("zh_CN: gongshuctl help, results and errors in Chinese; --json unchanged") {
  const auto zh = lang("zh_CN.UTF-8");
  RunResult help = run({kCtl, "--help"}, zh);
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "用法："));
  CHECK(contains(help.out, "校验公民身份号码和统一社会信用代码"));
  CHECK(contains(help.out, "提供数据的公共管理和服务机构"));

  RunResult ids = run({kCtl, "id", "check", "11010519491231002X", "123"}, zh);
  CHECK(ids.exit_code == 1);
  CHECK(contains(ids.out, "11010519491231002X  有效  公民身份号码\n"));
  CHECK(contains(ids.out, "  出生日期    1949-12-31\n"));
  CHECK(contains(ids.out, "  性别        女\n"));
  CHECK(contains(ids.out, "123  无效  无法识别\n"));

  // Machine interfaces do not change with the language.
  RunResult json_zh = run({kCtl, "id", "check", "--json", "11010519491231002X", "123"}, zh);
  RunResult json_c = run({kCtl, "id", "check", "--json", "11010519491231002X", "123"}, lang("C"));
  CHECK(json_zh.exit_code == json_c.exit_code);
  CHECK(json_zh.out == json_c.out);
  CHECK(contains(json_zh.out, "\"sex\":\"female\""));

  RunResult no_daemon = run({kCtl, "agency", "list"},
                            lang("zh_CN.UTF-8", {{"GONGSHU_API", ""}, {"GONGSHU_KEY", ""}}));
  CHECK(no_daemon.exit_code == 2);
  CHECK(contains(no_daemon.err, "没有 api 地址：请给出 --daemon-info 或 --api"));
}

TEST_CASE("zh_CN: gongshuctl tables against gongshud carry Chinese headers") {
  ::unsetenv("TZ");  // the default zone, for the children started here
  FakeClock clock{days_from_civil({2026, 3, 2}) * 86'400'000'000'000LL};
  DaemonFixture f(FixtureOptions{&clock, ""});
  f.add_agency("sjz-gongan", "石家庄市公安局");
  const std::map<std::string, std::string> conn = {
      {"GONGSHU_API", f.daemon->api_endpoint()},
      {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()},
      {"GONGSHU_KEY", f.operator_key_path}};
  RunResult table = run({kCtl, "agency", "list"}, lang("zh_CN.UTF-8", conn));
  REQUIRE(table.exit_code == 0);
  const std::string header = table.out.substr(0, table.out.find('\n'));
  CHECK(contains(header, "标识"));
  CHECK(contains(header, "名称"));
  CHECK(contains(header, "区域"));
  CHECK(contains(table.out, "石家庄市公安局"));
  RunResult principals = run({kCtl, "principal", "list"}, lang("zh_CN.UTF-8", conn));
  CHECK(principals.exit_code == 0);
  CHECK(contains(principals.out.substr(0, principals.out.find('\n')), "角色"));
  CHECK(contains(principals.out, "有效"));
  RunResult status = run({kCtl, "status"}, lang("zh_CN.UTF-8", conn));
  CHECK(status.exit_code == 0);
  CHECK(contains(status.out, "\n队列     接收 "));
  CHECK(contains(status.out, "\n告警     0 条未确认\n"));
  CHECK(contains(run({kCtl, "alert", "list"}, lang("zh_CN.UTF-8", conn)).out, "未确认告警 0 条"));
  RunResult english = run({kCtl, "agency", "list"}, lang("C", conn));
  CHECK(contains(english.out.substr(0, english.out.find('\n')), "NAME"));
  RunResult json_zh = run({kCtl, "agency", "list", "--json"}, lang("zh_CN.UTF-8", conn));
  RunResult json_c = run({kCtl, "agency", "list", "--json"}, lang("C", conn));
  CHECK(json_zh.out == json_c.out);

  // Times for people in Beijing time, the zone named; JSON in UTC ISO 8601.
  const auto at = json_c.out.find("\"created_at\":\"");
  REQUIRE(at != std::string::npos);
  const std::string utc = json_c.out.substr(at + 14, 20);  // 2026-03-02T00:00:00Z
  INFO("created_at " << utc << "\n" << table.out);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  REQUIRE(std::sscanf(utc.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &sec) == 6);
  const int64_t ms =
      (days_from_civil({y, unsigned(mo), unsigned(d)}) * 86'400LL + h * 3'600 + mi * 60 + sec) *
      1'000;
  // Asia/Shanghai has kept UTC+8 without summer time since 1991.
  auto text = [](int64_t t, const char* zone) {
    const int64_t s = t / 1000;
    const CivilDate c = civil_from_days(s / 86'400);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02lld:%02lld:%02lld %s", c.year, c.month, c.day,
                  (long long)(s % 86'400 / 3'600), (long long)(s % 3'600 / 60), (long long)(s % 60),
                  zone);
    return std::string(buf);
  };
  CHECK(contains(table.out, text(ms + 8 * 3'600'000LL, "CST (Asia/Shanghai)")));
  auto with_tz = [&](const std::string& tz) {
    auto e = conn;
    e["TZ"] = tz;
    return run({kCtl, "agency", "list"}, lang("C", e));
  };
  CHECK(contains(with_tz("UTC").out, text(ms, "UTC (UTC)")));
  CHECK(contains(with_tz("Asia/Nowhere").out, text(ms, "UTC (UTC (Asia/Nowhere: no zoneinfo")));
  CHECK(contains(with_tz("Asia/Tokyo").out, text(ms + 9 * 3'600'000LL, "JST (Asia/Tokyo)")));
}

TEST_CASE("zh_CN: gongshuctl objection and catalog in Chinese; --json unchanged") {
  ::unsetenv("TZ");  // the default zone, for the children started here
  const auto zh = lang("zh_CN.UTF-8");
  RunResult help = run({kCtl, "objection", "--help"}, zh);
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "对数据的异议（R-11）：提出、核实、答复、列出、查看"));
  CHECK(contains(help.out, "承办机构开始核实数据"));
  CHECK_FALSE(contains(help.out, "The assigned agency"));
  CHECK(contains(run({kCtl, "objection", "answer", "--help"}, zh).out, "维持：数据无误，予以维持"));
  RunResult catalog_help = run({kCtl, "catalog", "--help"}, zh);
  CHECK(catalog_help.exit_code == 0);
  CHECK(contains(catalog_help.out, "提交本机构某一数据目录条目的新版本以供审核"));
  CHECK(contains(catalog_help.out, "数据集的全部版本，以及谁在何时做了什么"));
  CHECK(contains(run({kCtl, "objection", "--help"}, lang("C")).out, "Objections to data"));

  // 2026-03-02 10:00 Beijing time, a Monday.
  FakeClock clock{(days_from_civil({2026, 3, 2}) * 86'400'000LL + 2 * 3'600'000LL) * 1'000'000};
  DaemonFixture f(FixtureOptions{&clock, ""});
  f.add_examples();
  {
    auto key = f.enroll("sjz-gongan");
    daemon::testing::TestAgent agent(f.ctx, key, f.daemon->public_key(),
                                     f.daemon->ingest_endpoint(), "sjz-gongan");
    agent.send(1, {daemon::testing::household("h-1", daemon::testing::citizen_id(1), "张三")});
    auto ack = agent.ack();
    REQUIRE(ack);
    REQUIRE(ack->accepted() == 1);
  }
  const auto zh_conn = lang("zh_CN.UTF-8", {{"GONGSHU_API", f.daemon->api_endpoint()},
                                            {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()},
                                            {"GONGSHU_KEY", f.operator_key_path}});
  auto c_conn = zh_conn;
  c_conn["LANG"] = "C";

  // An error found by gongshuctl itself: the reason in Chinese, exit status as in English.
  RunResult usage = run({kCtl, "objection", "file", "--dataset", "population.household", "--reason",
                         "姓名错误", "--contact", "窗口回电"},
                        zh_conn);
  CHECK(usage.exit_code == 2);
  CHECK(contains(usage.err, "请给出 --record KEY 或 --subject ID"));
  CHECK(run({kCtl, "objection", "file", "--dataset", "population.household", "--reason", "x",
             "--contact", "y"},
            c_conn)
            .exit_code == 2);
  // A refusal by the daemon: its class in Chinese, the daemon's reason in English beside it.
  RunResult missing = run({kCtl, "objection", "show", "YY-2026-0099"}, zh_conn);
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.err, "未找到"));
  CHECK(contains(missing.err, "no objection YY-2026-0099"));

  RunResult filed = run({kCtl, "objection", "file", "--dataset", "population.household", "--record",
                         "h-1", "--reason", "姓名错误", "--contact", "窗口回电"},
                        zh_conn);
  REQUIRE(filed.exit_code == 0);
  CHECK(contains(filed.out, "已提出异议 YY-2026-0001：当前状态 已受理\n"));
  CHECK(contains(filed.out, "\n数据集：     population.household\n"));
  CHECK(contains(filed.out, "\n有异议：     1 条记录 h-1\n"));
  CHECK(contains(filed.out, "\n承办机构：   sjz-gongan"));
  // The deadline for people: Beijing time with the zone named, and its working days.
  CHECK(contains(filed.out, "\n办理期限：   2026-03-"));
  CHECK(contains(filed.out, "CST (Asia/Shanghai)（"));
  CHECK(contains(filed.out, " 个工作日）\n"));
  CHECK(
      contains(filed.out, "\n步骤：       2026-03-02 10:00:00 CST (Asia/Shanghai) 提出 已受理，"));
  CHECK_FALSE(contains(filed.out, "filed"));

  RunResult listed = run({kCtl, "objection", "list"}, zh_conn);
  REQUIRE(listed.exit_code == 0);
  const std::string header = listed.out.substr(0, listed.out.find('\n'));
  CHECK(contains(header, "状态"));
  CHECK(contains(header, "承办机构"));
  CHECK(contains(header, "办理期限"));
  CHECK(contains(listed.out, "已受理"));
  CHECK(contains(run({kCtl, "objection", "list", "--overdue"}, zh_conn).out, "没有逾期异议"));
  RunResult english = run({kCtl, "objection", "show", "YY-2026-0001"}, c_conn);
  CHECK(contains(english.out, "state:       filed\n"));
  CHECK(contains(english.out, "working days)\n"));

  // --json: the same bytes whatever the language; times in UTC.
  RunResult json_zh = run({kCtl, "objection", "show", "YY-2026-0001", "--json"}, zh_conn);
  RunResult json_c = run({kCtl, "objection", "show", "YY-2026-0001", "--json"}, c_conn);
  REQUIRE(json_zh.exit_code == 0);
  CHECK(json_zh.out == json_c.out);
  CHECK(contains(json_zh.out, "\"state\":\"filed\""));
  CHECK(contains(json_zh.out, "\"filed_at\":\"2026-03-02T02:00:00Z\""));

  // The catalog workflow: headers, steps and states in Chinese alone; English keeps both.
  RunResult history = run({kCtl, "catalog", "history", "population.household"}, zh_conn);
  REQUIRE(history.exit_code == 0);
  const std::string history_header = history.out.substr(0, history.out.find('\n'));
  CHECK(contains(history_header, "步骤"));
  CHECK(contains(history_header, "新状态"));
  CHECK_FALSE(contains(history_header, "STEP"));
  CHECK(contains(history.out, "直接添加"));
  CHECK(contains(history.out, "已批准"));
  CHECK(contains(history.out, "CST (Asia/Shanghai)"));
  CHECK_FALSE(contains(history.out, "approved"));
  RunResult history_c = run({kCtl, "catalog", "history", "population.household"}, c_conn);
  CHECK(contains(history_c.out, "STEP 步骤"));
  CHECK(contains(history_c.out, "approved 已批准"));
  RunResult history_json =
      run({kCtl, "catalog", "history", "population.household", "--json"}, zh_conn);
  CHECK(history_json.out ==
        run({kCtl, "catalog", "history", "population.household", "--json"}, c_conn).out);
  RunResult review =
      run({kCtl, "catalog", "review", "population.household", "--note", "x"}, zh_conn);
  CHECK(review.exit_code == 2);
  CHECK(contains(review.err, "请给出 --approve 或 --reject"));
}

TEST_CASE("zh_CN: gongshud help, init and journal lines in the daemon's language") {
  using gongshu::testing::ChildProcess;
  using gongshu::testing::read_text;
  using gongshu::testing::TempDir;
  using gongshu::testing::wait_until;
  using gongshu::testing::write_text;
  // Lines on stderr, not the journal, whatever the test runner runs under.
  const auto zh = lang("zh_CN.UTF-8", {{"INVOCATION_ID", ""}, {"JOURNAL_STREAM", ""}});
  RunResult help = run({kDaemon, "--help"}, zh);
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "用法："));
  CHECK(contains(help.out, "公共数据平台守护进程"));
  CHECK(contains(run({kDaemon, "restore", "--help"}, zh).out, "备份中不含密钥"));
  CHECK(contains(run({kDaemon, "--help"}, lang("C")).out, "the gongshu public-data platform"));

  TempDir dir;
  RunResult init = run({kDaemon, "init", "--state", dir.file("state"), "--operator-key-out",
                        dir.file("operator.key")},
                       zh);
  REQUIRE(init.exit_code == 0);
  CHECK(contains(init.out, "状态目录："));
  CHECK(contains(init.out, "守护进程公钥："));
  const std::string config = dir.file("gongshud.toml");
  write_text(config, "[daemon]\nstate_dir = \"" + dir.file("state") +
                         "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                         "\"tcp://127.0.0.1:*\"\n");
  RunResult valid = run({kDaemon, "check-config", "--config", config}, zh);
  CHECK(valid.exit_code == 0);
  CHECK(contains(valid.out, "：有效"));

  const std::string log = dir.file("gongshud.log");
  ChildProcess daemon({kDaemon, "run", "--config", config}, log, zh);
  REQUIRE(wait_until([&] { return contains(read_text(log), "就绪（版本") || !daemon.running(); }));
  INFO(read_text(log));
  REQUIRE(daemon.running());
  CHECK(contains(read_text(log), "gongshud: 就绪（版本"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait() == 0);
  CHECK(contains(read_text(log), "正在停止；处理完正在传输的批次"));
  CHECK(contains(read_text(log), "已停止，共处理 0 个批次，接收 0 条记录，拒收 0 条"));
  CHECK_FALSE(contains(read_text(log), "ready (version"));
}

TEST_CASE("zh_CN: gongshu-agent and gongshu-drill help and errors in Chinese") {
  const auto zh = lang("zh_CN.UTF-8");
  RunResult help = run({kAgent, "--help"}, zh);
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "校验机构的记录"));
  CHECK(contains(help.out, "子命令："));
  CHECK(contains(run({kAgent, "submit", "--help"}, zh).out, "只有已批准的数据集接收记录"));
  CHECK(contains(run({kAgent, "status", "--help"}, zh).out, "不联系守护进程"));
  RunResult usage = run({kAgent, "submit"}, zh);
  CHECK(usage.exit_code == 2);
  CHECK(contains(usage.err, "缺少必需的选项或参数"));
  CHECK(contains(run({kAgent, "--help"}, lang("C")).out, "validate, spool, sign, seal"));

  RunResult drill = run({kDrill, "--help"}, zh);
  CHECK(drill.exit_code == 0);
  CHECK(contains(drill.out, "逐步计时，检查记录有无丢失或重复"));
  CHECK(contains(drill.out, "退出状态：0 全部符合预期"));
  RunResult nothing = run({kDrill, "run"}, zh);
  CHECK(nothing.exit_code == 2);
  CHECK(contains(nothing.err, "gongshu-drill run: 请指定场景、--all 或 --plan FILE"));
  RunResult unknown = run({kDrill, "show", "no-such-scenario"}, zh);
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.err, "中没有场景 `no-such-scenario`"));
  CHECK(contains(run({kDrill, "run"}, lang("C")).err, "name scenarios, --all or --plan FILE"));
}

}  // namespace
}  // namespace gongshu::ctl
