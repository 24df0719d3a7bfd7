// The agent's resend delay after a full store (issue 14, disk-full): gongshud's LMDB map is made
// small enough to fill, so it answers "could not store" (BATCH_INTERNAL) while the agent keeps
// resending; then the map is grown and the daemon restarted. The agent's delay grows per retry
// round, not per refused batch, and a refusal never stretches its reconnect delay: so it
// resumes within seconds of the restart (it used to wait 15-30 s, its backoff at the cap).
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/integration/platform.h"

namespace gongshu::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

json agent_status(Platform& p, const std::string& config) {
  auto r = p.agent(config, {"status", "--json", "--no-probe"});
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

uint64_t acknowledged(Platform& p, const std::string& config) {
  return agent_status(p, config).value("acknowledged", uint64_t{0});
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("after a full store is grown, the agent resumes within seconds of the restart") {
  Platform p;
  const std::string config = p.enroll_agent("sjz-gongan", "a");
  const std::string daemon_config = p.dir.file("gongshud.toml");
  const std::string base = read_text(daemon_config);
  p.kill_daemon(SIGTERM);
  write_text(daemon_config, base + "[limits]\nmap_size_mb = 4\n");
  p.start_daemon();

  constexpr int kRecords = 12000;
  submit_households(p, config, 0, kRecords);
  auto agent = p.run_agent(config);
  // The store fills: the agent is told its batches could not be stored. The old backoff
  // doubled per refused batch and sat at its 30 s cap after one window of them.
  REQUIRE(wait_until(
      [&] {
        auto st = agent_status(p, config);
        return st["in_flight_batches"] >= 4 &&  // of the window of 8, every batch refused
               st["service_last_error"].get<std::string>().find("could not store") !=
                   std::string::npos;
      },
      std::chrono::seconds(120)));
  // The daemon said so in its journal (stderr here): once, a warning with the map's size and
  // use, not once per refused batch (checked below, after many more refusals).
  const std::string log_path = p.dir.file("gongshud.log");
  REQUIRE(wait_until([&] { return count(read_text(log_path), "store is full") >= 1; }));
  const uint64_t before = acknowledged(p, config);
  REQUIRE(before < uint64_t(kRecords));

  p.kill_daemon(SIGTERM);
  const std::string full_log = read_text(log_path);
  CHECK(count(full_log, "gongshud: warning: store is full: its map of 4194304 bytes is used up") ==
        1);
  CHECK(count(full_log, "GONGSHU_EVENT=store_full") == 1);
  CHECK(count(full_log,
              "[GONGSHU_EVENT=store_full GONGSHU_MAP_BYTES=4194304 GONGSHU_USED_BYTES=") == 1);
  // A smaller group may fit after a larger one did not: the store may have room again for a
  // while, said once, and a full store again within the minute is not repeated.
  CHECK(count(full_log, "GONGSHU_EVENT=store_recovered") <= 1);
  CHECK(count(full_log, "gongshud: store has room again") ==
        count(full_log, "GONGSHU_EVENT=store_recovered"));
  write_text(daemon_config, base + "[limits]\nmap_size_mb = 256\n");
  p.start_daemon();
  const auto restarted = Clock::now();
  REQUIRE(wait_until([&] { return acknowledged(p, config) > before; }, std::chrono::seconds(60)));
  const auto resume =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted);
  INFO("resumed " << resume.count() << " ms after the restart");
  CHECK(resume < std::chrono::seconds(8));

  require_households_once(p, kRecords, std::chrono::seconds(120));
  REQUIRE(wait_until([&] { return acknowledged(p, config) == uint64_t(kRecords); }));
  agent->signal(SIGTERM);
  CHECK(agent->wait() == 0);
}

}  // namespace gongshu::testing
