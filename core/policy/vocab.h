// The vocabulary policies are written in (DESIGN §8): principal roles, actions, and the dataset
// attributes of the catalog (grade per GB/T 43697-2024, open and share attributes, category).
// Each is a small enum so a compiled policy can keep sets of them as bitmasks; the names are
// the ones used in policy files, catalog entries, the audit log and `gongshuctl`.
// Pure functions and constants; safe from any thread. Returned names are static strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "gongshu/v1/catalog.pb.h"

namespace gongshu::policy {

// Who asks. The daemon derives the role from the caller's CURVE identity, never from a message.
enum class Role : uint8_t {
  kPublic,     // unknown key: the open catalog and unconditional open data only
  kAgent,      // an agency's gongshu-agent: delivers its agency's records
  kAgency,     // a user of an agency (carries the agency id): own data, sharing
  kOperator,   // the data authority's staff
  kOfficer,    // security officer: verifies the audit log, reads no data
  kApplicant,  // conditional-open applicant holding agreements
  kLicensed,   // licensed operator: aggregates only, within the licence term
  kReviewer,   // catalog reviewer of a region: reviews catalog entries, reads no data
};
inline constexpr int kRoleCount = 8;

enum class Action : uint8_t {
  kCatalog,       // see a dataset's catalog entry (the open catalog, R-14)
  kRead,          // read rows through the api, page by page
  kQuerySubject,  // read the rows about one subject, by citizen ID / credit code
  kDownload,      // fetch a whole dataset as a file (open data)
  kExport,        // copy rows out of the platform for another system (always audited, R-23)
  kAggregate,     // counts and sums over groups; no rows leave the platform
  kIngest,        // deliver records (agents)
  kCorrect,       // correct or invalidate records (the providing agency, R-11)
  kDestroy,       // destroy a dataset (crypto-shred its data key)
  kProvenance,    // see who delivered which version, without field values
};
inline constexpr int kActionCount = 10;

// Ascending sensitivity: general-1 is the least sensitive, core the most (GB/T 43697-2024:
// 核心数据, 重要数据, 一般数据 with four sub-levels).
enum class GradeLevel : uint8_t { kGeneral1, kGeneral2, kGeneral3, kGeneral4, kImportant, kCore };
inline constexpr int kGradeCount = 6;

enum class OpenAttr : uint8_t { kUnconditional, kConditional, kClosed };
inline constexpr int kOpenCount = 3;

enum class ShareAttr : uint8_t { kUnconditional, kConditional, kNone };
inline constexpr int kShareCount = 3;

enum class Category : uint8_t {
  kPopulation,
  kLegalPerson,
  kCredit,
  kELicence,
  kEconomy,
  kGeo,
  kTopic
};
inline constexpr int kCategoryCount = 7;

// Names as written in policy files and catalog entries ("query_subject", "general-2", ...).
std::string_view role_name(Role r);
std::string_view action_name(Action a);
std::string_view grade_name(GradeLevel g);
std::string_view open_name(OpenAttr o);
std::string_view share_name(ShareAttr s);
std::string_view category_name(Category c);

std::optional<Role> parse_role(std::string_view s);
std::optional<Action> parse_action(std::string_view s);
std::optional<GradeLevel> parse_grade(std::string_view s);
std::optional<OpenAttr> parse_open(std::string_view s);
std::optional<ShareAttr> parse_share(std::string_view s);
std::optional<Category> parse_category(std::string_view s);
// PII kinds by their catalog names ("citizen_id", "none", ...).
std::optional<v1::PiiKind> parse_pii_kind(std::string_view s);

// Actions whose answer carries field values (masked by the decision's profile): read,
// query_subject, download, export, aggregate.
bool returns_data(Action a);
// Actions whose answer carries rows (counted against an agreement's row quota): read,
// query_subject, download, export.
bool returns_rows(Action a);

// Roles outside the government: the public, applicants and licensed operators. Everything they
// receive must be anonymised.
bool is_outside_role(Role r);

// Kinds that identify or describe a natural person. A unified social credit code names an
// organisation and is published by law, so it is not personal; every other kind but none is.
bool is_personal_kind(v1::PiiKind k);

inline constexpr uint32_t bit(auto e) { return uint32_t(1) << static_cast<unsigned>(e); }

}  // namespace gongshu::policy
