// RateLimiter: the policy's rate classes (docs/policy.md, [[rate]]) enforced per caller — per
// key, and for the public role per CURVE key of the connection. One token bucket per
// (caller, rate class): it holds up to `burst` tokens, refills at requests_per_minute, and each
// request takes one.
//
// Refusals are reported for auditing at most once a minute per bucket, with the count of the
// ones not reported since, so a flood of refused requests cannot become a flood of durable audit
// commits; role denials are reported the same way (deny()). Buckets that have refilled completely
// are forgotten when the table grows past max_buckets, so callers with fresh keys cannot grow it
// without bound.
//
// Used by the api thread only; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/policy/policy.h"

namespace gongshu::daemon {

class RateLimiter {
 public:
  explicit RateLimiter(size_t max_buckets = 100'000) : max_buckets_(max_buckets) {}

  struct [[nodiscard]] Outcome {
    bool allowed = true;
    int64_t retry_after_ms = 0;  // refused: when the next token arrives
    bool audit = false;          // refused: this refusal is to be audited
    uint64_t unaudited = 0;      // refusals of this bucket not audited before this one
  };
  // Takes one token of `rate` for caller at now_ms (wall clock; a clock that steps back
  // refills nothing).
  Outcome take(std::string_view caller, const policy::RateClass& rate, int64_t now_ms);

  // A refusal of another kind — a role denial of `action` — reported for auditing on the same
  // terms as rate refusals: at most once a minute per (caller, action), with the count of those
  // not reported since. A key without the role cannot turn a loop of requests into a loop of
  // durable audit commits. `allowed` is always false.
  Outcome deny(std::string_view caller, std::string_view action, int64_t now_ms);

  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
    int64_t last_refusal_audit_ms = INT64_MIN;
    uint64_t unaudited = 0;
    double burst = 0;
    double per_ms = 0;
  };
  void prune(int64_t now_ms);
  // Whether this refusal is the one of its minute to audit (and how many were not before it).
  static void report_refusal(Bucket& b, int64_t now_ms, Outcome& out);

  size_t max_buckets_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace gongshu::daemon
