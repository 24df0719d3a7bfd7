// Internal to core/policy: the compiled form of a Policy, shared by the loader (which builds
// it) and decide() (which reads it). Immutable after the loader returns.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/policy/policy.h"

namespace gongshu::policy {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using SlotMap = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

// The rules that can match one (role, action): deny rules first, then allow rules, each group
// in policy order, so the first matching deny decides and otherwise the first matching allow.
struct Bucket {
  std::vector<uint16_t> denies;
  std::vector<uint16_t> allows;
};

struct Policy::Impl {
  std::string version;
  std::string name;
  std::string digest;
  int utc_offset_minutes = 8 * 60;
  std::vector<std::string> files;
  std::array<GradeDef, kGradeCount> grades;
  std::vector<MaskProfile> masks;  // never resized after rules point into it
  std::vector<RateClass> rates;    // likewise
  std::vector<Rule> rules;
  SlotMap dataset_slots;  // every dataset id some rule names
  SlotMap agency_slots;   // every agency id some rule names
  std::array<std::array<Bucket, kActionCount>, kRoleCount> buckets;
};

}  // namespace gongshu::policy
