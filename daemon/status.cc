#include "daemon/status.h"

#include <algorithm>

#include "core/util/version.h"
#include "daemon/api_context.h"
#include "daemon/ingest.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {

RateWindow::RateWindow(const Clock& clock) : clock_(clock), last_second_(clock.now_s()) {}

void RateWindow::roll(int64_t second) const {
  if (second <= last_second_) return;
  // Buckets of the seconds that passed without events are emptied; after a whole minute, all.
  int64_t gap = std::min<int64_t>(second - last_second_, kSeconds);
  for (int64_t s = second - gap + 1; s <= second; ++s) {
    buckets_[static_cast<size_t>(s % kSeconds)] = 0;
  }
  last_second_ = second;
}

void RateWindow::add(uint64_t n) {
  int64_t now = clock_.now_s();
  std::lock_guard lock(mu_);
  roll(now);
  // A clock stepped backwards adds to the newest bucket rather than rewriting history.
  buckets_[static_cast<size_t>(std::max(now, last_second_) % kSeconds)] += n;
}

uint64_t RateWindow::last_minute() const {
  int64_t now = clock_.now_s();
  std::lock_guard lock(mu_);
  roll(now);
  uint64_t sum = 0;
  for (uint64_t b : buckets_) sum += b;
  return sum;
}

void AgentActivityMap::seen(const std::string& key_id, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto& a = agents_[key_id];
  a.last_seen_ms = std::max(a.last_seen_ms, now_ms);
}

void AgentActivityMap::backlog(const std::string& key_id, uint64_t records, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto& a = agents_[key_id];
  a.last_seen_ms = std::max(a.last_seen_ms, now_ms);
  a.backlog_reported = true;
  a.reported_backlog = records;
  a.backlog_reported_at_ms = now_ms;
}

std::map<std::string, AgentActivity> AgentActivityMap::snapshot() const {
  std::lock_guard lock(mu_);
  return agents_;
}

Reply status(ApiContext& ctx, const Caller& c, const StatusProbe& probe, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "read the daemon status", {"operator", "officer"}); !r) return r;
  DaemonStore& store = ctx.store;
  auto* out = resp.mutable_status();
  int64_t now = store.clock().now_ms();
  out->set_now_ms(now);
  out->set_started_at_ms(probe.started_at_ms);
  out->set_version(kVersion);
  if (auto policy = ctx.policy.current()) out->set_policy_version(policy->version());

  IngestStats s = probe.ingest ? probe.ingest() : IngestStats{};
  out->set_batches(s.batches);
  out->set_records_accepted(s.records_accepted);
  out->set_records_rejected(s.records_rejected);
  out->set_batches_refused(s.refused);
  out->set_frames_busy(s.busy);
  out->set_frames_dropped(s.dropped);
  out->set_connection_cuts(s.cuts);
  out->set_refusal_summaries(s.summaries);
  out->set_agent_quarantines(s.quarantines);
  if (probe.open_alerts) out->set_open_alerts(probe.open_alerts());
  out->set_records_last_minute(s.last_minute);
  double up_s = std::max<double>(double(now - probe.started_at_ms) / 1000.0, 0.001);
  out->set_rate_since_start(double(s.records_accepted) / up_s);
  // Over the last minute, or over the time since start when the daemon is younger than that.
  out->set_rate_last_minute(double(s.last_minute) / std::min<double>(up_s, RateWindow::kSeconds));
  out->set_ingest_queue(s.awaiting_worker);
  out->set_writer_backlog(s.awaiting_writer);
  out->set_in_pipeline(s.queued);

  store::EnvInfo info = store.env().info();
  out->set_store_used_bytes(info.used_bytes);
  out->set_store_map_bytes(info.map_size);
  out->set_store_free_map_bytes(info.map_size > info.used_bytes ? info.map_size - info.used_bytes
                                                                : 0);

  auto txn = store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  audit::TreeHead head = store.audit().head(*txn);
  out->set_audit_tree_size(head.size);
  out->set_checkpoint_size(head.checkpoint_size);
  // A checkpoint carries no time of its own; it was signed no earlier than the newest entry it
  // covers, so that entry's time bounds its age from above.
  if (head.checkpoint_size > 0) {
    v1::AuditEntry e;
    if (auto v = store.audit().entry(*txn, head.checkpoint_size); v && parse_value(*v, e)) {
      out->set_checkpoint_covers_until_ms(e.time_ms());
    }
  }

  auto activity = probe.agents ? probe.agents() : std::map<std::string, AgentActivity>{};
  auto cur = store.db().principals.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    stored::Principal p;
    if (!parse_value(e->value, p) || p.role() != "agent") continue;
    auto* a = out->add_agents();
    std::string key_id(as_chars(e->key));
    a->set_key_id(key_id);
    a->set_agency(p.agency());
    a->set_hostname(p.hostname());
    a->set_revoked(p.revoked());
    a->set_batches(p.batches());
    int64_t seen = p.last_seen_ms();
    if (auto it = activity.find(key_id); it != activity.end()) {
      seen = std::max(seen, it->second.last_seen_ms);
      a->set_backlog_reported(it->second.backlog_reported);
      a->set_reported_backlog(it->second.reported_backlog);
      a->set_backlog_reported_at_ms(it->second.backlog_reported_at_ms);
    }
    a->set_last_seen_ms(seen);
  }
  return {};
}

}  // namespace gongshu::daemon
