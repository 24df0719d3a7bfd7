// Live figures of a running gongshud for `gongshuctl status` (DESIGN §9, issue 6 item 6).
//
// RateWindow counts accepted records in one-second buckets over the last minute; the ingest
// writer adds to it once per commit (not per record), and any thread may read it.
//
// AgentActivity is what the ingest pipeline learns about an agent without writing to the
// store: when its last frame arrived and the spool backlog it reported (an advisory field
// outside the signed batch bytes), kept in memory by AgentActivityMap. Thread-safe.
//
// StatusProbe is how the api thread reaches the ingest pipeline's figures; status() is the api
// handler: operators and officers only, read-only (an answer is not audited: it reveals no
// record and changes nothing; a denial is).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/util/clock.h"
#include "core/util/error.h"
#include "gongshu/v1/api.pb.h"

namespace gongshu::daemon {

struct ApiContext;
struct Caller;
struct IngestStats;
struct Refusal;
using Reply = Expected<void, Refusal>;  // as in api_context.h

class RateWindow {
 public:
  static constexpr int kSeconds = 60;
  explicit RateWindow(const Clock& clock);
  // Adds n events at the clock's current second.
  void add(uint64_t n);
  // Events in the last kSeconds seconds (the current second included).
  uint64_t last_minute() const;

 private:
  void roll(int64_t second) const;  // clears the buckets between the last write and second
  const Clock& clock_;
  mutable std::mutex mu_;
  mutable std::array<uint64_t, kSeconds> buckets_{};
  mutable int64_t last_second_ = 0;
};

struct AgentActivity {
  int64_t last_seen_ms = 0;
  bool backlog_reported = false;
  uint64_t reported_backlog = 0;
  int64_t backlog_reported_at_ms = 0;
};

class AgentActivityMap {
 public:
  // Bounded: an entry exists only for keys that passed authentication (enrolled agents).
  void seen(const std::string& key_id, int64_t now_ms);
  void backlog(const std::string& key_id, uint64_t records, int64_t now_ms);
  std::map<std::string, AgentActivity> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, AgentActivity> agents_;
};

struct StatusProbe {
  int64_t started_at_ms = 0;
  std::function<IngestStats()> ingest;  // unset: ingest figures are reported as zero
  std::function<std::map<std::string, AgentActivity>()> agents;
  std::function<uint64_t()> open_alerts;  // unset: reported as zero (daemon/alerts.h)
};

// The `status` request: fills resp.status from the probe, the store and the audit head.
Reply status(ApiContext& ctx, const Caller& c, const StatusProbe& probe, v1::ApiResponse& resp);

}  // namespace gongshu::daemon
