#include "daemon/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace gongshu::daemon {
namespace {

constexpr int64_t kRefusalAuditPeriodMs = 60'000;

}  // namespace

RateLimiter::Outcome RateLimiter::take(std::string_view caller, const policy::RateClass& rate,
                                       int64_t now_ms) {
  if (buckets_.size() >= max_buckets_) prune(now_ms);
  std::string key;
  key.reserve(rate.id.size() + 1 + caller.size());
  key.append(rate.id).push_back('\0');
  key.append(caller);
  const double burst = std::max<uint32_t>(rate.burst ? rate.burst : rate.requests_per_minute, 1);
  const double per_ms = double(rate.requests_per_minute) / 60'000.0;
  auto [it, fresh] = buckets_.try_emplace(std::move(key));
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = burst;
    b.updated_ms = now_ms;
  }
  // A reloaded policy may have changed the class: the new figures apply from now.
  b.burst = burst;
  b.per_ms = per_ms;
  if (now_ms > b.updated_ms) {
    b.tokens = std::min(burst, b.tokens + double(now_ms - b.updated_ms) * per_ms);
    b.updated_ms = now_ms;
  }
  Outcome out;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return out;
  }
  out.allowed = false;
  out.retry_after_ms =
      per_ms > 0 ? std::max<int64_t>(1, int64_t(std::ceil((1.0 - b.tokens) / per_ms))) : 60'000;
  report_refusal(b, now_ms, out);
  return out;
}

RateLimiter::Outcome RateLimiter::deny(std::string_view caller, std::string_view action,
                                       int64_t now_ms) {
  if (buckets_.size() >= max_buckets_) prune(now_ms);
  // Rate class ids are names ([a-z0-9_-]), so a key starting with NUL is no rate bucket. The
  // bucket holds no tokens: prune() forgets it once its refusals are all audited.
  std::string key;
  key.reserve(6 + action.size() + 1 + caller.size());
  key.append("\0role\0", 6).append(action).push_back('\0');
  key.append(caller);
  Bucket& b = buckets_[std::move(key)];
  Outcome out;
  out.allowed = false;
  report_refusal(b, now_ms, out);
  return out;
}

void RateLimiter::report_refusal(Bucket& b, int64_t now_ms, Outcome& out) {
  if (b.last_refusal_audit_ms == INT64_MIN ||
      now_ms - b.last_refusal_audit_ms >= kRefusalAuditPeriodMs) {
    out.audit = true;
    out.unaudited = b.unaudited;
    b.unaudited = 0;
    b.last_refusal_audit_ms = now_ms;
  } else {
    ++b.unaudited;
  }
}

void RateLimiter::prune(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const Bucket& b = it->second;
    const double refilled =
        b.tokens + double(std::max<int64_t>(0, now_ms - b.updated_ms)) * b.per_ms;
    // A full bucket is the same as no bucket, unless it holds refusals not yet audited or its
    // last audited refusal is under a minute old (forgetting it would audit the next at once).
    const bool minute_over = b.last_refusal_audit_ms == INT64_MIN ||
                             now_ms - b.last_refusal_audit_ms >= kRefusalAuditPeriodMs;
    if (refilled >= b.burst && b.unaudited == 0 && minute_over) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace gongshu::daemon
