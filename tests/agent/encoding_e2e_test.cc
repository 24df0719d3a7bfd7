// End to end: files as Chinese offices write them (GB18030, made here with iconv), through the
// real gongshu-agent binary — submit and the drop directory — to the (fake) daemon's store.

#include <signal.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "agent/values.h"
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

// UTF-8 text in GB18030, by the iconv program (not by the code under test).
std::string to_gb18030(const std::string& utf8) {
  RunResult r = run_process({"/usr/bin/iconv", "-f", "UTF-8", "-t", "GB18030"}, utf8);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out != utf8);
  return r.out;
}

// key -> (name, born) of every record the daemon stored.
std::map<std::string, std::pair<std::string, std::string>> stored(DaemonState& state) {
  std::lock_guard l(state.mu);
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (auto& [seq, recs] : state.records) {
    for (auto& bytes : recs) {
      v1::Record r;
      REQUIRE(r.ParseFromString(bytes));
      auto& e = out[r.record_key()];
      for (const auto& f : r.fields()) {
        if (f.name() == "name") e.first = f.value().text();
        if (f.name() == "born") e.second = agent::format_date_days(f.value().date_days());
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("e2e: GB18030 CSV and JSON Lines through submit and the drop directory",
          "[agent][e2e][encoding]") {
  TempDir dir;
  const std::string config = dir.file("agent.toml");
  write_text(config,
             "[agent]\nstate_dir = \"state\"\ndrop_dir = \"drop\"\n"
             "[batch]\nmax_delay_ms = 50\n[limits]\nack_timeout_ms = 3000\n");
  DaemonState state;
  state.secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const auto daemon_key = crypto::IdentityKey::generate();
  FakeDaemon daemon(state, daemon_key);
  auto agent = [&](std::vector<std::string> args) {
    args.insert(args.begin(), kAgentBin);
    args.push_back("--config");
    args.push_back(config);
    return run_process(args);
  };
  REQUIRE(agent({"enroll", daemon.token()}).exit_code == 0);

  // Excel's "CSV (comma delimited)" on a Chinese desktop: GB18030, CRLF, office dates, and one
  // line damaged (0x81 0x20 is valid in no GB18030 text) that must be refused alone.
  std::string csv = to_gb18030(
      "record_key,subject_id,name,born\r\n"
      "c1," +
      citizen_id(1) +
      ",张三,2024年1月2日\r\n"
      "c2," +
      citizen_id(2) +
      ",李四,2024/1/2\r\n"
      "c3," +
      citizen_id(3) + ",王五,２０２４．０１．０２\r\n");
  csv += "c4," + citizen_id(4) + ",\x81\x20,2024.01.02\r\n";
  write_text(dir.file("people.csv"), csv);
  RunResult r = agent({"submit", "--dataset", kDataset, dir.file("people.csv"), "--json"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);  // one rejected
  CHECK(r.out.find("\"encoding\":\"GB18030\"") != std::string::npos);
  CHECK(r.out.find("\"accepted\":3") != std::string::npos);
  CHECK(r.out.find("\"rejected\":1") != std::string::npos);
  CHECK(r.out.find("not valid GB18030") != std::string::npos);

  // Declared, human output: says what it read the file as.
  write_text(dir.file("more.jsonl"),
             to_gb18030("{\"record_key\":\"j1\",\"subject_id\":\"" + citizen_id(5) +
                        "\",\"name\":\"赵六\",\"born\":\"2024.01.02\"}\n"));
  RunResult h =
      agent({"submit", "--dataset", kDataset, "--encoding", "gb18030", dir.file("more.jsonl")});
  INFO(h.out << h.err);
  CHECK(h.exit_code == 0);
  CHECK(h.out.find("read as GB18030 (declared)") != std::string::npos);
  // The same bytes declared UTF-8 are refused, with the way out named.
  RunResult u =
      agent({"submit", "--dataset", kDataset, "--encoding", "utf-8", dir.file("more.jsonl")});
  CHECK(u.exit_code == 1);
  CHECK(u.err.find("--encoding gb18030") != std::string::npos);

  // The drop directory (auto by default).
  std::filesystem::create_directories(dir.file("drop"));
  write_text(dir.file("tmp.csv"),
             to_gb18030("record_key,subject_id,name\nd1," + citizen_id(6) + ",孙七\n"));
  auto run = std::make_unique<gongshu::testing::ChildProcess>(
      std::vector<std::string>{kAgentBin, "run", "--config", config}, dir.file("run.log"));
  REQUIRE(wait_until([&] { return std::filesystem::exists(dir.file("drop/done")); }));
  std::filesystem::rename(dir.file("tmp.csv"),
                          dir.file(std::string("drop/") + kDataset + "--office.csv"));
  REQUIRE(wait_until([&] { return state.records_stored() == 5; }, std::chrono::seconds(30)));
  auto got = stored(state);
  CHECK(got["c1"] == std::pair<std::string, std::string>("张三", "2024-01-02"));
  CHECK(got["c2"] == std::pair<std::string, std::string>("李四", "2024-01-02"));
  CHECK(got["c3"] == std::pair<std::string, std::string>("王五", "2024-01-02"));
  CHECK(got["j1"] == std::pair<std::string, std::string>("赵六", "2024-01-02"));
  CHECK(got["d1"].first == "孙七");
  CHECK(got.count("c4") == 0);
  REQUIRE(wait_until([&] {
    return read_text(dir.file("run.log")).find("read as GB18030 (auto: not UTF-8 at byte") !=
           std::string::npos;
  }));
  run->signal(SIGTERM);
  CHECK(run->wait() == 0);
}
