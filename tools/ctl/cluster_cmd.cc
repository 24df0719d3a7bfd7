// gongshuctl cluster status | switchover: the replicated mode (docs/replication.md). Any node
// answers status from what it last read in etcd (members, leader, term, the leader's lease
// window, the synchronous set, each member's applied position and lag); switchover is sent to
// the leader, which waits for nothing more than the target being caught up and resigns.

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/util/i18n.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using json = nlohmann::ordered_json;

json to_json(const v1::ClusterStatus& s) {
  json members = json::array();
  for (const auto& m : s.members()) {
    members.push_back({{"node", m.node()},
                       {"role", m.role()},
                       {"applied_seq", m.applied_seq()},
                       {"applied_term", m.applied_term()},
                       {"lag_seq", m.lag_seq()},
                       {"in_sync_set", m.in_sync_set()},
                       {"ingest", m.ingest()},
                       {"api", m.api()},
                       {"replication", m.replication()}});
  }
  json sync = json::array();
  for (const auto& n : s.sync_set()) sync.push_back(n);
  return {{"cluster", s.cluster()},
          {"answered_by", s.node()},
          {"leader", s.leader().empty() ? json(nullptr) : json(s.leader())},
          {"term", s.term()},
          {"leader_ingest", s.leader_ingest()},
          {"leader_api", s.leader_api()},
          {"this_node_leads", s.this_node_leads()},
          {"lease_ttl_s", s.lease_ttl_s()},
          {"lease_left_ms", s.this_node_leads() ? json(s.lease_left_ms()) : json(nullptr)},
          {"sync_set", sync},
          {"members", members},
          {"observed_ms_ago", s.observed_ms_ago()},
          {"etcd_problem", s.etcd_problem().empty() ? json(nullptr) : json(s.etcd_problem())},
          {"replication", s.replication()},
          {"leader_since_mono_ns", s.leader_since_mono_ns()},
          {"ack_deadline_mono_ns", s.ack_deadline_mono_ns()},
          {"ingest",
           {{"batches", s.batches()},
            {"records_accepted", s.records_accepted()},
            {"batches_not_leader", s.batches_not_leader()},
            {"acks_withheld", s.acks_withheld()},
            {"last_ack_mono_ns", s.last_ack_mono_ns()}}}};
}

void print_text(const v1::ClusterStatus& s) {
  std::cout << trf("cluster  {} (answered by {}; etcd read {} ms ago)\n", s.cluster(), s.node(),
                   s.observed_ms_ago());
  if (s.leader().empty()) {
    std::cout << tr("leader   NONE: an election is under way (无主节点，正在选举)\n");
  } else {
    std::cout << trf("leader   {} in term {}; ingest {}, api {}\n", s.leader(), s.term(),
                     s.leader_ingest(), s.leader_api());
  }
  if (s.this_node_leads())
    std::cout << trf("lease    {} ms left to acknowledge unless renewed (ttl {} s)\n",
                     s.lease_left_ms(), s.lease_ttl_s());
  std::string sync;
  for (const auto& n : s.sync_set()) sync += (sync.empty() ? "" : ", ") + n;
  std::cout << trf("sync set {}\n", sync.empty() ? tr("none yet (any member may stand)") : sync);
  std::cout << trf("data     replication: {}\n", s.replication());
  if (!s.etcd_problem().empty())
    std::cout << trf("etcd     PROBLEM: {} (etcd 不可用)\n", s.etcd_problem());
  std::cout << "\n";
  Table t({"NODE", "ROLE", "APPLIED SEQ", "TERM", "LAG", "SYNC", "INGEST", "API"});
  for (const auto& m : s.members()) {
    t.add({m.node(), m.role(), std::to_string(m.applied_seq()), std::to_string(m.applied_term()),
           std::to_string(m.lag_seq()), m.in_sync_set() ? "yes" : "-", m.ingest(), m.api()});
  }
  t.print(std::cout);
}

}  // namespace

void add_cluster_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "cluster",
      tr("The replicated mode (gongshud [cluster], docs/replication.md; 集群): who leads, the\n"
         "members etcd knows, and a planned handover of the leadership."));
  group->require_subcommand(1);

  {
    auto json_out = std::make_shared<bool>(false);
    auto conn = std::make_shared<ConnectOptions>();
    auto* cmd = group->add_subcommand(
        "status",
        tr("The cluster as the node asked last read it from etcd (operators, officers): the\n"
           "leader and its term, the leader's lease window, the synchronous set, and every\n"
           "live member with its applied position and how far it is behind the most advanced.\n"
           "Any node answers; --api chooses which. A daemon without [cluster] says so."));
    cmd->add_flag("--json", *json_out, tr("JSON output for scripts"));
    run_connected(cmd, conn, exit_code, [json_out](DaemonClient& c) {
      v1::ApiRequest req;
      req.mutable_cluster_status();
      auto r = c.call(req);
      if (!r) return report_error(r.error());
      if (*json_out) {
        std::cout << to_json(r->cluster_status()).dump() << "\n";
      } else {
        print_text(r->cluster_status());
      }
      return 0;
    });
  }
  {
    auto to = std::make_shared<std::string>();
    auto json_out = std::make_shared<bool>(false);
    auto conn = std::make_shared<ConnectOptions>();
    auto* cmd = group->add_subcommand(
        "switchover",
        tr("Planned handover (operators; 计划内切换): sent to the leader, which checks that\n"
           "NODE is a live member as far along as the most advanced one, audits the request\n"
           "(cluster_switchover), then resigns in etcd; NODE stands at once while the others\n"
           "hold back for one lease TTL. Batches in flight are re-sent by the agents to NODE."));
    cmd->add_option("--to", *to, tr("the node id that is to lead"))->required();
    cmd->add_flag("--json", *json_out, tr("JSON output for scripts"));
    run_connected(cmd, conn, exit_code, [to, json_out](DaemonClient& c) {
      v1::ApiRequest req;
      req.mutable_cluster_switchover()->set_to(*to);
      auto r = c.call(req);
      if (!r) return report_error(r.error());
      if (*json_out) {
        std::cout << to_json(r->cluster_status()).dump() << "\n";
      } else {
        std::cout << trf(
            "switchover to {} requested; the leader resigns at its next tick "
            "(`gongshuctl cluster status` shows the new leader)\n",
            *to);
      }
      return 0;
    });
  }
}

}  // namespace gongshu::ctl
