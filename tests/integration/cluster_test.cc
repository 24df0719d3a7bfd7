// Issue 20, the control path with real processes (docs/replication.md): a real three-member etcd
// cluster (tests/support/etcd_cluster.h) and three gongshud in [cluster] mode on loopback, one
// gongshu-agent listing every node. One leader is elected and audited; a follower refuses api
// writes and batches naming the leader, and the agent follows it; a leader frozen with SIGSTOP
// is replaced within ttl + margin, and its last acknowledgement and its last acknowledgement
// deadline both lie before the instant its successor won (CLOCK_MONOTONIC, one machine); a
// leader killed with SIGKILL is replaced and the agent delivers there; every record is stored
// exactly once on the node that acknowledged it.
//
// The data path is wired (node_key, members, replication_endpoint; sync_count 1): the three
// nodes start from copies of one state directory, the leader ships its write sets, every node
// converges to the same audit tree, and a new leader holds every acknowledged record once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/integration/platform.h"
#include "tests/support/etcd_cluster.h"

namespace gongshu::testing {
namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

const std::string kBin = binary_path("bin/");
constexpr int kTtlS = 3;
constexpr int kMarginMs = 1000;

std::string field(const std::string& toml, const std::string& key) {
  std::smatch m;
  if (std::regex_search(toml, m, std::regex(key + " = \"([^\"]*)\""))) return m[1];
  return "";
}

// A port the OS considers free now (the Shipper binds it when its node leads).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Node {
  std::string id;
  std::string state;
  std::string config;
  std::string api;
  std::string ingest;
  std::unique_ptr<ChildProcess> process;
};

class ClusterPlatform {
 public:
  ClusterPlatform() {
    REQUIRE(run_process({kBin + "gongshud", "init", "--state", dir.file("state-a"),
                         "--operator-key-out", dir.file("operator.key"), "--audit-origin",
                         "cluster.test/audit"})
                .exit_code == 0);
    env_ = {{"GONGSHU_KEY", dir.file("operator.key")}};
    // The registries and the agent's enrollment, on one node alone; then the state is copied
    // to the other two (the nodes of a cluster share the daemon identity and master key).
    std::string single = dir.file("single.toml");
    write_text(single, "[daemon]\nstate_dir = \"" + dir.file("state-a") +
                           "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                           "\"tcp://127.0.0.1:*\"\n");
    {
      ChildProcess d({kBin + "gongshud", "run", "--config", single}, dir.file("single.log"));
      REQUIRE(wait_until([&] { return !read_text(dir.file("state-a/daemon.info")).empty(); }));
      std::string info = read_text(dir.file("state-a/daemon.info"));
      daemon_key = field(info, "daemon_public_key");
      std::string api = field(info, "api");
      REQUIRE(ctl(api, {"agency", "add", "--from",
                        std::string(GONGSHU_SOURCE_DIR) + "/policies/agencies.toml"})
                  .exit_code == 0);
      REQUIRE(ctl(api,
                  {"catalog", "add",
                   std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml"})
                  .exit_code == 0);
      std::string token =
          ctl(api, {"enroll-token", "create", "--agency", "sjz-gongan", "--ttl", "1h"}).out;
      while (!token.empty() && token.back() == '\n') token.pop_back();
      agent_config = dir.file("agent.toml");
      write_text(agent_config, "[agent]\nstate_dir = \"" + dir.file("agent") + "\"\n");
      auto e = agent({"enroll", token});
      INFO(e.out << e.err);
      REQUIRE(e.exit_code == 0);
      d.signal(SIGTERM);
      REQUIRE(d.wait() == 0);
    }
    ::unlink(dir.file("state-a/daemon.info").c_str());
    for (const char* n : {"b", "c"}) {
      REQUIRE(
          run_process({"/bin/cp", "-a", dir.file("state-a"), dir.file(std::string("state-") + n)})
              .exit_code == 0);
    }
    std::string etcd_list;
    for (const auto& e : etcd.endpoints())
      etcd_list += (etcd_list.empty() ? "\"" : ", \"") + e + "\"";
    // Each node's replication identity and endpoint.
    std::string members, repl[3];
    for (int i = 0; i < 3; ++i) {
      const std::string n(1, char('a' + i));
      auto k = run_process({kBin + "gongshuctl", "keygen", "--kind", "daemon", "--out",
                            dir.file("node-" + n + ".key"), "--json"});
      REQUIRE(k.exit_code == 0);
      members += (members.empty() ? "" : ", ") + std::string("node-") + n + " = \"" +
                 json::parse(k.out)["public_key"].get<std::string>() + "\"";
      repl[i] = "tcp://127.0.0.1:" + std::to_string(free_port());
    }
    for (const char* n : {"a", "b", "c"}) {
      Node node;
      node.id = std::string("node-") + n;
      node.state = dir.file(std::string("state-") + n);
      node.config = dir.file(std::string("gongshud-") + n + ".toml");
      write_text(node.config,
                 "[daemon]\nstate_dir = \"" + node.state +
                     "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                     "\"tcp://127.0.0.1:*\"\n[cluster]\nname = \"test\"\nnode = \"" +
                     node.id + "\"\netcd = [" + etcd_list +
                     "]\nlease_ttl_s = " + std::to_string(kTtlS) +
                     "\nmargin_ms = " + std::to_string(kMarginMs) + "\nnode_key = \"" +
                     dir.file("node-" + std::string(n) + ".key") + "\"\nreplication_endpoint = \"" +
                     repl[n[0] - 'a'] + "\"\nmembers = { " + members + " }\nsync_count = 1\n");
      nodes.push_back(std::move(node));
    }
    for (auto& node : nodes) {
      node.process = std::make_unique<ChildProcess>(
          std::vector<std::string>{kBin + "gongshud", "run", "--config", node.config},
          node.config + ".log");
    }
    for (auto& node : nodes) {
      REQUIRE(wait_until([&] { return !read_text(node.state + "/daemon.info").empty(); }));
      std::string info = read_text(node.state + "/daemon.info");
      node.api = field(info, "api");
      node.ingest = field(info, "ingest");
    }
  }

  ~ClusterPlatform() {
    for (auto& n : nodes) {
      if (n.process && n.process->running()) {
        n.process->signal(SIGCONT);
        n.process->signal(SIGTERM);
        n.process->wait();
      }
    }
  }

  RunResult ctl(const std::string& api, std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "gongshuctl");
    args.insert(args.end(), {"--api", api, "--daemon-key", daemon_key});
    return run_process(args, "", env_);
  }
  RunResult agent(std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "gongshu-agent");
    args.insert(args.end(), {"--config", agent_config});
    return run_process(args);
  }
  // The node's cluster status; null when it does not answer.
  json status(const Node& n) {
    auto r = ctl(n.api, {"cluster", "status", "--json"});
    if (r.exit_code != 0) {
      last_error = n.id + ": " + r.err;
      return nullptr;
    }
    return json::parse(r.out, nullptr, false);
  }
  bool leads(const Node& n) {
    json s = status(n);
    return s.is_object() && s["this_node_leads"].get<bool>();
  }
  // The one live node that leads, and every other live node names it; nullptr otherwise.
  Node* agreed_leader(const std::vector<Node*>& live) {
    Node* leader = nullptr;
    std::vector<json> seen;
    for (Node* n : live) {
      json s = status(*n);
      if (!s.is_object()) return nullptr;
      if (s["this_node_leads"].get<bool>()) {
        if (leader) return nullptr;
        leader = n;
      }
      seen.push_back(s);
    }
    if (!leader) return nullptr;
    for (const json& s : seen) {
      if (s["leader"] != leader->id) return nullptr;
    }
    return leader;
  }
  uint64_t records(const Node& n) {
    auto r = ctl(n.api, {"catalog", "show", "population.household", "--json"});
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex("\"records\":(\\d+)"))) return std::stoull(m[1]);
    return 0;
  }
  uint64_t acknowledged() {
    auto r = agent({"status", "--json"});
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex("\"acknowledged\":(\\d+)")))
      return std::stoull(m[1]);
    return 0;
  }
  void submit(int first, int n) {
    std::string file = dir.file("records-" + std::to_string(first) + ".jsonl");
    write_households(file, first, n);
    auto r = agent({"submit", "--dataset", kHouseholds, file});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  // The agent lists every node, `first` first; [daemon] api is where its catalog comes from.
  void write_agent_config(const std::vector<Node*>& order) {
    std::string list;
    for (Node* n : order) list += (list.empty() ? "\"" : ", \"") + n->ingest + "\"";
    write_text(agent_config, "[agent]\nstate_dir = \"" + dir.file("agent") +
                                 "\"\n[daemon]\napi = \"" + order.front()->api +
                                 "\"\ncluster_ingest = [" + list +
                                 "]\n[batch]\nmax_records = 500\nmax_delay_ms = 20\n"
                                 "[limits]\nack_timeout_ms = 2000\n");
  }
  std::string log(const Node& n) { return read_text(n.config + ".log"); }
  // The node's audit tree size and its latest checkpoint ("size root"); empty if it does not
  // answer.
  std::string audit_state(const Node& n) {
    auto s = ctl(n.api, {"status", "--json"});
    auto h = ctl(n.api, {"audit", "head", "--json"});
    if (s.exit_code != 0 || h.exit_code != 0) return "";
    json sj = json::parse(s.out, nullptr, false), hj = json::parse(h.out, nullptr, false);
    if (!sj.is_object() || !hj.is_object()) return "";
    return std::to_string(sj["audit"]["tree_size"].get<uint64_t>()) + " " +
           std::to_string(hj["tree_size"].get<uint64_t>()) + " " + hj["root"].get<std::string>();
  }
  // Every node in `nodes` has the same audit tree as `leader`, a checkpoint covering all of it
  // signed by the leader (gongshuctl audit checkpoint) and replicated.
  bool converged(Node& leader, const std::vector<Node*>& among) {
    if (ctl(leader.api, {"audit", "checkpoint"}).exit_code != 0) return false;
    std::string want = audit_state(leader);
    if (want.empty()) return false;
    bool all = wait_until(
        [&] {
          for (Node* n : among)
            if (audit_state(*n) != want) return false;
          return true;
        },
        std::chrono::seconds(10));
    if (!all) {
      last_error = "leader " + want + ";";
      for (Node* n : among) last_error += " " + n->id + " " + audit_state(*n) + ";";
    }
    return all;
  }
  void verify_audit(const Node& n, const std::string& name) {
    std::string out = dir.file(name);
    REQUIRE(ctl(n.api, {"audit", "export", "--out", out}).exit_code == 0);
    auto v = run_process({kBin + "gongshu-audit", "verify", out, "--key", daemon_key});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
  }

  EtcdCluster etcd;
  TempDir dir;
  std::string last_error;  // of the last status that failed
  std::string daemon_key;
  std::string agent_config;
  std::vector<Node> nodes;

 private:
  std::map<std::string, std::string> env_;
};

int64_t ms_since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

TEST_CASE(
    "a gongshud cluster: one leader, followers name it, agents follow it through "
    "SIGSTOP and SIGKILL of the leader") {
  ClusterPlatform p;
  std::vector<Node*> live = {&p.nodes[0], &p.nodes[1], &p.nodes[2]};

  // One leader, every node names it, and it audited its term.
  Node* leader = nullptr;
  REQUIRE(wait_until([&] { return (leader = p.agreed_leader(live)) != nullptr; }));
  json ls = p.status(*leader);
  INFO(ls.dump());
  const int64_t term1 = ls["term"].get<int64_t>();
  CHECK(term1 > 0);
  CHECK(ls["members"].size() == 3);
  CHECK(ls["replication"] == "write sets");
  {
    std::string out = p.dir.file("audit-1.gsa");
    REQUIRE(p.ctl(leader->api, {"audit", "export", "--out", out}).exit_code == 0);
    auto v = run_process({kBin + "gongshu-audit", "verify", out, "--key", p.daemon_key});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    std::string bytes = read_text(out);
    CHECK(bytes.find("cluster_leader") != std::string::npos);
  }
  std::vector<Node*> followers;
  for (Node* n : live)
    if (n != leader) followers.push_back(n);

  // A follower refuses an api write, naming the leader's api endpoint. It answers only what
  // writes nothing to its store (the leader's to write): the operator's catalog show, not the
  // agent's catalog (each read is audited) nor a caller it would deny (denials are audited); its
  // audit head stays where it was, and the agent's catalog refresh through it goes on to the
  // leader it names.
  {
    auto head = [&] {
      auto r = p.ctl(followers[0]->api, {"audit", "head"});
      auto nl = r.out.find('\n', r.out.find('\n') + 1);  // origin and tree size
      return r.exit_code == 0 ? r.out.substr(0, nl) : std::string();
    };
    const std::string before = head();
    REQUIRE(!before.empty());
    auto r = p.ctl(followers[0]->api,
                   {"enroll-token", "create", "--agency", "sjz-gongan", "--ttl", "1h"});
    INFO(r.out << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("not leader; leader is " + leader->api) != std::string::npos);
    CHECK(p.ctl(followers[0]->api, {"catalog", "show", kHouseholds, "--json"}).exit_code == 0);
    p.write_agent_config({followers[0], leader, followers[1]});
    r = p.agent({"catalog", "refresh"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(head() == before);
  }

  // The agent lists a follower first: it is refused there, named the leader, and delivers there.
  p.write_agent_config({followers[0], leader, followers[1]});
  p.submit(0, 2000);
  auto run = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBin + "gongshu-agent", "run", "--config", p.agent_config},
      p.agent_config + ".log");
  REQUIRE(wait_until([&] { return p.acknowledged() >= 2000; }, std::chrono::seconds(30)));
  CHECK(p.records(*leader) == 2000);
  // Every node converges to the leader's store: the same records, the same audit tree.
  {
    bool same = p.converged(*leader, live);
    INFO(p.last_error);
    CHECK(same);
  }
  for (Node* n : live) {
    std::string l = p.log(*n);
    INFO(n->id << " log: " << l.substr(l.size() > 3000 ? l.size() - 3000 : 0));
    CHECK(p.records(*n) == 2000);
  }
  INFO(p.last_error);
  CHECK(wait_until([&] {
    json f = p.status(*followers[0]);
    return f.is_object() && f["ingest"]["batches_not_leader"].get<uint64_t>() >= 1;
  }));

  // SIGSTOP the leader: it stops acknowledging before another node wins, and that one takes
  // over within ttl + margin (plus etcd's expiry sweep and this machine's scheduling).
  Node* old = leader;
  const auto stopped_at = SteadyClock::now();
  old->process->signal(SIGSTOP);
  p.submit(2000, 1000);  // spooled while nobody leads; delivered to the next leader
  Node* next = nullptr;
  REQUIRE(wait_until([&] { return (next = p.agreed_leader(followers)) != nullptr; },
                     std::chrono::seconds(20)));
  const int64_t takeover_ms = ms_since(stopped_at);
  INFO("takeover after SIGSTOP: " << takeover_ms << " ms");
  CHECK(takeover_ms < (kTtlS * 1000 + kMarginMs + 3000));
  {
    bool delivered = wait_until([&] { return p.acknowledged() >= 3000; }, std::chrono::seconds(30));
    std::string log = read_text(p.agent_config + ".log");
    INFO("agent log: " << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
    REQUIRE(delivered);
  }
  CHECK(p.records(*next) == 3000);  // what the old leader acknowledged, and the new ones once
  json ns = p.status(*next);
  CHECK(ns["term"].get<int64_t>() > term1);
  const int64_t next_since = ns["leader_since_mono_ns"].get<int64_t>();
  old->process->signal(SIGCONT);
  REQUIRE(wait_until([&] {
    json s = p.status(*old);
    return s.is_object() && !s["this_node_leads"].get<bool>() && s["leader"] == next->id;
  }));
  json os = p.status(*old);
  INFO(os.dump() << "\n" << ns.dump());
  const int64_t old_deadline = os["ack_deadline_mono_ns"].get<int64_t>();
  const int64_t old_last_ack = os["ingest"]["last_ack_mono_ns"].get<int64_t>();
  CHECK(old_deadline > 0);
  CHECK(old_last_ack > 0);
  // No two leaders acknowledged in overlapping time.
  CHECK(old_deadline < next_since);
  CHECK(old_last_ack < next_since);
  // The old leader, thawed, follows the new one and catches up.
  CHECK(wait_until([&] { return p.records(*old) == 3000; }, std::chrono::seconds(10)));
  INFO("stopped acknowledging " << (next_since - old_deadline) / 1'000'000
                                << " ms before the successor won");

  // SIGKILL the new leader under load (records on their way): a third term, and the agent
  // delivers there; the new leader holds every acknowledged record exactly once.
  p.submit(3000, 1000);
  REQUIRE(wait_until([&] { return p.acknowledged() > 3000; }, std::chrono::seconds(10)));
  const auto killed_at = SteadyClock::now();
  next->process->signal(SIGKILL);
  next->process->wait();
  std::vector<Node*> rest;
  for (Node* n : live)
    if (n != next) rest.push_back(n);
  Node* third = nullptr;
  REQUIRE(wait_until([&] { return (third = p.agreed_leader(rest)) != nullptr; },
                     std::chrono::seconds(20)));
  const int64_t failover_ms = ms_since(killed_at);
  REQUIRE(wait_until([&] { return p.acknowledged() >= 4000; }, std::chrono::seconds(30)));
  const int64_t delivered_ms = ms_since(killed_at);
  INFO("failover after SIGKILL: leader in " << failover_ms << " ms, delivered in " << delivered_ms
                                            << " ms");
  CHECK(failover_ms < (kTtlS * 1000 + kMarginMs + 3000));
  CHECK(p.status(*third)["term"].get<int64_t>() > ns["term"].get<int64_t>());
  CHECK(p.acknowledged() == 4000);
  CHECK(p.records(*third) == 4000);  // every acknowledged record, once
  {
    bool same = p.converged(*third, rest);
    INFO(p.last_error);
    CHECK(same);
  }
  for (Node* n : rest) CHECK(p.records(*n) == 4000);
  // The log verifies end to end across the terms (three cluster_leader entries at least).
  p.verify_audit(*third, "audit-3.gsa");

  // A planned switchover to the other live node: it leads within a few hundred ms (the old
  // leader revokes its lease, the others hold back), and the agent delivers there.
  Node* target = rest[0] == third ? rest[1] : rest[0];
  const uint64_t target_before = p.records(*target);
  {
    auto r = p.ctl(target->api, {"cluster", "switchover", "--to", target->id});
    INFO(r.out << r.err);
    CHECK(r.exit_code != 0);  // only the leader takes it
    CHECK(r.err.find("not leader; leader is " + third->api) != std::string::npos);
  }
  const auto switch_at = SteadyClock::now();
  {
    // Refused until the target has published an applied position as far as the leader's.
    RunResult r;
    bool taken = wait_until([&] {
      r = p.ctl(third->api, {"cluster", "switchover", "--to", target->id});
      return r.exit_code == 0;
    });
    INFO(r.out << r.err);
    REQUIRE(taken);
  }
  Node* fourth = nullptr;
  REQUIRE(wait_until([&] { return (fourth = p.agreed_leader(rest)) == target; }));
  const int64_t switchover_ms = ms_since(switch_at);
  p.submit(4000, 500);
  REQUIRE(wait_until([&] { return p.acknowledged() >= 4500; }, std::chrono::seconds(30)));
  CHECK(p.records(*target) == target_before + 500);
  CHECK(switchover_ms < kTtlS * 1000);
  run->signal(SIGTERM);
  run->wait();
  WARN("takeover after SIGSTOP " << takeover_ms << " ms; after SIGKILL leader in " << failover_ms
                                 << " ms, records delivered in " << delivered_ms
                                 << " ms; switchover " << switchover_ms << " ms");
}

}  // namespace
}  // namespace gongshu::testing
