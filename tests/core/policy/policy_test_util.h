// Helpers shared by the core/policy tests: the shipped policy and catalog, synthetic catalog
// entries and agreements, and a minimal policy header so a test can write just its rules.
#pragma once

#include <string>
#include <vector>

#include "core/policy/agreement.h"
#include "core/policy/dataset_attrs.h"
#include "core/policy/decide.h"
#include "core/policy/policy.h"
#include "gongshu/v1/catalog.pb.h"

namespace gongshu::policy::test {

// 2026-03-02T04:00:00Z = 12:00 in Shijiazhuang.
inline constexpr int64_t kNow = 1772424000000;
inline constexpr int64_t kDayMs = 86'400'000;

// policies/policy/ of the source tree, loaded once.
const Policy& shipped_policy();
std::string shipped_policy_dir();
// policies/catalog/*.toml of the source tree.
std::vector<v1::DatasetEntry> shipped_catalog();

struct FieldDef {
  std::string name;
  v1::FieldType type;
  v1::PiiKind pii;
};

// A catalog entry with the given attributes and fields (a person dataset when fields are
// personal).
v1::DatasetEntry make_entry(const std::string& id, const std::string& provider,
                            const std::string& grade, const std::string& open,
                            const std::string& share, std::vector<FieldDef> fields,
                            const std::string& category = "population");
// The fields of a household-like dataset: citizen_id, name, birth_date, address, household_size.
std::vector<FieldDef> person_fields();
DatasetAttrs attrs(const v1::DatasetEntry& e);

// An active agreement of `kind` held by `holder`, covering every field of `dataset` for
// purpose "research", valid one day either side of kNow, with no row quota.
Agreement make_agreement(const std::string& id, AgreementKind kind, const std::string& holder,
                         const std::string& dataset);

// Parses `text` (as "test.toml") after a header file "head.toml" that defines [policy]
// (version "t-1"), the six grades, mask profiles "raw" (keeps everything) and "anon"
// (anonymises everything) and rate class "r".
Result<Policy> parse_with_header(const std::string& text);

}  // namespace gongshu::policy::test
