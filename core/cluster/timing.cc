#include "core/cluster/timing.h"

#include <algorithm>
#include <string>

namespace gongshu::cluster {

using std::chrono::milliseconds;

Status LeaseTiming::check() const {
  const milliseconds ttl_ms = ttl;
  if (ttl.count() < 1) {
    return fail(ErrorCode::kInvalidArgument, "cluster: lease ttl must be at least 1 s");
  }
  if (margin.count() <= 0 || margin >= ttl_ms) {
    return fail(ErrorCode::kInvalidArgument, "cluster: lease margin " +
                                                 std::to_string(margin.count()) +
                                                 " ms must be above 0 and below the ttl (" +
                                                 std::to_string(ttl_ms.count()) + " ms)");
  }
  if (renew_every.count() < 0 || 2 * renew_interval() > ttl_ms - margin) {
    return fail(ErrorCode::kInvalidArgument,
                "cluster: renewing every " + std::to_string(renew_interval().count()) +
                    " ms leaves less than two renewals in ttl - margin (" +
                    std::to_string((ttl_ms - margin).count()) + " ms)");
  }
  return {};
}

void LeaseTimer::succeeded(MonoTime sent_at, std::chrono::seconds etcd_ttl) {
  if (valid_from_ && sent_at < *valid_from_) return;
  valid_from_ = sent_at;
  ttl_ = std::min<milliseconds>(timing_.ttl, etcd_ttl);
}

std::optional<MonoTime> LeaseTimer::ack_deadline() const {
  if (!valid_from_) return std::nullopt;
  return *valid_from_ + ttl_ - timing_.margin;
}

bool LeaseTimer::may_acknowledge(MonoTime now) const {
  auto deadline = ack_deadline();
  return deadline && now < *deadline;
}

bool LeaseTimer::renew_due(MonoTime now) const {
  return !last_attempt_ || now - *last_attempt_ >= timing_.renew_interval();
}

milliseconds candidate_delay(uint64_t behind, const CandidatePolicy& policy) {
  if (behind == 0) return milliseconds(0);
  // Saturate before multiplying: behind can be any published number.
  const auto per = std::max<int64_t>(policy.per_write_set.count(), 0);
  const int64_t cap_us = std::chrono::microseconds(policy.max).count();
  const int64_t step_us = std::chrono::microseconds(policy.step).count();
  int64_t extra_us = cap_us;
  if (per == 0) {
    extra_us = 0;
  } else if (behind < static_cast<uint64_t>(cap_us / per + 1)) {
    extra_us = static_cast<int64_t>(behind) * per;
  }
  const int64_t total_us = std::min(cap_us, step_us + extra_us);
  return std::chrono::duration_cast<milliseconds>(std::chrono::microseconds(total_us));
}

}  // namespace gongshu::cluster
