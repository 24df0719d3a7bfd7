// How the quality report (R-12; daemon/quality_report.h, docs/quality.md) judges a dataset:
// when a delivery is due from the catalog's update frequency, how late one is, and the bounds
// on rejection, invalidation and completeness past which a finding needs attention or is a
// problem. Pure: the daemon gives it times and counts; the same table is in docs/quality.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gongshu::catalog {

// The longest a dataset of this update frequency may go without a delivery: realtime 1 hour,
// daily 1 day, weekly 7, monthly 31, quarterly 92, yearly 366 days. nullopt for another value.
std::optional<int64_t> update_period_ms(std::string_view frequency);

enum class Staleness : uint8_t {
  kOk,     // delivered within the period
  kDue,    // the period has passed, by less than one more period
  kStale,  // more than two periods since the last delivery
  kNever,  // nothing delivered
};
std::string_view staleness_name(Staleness s);
// last_ms 0: never delivered.
Staleness staleness_of(int64_t period_ms, int64_t last_ms, int64_t now_ms);

enum class Severity : uint8_t { kOk, kAttention, kProblem };
std::string_view severity_name(Severity s);

// Rejected records among those delivered: at least 1% needs attention, 10% is a problem.
inline constexpr double kRejectionAttention = 0.01;
inline constexpr double kRejectionProblem = 0.10;
// Invalidations among records stored: 10% needs attention.
inline constexpr double kInvalidationAttention = 0.10;
// An optional field given a value in fewer than half the records needs attention.
inline constexpr double kCompletenessAttention = 0.50;

Severity rejection_severity(double rate);

}  // namespace gongshu::catalog
