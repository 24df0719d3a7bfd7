// Policy: the access policy of DESIGN §8, loaded from TOML files and compiled so that a
// decision (core/policy/decide.h) is a few table lookups. The file format, every key and the
// mapping to the regulation are in docs/policy.md; in short, the files of a policy directory
// together hold
//
//   [policy]      version (carried by every decision), name, timezone of rule hours
//   [[grade]]     the six GB/T 43697 grades: name, description, a row cap per request
//   [[mask]]      masking profiles (core/policy/mask_profile.h)
//   [[rate]]      rate classes the daemon enforces per caller
//   [[rule]]      effect (allow | deny), what it matches (roles, agencies, actions, dataset
//                 attributes), conditions (agreement, purpose, hours) and what it yields (mask
//                 profile, row cap, k threshold, rate class)
//
// The loader reports every problem as "file:line: reason", and refuses a policy that would
// break the regulation whatever its rules say (the guards, docs/policy.md §Guards): an
// outside role (public, applicant, licensed) allowed data under a profile that does not
// anonymise every personal kind, unless the rule needs the subject's consent and allows
// an applicant query_subject only (one subject's rows, R-15 (三)); the public allowed more than
// unconditional open data; conditional open data without an open agreement; a
// licensed operator allowed anything but aggregates under a licence; an officer allowed data
// data returned with no mask profile named; an agency given another agency's data
// the share attribute does not allow.
//
// A Policy is immutable once loaded and safe to use from any thread. Everything it hands out
// (rules, profiles, names in decisions) lives as long as the Policy; the daemon keeps the
// current one behind a pointer it swaps on SIGHUP, and keeps the old one alive while any
// request still uses it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy/agreement.h"
#include "core/policy/mask_profile.h"
#include "core/policy/vocab.h"
#include "core/util/error.h"

namespace gongshu::policy {

enum class Effect : uint8_t { kDeny, kAllow };
std::string_view effect_name(Effect e);

// Whether the dataset must be provided by the caller's own agency.
enum class ProviderMatch : uint8_t { kAny, kSelf, kOther };

// Local minutes of the day, [from, to); from > to wraps past midnight.
struct TimeWindow {
  uint16_t from_minute;
  uint16_t to_minute;
};

struct GradeDef {
  GradeLevel level = GradeLevel::kCore;
  std::string name;  // 核心数据, 重要数据, 一般数据（1级）...
  std::string description;
  std::optional<uint64_t> max_rows;  // caps every allowing decision on this grade
};

struct RateClass {
  std::string id;
  uint32_t requests_per_minute = 0;
  uint32_t burst = 0;
  std::string description;
};

inline constexpr uint32_t kAllGrades = (1u << kGradeCount) - 1;
inline constexpr uint32_t kAllOpen = (1u << kOpenCount) - 1;
inline constexpr uint32_t kAllShare = (1u << kShareCount) - 1;
inline constexpr uint32_t kAllCategories = (1u << kCategoryCount) - 1;

struct Rule {
  std::string id;
  std::string description;
  std::string basis;  // the requirement it implements, e.g. "R-17"
  std::string file;   // where it was written
  int line = 0;
  size_t index = 0;  // position in policy order (files by name, rules in file order)

  Effect effect = Effect::kDeny;
  // What it matches. Empty lists and full masks match anything.
  uint32_t roles = 0;    // bit(Role)
  uint32_t actions = 0;  // bit(Action)
  std::vector<std::string> agencies;
  ProviderMatch provider = ProviderMatch::kAny;
  std::vector<std::string> datasets;
  uint32_t grades = kAllGrades;
  uint32_t open = kAllOpen;
  uint32_t share = kAllShare;
  uint32_t categories = kAllCategories;
  uint32_t pii_any = 0;          // the dataset has a field of one of these kinds (0: no test)
  std::optional<bool> personal;  // the dataset has (true) / has no (false) personal field

  // Conditions (allow rules only).
  std::optional<AgreementKind> agreement;  // an active agreement of this kind must cover it
  std::vector<std::string> purposes;       // the request's purpose must be one of these
  bool require_purpose = false;
  std::optional<TimeWindow> hours;
  // The subject of a query_subject has consented (R-15 同意) to the caller, for this dataset and
  // purpose, in a consent the daemon holds (daemon/consent.h; Request::subject_consent).
  bool consent = false;

  // What an allowing decision yields.
  const MaskProfile* mask = nullptr;
  std::optional<uint64_t> max_rows;
  uint32_t k_threshold = 0;  // aggregates: groups smaller than k are suppressed (0: none)
  const RateClass* rate = nullptr;

  // Compiled: the policy's interned ids of `datasets` and `agencies`, sorted.
  std::vector<uint32_t> dataset_slots;
  std::vector<uint32_t> agency_slots;
};

// One policy file's name (used in error messages) and text.
struct PolicySource {
  std::string name;
  std::string text;
};

class Policy {
 public:
  // Parses and checks the sources as one policy. All problems are reported, one per line,
  // each "name:line: reason"; the error code is kInvalidArgument.
  static Result<Policy> parse(std::span<const PolicySource> sources);

  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  ~Policy();

  const std::string& version() const;
  const std::string& name() const;
  // Hex SHA-256 over the sources' names and texts: names the exact policy in audit entries.
  const std::string& digest() const;
  int utc_offset_minutes() const;  // of rule hours
  const std::vector<std::string>& files() const;

  std::span<const Rule> rules() const;
  const Rule* rule(std::string_view id) const;
  const GradeDef& grade(GradeLevel level) const;
  std::span<const MaskProfile> masks() const;
  const MaskProfile* mask(std::string_view id) const;
  std::span<const RateClass> rates() const;
  const RateClass* rate(std::string_view id) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Policy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads the named files (each at most 1 MiB) and parses them as one policy.
Result<Policy> load_policy_files(const std::vector<std::string>& paths);

// Loads every regular *.toml file directly in dir but alerts.toml (core/policy/alerts.h), in
// name order. A directory with none is an
// error.
Result<Policy> load_policy_dir(const std::string& dir);

}  // namespace gongshu::policy
