// gongshuctl cluster status | switchover | failover: the replicated mode (docs/replication.md).
// Any node answers status from what it last read in etcd (members, leader, term, the leader's
// lease window, the synchronous set as published and as counted, each member's applied position
// and lag); switchover is sent to the leader, which waits for nothing more than the target being
// caught up and resigns; failover goes to any node while no leader exists and names who stands
// (outside the synchronous set only with --accept-loss).

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/util/clock.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using json = nlohmann::ordered_json;

// A member's last re-seed: UTC ISO-8601 for scripts (null: never re-seeded).
json reseed_json(const v1::ClusterMember& m) {
  if (m.reseed_at_ms() <= 0) return nullptr;
  return {{"at", format_utc(m.reseed_at_ms() * 1'000'000)},
          {"at_ms", m.reseed_at_ms()},
          {"reason", m.reseed_reason()},
          {"from_term", m.reseed_from_term()},
          {"from_seq", m.reseed_from_seq()}};
}

// "re-seeded 2026-12-07 18:02:11 CST (Asia/Shanghai): it was behind the leader's changelog;
// gave up applied term 4, seq 1021" — people read the time in their zone.
std::string reseed_text(const v1::ClusterMember& m) {
  const std::string why = m.reseed_reason() == "behind" ? tr("it was behind the leader's changelog")
                          : m.reseed_reason() == "diverged"
                              ? tr("its history diverged from the leader's")
                              : tr("the leader could not stream to it");
  return trf("re-seeded {}: {}; gave up applied term {}, seq {} (副本已重新播种)",
             local_time_text(m.reseed_at_ms()), why, m.reseed_from_term(), m.reseed_from_seq());
}

json to_json(const v1::ClusterStatus& s) {
  json members = json::array();
  for (const auto& m : s.members()) {
    members.push_back({{"node", m.node()},
                       {"role", m.role()},
                       {"applied_seq", m.applied_seq()},
                       {"applied_term", m.applied_term()},
                       {"lag_seq", m.lag_seq()},
                       {"in_sync_set", m.in_sync_set()},
                       {"may_stand", m.may_stand()},
                       {"ingest", m.ingest()},
                       {"api", m.api()},
                       {"replication", m.replication()},
                       {"reseed", reseed_json(m)}});
  }
  json sync = json::array();
  for (const auto& n : s.sync_set()) sync.push_back(n);
  json counted = json::array();
  for (const auto& n : s.sync_counted()) counted.push_back(n);
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
          {"sync_term", s.sync_term()},
          {"sync_writer", s.sync_writer().empty() ? json(nullptr) : json(s.sync_writer())},
          {"sync_count", s.sync_count()},
          {"sync_counted", counted},
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
  // Names and endpoints come from the nodes' configurations and etcd: shown escaped.
  std::cout << trf("cluster  {} (answered by {}; etcd read {} ms ago)\n", shown(s.cluster()),
                   shown(s.node()), s.observed_ms_ago());
  if (s.leader().empty()) {
    std::cout << tr("leader   NONE: an election is under way (无主节点，正在选举)\n");
  } else {
    std::cout << trf("leader   {} in term {}; ingest {}, api {}\n", shown(s.leader()), s.term(),
                     shown(s.leader_ingest()), shown(s.leader_api()));
  }
  if (s.this_node_leads())
    std::cout << trf("lease    {} ms left to acknowledge unless renewed (ttl {} s)\n",
                     s.lease_left_ms(), s.lease_ttl_s());
  std::string sync, counted;
  for (const auto& n : s.sync_set()) sync += (sync.empty() ? "" : ", ") + shown(n);
  for (const auto& n : s.sync_counted()) counted += (counted.empty() ? "" : ", ") + shown(n);
  if (s.sync_writer().empty()) {
    std::cout << tr("sync set none published yet (any member may stand; 同步集尚未发布)\n");
  } else {
    std::cout << trf("sync set [{}] published by {} in term {}; sync_count {} (同步集)\n", sync,
                     shown(s.sync_writer()), s.sync_term(), s.sync_count());
  }
  if (s.this_node_leads())
    std::cout << trf("counted  [{}]: the members whose fsync acks release acknowledgements now\n",
                     counted);
  std::cout << trf("data     replication: {}\n", shown(s.replication()));
  if (!s.etcd_problem().empty())
    std::cout << trf("etcd     PROBLEM: {} (etcd 不可用)\n", shown(s.etcd_problem()));
  std::cout << "\n";
  Table t({tr("NODE"), tr("ROLE"), tr("APPLIED SEQ"), tr("TERM"), tr("LAG"), tr("SYNC"),
           tr("MAY STAND"), tr("INGEST"), tr("API")});
  for (const auto& m : s.members()) {
    t.add({m.node(), m.role(), std::to_string(m.applied_seq()), std::to_string(m.applied_term()),
           std::to_string(m.lag_seq()), m.in_sync_set() ? tr("yes") : "-",
           m.may_stand() ? tr("yes") : "-", m.ingest(), m.api()});
  }
  t.print(std::cout);
  for (const auto& m : s.members())
    if (m.reseed_at_ms() > 0) std::cout << shown(m.node()) << "  " << reseed_text(m) << "\n";
}

}  // namespace

void add_cluster_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "cluster",
      tr("The replicated mode (gongshud [cluster], docs/replication.md; 集群): who leads, the\n"
         "members etcd knows, a planned handover of the leadership, and a failover an operator\n"
         "decides when no leader can be elected."));
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
        std::cout << json_dump_terminal_safe(to_json(r->cluster_status())) << "\n";
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
        std::cout << json_dump_terminal_safe(to_json(r->cluster_status())) << "\n";
      } else {
        std::cout << trf(
            "switchover to {} requested; the leader resigns at its next tick "
            "(`gongshuctl cluster status` shows the new leader)\n",
            *to);
      }
      return 0;
    });
  }
  {
    auto to = std::make_shared<std::string>();
    auto accept_loss = std::make_shared<bool>(false);
    auto json_out = std::make_shared<bool>(false);
    auto conn = std::make_shared<ConnectOptions>();
    auto* cmd = group->add_subcommand(
        "failover",
        tr("Failover decided by an operator (operators; 故障切换), for when the cluster has no\n"
           "leader and none is being elected. Any live node takes the request (--api chooses).\n"
           "Normally only a member of the synchronous set (or the leader that wrote it) may lead:\n"
           "it holds every acknowledged write set. When every such member is gone, a node outside\n"
           "the set may be promoted only with --accept-loss: write sets after its applied seq —\n"
           "acknowledged ones included — that only the lost members held are given up\n"
           "(可能丢失已确认的数据). The promoted node audits it (cluster_failover: term, its\n"
           "applied seq, the loss accepted) in its first transaction as leader. Refused while a\n"
           "leader exists (use switchover) or while a member that may stand is alive."));
    cmd->add_option("--to", *to,
                    tr("the node id to promote (default: the most advanced live member)"));
    cmd->add_flag("--accept-loss", *accept_loss,
                  tr("promote a node outside the synchronous set, giving up the write sets it "
                     "lacks"));
    cmd->add_flag("--json", *json_out, tr("JSON output for scripts"));
    run_connected(cmd, conn, exit_code, [to, accept_loss, json_out](DaemonClient& c) {
      v1::ApiRequest req;
      auto* f = req.mutable_cluster_failover();
      f->set_to(*to);
      f->set_accept_loss(*accept_loss);
      auto r = c.call(req);
      if (!r) return report_error(r.error());
      const auto& out = r->cluster_failover();
      if (*json_out) {
        json sync = json::array();
        for (const auto& n : out.sync_set()) sync.push_back(n);
        std::cout << json_dump_terminal_safe(json{{"to", out.to()},
                                                  {"accept_loss", out.accept_loss()},
                                                  {"from_seq", out.from_seq()},
                                                  {"from_term", out.from_term()},
                                                  {"best_seq", out.best_seq()},
                                                  {"best_term", out.best_term()},
                                                  {"sync_set", sync},
                                                  {"sync_term", out.sync_term()}})
                  << "\n";
        return 0;
      }
      std::cout << trf(
          "failover to {} requested: it stands at its next look at etcd (within a "
          "second) and audits cluster_failover as its first act as leader\n",
          out.to());
      if (out.accept_loss()) {
        std::cout << trf(
            "loss accepted: {} has applied seq {} (term {}); write sets after it (etcd's most "
            "advanced live member is at seq {}, term {}; the lost synchronous set of term {} may "
            "have held more) are given up (已接受数据丢失)\n",
            out.to(), out.from_seq(), out.from_term(), out.best_seq(), out.best_term(),
            out.sync_term());
      } else {
        std::cout << trf(
            "{} may stand (synchronous set or no set yet): nothing acknowledged is "
            "given up\n",
            out.to());
      }
      std::cout << tr("`gongshuctl cluster status` shows the new leader\n");
      return 0;
    });
  }
}

}  // namespace gongshu::ctl
