// The Chinese interface beyond help texts (issue 18), real binaries under LANG=zh_CN.UTF-8:
// gongshud's log lines carry their level in Chinese (core/sys/logger.cc), gongshuctl shows a
// refusal's class in Chinese before the daemon's English reason (core/util/refusal_text.h), and
// gongshu-drill's progress and plan errors are Chinese while its sandbox, which it reads as a
// program does, still speaks English to it. Under the C locale each reads as before. The
// zh_CN.UTF-8 locale must exist (scripts/lib/common.sh makes it): a missing one fails here.
#include <catch2/catch.hpp>
#include <csignal>

#include "tests/daemon/daemon_fixture.h"
#include "tests/tools/zh_env.h"

namespace gongshu::ctl {
namespace {

using daemon::testing::DaemonFixture;
using daemon::testing::FixtureOptions;
using gongshu::testing::RunResult;

const std::string kCtl = gongshu::testing::binary_path("bin/gongshuctl");
const std::string kDaemon = gongshu::testing::binary_path("bin/gongshud");
const std::string kDrill = gongshu::testing::binary_path("bin/gongshu-drill");

using gongshu::testing::zh::contains;
using gongshu::testing::zh::lang;
using gongshu::testing::zh::run;

TEST_CASE("zh_CN: gongshud's warning line carries its level in Chinese") {
  using gongshu::testing::ChildProcess;
  using gongshu::testing::read_text;
  using gongshu::testing::TempDir;
  using gongshu::testing::wait_until;
  using gongshu::testing::write_text;
  TempDir dir;
  REQUIRE(run({kDaemon, "init", "--state", dir.file("state"), "--operator-key-out",
               dir.file("operator.key")},
              lang("C.UTF-8"))
              .exit_code == 0);
  const std::string config = dir.file("gongshud.toml");
  write_text(config, "[daemon]\nstate_dir = \"" + dir.file("state") +
                         "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                         "\"tcp://127.0.0.1:*\"\n");
  const std::string log = dir.file("gongshud.log");
  ChildProcess daemon({kDaemon, "run", "--config", config}, log, lang("zh_CN.UTF-8"));
  REQUIRE(wait_until([&] { return contains(read_text(log), "就绪（版本") || !daemon.running(); }));
  REQUIRE(daemon.running());
  // An operator's typo, then a reload: refused, the running configuration kept.
  write_text(config, "[daemon\n");
  daemon.signal(SIGHUP);
  REQUIRE(wait_until([&] { return contains(read_text(log), "重新加载被拒绝"); }));
  INFO(read_text(log));
  CHECK(contains(read_text(log), "gongshud: 警告：重新加载被拒绝，保留当前运行的配置："));
  CHECK_FALSE(contains(read_text(log), "warning:"));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait() == 0);
}

TEST_CASE("zh_CN: gongshuctl shows a refusal's class in Chinese before the daemon's reason") {
  DaemonFixture f(FixtureOptions{});
  const std::map<std::string, std::string> conn = {
      {"GONGSHU_API", f.daemon->api_endpoint()},
      {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()},
      {"GONGSHU_KEY", f.operator_key_path}};
  RunResult zh = run({kCtl, "agency", "show", "no-such-agency"}, lang("zh_CN.UTF-8", conn));
  RunResult c = run({kCtl, "agency", "show", "no-such-agency"}, lang("C.UTF-8", conn));
  INFO("zh_CN: " << zh.err << "C: " << c.err);
  CHECK(zh.exit_code == 1);
  CHECK(c.exit_code == zh.exit_code);
  CHECK(contains(zh.err, "gongshuctl: 未找到（not found: no agency no-such-agency）\n"));
  // In English the daemon's reason alone, as before.
  CHECK(c.err == "gongshuctl: no agency no-such-agency\n");
}

TEST_CASE("zh_CN: gongshu-drill's progress and plan errors in Chinese, its sandbox in English") {
  using gongshu::testing::TempDir;
  using gongshu::testing::write_text;
  TempDir dir;
  const std::string bad = dir.file("bad.toml");
  write_text(bad,
             "name = \"bad\"\nsummary_zh = \"错\"\nsummary_en = \"bad\"\n"
             "[[step]]\ndo = \"no-such-step\"\n");
  RunResult refused = run({kDrill, "run", "--plan", bad}, lang("zh_CN.UTF-8"));
  CHECK(refused.exit_code == 2);
  CHECK(contains(refused.err, "未知的步骤 `no-such-step`"));
  CHECK(contains(run({kDrill, "run", "--plan", bad}, lang("C.UTF-8")).err,
                 "unknown step `no-such-step`"));

  // A broken policy reload: the drill finds the refusal in the sandbox daemon's journal, which it
  // reads in English whatever language the drill speaks.
  const std::string plan = dir.file("zh.toml");
  write_text(plan,
             "name = \"zh\"\nsummary_zh = \"中文界面\"\nsummary_en = \"Chinese interface\"\n"
             "[[step]]\ndo = \"reload-policy\"\nbroken = true\n");
  RunResult drill = run({kDrill, "run", "--plan", plan}, lang("zh_CN.UTF-8"));
  CHECK(drill.exit_code == 0);
  CHECK(contains(drill.err, "  ✓ 守护进程日志中记有拒绝；证据：日志：“policy reload refused"));
  CHECK(contains(drill.err, "  ✓ 正在运行的策略继续有效；证据：策略版本：之前 "));
  CHECK(contains(drill.err, "  ✓ 完成，用时 "));
  CHECK_FALSE(contains(drill.err, "✗"));
}

}  // namespace
}  // namespace gongshu::ctl
