#include "core/policy/vocab.h"

#include <array>

namespace gongshu::policy {
namespace {

constexpr std::array<std::string_view, kRoleCount> kRoles = {
    "public", "agent", "agency", "operator", "officer", "applicant", "licensed", "reviewer"};
constexpr std::array<std::string_view, kActionCount> kActions = {
    "catalog",   "read",   "query_subject", "download", "export",
    "aggregate", "ingest", "correct",       "destroy",  "provenance"};
constexpr std::array<std::string_view, kGradeCount> kGrades = {
    "general-1", "general-2", "general-3", "general-4", "important", "core"};
constexpr std::array<std::string_view, kOpenCount> kOpen = {"unconditional", "conditional",
                                                            "closed"};
constexpr std::array<std::string_view, kShareCount> kShare = {"unconditional", "conditional",
                                                              "none"};
constexpr std::array<std::string_view, kCategoryCount> kCategories = {
    "population", "legal_person", "credit", "e_licence", "economy", "geo", "topic"};
constexpr std::array<std::string_view, 9> kPii = {"none",       "citizen_id", "credit_code",
                                                  "name",       "phone",      "address",
                                                  "birth_date", "biometric",  "other"};

template <typename E, size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E e) {
  auto i = static_cast<size_t>(e);
  return i < N ? names[i] : std::string_view("unknown");
}

template <typename E, size_t N>
std::optional<E> parse_in(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view role_name(Role r) { return name_of(kRoles, r); }
std::string_view action_name(Action a) { return name_of(kActions, a); }
std::string_view grade_name(GradeLevel g) { return name_of(kGrades, g); }
std::string_view open_name(OpenAttr o) { return name_of(kOpen, o); }
std::string_view share_name(ShareAttr s) { return name_of(kShare, s); }
std::string_view category_name(Category c) { return name_of(kCategories, c); }

std::optional<Role> parse_role(std::string_view s) { return parse_in<Role>(kRoles, s); }
std::optional<Action> parse_action(std::string_view s) { return parse_in<Action>(kActions, s); }
std::optional<GradeLevel> parse_grade(std::string_view s) {
  return parse_in<GradeLevel>(kGrades, s);
}
std::optional<OpenAttr> parse_open(std::string_view s) { return parse_in<OpenAttr>(kOpen, s); }
std::optional<ShareAttr> parse_share(std::string_view s) { return parse_in<ShareAttr>(kShare, s); }
std::optional<Category> parse_category(std::string_view s) {
  return parse_in<Category>(kCategories, s);
}
std::optional<v1::PiiKind> parse_pii_kind(std::string_view s) {
  return parse_in<v1::PiiKind>(kPii, s);
}

bool returns_data(Action a) { return returns_rows(a) || a == Action::kAggregate; }

bool returns_rows(Action a) {
  return a == Action::kRead || a == Action::kQuerySubject || a == Action::kDownload ||
         a == Action::kExport;
}

bool is_outside_role(Role r) {
  return r == Role::kPublic || r == Role::kApplicant || r == Role::kLicensed;
}

bool is_personal_kind(v1::PiiKind k) { return k != v1::PII_NONE && k != v1::PII_CREDIT_CODE; }

}  // namespace gongshu::policy
