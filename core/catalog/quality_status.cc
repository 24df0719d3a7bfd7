#include "core/catalog/quality_status.h"

namespace gongshu::catalog {

std::optional<int64_t> update_period_ms(std::string_view f) {
  constexpr int64_t kHour = 3'600'000, kDay = 24 * kHour;
  if (f == "realtime") return kHour;
  if (f == "daily") return kDay;
  if (f == "weekly") return 7 * kDay;
  if (f == "monthly") return 31 * kDay;
  if (f == "quarterly") return 92 * kDay;
  if (f == "yearly") return 366 * kDay;
  return std::nullopt;
}

std::string_view staleness_name(Staleness s) {
  switch (s) {
    case Staleness::kOk:
      return "ok";
    case Staleness::kDue:
      return "due";
    case Staleness::kStale:
      return "stale";
    case Staleness::kNever:
      return "never";
  }
  return "never";
}

Staleness staleness_of(int64_t period_ms, int64_t last_ms, int64_t now_ms) {
  if (last_ms <= 0) return Staleness::kNever;
  const int64_t age = now_ms - last_ms;
  if (age <= period_ms) return Staleness::kOk;
  if (age <= 2 * period_ms) return Staleness::kDue;
  return Staleness::kStale;
}

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::kOk:
      return "ok";
    case Severity::kAttention:
      return "attention";
    case Severity::kProblem:
      return "problem";
  }
  return "problem";
}

Severity rejection_severity(double rate) {
  if (rate >= kRejectionProblem) return Severity::kProblem;
  if (rate >= kRejectionAttention) return Severity::kAttention;
  return Severity::kOk;
}

}  // namespace gongshu::catalog
