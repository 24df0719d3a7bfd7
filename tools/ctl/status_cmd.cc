// gongshuctl status: the running daemon's live figures (operators and officers): ingest rate,
// queue depths, the audit head and checkpoint age, store size and free map space, the policy
// in force, uptime, and every agent with its last-seen time and the backlog it reported.

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/replica_lag.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using json = nlohmann::ordered_json;

std::string bytes_text(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// "3d 4h", "2h 5m", "4m 10s", "12.3s"; "-" for a time that is not known.
std::string age_text(int64_t ms) {
  if (ms < 0) return "-";
  int64_t s = ms / 1000;
  char buf[32];
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%lldd %lldh",  // i18n-exempt: unit symbols
                  (long long)(s / 86400), (long long)(s % 86400 / 3600));
  } else if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh %lldm",  // i18n-exempt: unit symbols
                  (long long)(s / 3600), (long long)(s % 3600 / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm %llds",  // i18n-exempt: unit symbols
                  (long long)(s / 60), (long long)(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%.1fs", double(ms) / 1000.0);
  }
  return buf;
}

std::string rate_text(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, r < 10 ? "%.2f" : "%.0f", r);
  return buf;
}

json to_json(const v1::StatusResponse& s) {
  json agents = json::array();
  for (const auto& a : s.agents()) {
    json j = {{"key_id", a.key_id()},
              {"agency", a.agency()},
              {"hostname", a.hostname()},
              {"revoked", a.revoked()},
              {"last_seen_ms", a.last_seen_ms()},
              {"batches", a.batches()}};
    j["reported_backlog"] = a.backlog_reported() ? json(a.reported_backlog()) : json(nullptr);
    j["backlog_reported_at_ms"] =
        a.backlog_reported() ? json(a.backlog_reported_at_ms()) : json(nullptr);
    agents.push_back(std::move(j));
  }
  json cp = json(nullptr);
  if (s.checkpoint_size() > 0) {
    cp = {{"tree_size", s.checkpoint_size()},
          {"unsigned_entries", s.audit_tree_size() - s.checkpoint_size()},
          {"covers_until_ms", s.checkpoint_covers_until_ms()},
          {"age_ms_at_most", s.now_ms() - s.checkpoint_covers_until_ms()}};
  }
  return {{"version", s.version()},
          {"now_ms", s.now_ms()},
          {"started_at_ms", s.started_at_ms()},
          {"uptime_ms", s.now_ms() - s.started_at_ms()},
          {"policy_version", s.policy_version().empty() ? json(nullptr) : json(s.policy_version())},
          {"ingest",
           {{"batches", s.batches()},
            {"records_accepted", s.records_accepted()},
            {"records_rejected", s.records_rejected()},
            {"batches_refused", s.batches_refused()},
            {"frames_busy", s.frames_busy()},
            {"frames_dropped", s.frames_dropped()},
            {"connection_cuts", s.connection_cuts()},
            {"refusal_summaries", s.refusal_summaries()},
            {"agent_quarantines", s.agent_quarantines()},
            {"records_last_minute", s.records_last_minute()},
            {"rate_last_minute", s.rate_last_minute()},
            {"rate_since_start", s.rate_since_start()}}},
          {"queues",
           {{"ingest_queue", s.ingest_queue()},
            {"writer_backlog", s.writer_backlog()},
            {"in_pipeline", s.in_pipeline()}}},
          {"audit", {{"tree_size", s.audit_tree_size()}, {"checkpoint", cp}}},
          {"alerts", {{"open", s.open_alerts()}}},
          {"store",
           {{"used_bytes", s.store_used_bytes()},
            {"map_bytes", s.store_map_bytes()},
            {"free_map_bytes", s.store_free_map_bytes()}}},
          {"agents", agents}};
}

void print_text(const v1::StatusResponse& s) {
  // TRANSLATORS: the labels of `gongshuctl status` (policy, ingest, queues, audit, alerts, store)
  // line up in a column nine wide (a Chinese character is two columns wide).
  std::cout << trf("gongshud {}, up {} (since {})", shown(s.version()),
                   age_text(s.now_ms() - s.started_at_ms()), time_text(s.started_at_ms()))
            << "\n";
  std::cout << (s.policy_version().empty()
                    ? std::string(tr("policy   NONE in force: every access is denied"))
                    : trf("policy   {}", shown(s.policy_version())))
            << "\n";
  std::cout << trf("ingest   {} records/s over the last minute ({} records), {}/s since start",
                   rate_text(s.rate_last_minute()), s.records_last_minute(),
                   rate_text(s.rate_since_start()))
            << "\n"
            << trf("         {} batches, {} records accepted, {} rejected, {} batches refused "
                   "since start",
                   s.batches(), s.records_accepted(), s.records_rejected(), s.batches_refused())
            << "\n";
  if (s.frames_busy() + s.frames_dropped() + s.connection_cuts() > 0) {
    std::cout << trf("         turned away: {} frames answered busy, {} dropped, {} connection "
                     "cuts for revoked or quarantined keys, {} agent keys quarantined for "
                     "flooding ({} refusal summaries audited)",
                     s.frames_busy(), s.frames_dropped(), s.connection_cuts(),
                     s.agent_quarantines(), s.refusal_summaries())
              << "\n";
  }
  std::cout << trf("queues   ingest {}, writer backlog {}, in pipeline {} batches",
                   s.ingest_queue(), s.writer_backlog(), s.in_pipeline())
            << "\n";
  if (s.checkpoint_size() > 0) {
    std::cout << trf(
        "audit    tree size {}; last checkpoint at {} ({} entries after it), age at "
        "most {}",
        s.audit_tree_size(), s.checkpoint_size(), s.audit_tree_size() - s.checkpoint_size(),
        age_text(s.now_ms() - s.checkpoint_covers_until_ms()));
  } else {
    std::cout << trf("audit    tree size {}; no checkpoint yet", s.audit_tree_size());
  }
  std::cout << "\n";
  std::cout << (s.open_alerts() ? trf("alerts   {} open (gongshuctl alert list --open; 未确认告警)",
                                      s.open_alerts())
                                : trf("alerts   {} open", s.open_alerts()))
            << "\n";
  std::cout << trf("store    {} used of a {} map, {} free", bytes_text(s.store_used_bytes()),
                   bytes_text(s.store_map_bytes()), bytes_text(s.store_free_map_bytes()))
            << "\n";
  if (s.agents_size() == 0) {
    std::cout << "\n" << tr("no agents enrolled") << "\n";
    return;
  }
  std::cout << "\n";
  Table t({tr("AGENT"), tr("AGENCY"), tr("HOST"), tr("LAST SEEN"), tr("AGO"), tr("BATCHES"),
           tr("REPORTED BACKLOG"), tr("STATE")});
  for (const auto& a : s.agents()) {
    std::string backlog = "-";
    if (a.backlog_reported()) {
      backlog = trf("{} ({} ago)", a.reported_backlog(),
                    age_text(s.now_ms() - a.backlog_reported_at_ms()));
    }
    t.add({a.key_id(), a.agency(), a.hostname().empty() ? "-" : a.hostname(),
           time_text(a.last_seen_ms()),
           a.last_seen_ms() ? age_text(s.now_ms() - a.last_seen_ms()) : "-",
           std::to_string(a.batches()), backlog, a.revoked() ? tr("revoked") : tr("enrolled")});
  }
  t.print(std::cout);
}

}  // namespace

void add_status_command(CLI::App& app, int* exit_code) {
  auto json_out = std::make_shared<bool>(false);
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = app.add_subcommand(
      "status",
      tr("The running daemon's live figures (operators, officers): ingest rate over the last\n"
         "minute and since start, queue depths (batches waiting for a worker, prepared batches\n"
         "waiting for the writer's commit), the audit tree size and the last checkpoint, store\n"
         "size and free map space, the policy version in force, uptime, and each agent's\n"
         "last-seen time and the spool backlog it last reported (advisory: the agent's own\n"
         "count, sent beside its batches), and the security alerts not yet acknowledged.\n"
         "Rates and counts are since the daemon started."));
  cmd->add_flag("--json", *json_out, tr("JSON output for scripts"));
  run_connected(cmd, conn, exit_code, [json_out](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_status();
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (*json_out) {
      json j = to_json(r->status());
      add_replica_lag(j, *r);  // answered by a replica: how far behind the leader
      // Agents' names and the daemon's texts: core/util/json.h makes them safe.
      std::cout << json_dump_terminal_safe(j) << "\n";
    } else {
      print_text(r->status());
      print_replica_lag(*r, std::cout);
    }
    return 0;
  });
}

}  // namespace gongshu::ctl
