// Issue 6 item 5 with real processes: `gongshu-agent rotate-key` while records keep coming (every
// record stored exactly once, the old key refused, the rotation audited), the service killed at
// each point of a rotation and restarted, and operator key revocation through gongshuctl.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "agent/api_client.h"
#include "agent/key_rotation.h"
#include "core/crypto/key_file.h"
#include "core/wire/agent_key_rotation.h"
#include "core/wire/context.h"
#include "tests/integration/platform.h"

namespace gongshu::testing {
namespace {

using nlohmann::json;
constexpr auto kDrain = std::chrono::seconds(180);
const std::string kBin = binary_path("bin/");

std::string state_dir_of(const std::string& agent_config) {
  // Platform::enroll_agent writes DIR/agent-NAME.toml for state DIR/agent-NAME.
  return agent_config.substr(0, agent_config.size() - 5);
}
std::string key_file_of(const std::string& agent_config) {
  return state_dir_of(agent_config) + "/agent.key";
}
std::string key_id_in(const std::string& key_file) {
  auto kf = crypto::load_key_file(key_file);
  REQUIRE(kf);
  return kf->key.public_key().key_id();
}
bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// The agents the daemon knows, by key id.
std::map<std::string, json> agents(Platform& p) {
  auto r = p.ctl({"agent", "list", "--json"});
  std::map<std::string, json> out;
  auto j = json::parse(r.out);
  for (const auto& a : j) out[a["key_id"].get<std::string>()] = a;
  return out;
}

RunResult ctl_as(Platform& p, const std::string& key, std::vector<std::string> args) {
  args.insert(args.begin(), kBin + "gongshuctl");
  return run_process(
      args, "", {{"GONGSHU_DAEMON_INFO", p.dir.file("state/daemon.info")}, {"GONGSHU_KEY", key}});
}

// The whole audit log, verified, as the entries gongshu-audit shows; exported with the operator
// key `key` (default: the first operator's).
std::vector<json> audit_entries(Platform& p, const std::string& key = "") {
  std::string path =
      p.dir.file("audit-" + std::to_string(SystemClock::instance().now_ns()) + ".gsa");
  if (key.empty()) {
    p.ctl({"audit", "export", "--out", path});
  } else {
    REQUIRE(ctl_as(p, key, {"audit", "export", "--out", path}).exit_code == 0);
  }
  auto v = run_process({kBin + "gongshu-audit", "verify", path, "--key", p.daemon_key()});
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
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

bool has_ref(const json& e, const std::string& kind, const std::string& value) {
  for (const auto& r : e["refs"]) {
    if (r["kind"] == kind && r["value"] == value) return true;
  }
  return false;
}

// The rotation as the daemon must show it afterwards: k1 retired as "rotated to k2", k2 an agent
// of the same agency, one audit entry naming both.
void require_rotated(Platform& p, const std::string& k1, const std::string& k2) {
  auto a = agents(p);
  REQUIRE(a.count(k1));
  REQUIRE(a.count(k2));
  CHECK(a[k1]["revoked"] == true);
  CHECK(a[k2]["revoked"] == false);
  CHECK(a[k2]["agency"] == a[k1]["agency"]);
  int found = 0;
  for (const auto& e : audit_entries(p)) {
    if (e["action"] == "agent_key_rotate" && e["decision"] != "deny") {
      ++found;
      CHECK(has_ref(e, "agent", k1));
      CHECK(has_ref(e, "new_agent", k2));
    }
  }
  CHECK(found == 1);
}

// An agent configuration sharing the spool but using another key file: what the old key sees.
std::string config_with_key(Platform& p, const std::string& agent, const std::string& key_file) {
  std::string path =
      p.dir.file("with-key-" + std::to_string(SystemClock::instance().now_ns()) + ".toml");
  write_text(path, "[agent]\nstate_dir = \"" + state_dir_of(agent) + "\"\nkey_file = \"" +
                       key_file + "\"\n");
  return path;
}

TEST_CASE("rotate-key while records keep coming: each stored once, the old key refused") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  const std::string k1 = key_id_in(key_file_of(agent));
  auto run = p.run_agent(agent);
  constexpr int kFiles = 8, kPerFile = 2500;
  std::atomic<int> submitted{0};
  std::thread producer([&] {
    for (int f = 0; f < kFiles; ++f) {
      submit_households(p, agent, f * kPerFile, kPerFile);
      submitted = f + 1;
    }
  });
  // Rotate in the middle: some records delivered under the old key, some still to come.
  REQUIRE(wait_until([&] { return p.counts(kHouseholds).records >= 3 * kPerFile; }, kDrain));
  auto r = p.agent(agent, {"rotate-key", "--json", "--timeout", "120"});
  INFO(r.out << r.err << read_text(agent + ".log"));
  REQUIRE(r.exit_code == 0);
  auto out = json::parse(r.out);
  CHECK(out["state"] == "done");
  CHECK(out["old_key_id"] == k1);
  const std::string k2 = out["new_key_id"].get<std::string>();
  CHECK(k2 != k1);
  producer.join();
  CHECK(submitted == kFiles);
  submit_households(p, agent, kFiles * kPerFile, kPerFile);  // certainly after the rotation
  const uint64_t total = (kFiles + 1) * kPerFile;

  require_households_once(p, total, kDrain);
  CHECK(key_id_in(key_file_of(agent)) == k2);
  const std::string old_file = key_file_of(agent) + "." + k1 + ".old";
  CHECK(key_id_in(old_file) == k1);
  CHECK_FALSE(exists(key_file_of(agent) + ".next"));
  // The daemon stores a batch before its ack reaches the agent, whose sealer commits it with the
  // next round: wait for the agent's count.
  json st;
  CHECK(wait_until(
      [&] {
        st = json::parse(p.agent(agent, {"status", "--json"}).out);
        return st["acknowledged"] == total;
      },
      kDrain));
  CHECK(st["agent_key_id"] == k2);
  CHECK(st["acknowledged"] == total);
  require_rotated(p, k1, k2);
  auto a = agents(p);
  CHECK(a[k1]["batches"] > 0);  // both keys delivered: the rotation was in the middle
  CHECK(a[k2]["batches"] > 0);

  // The old key's next connection is refused on the ingest socket ...
  auto old_status = p.agent(config_with_key(p, agent, old_file), {"status", "--json"});
  INFO(old_status.out << old_status.err);
  CHECK(json::parse(old_status.out)["daemon"] == "refused our key: not enrolled or revoked");
  CHECK(old_status.exit_code == 1);
  // ... and the new one is welcome.
  CHECK(st["daemon"] == "reachable");
}

TEST_CASE("rotate-key for a stopped service is carried out when it starts") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  const std::string k1 = key_id_in(key_file_of(agent));
  submit_households(p, agent, 0, 3000);
  auto r = p.agent(agent, {"rotate-key", "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["state"] == "queued");
  CHECK(key_id_in(key_file_of(agent)) == k1);
  auto run = p.run_agent(agent);
  REQUIRE(wait_until([&] { return key_id_in(key_file_of(agent)) != k1; }, kDrain));
  const std::string k2 = key_id_in(key_file_of(agent));
  submit_households(p, agent, 3000, 3000);
  require_households_once(p, 6000, kDrain);
  require_rotated(p, k1, k2);
}

// The state a crash leaves: KEY_FILE.next holds K2; the daemon may or may not have accepted it.
struct CrashState {
  std::string k1, k2;
};
// The daemon an agent's config and spool point at, as the agent itself finds it.
agent::DaemonTarget daemon_target_of(const std::string& agent_config) {
  auto config = agent::load_config(agent_config);
  REQUIRE(config);
  auto spool = agent::Spool::open(config->state_dir);
  REQUIRE(spool);
  auto txn = (*spool)->env().begin_read();
  REQUIRE(txn);
  auto target = agent::daemon_target(*config, **spool, *txn);
  REQUIRE(target);
  return *target;
}

CrashState crash_with_next_key(const std::string& agent, bool daemon_accepted) {
  auto k1 = crypto::load_key_file(key_file_of(agent));
  REQUIRE(k1);
  auto k2 = crypto::IdentityKey::generate();
  REQUIRE(crypto::save_key_file(key_file_of(agent) + ".next", crypto::KeyKind::kAgent, k2));
  if (daemon_accepted) {
    agent::DaemonTarget target = daemon_target_of(agent);
    auto context = wire::Context::create();
    REQUIRE(context);
    auto answer = agent::request_key_rotation(*context, target, k1->key, k2,
                                              std::chrono::seconds(10), nullptr);
    INFO((answer ? "" : answer.error().message()));
    REQUIRE(answer);
    CHECK_FALSE(answer->already());
  }
  return {k1->key.public_key().key_id(), k2.public_key().key_id()};
}

TEST_CASE("a rotation interrupted by a crash is finished at the next start") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  submit_households(p, agent, 0, 2000);
  {
    // Some records delivered and acknowledged under K1, then the service stops.
    auto run = p.run_agent(agent);
    REQUIRE(wait_until([&] { return p.counts(kHouseholds).records >= 2000; }, kDrain));
    run->signal(SIGTERM);
    REQUIRE(run->wait() == 0);
  }
  submit_households(p, agent, 2000, 3000);  // waiting in the spool, to go under K2
  bool accepted = GENERATE(false, true);
  INFO((accepted ? "killed after the daemon accepted K2" : "killed before the request"));
  CrashState s = crash_with_next_key(agent, accepted);
  if (accepted) {
    // The daemon has switched: K1 is refused already; nothing of the spool went under it.
    auto a = agents(p);
    CHECK(a[s.k1]["revoked"] == true);
  }
  auto run = p.run_agent(agent);
  REQUIRE(wait_until([&] { return !exists(key_file_of(agent) + ".next"); }, kDrain));
  CHECK(key_id_in(key_file_of(agent)) == s.k2);
  CHECK(key_id_in(key_file_of(agent) + "." + s.k1 + ".old") == s.k1);
  require_households_once(p, 5000, kDrain);
  require_rotated(p, s.k1, s.k2);
  // The daemon stores a batch before its ack reaches the agent: wait for the agent's count.
  json st;
  CHECK(wait_until(
      [&] {
        st = json::parse(p.agent(agent, {"status", "--json"}).out);
        return st["acknowledged"] == 5000;
      },
      kDrain));
  CHECK(st["agent_key_id"] == s.k2);
  CHECK(st["acknowledged"] == 5000);
}

TEST_CASE("the service killed with SIGKILL during rotate-key: restarted, the rotation completes") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  const std::string k1 = key_id_in(key_file_of(agent));
  submit_households(p, agent, 0, 20000);
  {
    auto run = p.run_agent(agent);
    REQUIRE(wait_until([&] { return p.counts(kHouseholds).records >= 2000; }, kDrain));
    ChildProcess rotate({kBin + "gongshu-agent", "rotate-key", "--config", agent},
                        p.dir.file("rotate.log"));
    // Killed once the new key is being written (KEY_FILE.next.tmp, then KEY_FILE.next): while
    // it is written, before, during or just after the daemon's answer.
    REQUIRE(wait_until(
        [&] {
          return exists(key_file_of(agent) + ".next.tmp") || exists(key_file_of(agent) + ".next") ||
                 key_id_in(key_file_of(agent)) != k1;
        },
        kDrain));
    run->signal(SIGKILL);
    run->wait();
    rotate.signal(SIGKILL);
    rotate.wait();
  }
  auto run = p.run_agent(agent);
  REQUIRE(wait_until([&] { return key_id_in(key_file_of(agent)) != k1; }, kDrain));
  const std::string k2 = key_id_in(key_file_of(agent));
  CHECK_FALSE(exists(key_file_of(agent) + ".next"));
  CHECK_FALSE(exists(key_file_of(agent) + ".next.tmp"));
  require_households_once(p, 20000, kDrain);
  require_rotated(p, k1, k2);
}

TEST_CASE(
    "the service killed at a chosen step of a rotation (failpoints): restarted, it completes") {
  // Where the SIGKILL case above lands by chance, here for certain (agent/failpoints.h): once the
  // daemon accepted K2 (the spool still names K1), and with the spool saying "done" and naming
  // K2 while KEY_FILE still holds K1 (KEY_FILE.next not yet renamed over it).
  const std::string failpoint =
      GENERATE(std::string("agent.rotate_after_accept"), std::string("agent.rotate_before_rename"));
  INFO(failpoint);
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  const std::string k1 = key_id_in(key_file_of(agent));
  const std::string next = key_file_of(agent) + ".next";
  submit_households(p, agent, 0, 2000);
  {
    ChildProcess run({kBin + "gongshu-agent", "run", "--config", agent}, agent + ".log",
                     {{"GONGSHU_FAILPOINTS", failpoint}});
    REQUIRE(wait_until([&] { return p.counts(kHouseholds).records >= 2000; }, kDrain));
    ChildProcess rotate({kBin + "gongshu-agent", "rotate-key", "--config", agent},
                        p.dir.file("rotate.log"));
    REQUIRE(wait_until([&] { return !run.running(); }, kDrain));
    CHECK(run.wait() == -SIGKILL);
    CHECK(read_text(agent + ".log").find("gongshu: failpoint " + failpoint) != std::string::npos);
    rotate.signal(SIGKILL);
    rotate.wait();
  }
  // Killed where it was meant to be: K2 accepted by the daemon, KEY_FILE still K1.
  CHECK(agents(p)[k1]["revoked"] == true);
  CHECK(key_id_in(key_file_of(agent)) == k1);
  REQUIRE(exists(next));
  const std::string k2 = key_id_in(next);
  CHECK(exists(key_file_of(agent) + "." + k1 + ".old") ==
        (failpoint == "agent.rotate_before_rename"));
  submit_households(p, agent, 2000, 1000);  // to go under K2
  auto run = p.run_agent(agent);
  REQUIRE(wait_until([&] { return key_id_in(key_file_of(agent)) == k2; }, kDrain));
  CHECK_FALSE(exists(next));
  CHECK(key_id_in(key_file_of(agent) + "." + k1 + ".old") == k1);
  require_households_once(p, 3000, kDrain);
  require_rotated(p, k1, k2);
}

TEST_CASE(
    "a KEY_FILE.next left empty by a kill while it was written: set aside, the rotation "
    "completes") {
  // Agents before 2026-12-07 created KEY_FILE.next in place; a SIGKILL between its creation and
  // its write left it empty, and every later start failed to load it (the service stopped: the
  // rotation never completed). Such a key never reached the daemon: it is set aside and a new
  // one made. (KEY_FILE.next is now written under KEY_FILE.next.tmp and renamed whole.)
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  const std::string k1 = key_id_in(key_file_of(agent));
  submit_households(p, agent, 0, 500);
  const std::string next = key_file_of(agent) + ".next";
  write_text(next, "");
  REQUIRE(::chmod(next.c_str(), 0600) == 0);
  auto run = p.run_agent(agent);
  REQUIRE(wait_until([&] { return key_id_in(key_file_of(agent)) != k1; }, kDrain));
  const std::string k2 = key_id_in(key_file_of(agent));
  CHECK_FALSE(exists(next));
  // The torn key was set aside as KEY_FILE.next.unusable (an unreadable KEY_FILE.next has no
  // other way past step 2) and removed once the rotation finished.
  CHECK(wait_until([&] { return !exists(next + ".unusable"); }, kDrain));
  require_households_once(p, 500, kDrain);
  require_rotated(p, k1, k2);
}

TEST_CASE("a rotation request without proof of possession of the new key is refused") {
  Platform p;
  std::string agent = p.enroll_agent("sjz-gongan", "a");
  auto k1 = crypto::load_key_file(key_file_of(agent));
  REQUIRE(k1);
  const agent::DaemonTarget target = daemon_target_of(agent);
  auto context = wire::Context::create();
  REQUIRE(context);
  auto k2 = crypto::IdentityKey::generate();
  auto other = crypto::IdentityKey::generate();
  // Signed by a key other than the one named; then the right key over another daemon's key.
  for (const auto* signer : {&other, &k2}) {
    crypto::PublicKey daemon = signer == &k2 ? other.public_key() : target.key;
    v1::ApiRequest req;
    req.set_request_id(7);
    req.mutable_agent_key_rotate()->set_new_public_key(k2.public_key().hex());
    auto sig = wire::sign_agent_key_rotation(*signer, k1->key.public_key(), daemon);
    req.mutable_agent_key_rotate()->set_signature(sig.data(), sig.size());
    auto resp =
        agent::api_call(*context, k1->key, target.key, target.api, req, std::chrono::seconds(10));
    REQUIRE(resp);
    CHECK(resp->error().code() == v1::API_DENIED);
  }
  auto a = agents(p);
  CHECK(a.size() == 1);
  CHECK(a[k1->key.public_key().key_id()]["revoked"] == false);
  int denied = 0;
  for (const auto& e : audit_entries(p)) {
    if (e["action"] == "agent_key_rotate") {
      CHECK(e["decision"] == "deny");
      ++denied;
    }
  }
  CHECK(denied == 2);
  // The key still works.
  submit_households(p, agent, 0, 500);
  auto run = p.run_agent(agent);
  require_households_once(p, 500, kDrain);
}

TEST_CASE("operator key revocation through gongshuctl") {
  Platform p;
  const std::string op1 = p.dir.file("operator.key");
  const std::string op2 = p.dir.file("operator2.key");
  const std::string id1 = key_id_in(op1);
  auto gen =
      run_process({kBin + "gongshuctl", "keygen", "--kind", "operator", "--out", op2, "--json"});
  REQUIRE(gen.exit_code == 0);
  auto g = json::parse(gen.out);
  const std::string id2 = g["key_id"].get<std::string>();
  p.ctl({"principal", "add", "--role", "operator", "--public-key",
         g["public_key"].get<std::string>(), "--name", "second operator"});

  // Nobody revokes their own key, and the second operator may revoke the first.
  auto self = ctl_as(p, op1, {"principal", "revoke", id1});
  CHECK(self.exit_code == 1);
  CHECK(self.err.find("does not revoke its own key") != std::string::npos);
  auto r = ctl_as(p, op2, {"principal", "revoke", id1, "--reason", "left the authority"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);

  // The revoked key's very next request is refused, and the refusal is audited under its name.
  auto after = ctl_as(p, op1, {"agency", "list", "--json"});
  CHECK(after.exit_code == 1);
  CHECK(ctl_as(p, op2, {"agency", "list", "--json"}).exit_code == 0);

  // The last active operator cannot be revoked: the authority would lock itself out.
  auto last = ctl_as(p, op2, {"principal", "revoke", id2});
  CHECK(last.exit_code == 1);
  CHECK(last.err.find("last active operator") != std::string::npos);

  bool revoke_entry = false, refused_entry = false, last_entry = false;
  for (const auto& e : audit_entries(p, op2)) {
    if (e["action"] == "principal_revoke" && e["decision"] != "deny" &&
        has_ref(e, "principal", id1) && e["principal"]["key_id"] == id2) {
      revoke_entry = true;
    }
    if (e["decision"] == "deny" && has_ref(e, "revoked_key", id1)) refused_entry = true;
    if (e["action"] == "principal_revoke" && e["decision"] == "deny" &&
        has_ref(e, "principal", id2)) {
      last_entry = true;
    }
  }
  CHECK(revoke_entry);
  CHECK(refused_entry);
  CHECK(last_entry);
  auto list = json::parse(ctl_as(p, op2, {"principal", "list", "--json"}).out);
  bool op2_active = false;
  for (const auto& pr : list) {
    if (pr["key_id"] == id2) op2_active = pr["revoked"] == false;
  }
  CHECK(op2_active);
}

}  // namespace
}  // namespace gongshu::testing
