// The Chinese interface of gongshu-agent beyond its help (issue 18), the real binary against a
// fake daemon: under LANG=zh_CN.UTF-8 `rejected list` shows a rejected row's class in Chinese
// before its stored English reason, and `run` writes its drop-directory line in Chinese; under
// the C locale both read as before, and --json does not change with the language. The
// zh_CN.UTF-8 locale must exist (scripts/lib/common.sh makes it): a missing one fails here.

#include <signal.h>

#include <filesystem>
#include <functional>
#include <optional>

#include <catch2/catch.hpp>

#include "tests/agent/agent_test_util.h"
#include "tests/support/test_support.h"

using namespace gongshu;
using namespace gongshu::agent::testing;
using gongshu::testing::read_text;
using gongshu::testing::run_process;
using gongshu::testing::RunResult;
using gongshu::testing::TempDir;
using gongshu::testing::wait_until;
using gongshu::testing::write_text;

namespace {

const std::string kAgentBin = std::string(GONGSHU_BINARY_DIR) + "/bin/gongshu-agent";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// LANG only, whatever the test runner's environment says; lines on stderr, not the journal.
std::map<std::string, std::string> lang(const std::string& l) {
  return {{"LANG", l},         {"LANGUAGE", ""},      {"LC_ALL", ""},
          {"LC_MESSAGES", ""}, {"INVOCATION_ID", ""}, {"JOURNAL_STREAM", ""}};
}

// One gongshu-agent under test, its config and state in a temporary directory, enrolled with a
// fake daemon; agent(args, LANG) runs the real binary with that config under that language.
struct ZhAgent {
  explicit ZhAgent(const std::string& toml,
                   const std::function<void(DaemonState&)>& prepare = nullptr)
      : config(dir.file("agent.toml")) {
    write_text(config, toml);
    state.secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    if (prepare) prepare(state);
    daemon.emplace(state, daemon_key);
  }
  RunResult operator()(std::vector<std::string> args, const std::string& l) const {
    args.insert(args.begin(), kAgentBin);
    args.push_back("--config");
    args.push_back(config);
    RunResult r = run_process(args, "", lang(l));
    INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
    return r;
  }
  TempDir dir;
  std::string config;
  DaemonState state;
  crypto::IdentityKey daemon_key = crypto::IdentityKey::generate();
  std::optional<FakeDaemon> daemon;
};

}  // namespace

TEST_CASE("zh_CN: gongshu-agent's rejected list and drop-directory line in Chinese",
          "[agent][zh]") {
  ZhAgent setup(
      "[agent]\nstate_dir = \"state\"\ndrop_dir = \"drop\"\n"
      "[batch]\nmax_delay_ms = 50\n[limits]\nack_timeout_ms = 3000\n");
  TempDir& dir = setup.dir;
  const std::string& config = setup.config;
  FakeDaemon& daemon = *setup.daemon;
  const ZhAgent& agent = setup;
  REQUIRE(agent({"enroll", daemon.token()}, "C.UTF-8").exit_code == 0);

  // A row with a cell too few: rejected by the agent, its English reason stored in the spool.
  write_text(dir.file("people.csv"), "record_key,subject_id,name\nr1," + citizen_id(1) +
                                         ",张三\nr2," + citizen_id(2) + "\n");
  RunResult submit =
      agent({"submit", "--dataset", kDataset, dir.file("people.csv")}, "zh_CN.UTF-8");
  CHECK(submit.exit_code == 1);
  CHECK(contains(submit.out, "接收 1 条，拒收 1 条"));

  RunResult zh = agent({"rejected", "list"}, "zh_CN.UTF-8");
  INFO("zh_CN: " << zh.out << zh.err);
  CHECK(zh.exit_code == 0);
  CHECK(contains(zh.out, "RECORD_STATUS_MALFORMED"));
  CHECK(contains(zh.out,
                 "记录格式错误（malformed record: line 3: row has 2 cells, the header has 3）"));
  RunResult c = agent({"rejected", "list"}, "C.UTF-8");
  INFO("C: " << c.out << c.err);
  CHECK(contains(c.out, "  line 3: row has 2 cells, the header has 3\n"));
  CHECK_FALSE(contains(c.out, "malformed record"));
  CHECK_FALSE(contains(c.out, "记录"));
  // Machine output: the stored reason, the same in every language.
  RunResult json_zh = agent({"rejected", "list", "--json"}, "zh_CN.UTF-8");
  RunResult json_c = agent({"rejected", "list", "--json"}, "C.UTF-8");
  CHECK(json_zh.out == json_c.out);
  CHECK(contains(json_zh.out, "\"reason\":\"line 3: row has 2 cells, the header has 3\""));

  // The service's drop-directory line, in the service's language.
  std::filesystem::create_directories(dir.file("drop"));
  write_text(dir.file("tmp.csv"), "record_key,subject_id,name\nd1," + citizen_id(3) + ",李四\n");
  gongshu::testing::ChildProcess run({kAgentBin, "run", "--config", config}, dir.file("run.log"),
                                     lang("zh_CN.UTF-8"));
  REQUIRE(wait_until([&] { return std::filesystem::exists(dir.file("drop/done")); }));
  std::filesystem::rename(dir.file("tmp.csv"),
                          dir.file(std::string("drop/") + kDataset + "--office.csv"));
  REQUIRE(wait_until(
      [&] { return contains(read_text(dir.file("run.log")), "--office.csv：按 UTF-8"); }));
  INFO(read_text(dir.file("run.log")));
  CHECK(contains(read_text(dir.file("run.log")),
                 std::string("gongshu-agent: 投放 ") + kDataset + "--office.csv：按 UTF-8"));
  CHECK(contains(read_text(dir.file("run.log")), "读取；接收 1 条，拒收 0 条\n"));
  CHECK_FALSE(contains(read_text(dir.file("run.log")), "read as"));
  run.signal(SIGTERM);
  CHECK(run.wait() == 0);

  // The spool's refusal of an unsafe key (agent/spool.cc), in the reader's language.
  std::filesystem::permissions(dir.file("state/spool.key"), std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  RunResult unsafe_zh = agent({"rejected", "list"}, "zh_CN.UTF-8");
  CHECK(unsafe_zh.exit_code != 0);
  CHECK(contains(unsafe_zh.err, "队列密钥 "));
  CHECK(contains(unsafe_zh.err, "：权限 0640 允许其他用户读取；请执行 chmod 600"));
  RunResult unsafe_c = agent({"rejected", "list"}, "C.UTF-8");
  CHECK(contains(unsafe_c.err, ": mode 0640 lets others read it; chmod 600"));
}

// A refused batch and a refused key rotation are stored English with the daemon's code (agent.proto
// ServiceState, KeyRotation), whatever the service's language: `status` and `rotate-key` show the
// refusal's class in the reader's language before the daemon's English reason, and --json is the
// same bytes in every language. The service runs under zh_CN here, so a text stored in its
// language would show up Chinese under C.
TEST_CASE("zh_CN: a refused batch and a refused key rotation, in the reader's language",
          "[agent][zh]") {
  ZhAgent setup(
      "[agent]\nstate_dir = \"state\"\n"
      "[batch]\nmax_delay_ms = 50\n[limits]\nack_timeout_ms = 3000\n",
      [](DaemonState& s) { s.fail_once[1] = v1::BATCH_BAD_SIGNATURE; });
  TempDir& dir = setup.dir;
  const std::string& config = setup.config;
  FakeDaemon& daemon = *setup.daemon;
  const ZhAgent& agent = setup;
  REQUIRE(agent({"enroll", daemon.token()}, "C.UTF-8").exit_code == 0);
  write_text(dir.file("people.csv"), "record_key,subject_id,name\nr1," + citizen_id(1) + ",张三\n");
  REQUIRE(agent({"submit", "--dataset", kDataset, dir.file("people.csv")}, "C.UTF-8").exit_code ==
          0);
  gongshu::testing::ChildProcess run({kAgentBin, "run", "--config", config}, dir.file("run.log"),
                                     lang("zh_CN.UTF-8"));
  REQUIRE(wait_until([&] {
    return contains(agent({"status", "--json", "--no-probe"}, "C.UTF-8").out,
                    "\"service_last_error_code\":\"BATCH_BAD_SIGNATURE\"");
  }));
  RunResult zh = agent({"status", "--no-probe"}, "zh_CN.UTF-8");
  CHECK(
      contains(zh.out, "批次签名无效（the batch's signature is not valid: refused by the test）"));
  RunResult c = agent({"status", "--no-probe"}, "C.UTF-8");
  CHECK(
      contains(c.out, "; batch 1 refused by the daemon: BATCH_BAD_SIGNATURE: refused by the test"));
  CHECK_FALSE(contains(c.out, "批次"));
  // Scripts read the daemon's English reason and the batch from --json, whatever the language.
  RunResult json = agent({"status", "--json", "--no-probe"}, "zh_CN.UTF-8");
  CHECK(contains(json.out, "\"service_last_error_reason\":\"refused by the test\""));
  CHECK(contains(json.out, "\"service_last_error_batch\":1"));

  // The fake daemon refuses a key rotation as a bad request ("unsupported").
  RunResult rot_zh = agent({"rotate-key", "--timeout", "20"}, "zh_CN.UTF-8");
  CHECK(rot_zh.exit_code == 1);
  CHECK(contains(rot_zh.err, "密钥轮换"));
  CHECK(contains(rot_zh.err, "API_BAD_REQUEST"));
  CHECK(contains(rot_zh.err, "（bad request: unsupported）"));
  RunResult rot_c = agent({"rotate-key", "--timeout", "20"}, "C.UTF-8");
  CHECK(rot_c.exit_code == 1);
  CHECK(contains(rot_c.err,
                 "refused: key rotation: the daemon answered API_BAD_REQUEST: unsupported"));
  CHECK_FALSE(contains(rot_c.err, "密钥"));
  RunResult json_zh = agent({"rotate-key", "--timeout", "20", "--json"}, "zh_CN.UTF-8");
  CHECK(contains(json_zh.out,
                 "\"message\":\"key rotation: the daemon answered API_BAD_REQUEST: unsupported\""));
  run.signal(SIGTERM);
  CHECK(run.wait() == 0);
}

TEST_CASE("zh_CN: the service's stored error is English, shown in the reader's language",
          "[agent][zh]") {
  ZhAgent setup("[agent]\nstate_dir = \"state\"\n[batch]\nmax_delay_ms = 50\n");
  TempDir& dir = setup.dir;
  const std::string& config = setup.config;
  DaemonState& state = setup.state;
  FakeDaemon& daemon = *setup.daemon;
  const ZhAgent& agent = setup;
  REQUIRE(agent({"enroll", daemon.token()}, "C.UTF-8").exit_code == 0);
  {
    std::lock_guard l(state.mu);
    state.enrolled.clear();  // revoked: the daemon refuses the agent's key at the handshake
  }
  gongshu::testing::ChildProcess run({kAgentBin, "run", "--config", config}, dir.file("run.log"),
                                     lang("zh_CN.UTF-8"));
  const std::string english =
      "\"service_last_error\":\"daemon refused our key: not enrolled or revoked\"";
  REQUIRE(wait_until([&] {
    return contains(agent({"status", "--json", "--no-probe"}, "C.UTF-8").out, english);
  }));
  run.signal(SIGTERM);
  CHECK(run.wait() == 0);
  // Read after the service stopped: the state no longer changes between the two reads.
  RunResult json_c = agent({"status", "--json", "--no-probe"}, "C.UTF-8");
  RunResult json_zh = agent({"status", "--json", "--no-probe"}, "zh_CN.UTF-8");
  CHECK(contains(json_c.out, english));
  CHECK(json_zh.out == json_c.out);
  RunResult zh = agent({"status", "--no-probe"}, "zh_CN.UTF-8");
  CHECK(contains(zh.out, "守护进程拒绝了本机密钥：未注册或已吊销"));
  RunResult c = agent({"status", "--no-probe"}, "C.UTF-8");
  CHECK(contains(c.out, "daemon refused our key: not enrolled or revoked"));
  CHECK_FALSE(contains(c.out, "守护进程"));
}

TEST_CASE("zh_CN: a row invalid in the declared encoding, its rejection in the reader's language",
          "[agent][zh]") {
  ZhAgent setup("[agent]\nstate_dir = \"state\"\n");
  TempDir& dir = setup.dir;
  FakeDaemon& daemon = *setup.daemon;
  const ZhAgent& agent = setup;
  REQUIRE(agent({"enroll", daemon.token()}, "C.UTF-8").exit_code == 0);
  // GB18030: 张三 (D5C5 C8FD) on line 2; line 3's name has a lead byte without a valid trail.
  write_text(dir.file("gb.csv"), "record_key,subject_id,name\nr1," + citizen_id(1) +
                                     ",\xD5\xC5\xC8\xFD\nr2," + citizen_id(2) + ",\xD5\xFF\n");
  RunResult submit = agent(
      {"submit", "--dataset", kDataset, "--encoding", "gb18030", dir.file("gb.csv")}, "C.UTF-8");
  CHECK(submit.exit_code == 1);
  CHECK(contains(submit.out, "1 accepted, 1 rejected"));
  // Stored English with its code; the class shown in the reader's language before the reason.
  const std::string reason =
      "line 3: column 'name': not valid GB18030 at byte 0 (bytes D5 FF) (the file is read as "
      "GB18030; --encoding utf-8 reads UTF-8 files)";
  RunResult zh = agent({"rejected", "list"}, "zh_CN.UTF-8");
  INFO("zh_CN: " << zh.out << zh.err);
  CHECK(zh.exit_code == 0);
  CHECK(contains(zh.out, "记录格式错误（malformed record: " + reason + "）"));
  RunResult c = agent({"rejected", "list"}, "C.UTF-8");
  INFO("C: " << c.out << c.err);
  CHECK(contains(c.out, "RECORD_STATUS_MALFORMED [name]  " + reason));
  CHECK_FALSE(contains(c.out, "记录"));
  RunResult json_zh = agent({"rejected", "list", "--json"}, "zh_CN.UTF-8");
  RunResult json_c = agent({"rejected", "list", "--json"}, "C.UTF-8");
  CHECK(json_zh.out == json_c.out);
  CHECK(contains(json_c.out, "\"reason\":\"" + reason + "\""));
}
