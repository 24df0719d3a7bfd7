// The sandbox as a cluster (the drill's cluster-start step, scenario primary-loss): what
// docs/operations.md §10 has an operator do, with the real binaries — a three-member etcd
// cluster (Debian's etcd-server), the stopped daemon's state directory copied to each node (one
// cluster identity), a node key each (gongshuctl keygen --kind daemon), a [cluster] section
// naming every member, the nodes started, and each agent's [daemon] cluster_ingest listing every
// node. etcd's members and the nodes live in the sandbox directory like everything else.
//
// Languages: the commands, errors and evidence recorded here are the report's (a signed record
// with its own Chinese beside English), written the same in every language (i18n-exempt).

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tools/drill/sandbox.h"
#include "tools/launch/launch.h"

namespace gongshu::drill {
namespace fs = std::filesystem;
namespace {

int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Status Sandbox::make_cluster(const ClusterOptions& co) {
  if (!options_.systemd_unit.empty())
    return fail(ErrorCode::kInvalidArgument, "cluster-start is for a sandbox only");  // i18n-exempt
  if (clustered())
    return fail(ErrorCode::kInvalidArgument, "the sandbox is a cluster already");  // i18n-exempt
  const std::string etcd = launch::etcd_binary();
  if (etcd.empty()) {
    return fail(ErrorCode::kNotFound,
                "no etcd: install Debian's etcd-server package (or set "  // i18n-exempt
                "GONGSHU_ETCD to an etcd 3.4+ binary)");
  }
  auto record = [&](const std::string& command) {
    if (!options_.on_command) return;
    CommandResult r;
    r.exit_code = 0;
    options_.on_command(command, r);
  };
  // 1. The single daemon stops cleanly: its state becomes the cluster's.
  if (daemon_ && daemon_->running()) {
    GONGSHU_TRY(int code, signal("daemon", SIGTERM, true));
    if (code != 0)
      return fail(
          ErrorCode::kUnavailable,
          "gongshud did not stop cleanly (exit " + std::to_string(code) + ")");  // i18n-exempt
  }
  daemon_.reset();
  ::unlink(daemon_info_.c_str());
  // 2. etcd, three members on loopback (etcd's default timing).
  GONGSHU_TRY(std::vector<int> ports, launch::free_ports(6 + co.nodes));
  auto members_of_etcd = launch::etcd_members(
      etcd, std::vector<int>(ports.begin(), ports.begin() + 6),
      [&](int i) { return file("etcd-m" + std::to_string(i)); }, dir_);
  std::string etcd_list;
  for (const auto& m : members_of_etcd) {
    etcd_list += (etcd_list.empty() ? "\"" : ", \"") + m.client_url + "\"";
    GONGSHU_TRY(Child c, Child::start(m.argv, file("etcd-" + m.name + ".log")));
    record(command_text(m.argv) + " &");
    etcd_.push_back(std::move(c));
  }
  // 3. One state, N copies; a node key each; [cluster] naming every member.
  std::string members;
  for (int i = 0; i < co.nodes; ++i) {
    Node n;
    n.id = std::string("node-") + char('a' + i);
    n.state = file(n.id);
    n.config = file("gongshud-" + n.id + ".toml");
    auto cp = run({"/bin/cp", "-a", file("state"), n.state}, true);
    if (!cp || cp->exit_code != 0)
      return fail(ErrorCode::kIo, "cp -a state " + n.state);  // i18n-exempt
    auto key = run(
        {bin("gongshuctl"), "keygen", "--kind", "daemon", "--out", file(n.id + ".key"), "--json"},
        true);
    if (!key || key->exit_code != 0)
      return fail(ErrorCode::kUnavailable,
                  "gongshuctl keygen --kind daemon failed");  // i18n-exempt
    std::string pub;
    try {
      pub = nlohmann::json::parse(key->out).at("public_key").get<std::string>();
    } catch (const std::exception& e) {
      return fail(ErrorCode::kCorrupt,
                  std::string("gongshuctl keygen --json: ") + e.what());  // i18n-exempt
    }
    members += (members.empty() ? "" : ", ") + n.id + " = \"" + pub + "\"";
    nodes_.push_back(std::move(n));
  }
  // A node whose history diverged from the leader's (a lost leader's unshipped write sets) or
  // fell behind re-seeds itself from a backup of the leader (docs/replication.md §6), fetched
  // with the drill's operator key.
  const std::string reseed_key = ctl_env_["GONGSHU_KEY"];
  for (int i = 0; i < co.nodes; ++i) {
    Node& n = nodes_[size_t(i)];
    n.cluster_section =
        "[cluster]\nname = \"drill\"\nnode = \"" + n.id + "\"\netcd = [" +  // i18n-exempt
        etcd_list +                                                         // i18n-exempt
        "]\nlease_ttl_s = " + std::to_string(co.lease_ttl_s) + "\nnode_key = \"" +
        file(n.id + ".key") + "\"\nreplication_endpoint = \"tcp://127.0.0.1:" +  // i18n-exempt
        std::to_string(ports[size_t(6 + i)]) +                                   // i18n-exempt
        "\"\nmembers = { " + members + " }\nsync_count = 1\n" +                  // i18n-exempt
        "reseed_key = \"" + reseed_key + "\"\n";                                 // i18n-exempt
    GONGSHU_RETURN_IF_ERROR(write_node_config(n));
  }
  for (auto& n : nodes_) {
    std::vector<std::string> argv = {bin("gongshud"), "run", "--config", n.config};
    GONGSHU_TRY(Child c, Child::start(argv, n.config + ".log"));
    record(command_text(argv) + " &");
    n.process.emplace(std::move(c));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (auto& n : nodes_) {
    GONGSHU_TRY(launch::DaemonInfo info,
                with_context(launch::wait_daemon_ready(
                                 n.state + "/daemon.info", [&] { return !n.process->running(); },
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now()),
                                 n.config + ".log"),
                             n.id));
    n.api = info.api;
    n.ingest = info.ingest;
    // Keep the ports the OS chose, so a node started again comes back where the agents and
    // its peers look.
    GONGSHU_RETURN_IF_ERROR(write_node_config(n));
  }
  leader_ = nodes_.front().id;
  ctl_env_["GONGSHU_DAEMON_INFO"] = nodes_.front().state + "/daemon.info";
  // 4. The agents list every node and follow the leader.
  std::string list;
  for (const auto& n : nodes_) list += (list.empty() ? "\"" : ", \"") + n.ingest + "\"";
  auto gate = hold_load();
  for (const char* a : kAgents) {
    if (running(a)) {
      GONGSHU_TRY(int code, signal(a, SIGTERM, true));
      (void)code;  // restarted below with the new configuration
    }
    GONGSHU_RETURN_IF_ERROR(write_text(
        agent_config(a), "[agent]\nstate_dir = \"" +                          // i18n-exempt
                             file(std::string("agent-") + a) +                // i18n-exempt
                             "\"\n[daemon]\napi = \"" + nodes_.front().api +  // i18n-exempt
                             "\"\ncluster_ingest = [" + list +
                             "]\n[batch]\nmax_records = 1000\nmax_delay_ms = 20\n"  // i18n-exempt
                             "[limits]\nack_timeout_ms = 3000\n"));
    record("# " + agent_config(a) + ": [daemon] cluster_ingest = [" + list + "]");  // i18n-exempt
    GONGSHU_RETURN_IF_ERROR(start_agent(a));
  }
  return {};
}

Status Sandbox::write_node_config(const Node& n) {
  std::string text = "[daemon]\nstate_dir = \"" + n.state + "\"\n";  // i18n-exempt
  if (!options_.master_key.empty()) text += "master_key = \"" + options_.master_key + "\"\n";
  text += "[ingest]\nendpoint = \"" +                                         // i18n-exempt
          (n.ingest.empty() ? std::string("tcp://127.0.0.1:*") : n.ingest) +  // i18n-exempt
          "\"\n[api]\nendpoint = \"" +                                        // i18n-exempt
          (n.api.empty() ? std::string("tcp://127.0.0.1:*") : n.api) +        // i18n-exempt
          "\"\n[policy]\ndir = \"" + policy_dir() + "\"\n";                   // i18n-exempt
  if (store_mb_ > 0)
    text += "[limits]\nmap_size_mb = " + std::to_string(store_mb_) + "\n";  // i18n-exempt
  return write_text(n.config, text + n.cluster_section);
}

Sandbox::Node* Sandbox::node_named(const std::string& id) {
  for (auto& n : nodes_)
    if (n.id == id) return &n;
  return nullptr;
}

Sandbox::Node* Sandbox::leader_node() { return node_named(leader_); }

Status Sandbox::restart_lost_leader() {
  Node* n = leader_loss_.node.empty() ? nullptr : node_named(leader_loss_.node);
  if (!n)
    return fail(ErrorCode::kNotFound,
                "no leader was lost: kill target \"leader\" first");  // i18n-exempt
  if (n->process && n->process->running())
    return fail(ErrorCode::kInvalidArgument, "gongshud " + n->id + " runs already");  // i18n-exempt
  n->process.reset();
  // A SIGKILLed daemon leaves its daemon.info behind: ready means written anew.
  ::unlink((n->state + "/daemon.info").c_str());
  n->log_from = read_text(n->config + ".log").size();
  std::vector<std::string> argv = {bin("gongshud"), "run", "--config", n->config};
  leader_loss_.restarted_at_mono_ns = mono_ns();
  GONGSHU_TRY(Child c, Child::start(argv, n->config + ".log"));
  if (options_.on_command) {
    CommandResult r;
    r.exit_code = 0;
    options_.on_command(command_text(argv) + " &  # gongshud " + n->id +  // i18n-exempt
                            ", the lost leader, on its own state",        // i18n-exempt
                        r);
  }
  n->process.emplace(std::move(c));
  GONGSHU_TRY(launch::DaemonInfo info,
              with_context(launch::wait_daemon_ready(
                               n->state + "/daemon.info", [&] { return !n->process->running(); },
                               std::chrono::seconds(60), n->config + ".log"),
                           n->id));
  (void)info;  // its endpoints are the ones the configuration fixed
  return {};
}

Result<RejoinView> Sandbox::rejoin_view() {
  RejoinView r;
  Node* n = leader_loss_.node.empty() ? nullptr : node_named(leader_loss_.node);
  if (!n || leader_loss_.restarted_at_mono_ns == 0)
    return fail(ErrorCode::kNotFound, "the lost leader was not started again");  // i18n-exempt
  r.node = n->id;
  r.running = n->process && n->process->running();
  const std::string log = read_text(n->config + ".log");
  const std::string run = log.size() > n->log_from ? log.substr(n->log_from) : std::string();
  r.reseeded = run.find("GONGSHU_EVENT=replica_reseeded") != std::string::npos;
  if (run.find("GONGSHU_EVENT=replica_reseed") != std::string::npos)
    r.reseed_reason = run.find("diverged") != std::string::npos ? "diverged"
                      : run.find("behind") != std::string::npos ? "behind"
                                                                : "";
  r.since_restart_ms = (mono_ns() - leader_loss_.restarted_at_mono_ns) / 1'000'000;
  if (!r.running) return r;
  auto json_of = [&](const std::string& api,
                     std::vector<std::string> args) -> std::optional<nlohmann::json> {
    args.insert(args.end(), {"--json", "--api", api, "--timeout", "2"});
    auto c = ctl(args, false);
    if (!c || c->exit_code != 0) return std::nullopt;
    auto j = nlohmann::json::parse(c->out, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    return j;
  };
  // The lost node's own view: it must follow, not lead.
  auto own = json_of(n->api, {"cluster", "status"});
  if (!own) return r;
  r.leads = own->value("this_node_leads", false);
  if ((*own)["leader"].is_string()) r.follows = (*own)["leader"].get<std::string>();
  Node* leader = r.follows.empty() ? nullptr : node_named(r.follows);
  if (!leader || leader == n || !leader->process || !leader->process->running()) return r;
  auto lead = json_of(leader->api, {"cluster", "status"});
  if (!lead || !lead->value("this_node_leads", false)) return r;
  r.leader = leader->id;
  r.term = lead->value("term", int64_t{0});
  // Audit tree and latest checkpoint on both (a replica's checkpoints are the leader's, as
  // replicated).
  auto audit = [&](Node& x, uint64_t& tree, uint64_t& head, std::string& root) {
    auto s = json_of(x.api, {"status"});
    auto h = json_of(x.api, {"audit", "head"});
    if (!s || !h) return;
    try {
      tree = s->at("audit").at("tree_size").get<uint64_t>();
      head = h->at("tree_size").get<uint64_t>();
      root = h->at("root").get<std::string>();
    } catch (const std::exception&) {
      tree = head = 0;  // a half-written answer: asked again at the next poll
      root.clear();
    }
  };
  audit(*leader, r.leader_tree_size, r.leader_head_size, r.leader_root);
  audit(*n, r.tree_size, r.head_size, r.root);
  // Once everything above was seen: an upper bound of the time the node took to rejoin.
  r.since_restart_ms = (mono_ns() - leader_loss_.restarted_at_mono_ns) / 1'000'000;
  return r;
}

Result<ClusterView> Sandbox::cluster_view() {
  ClusterView v;
  for (auto& n : nodes_) {
    if (!n.process || !n.process->running()) continue;
    ++v.live;
    auto r = ctl({"cluster", "status", "--json", "--api", n.api, "--timeout", "2"}, false);
    if (!r || r->exit_code != 0) continue;
    try {
      auto j = nlohmann::json::parse(r->out);
      // A node that has just won may answer before it has read its own term back from etcd.
      if (!j.value("this_node_leads", false) || j.value("term", int64_t{0}) <= 0) continue;
      v.leader = n.id;
      v.term = j.value("term", int64_t{0});
      v.leader_since_mono_ns = j.value("leader_since_mono_ns", int64_t{0});
      v.last_ack_mono_ns = j.at("ingest").value("last_ack_mono_ns", int64_t{0});
    } catch (const std::exception&) {
      continue;  // a half-written answer: asked again at the next poll
    }
  }
  if (!v.leader.empty() && v.leader != leader_) {
    leader_ = v.leader;
    ctl_env_["GONGSHU_DAEMON_INFO"] = leader_node()->state + "/daemon.info";
  }
  return v;
}

Result<int> Sandbox::signal_leader(int sig, bool wait) {
  GONGSHU_TRY(ClusterView v, cluster_view());
  Node* n = leader_node();
  if (v.leader.empty() || !n || !n->process || !n->process->running())
    return fail(ErrorCode::kNotFound, "no node leads the cluster now");  // i18n-exempt
  if (sig == SIGKILL || sig == SIGTERM || sig == SIGSTOP) {
    leader_loss_ = {n->id, v.term, mono_ns()};
  }
  if (options_.on_command) {
    CommandResult r;
    r.exit_code = 0;
    options_.on_command("kill -" + std::to_string(sig) + " " + std::to_string(n->process->pid()) +
                            "  # gongshud " + n->id + ", the leader (term " +  // i18n-exempt
                            std::to_string(v.term) + ")",
                        r);
  }
  n->process->signal(sig);
  if (!wait) return 0;
  return n->process->wait();
}

void Sandbox::stop_cluster() {
  for (auto& n : nodes_) {
    if (n.process && n.process->running()) {
      n.process->signal(SIGCONT);
      n.process->signal(SIGTERM);
    }
  }
  for (auto& n : nodes_) {
    if (n.process) (void)n.process->wait();  // the sandbox goes away: how it exits is moot
  }
  nodes_.clear();
  etcd_.clear();  // Child's destructor SIGKILLs and reaps each member
}

}  // namespace gongshu::drill
