// The pure arithmetic of leadership (docs/replication.md §5): when a lease holder may still
// acknowledge, when it must renew, and how long a candidate waits before standing. No I/O, no
// clock of its own: every function takes the instants it reasons about, so the unit tests drive
// it with a fake clock and Leadership (leadership.h) drives it with the real one.
//
// The step-down bound. Let t0 be the monotonic instant a keepalive (or the grant) that succeeded
// was SENT. etcd restarts the lease's TTL when a member receives the request, which is after t0,
// and an etcd leader change only extends leases, so etcd cannot expire the lease — and so cannot
// let anyone else create the leader key — before t0 + ttl. The holder acknowledges nothing from
// t0 + ttl − margin on (margin: for the rate difference between this machine's clock and etcd's,
// and for the acknowledgement in flight), unless a later keepalive has succeeded.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/cluster/mono_clock.h"
#include "core/util/error.h"

namespace gongshu::cluster {

struct LeaseTiming {
  std::chrono::seconds ttl{5};               // the etcd lease's TTL (etcd counts whole seconds)
  std::chrono::milliseconds margin{1000};    // acknowledge nothing in the last `margin` of it
  std::chrono::milliseconds renew_every{0};  // 0: ttl / 5

  std::chrono::milliseconds renew_interval() const {
    return renew_every.count() > 0 ? renew_every
                                   : std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 5;
  }
  // ttl ≥ 1 s, 0 < margin < ttl, and at least two renewals fit in ttl − margin (so one lost
  // keepalive, e.g. during an etcd election, does not end the leadership).
  Status check() const;
};

// The lease clock of one holder. Plain value; one thread at a time.
class LeaseTimer {
 public:
  explicit LeaseTimer(LeaseTiming timing) : timing_(timing) {}

  // A grant or keepalive sent at sent_at succeeded, and etcd says the lease now has etcd_ttl
  // (the shorter of it and the configured TTL counts). An answer to an older request than one
  // already counted never moves the bound back.
  void succeeded(MonoTime sent_at, std::chrono::seconds etcd_ttl);
  // The lease is gone (expired, revoked, or the holder gave it up).
  void lost() { valid_from_.reset(); }
  // A renewal was attempted at `at` (whatever its outcome): the next is due renew_interval later.
  void attempted(MonoTime at) { last_attempt_ = at; }

  bool held() const { return valid_from_.has_value(); }
  // t0 + ttl − margin; nullopt when no lease is held.
  std::optional<MonoTime> ack_deadline() const;
  // held and now < ack_deadline.
  bool may_acknowledge(MonoTime now) const;
  // True when no renewal was attempted yet or the last was renew_interval or more ago.
  bool renew_due(MonoTime now) const;
  const LeaseTiming& timing() const { return timing_; }

 private:
  LeaseTiming timing_;
  std::optional<MonoTime> valid_from_;  // t0: when the last counted request was sent
  std::chrono::milliseconds ttl_{0};    // the TTL counted from t0
  std::optional<MonoTime> last_attempt_;
};

// How long a replica that may stand waits, after it first saw the leader key absent, before it
// campaigns: 0 for the most advanced published member (behind == 0); otherwise `step` plus
// `per_write_set` for each write set it is behind the best published applied_seq, at most `max`.
// The most advanced candidate therefore stands first, and one that is behind only stands when the
// better ones did not (they are gone, or stuck) — the campaign transaction itself, not this delay,
// is what keeps the outcome safe.
struct CandidatePolicy {
  std::chrono::milliseconds step{500};
  std::chrono::microseconds per_write_set{1000};
  std::chrono::milliseconds max{5000};
};
std::chrono::milliseconds candidate_delay(uint64_t behind, const CandidatePolicy& policy = {});

}  // namespace gongshu::cluster
