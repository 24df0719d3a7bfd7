// Issue 4, item 6, with real processes: every record an agent accepted is stored exactly once,
// whatever is killed and when, and the audit log still verifies.
#include <signal.h>

#include <catch2/catch.hpp>
#include <random>

#include "tests/integration/platform.h"

namespace gongshu::testing {
namespace {

constexpr auto kDrain = std::chrono::seconds(300);

void require_stored_once(Platform& p, uint64_t n) {
  bool done = wait_until([&] { return p.counts("population.household").records >= n; }, kDrain);
  auto c = p.counts("population.household");
  INFO("records " << c.records << ", versions " << c.versions);
  REQUIRE(done);
  CHECK(c.records == n);
  CHECK(c.versions == n);  // every key is distinct: one version each means nothing stored twice
  auto v = p.verify_audit();
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
}

uint64_t submit(Platform& p, const std::string& agent_config, int first, int n) {
  std::string file = p.dir.file("records-" + std::to_string(first) + ".jsonl");
  write_households(file, first, n);
  auto r = p.agent(agent_config, {"submit", "--dataset", "population.household", file});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return uint64_t(n);
}

TEST_CASE("enroll, submit 10,000 records: each stored exactly once and verifiable") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  submit(p, agent, 0, 10000);
  auto run = p.run_agent(agent);
  require_stored_once(p, 10000);
  auto prov = p.ctl({"record", "provenance", "population.household", "hh-4242", "--json"});
  CHECK(prov.out.find("\"verified\":true") != std::string::npos);
  auto status = p.agent(agent, {"status", "--json"});
  CHECK(status.out.find("\"acknowledged\":10000") != std::string::npos);
}

TEST_CASE("the daemon killed with SIGKILL at random moments during 100,000 records") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  const uint64_t n = submit(p, agent, 0, 100000);
  auto run = p.run_agent(agent);
  std::mt19937 rng(std::random_device{}());
  for (int k = 0; k < 4; ++k) {
    // A random point within each quarter of the way.
    uint64_t threshold = n * uint64_t(k * 25 + 5 + rng() % 15) / 100;
    REQUIRE(
        wait_until([&] { return p.counts("population.household").records >= threshold; }, kDrain));
    p.kill_daemon(SIGKILL);
    p.start_daemon();
  }
  require_stored_once(p, n);
}

TEST_CASE("the agent killed with SIGKILL while forwarding") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  const uint64_t n = submit(p, agent, 0, 50000);
  std::mt19937 rng(std::random_device{}());
  for (int k = 0; k < 3; ++k) {
    auto run = p.run_agent(agent);
    uint64_t threshold = n * uint64_t(k * 30 + 5 + rng() % 20) / 100;
    REQUIRE(
        wait_until([&] { return p.counts("population.household").records >= threshold; }, kDrain));
    run->signal(SIGKILL);
    run->wait();
  }
  auto run = p.run_agent(agent);
  require_stored_once(p, n);
}

TEST_CASE("with the daemon down the agent spools, then drains when it returns") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  p.kill_daemon(SIGTERM);
  auto run = p.run_agent(agent);
  submit(p, agent, 0, 5000);
  auto status = p.agent(agent, {"status", "--json", "--no-probe"});
  CHECK(status.out.find("\"acknowledged\":0") != std::string::npos);
  p.start_daemon();
  require_stored_once(p, 5000);
}

TEST_CASE("two agencies' agents at once, and a revoked agent delivers nothing more") {
  Platform p;
  std::string a = p.enroll_agent("sjz-gongan", "a");
  std::string b = p.enroll_agent("sjz-gongan", "b");
  submit(p, a, 0, 3000);
  submit(p, b, 3000, 3000);
  auto run_a = p.run_agent(a);
  auto run_b = p.run_agent(b);
  require_stored_once(p, 6000);

  auto list = p.ctl({"agent", "list", "--json"});
  std::string key_b;
  {
    auto status = p.agent(b, {"status", "--json", "--no-probe"});
    auto pos = status.out.find("\"agent_key_id\":\"");
    REQUIRE(pos != std::string::npos);
    key_b = status.out.substr(pos + 16, 16);
  }
  p.ctl({"agent", "revoke", key_b});
  submit(p, b, 6000, 100);
  // The revoked agent is refused; its records stay in its spool, visible, never stored.
  REQUIRE(wait_until([&] {
    auto s = p.agent(b, {"status", "--json"});
    return s.out.find("refused") != std::string::npos;
  }));
  CHECK(p.counts("population.household").records == 6000);
}

}  // namespace
}  // namespace gongshu::testing
