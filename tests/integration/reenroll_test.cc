// A leaked agent key (issue 14, agent-key-leak) with real processes: the key is revoked while the
// agent's outbox holds one batch the daemon stored but whose ack the agent never got, and one
// batch the daemon never received. The agency enrolls a new key; the agent asks the daemon which
// of the old key's batches it stored (agent/reenrollment.h, daemon/agent_batches.h), takes the
// stored one as acknowledged with its stored receipt and seals only the other again: every record
// stored exactly once, none lost. Until the old key is revoked the daemon will not answer (the
// answer would not be final) and the agent sends nothing.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/util/clock.h"
#include "tests/integration/platform.h"

namespace gongshu::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
const std::string kBin = binary_path("bin/");

json status_of(Platform& p, const std::string& config) {
  auto r = p.agent(config, {"status", "--json", "--no-probe"});
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

// Runs the agent service until cond holds on its status, then stops it cleanly.
void run_agent_until(Platform& p, const std::string& config,
                     const std::function<bool(const json&)>& cond) {
  auto agent = p.run_agent(config);
  bool held = wait_until([&] { return cond(status_of(p, config)); }, std::chrono::seconds(60));
  agent->signal(SIGTERM);
  agent->wait();
  INFO(status_of(p, config).dump());
  REQUIRE(held);
}

std::vector<json> audit_entries(Platform& p) {
  std::string path = p.dir.file("audit-" + std::to_string(SystemClock::instance().now_ns()));
  p.ctl({"audit", "export", "--out", path});
  auto show = run_process({kBin + "gongshu-audit", "show", path, "--json"});
  REQUIRE(show.exit_code == 0);
  std::vector<json> out;
  std::istringstream in(show.out);
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line);
    if (j["type"] == "entry") out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a revoked key's outbox after re-enrollment: the stored batch acknowledged, the rest "
    "re-sealed, each record stored once") {
  Platform p;
  const std::string config = p.enroll_agent("sjz-gongan", "a");
  const std::string state = p.dir.file("agent-a");
  const std::string k1 = status_of(p, config)["agent_key_id"];

  // Batch 1 (50 records) sealed while the daemon is down; the spool as it is then is kept.
  p.kill_daemon(SIGTERM);
  submit_households(p, config, 0, 50);
  run_agent_until(p, config, [](const json& s) { return s["in_flight_batches"] == 1; });
  fs::copy(state, state + ".before", fs::copy_options::recursive);
  // Delivered and acknowledged; then the spool goes back to before: the ack is lost.
  p.start_daemon();
  run_agent_until(p, config, [](const json& s) { return s["acknowledged"] == 50; });
  fs::remove_all(state);
  fs::rename(state + ".before", state);
  // Batch 2 (30 records) sealed while the daemon is down again: never received.
  p.kill_daemon(SIGTERM);
  submit_households(p, config, 50, 30);
  run_agent_until(p, config, [](const json& s) { return s["in_flight_batches"] == 2; });
  p.start_daemon();
  REQUIRE(p.counts(kHouseholds).records == 50);

  // The key leaks. The agency enrolls a new one before the operator has revoked the old: the
  // daemon will not say yet what the old key delivered, and enroll says the batches wait.
  fs::rename(state + "/agent.key", state + "/agent.key.leaked");
  std::string token =
      p.ctl({"enroll-token", "create", "--agency", "sjz-gongan", "--ttl", "1h"}).out;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  auto enrolled = p.agent(config, {"enroll", token, "--json"});
  INFO(enrolled.out << enrolled.err);
  REQUIRE(enrolled.exit_code == 0);
  auto e = json::parse(enrolled.out);
  const std::string k2 = e["agent_key_id"];
  CHECK(k2 != k1);
  CHECK(e["previous_key"]["key_id"] == k1);
  CHECK(e["previous_key"]["batches"] == 2);
  CHECK(e["previous_key"]["reconciled"] == false);
  REQUIRE(e["warnings"].size() >= 1);
  CHECK(e["warnings"].back().get<std::string>().find("is not revoked") != std::string::npos);

  // The service starts, sends nothing of the old key's and seals nothing new meanwhile.
  auto agent = p.run_agent(config);
  REQUIRE(wait_until([&] {
    return status_of(p, config)["service_last_error"].get<std::string>().find("is not revoked") !=
           std::string::npos;
  }));
  CHECK(status_of(p, config)["in_flight_batches"] == 2);
  CHECK(p.counts(kHouseholds).records == 50);

  // The operator revokes the leaked key: the agent's next question is answered, batch 1 is
  // acknowledged with its stored receipt and batch 2's records go under the new key.
  p.ctl({"agent", "revoke", k1});
  require_households_once(p, 80, std::chrono::seconds(60));
  REQUIRE(wait_until([&] { return status_of(p, config)["acknowledged"] == 80; }));
  auto s = status_of(p, config);
  CHECK(s["spooled"] == 0);
  CHECK(s["in_flight_batches"] == 0);
  CHECK(s["rejected"] == 0);
  CHECK(s["acknowledged_batches"] == 2);
  agent->signal(SIGTERM);
  CHECK(agent->wait() == 0);

  // The receipts the agent holds verify against the log: batch 1's is the one the daemon issued
  // when it stored it under the old key.
  std::string receipts = p.dir.file("receipts");
  REQUIRE(p.agent(config, {"receipts", "export", "--dir", receipts}).exit_code == 0);
  size_t n = 0;
  for ([[maybe_unused]] const auto& f : fs::directory_iterator(receipts)) ++n;
  CHECK(n == 2);
  std::string audit = p.dir.file("audit.gsa");
  p.ctl({"audit", "export", "--out", audit});
  auto v = run_process(
      {kBin + "gongshu-audit", "verify", audit, "--key", p.daemon_key(), "--receipts", receipts});
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);

  // Audited: the refused question (the old key not revoked yet), then the answer, naming the old
  // key, with the new key as the principal.
  size_t denied = 0, answered = 0;
  for (const auto& entry : audit_entries(p)) {
    if (entry["action"] != "agent_batches_reconcile") continue;
    bool names_k1 = false;
    for (const auto& r : entry["refs"]) names_k1 |= r["kind"] == "agent" && r["value"] == k1;
    CHECK(names_k1);
    CHECK(entry["principal"]["key_id"] == k2);
    if (entry["decision"] == "deny") {
      ++denied;
    } else {
      ++answered;
      CHECK(entry["record_count"] == 50);
    }
  }
  CHECK(denied >= 1);
  CHECK(answered == 1);
}

}  // namespace gongshu::testing

namespace gongshu::testing {

TEST_CASE(
    "a batch someone else stored under our number with the leaked key: never taken for ours, "
    "an error; after re-enrollment our records are sealed again") {
  Platform p;
  const std::string config = p.enroll_agent("sjz-gongan", "a");
  const std::string state = p.dir.file("agent-a");
  const std::string k1 = status_of(p, config)["agent_key_id"];
  // The key leaks with a copy of the agent's state: its holder runs an agent of its own, whose
  // batch numbers are the agent's.
  const std::string forger = p.dir.file("agent-forger");
  fs::copy(state, forger, fs::copy_options::recursive);
  const std::string forger_config = forger + ".toml";
  write_text(forger_config, "[agent]\nstate_dir = \"" + forger +
                                "\"\n[batch]\nmax_records = 1000\nmax_delay_ms = 20\n");

  // The agent's batch 1 (40 records) is sealed while the daemon is down; the forger's batch 1
  // (10 other records) reaches the daemon first.
  p.kill_daemon(SIGTERM);
  submit_households(p, config, 0, 40);
  run_agent_until(p, config, [](const json& s) { return s["in_flight_batches"] == 1; });
  p.start_daemon();
  submit_households(p, forger_config, 1000, 10);
  run_agent_until(p, forger_config, [](const json& s) { return s["acknowledged"] == 10; });
  REQUIRE(p.counts(kHouseholds).records == 10);

  // The agent sends its batch 1 and is answered duplicate with the forger's receipt: not
  // acknowledged, an error for the operator in status and the journal.
  {
    auto agent = p.run_agent(config);
    bool flagged = wait_until([&] {
      return status_of(p, config)["service_last_error"].get<std::string>().find("ANOTHER batch") !=
             std::string::npos;
    });
    auto s = status_of(p, config);
    agent->signal(SIGTERM);
    agent->wait();
    INFO(s.dump());
    CHECK(flagged);
    CHECK(s["acknowledged"] == 0);
    CHECK(s["in_flight_batches"] == 1);
    CHECK(read_text(config + ".log").find("ANOTHER batch") != std::string::npos);
  }

  // The operator revokes the key; the agency enrolls a new one. The daemon answers batch 1
  // stored, but its receipt is the forger's: the agent's 40 records are sealed again.
  p.ctl({"agent", "revoke", k1});
  fs::rename(state + "/agent.key", state + "/agent.key.leaked");
  std::string token =
      p.ctl({"enroll-token", "create", "--agency", "sjz-gongan", "--ttl", "1h"}).out;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  auto enrolled = p.agent(config, {"enroll", token, "--json"});
  INFO(enrolled.out << enrolled.err);
  REQUIRE(enrolled.exit_code == 0);
  auto e = json::parse(enrolled.out);
  CHECK(e["previous_key"]["reconciled"] == true);
  CHECK(e["previous_key"]["stored"] == 0);
  CHECK(e["previous_key"]["resealed"] == 1);
  bool warned = false;
  for (const auto& w : e["warnings"])
    warned |= w.get<std::string>().find("OTHER batches under the numbers 1 ") != std::string::npos;
  CHECK(warned);
  run_agent_until(p, config, [](const json& s) { return s["acknowledged"] == 40; });
  REQUIRE(wait_until([&] { return p.counts(kHouseholds).records == 50; }));
  CHECK(status_of(p, config)["in_flight_batches"] == 0);
}

}  // namespace gongshu::testing
