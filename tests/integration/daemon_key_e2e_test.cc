// Issue 6, item 5 with real processes: the daemon's identity key is rotated while an agent
// ingests; the agent learns the next key from the statement signed by the old one, the daemon
// restarts with the new key, the agent keeps delivering with no record lost (batches it had
// sealed to the old key included), an agent that was offline learns the key from a statement
// file, and the whole audit log — and a receipt from before the rotation — still verifies with
// the old key alone.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "tests/integration/platform.h"

namespace gongshu::testing {
namespace {

constexpr auto kDrain = std::chrono::seconds(120);
const std::string kBin = binary_path("bin/");

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string json_field(const std::string& json, const std::string& key) {
  std::smatch m;
  if (std::regex_search(json, m, std::regex("\"" + key + "\":\"([^\"]*)\""))) return m[1];
  return "";
}

TEST_CASE("the daemon key is rotated under a running agent with no record lost") {
  Platform p;
  const std::string old_key = p.daemon_key();
  std::string online = p.enroll_agent("sjz-gongan", "online");
  std::string offline = p.enroll_agent("sjz-gongan", "offline");
  // The running agent refreshes its catalog (and learns of rotations) every second.
  write_text(online, read_text(online) + "[limits]\ncatalog_refresh_s = 1\n");

  submit_households(p, online, 0, 2000);
  auto run = p.run_agent(online);
  require_households_once(p, 2000, kDrain);
  std::string receipts = p.dir.file("receipts-before");
  auto exported = p.agent(online, {"receipts", "export", "--dir", receipts});
  REQUIRE(exported.exit_code == 0);

  // Rotate: the daemon announces its next key; nothing changes for the connections yet.
  auto rot = p.ctl({"daemon-key", "rotate", "--json"});
  std::string next_key = json_field(rot.out, "next_public_key");
  REQUIRE(next_key.size() == 64);
  CHECK(json_field(rot.out, "current_public_key") == old_key);
  CHECK(std::filesystem::exists(p.dir.file("state/daemon.key.next")));
  CHECK((std::filesystem::status(p.dir.file("state/daemon.key.next")).permissions() &
         std::filesystem::perms::group_all) == std::filesystem::perms::none);
  auto again = p.ctl({"daemon-key", "rotate"}, true);
  CHECK(again.exit_code == 1);  // one rotation at a time

  // The online agent learns the next key from its catalog refresh.
  std::string next_id = json_field(rot.out, "next_key_id");
  REQUIRE(wait_until([&] {
    return json_field(p.agent(online, {"status", "--json", "--no-probe"}).out,
                      "daemon_next_key_id") == next_id;
  }));
  // A statement file given to it afterwards is "already known".
  std::string statement = p.dir.file("rotation.statement");
  p.ctl({"daemon-key", "statement", "--out", statement});
  CHECK(contains(p.agent(online, {"trust-daemon-key", statement}).out, "already known"));
  // During the overlap records keep flowing under the old key.
  submit_households(p, online, 2000, 2000);
  require_households_once(p, 4000, kDrain);

  // Stop the daemon, spool more (the agent seals them to the old key it still trusts), restart:
  // the next key takes over, the agent switches to it and the old-sealed batches still land.
  p.kill_daemon(SIGTERM);
  submit_households(p, online, 4000, 3000);
  // The agent seals them into batches while the daemon is away.
  REQUIRE(wait_until([&] {
    auto s = p.agent(online, {"status", "--json"});
    std::smatch m;
    return std::regex_search(s.out, m, std::regex("\"in_flight_batches\":(\\d+)")) &&
           std::stoull(m[1]) > 0;
  }));
  p.start_daemon();
  std::string info = read_text(p.dir.file("state/daemon.info"));
  CHECK(contains(info, next_key));
  bool kept_old = false;
  for (const auto& e : std::filesystem::directory_iterator(p.dir.file("state"))) {
    if (e.path().filename().string().rfind("daemon.key.old.", 0) == 0) kept_old = true;
  }
  CHECK(kept_old);
  CHECK_FALSE(std::filesystem::exists(p.dir.file("state/daemon.key.next")));
  require_households_once(p, 7000, kDrain);
  auto status = p.agent(online, {"status", "--json"});
  CHECK(json_field(status.out, "daemon_key_id") == next_id);
  CHECK(json_field(status.out, "daemon_next_key_id").empty());
  auto show = p.ctl({"daemon-key", "show", "--json"});
  CHECK(json_field(show.out, "current_public_key") == next_key);
  CHECK(json_field(show.out, "next_public_key").empty());

  // The agent that was offline: its handshakes with the old key fail; a forged statement is
  // refused, the real one accepted, and then it delivers.
  std::string forged = p.dir.file("forged.statement");
  std::string text = read_text(statement);
  text = std::regex_replace(text, std::regex("time_ms (\\d+)"), "time_ms 1");
  write_text(forged, text);
  auto refused = p.agent(offline, {"trust-daemon-key", forged});
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 1);
  auto accepted = p.agent(offline, {"trust-daemon-key", statement});
  INFO(accepted.out << accepted.err);
  CHECK(accepted.exit_code == 0);
  CHECK(contains(accepted.out, "accepted"));
  submit_households(p, offline, 7000, 1000);
  auto run_offline = p.run_agent(offline);
  require_households_once(p, 8000, kDrain);

  // The whole log verifies with the old key alone, with the receipts from before the rotation.
  std::string path = p.dir.file("rotated.gsa");
  p.ctl({"audit", "export", "--out", path});
  auto v = run_process(
      {kBin + "gongshu-audit", "verify", path, "--key", old_key, "--receipts", receipts});
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
  CHECK(contains(v.out, "key_rotate"));
  CHECK(contains(v.out, "key_activate"));
  // The new key alone cannot vouch for the checkpoints made before the rotation.
  auto only_new = run_process({kBin + "gongshu-audit", "verify", path, "--key", next_key});
  CHECK(only_new.exit_code == 1);
}

}  // namespace
}  // namespace gongshu::testing
