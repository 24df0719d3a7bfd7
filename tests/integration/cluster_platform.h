// The replicated platform for the cluster tests (issue 20, docs/replication.md): a real
// three-member etcd cluster (tests/support/etcd_cluster.h), three gongshud in [cluster] mode on
// loopback started from copies of one state directory (the registries, the household catalog
// and one enrolled agent), each with its node key, members and replication endpoint
// (sync_count 1), and helpers to ask them and the agent how things stand. Shared by
// cluster_test.cc and cluster_failure_test.cc.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/platform.h"
#include "tests/support/etcd_cluster.h"

namespace gongshu::testing {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

inline const std::string kBin = binary_path("bin/");
inline constexpr int kTtlS = 3;
inline constexpr int kMarginMs = 1000;

inline std::string field(const std::string& toml, const std::string& key) {
  std::smatch m;
  if (std::regex_search(toml, m, std::regex(key + " = \"([^\"]*)\""))) return m[1];
  return "";
}

// A port the OS considers free now (the Shipper binds it when its node leads).
inline int free_port() {
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

// What a test changes in the three nodes' configuration.
struct ClusterOptions {
  // Further [cluster] lines for every node (e.g. "changelog_max_entries = 20\n").
  std::string extra_cluster;
  // The etcd members (indices) each node talks to, by node; empty (or an empty list): all.
  std::vector<std::vector<int>> etcd_members;
  // [cluster] reseed_key = the operator's key: a replica behind or diverged re-seeds itself.
  bool reseed = false;
  int lease_ttl_s = kTtlS;
  // Further [cluster] lines for one node, by node index (e.g. its advertise_replication).
  std::vector<std::string> node_extra_cluster;
  // [cluster] sync_count of every node.
  int sync_count = 1;
};

// Lines for ClusterOptions::extra_cluster (appended after [cluster]): the shipped policy, so that
// an agency may read its own data.
inline std::string shipped_policy_lines() {
  return "\n[policy]\ndir = \"" + std::string(GONGSHU_SOURCE_DIR) + "/policies/policy\"\n";
}

struct Node {
  std::string id;
  std::string state;
  std::string config;
  std::string api;
  std::string ingest;
  std::unique_ptr<ChildProcess> process;
  int starts = 0;  // times started; log files <config>.log, then <config>.log.2, ...
};

class ClusterPlatform {
 public:
  explicit ClusterPlatform(ClusterOptions options = {}) {
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
    auto etcd_list = [&](size_t node) {
      std::vector<int> which;
      if (node < options.etcd_members.size()) which = options.etcd_members[node];
      if (which.empty()) which = {0, 1, 2};
      std::string list;
      for (int i : which) list += (list.empty() ? "\"" : ", \"") + etcd.endpoint(i) + "\"";
      return list;
    };
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
                     node.id + "\"\netcd = [" + etcd_list(nodes.size()) +
                     "]\nlease_ttl_s = " + std::to_string(options.lease_ttl_s) +
                     "\nmargin_ms = " + std::to_string(kMarginMs) + "\nnode_key = \"" +
                     dir.file("node-" + std::string(n) + ".key") + "\"\nreplication_endpoint = \"" +
                     repl[n[0] - 'a'] + "\"\nmembers = { " + members +
                     " }\nsync_count = " + std::to_string(options.sync_count) + "\n" +
                     (options.reseed ? "reseed_key = \"" + dir.file("operator.key") + "\"\n"
                                     : std::string()) +
                     options.extra_cluster +
                     (size_t(n[0] - 'a') < options.node_extra_cluster.size()
                          ? options.node_extra_cluster[n[0] - 'a'] + "\n"
                          : std::string()));
      nodes.push_back(std::move(node));
    }
    for (auto& node : nodes) launch(node);
    for (auto& node : nodes) wait_started(node);
  }

  // Starts the node's gongshud (again, after a kill: new ports, a new log file).
  void launch(Node& node) {
    ::unlink((node.state + "/daemon.info").c_str());
    if (!node.ingest.empty()) {
      // Again on the ports it had, so the agents' lists stay true.
      std::string c = read_text(node.config);
      for (const auto& [section, at] :
           {std::pair<std::string, std::string>{"ingest", node.ingest}, {"api", node.api}}) {
        const std::string any = "[" + section + "]\nendpoint = \"tcp://127.0.0.1:*\"";
        if (auto i = c.find(any); i != std::string::npos)
          c.replace(i, any.size(), "[" + section + "]\nendpoint = \"" + at + "\"");
      }
      write_text(node.config, c);
    }
    ++node.starts;
    node.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBin + "gongshud", "run", "--config", node.config},
        log_file(node, node.starts));
  }
  void wait_started(Node& node) {
    REQUIRE(wait_until([&] { return !read_text(node.state + "/daemon.info").empty(); }));
    std::string info = read_text(node.state + "/daemon.info");
    node.api = field(info, "api");
    node.ingest = field(info, "ingest");
  }
  void restart(Node& node) {
    launch(node);
    wait_started(node);
  }
  // The log of the node's start-th start (1: the first).
  static std::string log_file(const Node& node, int start) {
    return node.config + ".log" + (start > 1 ? "." + std::to_string(start) : "");
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
  // The live nodes other than leader.
  static std::vector<Node*> followers_of(const Node* leader, const std::vector<Node*>& live) {
    std::vector<Node*> out;
    for (Node* n : live)
      if (n != leader) out.push_back(n);
    return out;
  }
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
  // The node's log since it was last started.
  std::string log(const Node& n) { return read_text(log_file(n, std::max(n.starts, 1))); }
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

// The node's `status --json` "replica" object (null when there is none, or no answer).
inline nlohmann::json replica_of(ClusterPlatform& p, const Node& n) {
  auto r = p.ctl(n.api, {"status", "--json"});
  if (r.exit_code != 0) return nullptr;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("replica")) return nullptr;
  return j["replica"];
}

// The audit entries of the node's log (gongshu-audit show --json of a full export, through
// gongshuctl). A replica signs no checkpoint: gongshuctl's export ends at the latest one it holds.
inline std::vector<json> audit_entries(ClusterPlatform& p, const Node& n, const std::string& name) {
  const std::string out = p.dir.file(name);
  auto e = p.ctl(n.api, {"audit", "export", "--out", out});
  INFO(e.out << e.err);
  REQUIRE(e.exit_code == 0);
  auto s = run_process({kBin + "gongshu-audit", "show", "--json", out});
  REQUIRE(s.exit_code == 0);
  std::vector<json> entries;
  std::istringstream lines(s.out);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j["type"] == "entry") entries.push_back(j);
  }
  return entries;
}

// The value of an audit entry's first ref of `kind` (as gongshu-audit show --json gives it).
inline std::string ref(const json& entry, const std::string& kind) {
  for (const json& r : entry["refs"])
    if (r["kind"] == kind) return r["value"].get<std::string>();
  return "";
}

inline int64_t ms_since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

}  // namespace gongshu::testing
