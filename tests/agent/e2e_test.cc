// End to end: the real gongshu-agent binary against a fake daemon in this process.

#include <sys/stat.h>

#include <filesystem>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/ipc_server.h"
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

const std::string kAgent = std::string(GONGSHU_BINARY_DIR) + "/bin/gongshu-agent";

struct Setup {
  TempDir dir;
  std::string config = dir.file("agent.toml");
  DaemonState state;
  crypto::IdentityKey daemon_key = crypto::IdentityKey::generate();

  explicit Setup(int max_records = 1000, const std::string& extra = "") {
    state.secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    write_text(config, "[agent]\nstate_dir = \"state\"\n" + extra +
                           "\n[batch]\nmax_records = " + std::to_string(max_records) +
                           "\nmax_delay_ms = 50\nwindow = 4\n"
                           "[limits]\nack_timeout_ms = 3000\nshutdown_timeout_ms = 2000\n");
  }
  RunResult agent(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.push_back("--config");
    args.push_back(config);
    return run_process(args);
  }
  std::unique_ptr<Child> start_run(const std::string& log) {
    return std::make_unique<Child>(std::vector<std::string>{kAgent, "run", "--config", config},
                                   dir.file(log));
  }
  void write_records(const std::string& path, int from, int n, int bad_every = 0) {
    std::string text;
    for (int i = from; i < from + n; ++i) {
      bool bad = bad_every && i % bad_every == 0;
      text += jsonl_record(i, 200, bad ? "bad-" : "r") + "\n";
    }
    write_text(path, text);
  }
  // Record keys the daemon stored, in (batch_seq, index) order.
  std::vector<std::string> stored_keys() {
    std::lock_guard l(state.mu);
    std::vector<std::string> keys;
    for (auto& [seq, recs] : state.records) {
      for (auto& bytes : recs) {
        v1::Record r;
        r.ParseFromString(bytes);
        keys.push_back(r.record_key());
      }
    }
    return keys;
  }
};

std::string key_of(int i, const char* prefix = "r") {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%06d", prefix, i);
  return buf;
}

}  // namespace

TEST_CASE("e2e: enroll, submit 10,000, run: all acknowledged once, in order", "[agent][e2e]") {
  Setup s;
  auto daemon = std::make_unique<FakeDaemon>(s.state, s.daemon_key);

  RunResult bad_token = s.agent({"enroll", "gsenroll1.AAAA"});
  CHECK(bad_token.exit_code != 0);

  RunResult en = s.agent({"enroll", daemon->token()});
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  CHECK(en.out.find("agency sjz-test") != std::string::npos);
  CHECK(en.out.find("1 datasets cached") != std::string::npos);
  struct stat st;
  REQUIRE(::stat(s.dir.file("state/agent.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // The token is one-time: a second enrollment is refused, with the daemon's reason.
  RunResult again = s.agent({"enroll", daemon->token()});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("API_DENIED") != std::string::npos);

  // 10,000 records; every 2,500th is one the daemon will refuse; plus two bad lines.
  s.write_records(s.dir.file("in.jsonl"), 0, 10'000, 2'500);
  write_text(s.dir.file("in.jsonl"),
             read_text(s.dir.file("in.jsonl")) + "{broken\n{\"record_key\":\"x\",\"fields\":{}}\n");
  RunResult sub = s.agent({"submit", "--dataset", kDataset, s.dir.file("in.jsonl"), "--json"});
  INFO(sub.out << sub.err);
  CHECK(sub.exit_code == 1);  // some records rejected
  CHECK(sub.out.find("\"accepted\":10000") != std::string::npos);
  CHECK(sub.out.find("\"rejected\":2") != std::string::npos);

  auto run = s.start_run("run1");
  REQUIRE(wait_until([&] { return s.state.records_stored() == 9'996; }, std::chrono::seconds(30)));
  REQUIRE(wait_until([&] {
    RunResult r = s.agent({"status", "--json", "--no-probe"});
    return r.out.find("\"in_flight_batches\":0") != std::string::npos &&
           r.out.find("\"spooled\":0,") != std::string::npos;
  }));
  // Exactly once, in order.
  auto keys = s.stored_keys();
  REQUIRE(keys.size() == 9'996);
  size_t k = 0;
  for (int i = 0; i < 10'000; ++i) {
    if (i % 2'500 == 0) continue;
    REQUIRE(keys[k++] == key_of(i));
  }
  CHECK(s.state.batch_count() == 10);
  CHECK(s.state.mismatched_resends == 0);

  RunResult status = s.agent({"status", "--json"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("\"daemon_reachable\":true") != std::string::npos);
  CHECK(status.out.find("\"acknowledged\":9996") != std::string::npos);
  CHECK(status.out.find("\"rejected\":6") != std::string::npos);
  CHECK(status.out.find("\"batch_seq\":10") != std::string::npos);
  CHECK(status.out.find("\"next_batch_seq\":11") != std::string::npos);

  RunResult list = s.agent({"rejected", "list", "--json"});
  CHECK(list.exit_code == 0);
  CHECK(list.out.find("bad-002500") != std::string::npos);
  CHECK(list.out.find("the daemon does not like this key") != std::string::npos);
  CHECK(list.out.find("\"source\":\"" + s.dir.file("in.jsonl") + ":10001\"") != std::string::npos);
  RunResult exp = s.agent({"rejected", "export", "--out", s.dir.file("rejected.jsonl")});
  CHECK(exp.exit_code == 0);
  CHECK(read_text(s.dir.file("rejected.jsonl")).find("\"record_key\":\"bad-005000\"") !=
        std::string::npos);

  RunResult rec = s.agent({"receipts", "export", "--dir", s.dir.file("receipts")});
  CHECK(rec.exit_code == 0);
  CHECK(read_text(s.dir.file("receipts/batch-0000000010.receipt"))
            .starts_with("gongshu receipt v1\n"));

  RunResult cat = s.agent({"catalog", "list"});
  CHECK(cat.out.find("test.people") != std::string::npos);

  run->signal(SIGTERM);
  CHECK(run->wait() == 0);
}

TEST_CASE("e2e: status reports how long the daemon took to acknowledge the batches sent",
          "[agent][e2e]") {
  Setup s;
  // Each batch is acknowledged no sooner than 120 ms after it arrives.
  auto daemon =
      std::make_unique<FakeDaemon>(s.state, s.daemon_key, "", "", std::chrono::milliseconds(120));
  REQUIRE(s.agent({"enroll", daemon->token()}).exit_code == 0);
  s.write_records(s.dir.file("in.jsonl"), 0, 3'000, 0);
  REQUIRE(s.agent({"submit", "--dataset", kDataset, s.dir.file("in.jsonl")}).exit_code == 0);
  auto run = s.start_run("run1");
  REQUIRE(wait_until([&] { return s.state.records_stored() == 3'000; }, std::chrono::seconds(30)));
  REQUIRE(wait_until([&] {
    return s.agent({"status", "--json", "--no-probe"}).out.find("\"in_flight_batches\":0") !=
           std::string::npos;
  }));
  run->signal(SIGTERM);
  REQUIRE(run->wait() == 0);  // the service's last state is written as it stops

  RunResult st = s.agent({"status", "--json", "--no-probe"});
  INFO(st.out << st.err);
  auto j = nlohmann::json::parse(st.out);
  CHECK(j["acks_timed"] == 3);  // three batches of 1,000
  const uint64_t p50 = j["ack_p50_us"], p99 = j["ack_p99_us"];
  CHECK(p50 >= 120'000);
  CHECK(p99 >= p50);
  CHECK(p99 < 30'000'000);  // microseconds, not nanoseconds
}

TEST_CASE("e2e: kill -9 while forwarding, restart: every batch once, same bytes", "[agent][e2e]") {
  Setup s(250);
  DaemonState& state = s.state;
  auto daemon =
      std::make_unique<FakeDaemon>(state, s.daemon_key, "", "", std::chrono::milliseconds(40));
  REQUIRE(s.agent({"enroll", daemon->token()}).exit_code == 0);
  s.write_records(s.dir.file("in.jsonl"), 0, 10'000);
  REQUIRE(s.agent({"submit", "--dataset", kDataset, s.dir.file("in.jsonl")}).exit_code == 0);

  auto run = s.start_run("run1");
  REQUIRE(wait_until([&] { return state.batch_count() >= 5; }, std::chrono::seconds(30)));
  run->signal(SIGKILL);
  run->wait();
  size_t before = state.batch_count();
  CHECK(before < 40);  // killed mid-way

  auto run2 = s.start_run("run2");
  REQUIRE(wait_until([&] { return state.records_stored() == 10'000; }, std::chrono::seconds(40)));
  auto keys = s.stored_keys();
  REQUIRE(keys.size() == 10'000);
  for (int i = 0; i < 10'000; ++i) REQUIRE(keys[i] == key_of(i));
  {
    std::lock_guard l(state.mu);
    CHECK(state.batches.size() == 40);
    CHECK(state.batches.begin()->first == 1);
    CHECK(state.batches.rbegin()->first == 40);
    CHECK(state.mismatched_resends == 0);
    CHECK(state.refused_batches == 0);
    INFO("batches stored before the kill: " << before << ", resends seen: " << state.duplicates);
  }
  REQUIRE(wait_until([&] {
    RunResult r = s.agent({"status", "--json", "--no-probe"});
    return r.out.find("\"acknowledged\":10000") != std::string::npos;
  }));
  run2->signal(SIGTERM);
  CHECK(run2->wait() == 0);
}

TEST_CASE("e2e: daemon down at start, then up: the spool drains; drop dir and ipc",
          "[agent][e2e]") {
  Setup s(500, "drop_dir = \"drop\"\nipc = \"ipc://" + std::string("IPCPATH") + "\"\n");
  // The socket path must be short: put it in the temp dir.
  std::string ipc_path = s.dir.file("a.sock");
  std::string cfg = read_text(s.config);
  cfg.replace(cfg.find("IPCPATH"), 7, ipc_path);
  write_text(s.config, cfg);

  std::string api, ingest;
  {
    FakeDaemon first(s.state, s.daemon_key);
    api = first.api_endpoint();
    ingest = first.ingest_endpoint();
    REQUIRE(s.agent({"enroll", first.token()}).exit_code == 0);
  }
  s.write_records(s.dir.file("in.csv.jsonl"), 0, 2'000);
  REQUIRE(s.agent({"submit", "--dataset", kDataset, s.dir.file("in.csv.jsonl")}).exit_code == 0);
  auto run = s.start_run("run1");
  // Status says the daemon cannot be reached; everything stays spooled.
  RunResult st = s.agent({"status"});
  CHECK(st.out.find("unreachable") != std::string::npos);

  // Inputs work while the daemon is down: the local socket and the drop directory.
  REQUIRE(wait_until([&] { return std::filesystem::exists(ipc_path); }));
  auto client = agent::IpcClient::connect(ipc_path);
  REQUIRE(client);
  v1::Record rec;
  rec.set_dataset(kDataset);
  rec.set_record_key("ipc-1");
  rec.set_subject_id(citizen_id(7));
  auto* f = rec.add_fields();
  f->set_name("name");
  f->mutable_value()->set_text("王五");
  auto reply = client->submit(rec);
  REQUIRE(reply);
  CHECK(reply->accepted());
  rec.set_subject_id("123");
  auto refused = client->submit(rec);
  REQUIRE(refused);
  CHECK_FALSE(refused->accepted());
  CHECK(refused->code() == v1::RECORD_STATUS_BAD_IDENTIFIER);
  // Pipelined: many requests in flight on one connection, replies in order.
  for (int i = 0; i < 500; ++i) {
    rec.set_record_key("ipc-p" + std::to_string(i));
    rec.set_subject_id(citizen_id(i));
    REQUIRE(client->send(rec, 1000 + i));
  }
  for (int i = 0; i < 500; ++i) {
    auto r = client->receive();
    REQUIRE(r);
    CHECK(r->request_id() == uint64_t(1000 + i));
    CHECK(r->accepted());
  }

  s.write_records(s.dir.file("tmp.jsonl"), 5'000, 300);
  std::filesystem::rename(s.dir.file("tmp.jsonl"),
                          s.dir.file(std::string("drop/") + kDataset + "--batch1.jsonl"));
  write_text(s.dir.file("drop/.hidden"), "x");
  std::filesystem::rename(s.dir.file("drop/.hidden"), s.dir.file("drop/nodataset.jsonl"));
  REQUIRE(wait_until([&] {
    return std::filesystem::exists(
               s.dir.file(std::string("drop/done/") + kDataset + "--batch1.jsonl")) &&
           std::filesystem::exists(s.dir.file("drop/failed/nodataset.jsonl.reason"));
  }));

  FakeDaemon second(s.state, s.daemon_key, api, ingest);
  REQUIRE(wait_until([&] { return s.state.records_stored() == 2'801; }, std::chrono::seconds(30)));
  auto keys = s.stored_keys();
  for (int i = 0; i < 2'000; ++i) REQUIRE(keys[i] == key_of(i));
  CHECK(std::count(keys.begin(), keys.end(), "ipc-1") == 1);
  run->signal(SIGTERM);
  CHECK(run->wait() == 0);
}

TEST_CASE("e2e: a batch refused whole, a batch to resend, a revoked key", "[agent][e2e]") {
  Setup s(1000);
  auto daemon = std::make_unique<FakeDaemon>(s.state, s.daemon_key);
  REQUIRE(s.agent({"enroll", daemon->token()}).exit_code == 0);
  {
    std::lock_guard l(s.state.mu);
    s.state.fail_once[1] = v1::BATCH_INTERNAL;       // resend later
    s.state.fail_once[2] = v1::BATCH_BAD_SIGNATURE;  // can never succeed
  }
  s.write_records(s.dir.file("in.jsonl"), 0, 3'000);
  REQUIRE(s.agent({"submit", "--dataset", kDataset, s.dir.file("in.jsonl")}).exit_code == 0);
  auto run = s.start_run("run1");
  REQUIRE(wait_until([&] { return s.state.records_stored() == 2'000; }, std::chrono::seconds(30)));
  REQUIRE(wait_until([&] {
    RunResult r = s.agent({"status", "--json", "--no-probe"});
    return r.out.find("\"rejected_by_daemon\":1000") != std::string::npos &&
           r.out.find("\"in_flight_batches\":0") != std::string::npos;
  }));
  {
    std::lock_guard l(s.state.mu);
    CHECK(s.state.records.count(1) == 1);
    CHECK(s.state.records.count(2) == 0);
    CHECK(s.state.records.count(3) == 1);
  }
  RunResult list = s.agent({"rejected", "list"});
  CHECK(list.out.find("BATCH_BAD_SIGNATURE") != std::string::npos);
  CHECK(list.out.find(s.dir.file("in.jsonl") + ":1001") != std::string::npos);

  // Revoked: the daemon refuses the key at the handshake; status says so and exits 1.
  {
    std::lock_guard l(s.state.mu);
    s.state.enrolled.clear();
  }
  RunResult st = s.agent({"status"});
  CHECK(st.exit_code == 1);
  CHECK(st.out.find("refused our key") != std::string::npos);
  run->signal(SIGTERM);
  CHECK(run->wait() == 0);
  // Stored batches are timed (1 after its resend, and 3); the refused one (2) is not.
  auto j = nlohmann::json::parse(s.agent({"status", "--json", "--no-probe"}).out);
  CHECK(j["acks_timed"] == 2);
}

// Prints what the commands say, for documentation (hidden: `test_agent [.demo]`).
TEST_CASE("demo: command output", "[.demo]") {
  Setup s(1000);
  auto daemon = std::make_unique<FakeDaemon>(s.state, s.daemon_key);
  auto show = [&](std::vector<std::string> args) {
    std::string line = "$ gongshu-agent";
    for (auto& a : args) line += " " + a;
    RunResult r = s.agent(args);
    std::printf("%s --config agent.toml\n%s%s[exit %d]\n\n", line.c_str(), r.out.c_str(),
                r.err.c_str(), r.exit_code);
  };
  show({"enroll", daemon->token()});
  s.write_records(s.dir.file("in.jsonl"), 0, 5'000, 2'000);
  write_text(s.dir.file("in.jsonl"),
             read_text(s.dir.file("in.jsonl")) +
                 "{broken\n{\"record_key\":\"x\",\"fields\":{\"age\":\"old\"}}\n");
  show({"submit", "--dataset", kDataset, s.dir.file("in.jsonl")});
  show({"status"});
  auto run = s.start_run("run1");
  REQUIRE(wait_until([&] { return s.state.records_stored() == 4'997; }));
  REQUIRE(wait_until([&] {
    return s.agent({"status", "--json", "--no-probe"}).out.find("\"in_flight_batches\":0") !=
           std::string::npos;
  }));
  show({"status"});
  show({"status", "--json"});
  show({"rejected", "list"});
  show({"receipts", "export", "--dir", s.dir.file("receipts")});
  show({"catalog", "list"});
  run->signal(SIGTERM);
  run->wait();
  std::printf("run stderr:\n%s\n", read_text(run->err_path()).c_str());
}
