#include "core/policy/policy.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/crypto/sha256.h"
#include "core/policy/calendar.h"
#include "core/policy/policy_impl.h"
#include "core/policy/toml_reader.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"

namespace gongshu::policy {
namespace {

using detail::Located;
using detail::TomlReader;

constexpr size_t kMaxFileBytes = 1024 * 1024;
constexpr size_t kMaxFiles = 256;
constexpr size_t kMaxRules = 20'000;
constexpr std::string_view kDefaultDenyId = "default-deny";
const toml::table kEmptyTable;

bool is_name(std::string_view s, std::string_view extra) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string list_names(uint32_t mask, auto name_of, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (mask & (1u << i)) out.append(out.empty() ? "" : ", ").append(name_of(i));
  }
  return out;
}

std::string role_list(uint32_t m) {
  return list_names(
      m, [](int i) { return role_name(Role(i)); }, kRoleCount);
}
std::string action_list(uint32_t m) {
  return list_names(
      m, [](int i) { return action_name(Action(i)); }, kActionCount);
}

std::optional<TimeWindow> parse_hours(std::string_view s) {
  // HH:MM-HH:MM
  if (s.size() != 11 || s[2] != ':' || s[5] != '-' || s[8] != ':') return std::nullopt;
  auto two = [&](size_t at) -> int {
    if (s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9') return -1;
    return (s[at] - '0') * 10 + (s[at + 1] - '0');
  };
  const int h1 = two(0), m1 = two(3), h2 = two(6), m2 = two(9);
  if (h1 < 0 || m1 < 0 || h2 < 0 || m2 < 0 || h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59)
    return std::nullopt;
  const int from = h1 * 60 + m1, to = h2 * 60 + m2;
  if (from > 1440 || to > 1440 || from == to) return std::nullopt;
  return TimeWindow{uint16_t(from % 1440), uint16_t(to == 1440 ? 1440 : to)};
}

std::optional<int> parse_offset(std::string_view s) {
  // +HH:MM or -HH:MM
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return std::nullopt;
  for (size_t i : {1, 2, 4, 5}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (s[4] - '0') * 10 + (s[5] - '0');
  if (h > 14 || m > 59) return std::nullopt;
  return (s[0] == '-' ? -1 : 1) * (h * 60 + m);
}

// Reads an array of enum names into a bitmask; "*" means all. Unknown names are errors.
template <typename E>
std::optional<uint32_t> read_set(TomlReader& rd, const toml::table& t, std::string_view key,
                                 bool required, std::optional<E> (*parse)(std::string_view),
                                 std::string_view (*name)(E), int count) {
  auto items = rd.strings(t, key, required);
  if (!items) return std::nullopt;
  if (items->empty()) {
    rd.error(*t.get(key), "'" + std::string(key) + "' is empty; leave it out to match anything");
    return std::nullopt;
  }
  uint32_t mask = 0;
  bool ok = true;
  for (const Located& l : *items) {
    if (l.value == "*") {
      mask = (1u << count) - 1;
      continue;
    }
    if (auto e = parse(l.value)) {
      mask |= bit(*e);
    } else {
      std::string known;
      for (int i = 0; i < count; ++i) known.append(i ? ", " : "").append(name(E(i)));
      rd.error(l.line,
               "'" + std::string(key) + "': unknown value '" + l.value + "'; known: " + known);
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return mask;
}

// The per-file pass over [policy], [[grade]], [[mask]], [[rate]]; rules come later, when every
// profile and rate class of every file is known.
struct Loader {
  std::vector<std::string> errors;
  Policy::Impl* impl;
  bool have_version = false;
  std::array<bool, kGradeCount> grade_seen{};
  std::map<std::string, std::string, std::less<>> mask_where, rate_where;  // id -> file:line
  std::map<std::string, std::string, std::less<>> rule_where;
  std::string policy_where;  // where [policy] is, for errors about the whole policy

  const toml::array* array_of_tables(TomlReader& rd, const toml::table& root,
                                     std::string_view key) {
    const toml::node* n = root.get(key);
    if (!n) return nullptr;
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) {
      rd.error(*n, "'" + std::string(key) + "' must be written as [[" + std::string(key) + "]]");
      return nullptr;
    }
    return a;
  }

  void read_policy_table(TomlReader& rd, const toml::table& root) {
    const toml::node* n = root.get("policy");
    if (!n) return;
    const toml::table* t = n->as_table();
    if (!t) {
      rd.error(*n, "'policy' must be a table: write [policy]");
      return;
    }
    if (have_version) {
      rd.error(*t, "[policy] is defined again; it was first defined at " + policy_where);
      return;
    }
    have_version = true;
    policy_where = rd.file() + ":" + std::to_string(TomlReader::line_of(*t));
    rd.check_keys(*t, {"version", "name", "timezone"}, "[policy]");
    if (auto v = rd.string(*t, "version", true)) {
      if (!is_name(*v, "._-ABCDEFGHIJKLMNOPQRSTUVWXYZ")) {
        rd.error(*t->get("version"), "version '" + *v + "' must be 1..64 of [A-Za-z0-9._-]");
      }
      impl->version = *v;
    }
    impl->name = rd.string(*t, "name").value_or("");
    if (auto tz = rd.string(*t, "timezone")) {
      if (auto off = parse_offset(*tz)) {
        impl->utc_offset_minutes = *off;
      } else {
        rd.error(*t->get("timezone"), "timezone '" + *tz + "' must read like +08:00");
      }
    }
  }

  void read_grades(TomlReader& rd, const toml::table& root) {
    const toml::array* a = array_of_tables(rd, root, "grade");
    if (!a) return;
    for (const toml::node& n : *a) {
      const toml::table& t = *n.as_table();
      rd.check_keys(t, {"id", "name", "description", "max_rows"}, "[[grade]]");
      auto id = rd.string(t, "id", true);
      if (!id) continue;
      auto level = parse_grade(*id);
      if (!level) {
        rd.error(*t.get("id"), "grade '" + *id +
                                   "' is not a catalog grade (core, important, general-1 .. "
                                   "general-4)");
        continue;
      }
      if (grade_seen[size_t(*level)]) {
        rd.error(t, "grade '" + *id + "' is defined twice");
        continue;
      }
      grade_seen[size_t(*level)] = true;
      GradeDef& g = impl->grades[size_t(*level)];
      g.level = *level;
      g.name = rd.string(t, "name", true).value_or("");
      g.description = rd.string(t, "description").value_or("");
      if (auto m = rd.integer(t, "max_rows", 1, INT64_MAX)) g.max_rows = uint64_t(*m);
    }
  }

  void read_masks(TomlReader& rd, const toml::table& root) {
    const toml::array* a = array_of_tables(rd, root, "mask");
    if (!a) return;
    for (const toml::node& n : *a) {
      const toml::table& t = *n.as_table();
      rd.check_keys(t, {"id", "description", "record_key", "pii", "fields"}, "[[mask]]");
      auto id = rd.string(t, "id", true);
      if (!id) continue;
      if (!is_name(*id, "-_")) {
        rd.error(*t.get("id"), "mask id '" + *id + "' must be 1..64 of [a-z0-9_-]");
        continue;
      }
      const std::string here = rd.file() + ":" + std::to_string(TomlReader::line_of(t));
      if (auto it = mask_where.find(*id); it != mask_where.end()) {
        rd.error(t, "mask '" + *id + "' is defined twice; first at " + it->second);
        continue;
      }
      mask_where.emplace(*id, here);
      MaskProfile p(*id, rd.string(t, "description").value_or(""));
      if (auto rk = rd.string(t, "record_key")) {
        auto op = parse_mask_op(*rk);
        if (!op) {
          rd.error(*t.get("record_key"), op.error().message());
        } else if (op->kind != MaskKind::kKeep && op->kind != MaskKind::kRedact &&
                   op->kind != MaskKind::kToken) {
          rd.error(*t.get("record_key"), "record_key takes keep, redact or token");
        } else {
          p.set_record_key(*op);
        }
      }
      if (const toml::node* pn = t.get("pii")) {
        const toml::table* pt = pn->as_table();
        if (!pt) rd.error(*pn, "'pii' must be a table of kind = \"mask\"");
        for (const auto& [k, v] : pt ? *pt : kEmptyTable) {
          auto kind = parse_pii_kind(k.str());
          const auto* s = v.as_string();
          if (!kind) {
            rd.error(v, "unknown PII kind '" + std::string(k.str()) +
                            "'; known: none, citizen_id, credit_code, name, phone, address, "
                            "birth_date, biometric, other");
            continue;
          }
          if (!s) {
            rd.error(v, "the mask of '" + std::string(k.str()) + "' must be a string");
            continue;
          }
          auto op = parse_mask_op(s->get());
          if (!op) {
            rd.error(v, op.error().message());
            continue;
          }
          if (auto misfit = op_misfit(*op, *kind)) {
            rd.error(v, "mask '" + *id + "': " + *misfit);
            continue;
          }
          p.set_kind(*kind, *op);
        }
      }
      if (const toml::node* fn = t.get("fields")) {
        const toml::table* ft = fn->as_table();
        if (!ft) rd.error(*fn, "'fields' must be a table of \"[dataset:]field\" = \"mask\"");
        for (const auto& [k, v] : ft ? *ft : kEmptyTable) {
          const std::string key(k.str());
          const auto colon = key.find(':');
          const bool key_ok = colon == std::string::npos ? is_name(key, "_")
                                                         : is_name(key.substr(0, colon), "._-") &&
                                                               is_name(key.substr(colon + 1), "_");
          const auto* s = v.as_string();
          if (!key_ok) {
            rd.error(v, "field key '" + key + "' must be \"field\" or \"dataset:field\"");
            continue;
          }
          if (!s) {
            rd.error(v, "the mask of field '" + key + "' must be a string");
            continue;
          }
          auto op = parse_mask_op(s->get());
          if (!op) {
            rd.error(v, op.error().message());
            continue;
          }
          p.set_field(key, *op);
        }
      }
      impl->masks.push_back(std::move(p));
    }
  }

  void read_rates(TomlReader& rd, const toml::table& root) {
    const toml::array* a = array_of_tables(rd, root, "rate");
    if (!a) return;
    for (const toml::node& n : *a) {
      const toml::table& t = *n.as_table();
      rd.check_keys(t, {"id", "requests_per_minute", "burst", "description"}, "[[rate]]");
      auto id = rd.string(t, "id", true);
      if (!id) continue;
      if (!is_name(*id, "-_")) {
        rd.error(*t.get("id"), "rate id '" + *id + "' must be 1..64 of [a-z0-9_-]");
        continue;
      }
      if (auto it = rate_where.find(*id); it != rate_where.end()) {
        rd.error(t, "rate '" + *id + "' is defined twice; first at " + it->second);
        continue;
      }
      rate_where.emplace(*id, rd.file() + ":" + std::to_string(TomlReader::line_of(t)));
      RateClass r;
      r.id = *id;
      auto rpm = rd.integer(t, "requests_per_minute", 1, 1'000'000);
      if (!rpm && !t.get("requests_per_minute")) rd.error(t, "missing key 'requests_per_minute'");
      r.requests_per_minute = uint32_t(rpm.value_or(1));
      r.burst = uint32_t(rd.integer(t, "burst", 1, 1'000'000).value_or(r.requests_per_minute));
      r.description = rd.string(t, "description").value_or("");
      impl->rates.push_back(std::move(r));
    }
  }

  void read_rules(TomlReader& rd, const toml::table& root) {
    const toml::array* a = array_of_tables(rd, root, "rule");
    if (!a) return;
    for (const toml::node& n : *a) {
      if (impl->rules.size() >= kMaxRules) {
        rd.error(n, "more than " + std::to_string(kMaxRules) + " rules");
        return;
      }
      Rule r;
      if (read_rule(rd, *n.as_table(), r)) {
        r.index = impl->rules.size();
        impl->rules.push_back(std::move(r));
      }
    }
  }

  // Returns false when the rule has errors (they are recorded).
  bool read_rule(TomlReader& rd, const toml::table& t, Rule& r) {
    const size_t errors_before = errors.size();
    rd.check_keys(
        t, {"id",       "description",     "basis",      "effect", "roles",     "actions",
            "agencies", "provider",        "datasets",   "grades", "min_grade", "max_grade",
            "open",     "share",           "categories", "pii",    "personal",  "agreement",
            "purposes", "require_purpose", "hours",      "mask",   "max_rows",  "k_threshold",
            "rate",     "consent"},
        "[[rule]]");
    r.file = rd.file();
    r.line = TomlReader::line_of(t);
    auto id = rd.string(t, "id", true);
    if (!id) return false;
    r.id = *id;
    auto err = [&](const toml::node& at, const std::string& why) {
      rd.error(at, "rule '" + r.id + "': " + why);
    };
    auto node = [&](std::string_view key) -> const toml::node& {
      const toml::node* n = t.get(key);
      return n ? *n : static_cast<const toml::node&>(t);
    };
    if (!is_name(r.id, "._-") || r.id == kDefaultDenyId) {
      err(node("id"), "id must be 1..64 of [a-z0-9._-] and not \"default-deny\"");
    }
    const std::string here = rd.file() + ":" + std::to_string(r.line);
    if (auto it = rule_where.find(r.id); it != rule_where.end()) {
      err(t, "defined twice; first at " + it->second);
    } else {
      rule_where.emplace(r.id, here);
    }
    r.description = rd.string(t, "description").value_or("");
    if (auto items = rd.strings(t, "basis")) {
      for (const auto& l : *items) r.basis.append(r.basis.empty() ? "" : ", ").append(l.value);
    }
    if (auto e = rd.string(t, "effect", true)) {
      if (*e == "allow") {
        r.effect = Effect::kAllow;
      } else if (*e == "deny") {
        r.effect = Effect::kDeny;
      } else {
        err(node("effect"), "effect must be \"allow\" or \"deny\", not \"" + *e + "\"");
      }
    }
    r.roles = read_set<Role>(rd, t, "roles", true, parse_role, role_name, kRoleCount).value_or(0);
    r.actions = read_set<Action>(rd, t, "actions", true, parse_action, action_name, kActionCount)
                    .value_or(0);
    if (auto ag = rd.strings(t, "agencies")) {
      for (auto& l : *ag) {
        if (!is_name(l.value, "._-")) rd.error(l.line, "rule '" + r.id + "': bad agency id");
        r.agencies.push_back(std::move(l.value));
      }
    }
    if (auto p = rd.string(t, "provider")) {
      if (*p == "self") {
        r.provider = ProviderMatch::kSelf;
      } else if (*p == "other") {
        r.provider = ProviderMatch::kOther;
      } else if (*p != "any") {
        err(node("provider"), "provider must be \"self\", \"other\" or \"any\"");
      }
    }
    if (auto ds = rd.strings(t, "datasets")) {
      for (auto& l : *ds) {
        if (!is_name(l.value, "._-")) rd.error(l.line, "rule '" + r.id + "': bad dataset id");
        r.datasets.push_back(std::move(l.value));
      }
    }
    if (auto g =
            read_set<GradeLevel>(rd, t, "grades", false, parse_grade, grade_name, kGradeCount)) {
      r.grades = *g;
    }
    for (const char* key : {"min_grade", "max_grade"}) {
      auto s = rd.string(t, key);
      if (!s) continue;
      auto g = parse_grade(*s);
      if (!g) {
        err(node(key), std::string(key) + " '" + *s + "' is not a grade");
        continue;
      }
      uint32_t range = 0;
      for (int i = 0; i < kGradeCount; ++i) {
        const bool in = std::string_view(key) == "min_grade" ? i >= int(*g) : i <= int(*g);
        if (in) range |= 1u << i;
      }
      r.grades &= range;
    }
    if (r.grades == 0) err(t, "its grade selectors leave no grade");
    if (auto o = read_set<OpenAttr>(rd, t, "open", false, parse_open, open_name, kOpenCount))
      r.open = *o;
    if (auto s = read_set<ShareAttr>(rd, t, "share", false, parse_share, share_name, kShareCount))
      r.share = *s;
    if (auto c = read_set<Category>(rd, t, "categories", false, parse_category, category_name,
                                    kCategoryCount))
      r.categories = *c;
    if (auto p = rd.strings(t, "pii")) {
      for (const auto& l : *p) {
        auto k = parse_pii_kind(l.value);
        if (!k || *k == v1::PII_NONE) {
          rd.error(l.line, "rule '" + r.id + "': pii '" + l.value + "' is not a PII kind");
        } else {
          r.pii_any |= bit(*k);
        }
      }
    }
    r.personal = rd.boolean(t, "personal");

    // Conditions.
    if (auto ag = rd.string(t, "agreement")) {
      if (auto k = parse_agreement_kind(*ag)) {
        r.agreement = *k;
      } else {
        err(node("agreement"), "agreement must be \"open\", \"share\" or \"licence\"");
      }
    }
    if (auto p = rd.strings(t, "purposes")) {
      for (auto& l : *p) r.purposes.push_back(std::move(l.value));
    }
    r.require_purpose = rd.boolean(t, "require_purpose").value_or(false);
    r.consent = rd.boolean(t, "consent").value_or(false);
    if (auto h = rd.string(t, "hours")) {
      r.hours = parse_hours(*h);
      if (!r.hours) err(node("hours"), "hours must read like \"08:00-18:00\" (local time)");
    }

    // What it yields.
    if (auto m = rd.string(t, "mask")) {
      r.mask = find_mask(*m);
      if (!r.mask) err(node("mask"), "unknown mask profile '" + *m + "'");
    }
    if (auto m = rd.integer(t, "max_rows", 1, INT64_MAX)) r.max_rows = uint64_t(*m);
    if (auto k = rd.integer(t, "k_threshold", 0, 1'000'000)) r.k_threshold = uint32_t(*k);
    if (auto rc = rd.string(t, "rate")) {
      for (const RateClass& c : impl->rates) {
        if (c.id == *rc) r.rate = &c;
      }
      if (!r.rate) err(node("rate"), "unknown rate class '" + *rc + "'");
    }
    if (errors.size() != errors_before) return false;
    check_guards(t, r, err, node);
    return errors.size() == errors_before;
  }

  const MaskProfile* find_mask(std::string_view id) const {
    for (const MaskProfile& m : impl->masks) {
      if (m.id() == id) return &m;
    }
    return nullptr;
  }

  // The regulation's invariants (docs/policy.md §Guards), whatever the rules say.
  template <typename Err, typename Node>
  void check_guards(const toml::table& t, const Rule& r, Err& err, Node& node) {
    const uint32_t data_actions = bit(Action::kRead) | bit(Action::kQuerySubject) |
                                  bit(Action::kDownload) | bit(Action::kExport) |
                                  bit(Action::kAggregate);
    const uint32_t row_actions = data_actions & ~bit(Action::kAggregate);
    const uint32_t outside = bit(Role::kPublic) | bit(Role::kApplicant) | bit(Role::kLicensed);
    if (r.effect == Effect::kDeny) {
      if (r.agreement || !r.purposes.empty() || r.require_purpose || r.hours || r.consent) {
        err(t,
            "a deny rule takes no conditions (agreement, purposes, require_purpose, hours, "
            "consent); conditions narrow an allow rule");
      }
      return;
    }
    const uint32_t data = r.actions & data_actions;
    if (data && !r.mask) {
      err(t, "allows " + action_list(data) +
                 ", which return field values, but names no mask profile (R-26: every read is "
                 "masked as a profile says; name one, e.g. mask = \"provider-own\" to keep "
                 "fields)");
    }
    const bool may_be_personal = r.personal.value_or(true);
    if (r.consent) {
      // A consent names one subject and one applicant (R-15 (三)): it can open that subject's
      // rows to that applicant, nothing wider.
      if (r.actions & ~bit(Action::kQuerySubject)) {
        err(node("actions"), "needs consent, which covers one subject: allow query_subject only");
      }
      if (r.roles & ~bit(Role::kApplicant)) {
        err(node("roles"),
            "needs consent, which names an applicant: allow the applicant role only");
      }
    }
    // With the subject's consent (R-15 (三)) personal data may be opened without anonymisation.
    const bool consented =
        r.consent && r.actions == bit(Action::kQuerySubject) && r.roles == bit(Role::kApplicant);
    if (data && (r.roles & outside) && may_be_personal && r.mask && !consented) {
      if (auto why = r.mask->not_anonymising()) {
        err(node("mask"), "opens data to " + role_list(r.roles & outside) +
                              " under mask profile '" + r.mask->id() +
                              "', which does not anonymise: " + *why +
                              " (R-15: personal information is opened only after "
                              "anonymisation or with the subject's consent; add personal = false "
                              "if the rule is only for datasets without personal fields, or "
                              "consent = true to an applicant's query_subject)");
      }
    }
    if ((r.roles & bit(Role::kPublic)) && data && (r.open & ~bit(OpenAttr::kUnconditional))) {
      err(node("open"),
          "gives the public role data that is not unconditionally open (R-17: add open = "
          "[\"unconditional\"])");
    }
    if ((r.roles & bit(Role::kApplicant)) && data) {
      if (r.open & bit(OpenAttr::kClosed)) {
        err(node("open"),
            "gives an applicant closed data (R-15, R-18: only unconditional and conditional "
            "open data is opened)");
      }
      if ((r.open & bit(OpenAttr::kConditional)) && r.agreement != AgreementKind::kOpen) {
        err(node("open"),
            "gives an applicant conditionally open data without agreement = \"open\" (R-18: "
            "conditional data only under a signed open-use agreement)");
      }
    }
    if (r.roles & bit(Role::kLicensed)) {
      if (r.actions & row_actions) {
        err(node("actions"), "allows a licensed operator " + action_list(r.actions & row_actions) +
                                 " (R-20: licensed operators never take raw rows; allow "
                                 "aggregate only)");
      }
      if (r.agreement != AgreementKind::kLicence) {
        err(t,
            "allows a licensed operator without agreement = \"licence\" (R-20: nothing outside "
            "the licence's scope and term)");
      }
    }
    if ((r.roles & bit(Role::kOfficer)) && data) {
      err(node("actions"), "allows the officer role " + action_list(data) +
                               " (R-27: security officers read no data)");
    }
    if ((r.actions & bit(Action::kAggregate)) && (r.roles & outside) && r.k_threshold < 2) {
      err(t, "allows " + role_list(r.roles & outside) +
                 " aggregates without k_threshold >= 2 (R-20, R-21: small groups are "
                 "suppressed)");
    }
    if ((r.roles & bit(Role::kAgency)) && data && r.provider != ProviderMatch::kSelf) {
      if (r.share & bit(ShareAttr::kNone)) {
        err(node("share"),
            "gives an agency other agencies' data whose share attribute is none (R-13: add "
            "share = [...] without \"none\", or provider = \"self\")");
      }
      if ((r.share & bit(ShareAttr::kConditional)) && r.agreement != AgreementKind::kShare) {
        err(node("share"),
            "gives an agency conditionally shared data without agreement = \"share\" (R-13: "
            "conditional sharing needs an approved request)");
      }
    }
  }
};

void compile(Policy::Impl& impl) {
  auto intern = [](SlotMap& map, const std::string& s) {
    auto [it, inserted] = map.emplace(s, uint32_t(map.size()));
    return it->second;
  };
  for (Rule& r : impl.rules) {
    for (const auto& d : r.datasets) r.dataset_slots.push_back(intern(impl.dataset_slots, d));
    for (const auto& a : r.agencies) r.agency_slots.push_back(intern(impl.agency_slots, a));
    std::sort(r.dataset_slots.begin(), r.dataset_slots.end());
    std::sort(r.agency_slots.begin(), r.agency_slots.end());
    for (int role = 0; role < kRoleCount; ++role) {
      if (!(r.roles & (1u << role))) continue;
      for (int action = 0; action < kActionCount; ++action) {
        if (!(r.actions & (1u << action))) continue;
        Bucket& b = impl.buckets[role][action];
        (r.effect == Effect::kDeny ? b.denies : b.allows).push_back(uint16_t(r.index));
      }
    }
  }
}

}  // namespace

std::string_view effect_name(Effect e) { return e == Effect::kAllow ? "allow" : "deny"; }

Policy::Policy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::~Policy() = default;

const std::string& Policy::version() const { return impl_->version; }
const std::string& Policy::name() const { return impl_->name; }
const std::string& Policy::digest() const { return impl_->digest; }
int Policy::utc_offset_minutes() const { return impl_->utc_offset_minutes; }
const std::vector<std::string>& Policy::files() const { return impl_->files; }
std::span<const Rule> Policy::rules() const { return impl_->rules; }
const GradeDef& Policy::grade(GradeLevel level) const { return impl_->grades[size_t(level)]; }
std::span<const MaskProfile> Policy::masks() const { return impl_->masks; }
std::span<const RateClass> Policy::rates() const { return impl_->rates; }

const Rule* Policy::rule(std::string_view id) const {
  for (const Rule& r : impl_->rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

const MaskProfile* Policy::mask(std::string_view id) const {
  for (const MaskProfile& m : impl_->masks) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

const RateClass* Policy::rate(std::string_view id) const {
  for (const RateClass& r : impl_->rates) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

Result<Policy> Policy::parse(std::span<const PolicySource> sources) {
  auto impl = std::make_unique<Impl>();
  Loader ld;
  ld.impl = impl.get();
  if (sources.empty()) return fail(ErrorCode::kInvalidArgument, "policy: no policy files");
  if (sources.size() > kMaxFiles)
    return fail(ErrorCode::kInvalidArgument, "policy: more than 256 files");

  crypto::Sha256 digest;
  std::vector<std::pair<std::string, toml::table>> roots;
  for (const PolicySource& s : sources) {
    impl->files.push_back(s.name);
    uint8_t len[8];
    put_be64(len, s.name.size());
    digest.update(ByteView(len, 8)).update(s.name);
    put_be64(len, s.text.size());
    digest.update(ByteView(len, 8)).update(s.text);
    if (s.text.size() > kMaxFileBytes) {
      ld.errors.push_back(s.name + ":1: larger than 1 MiB");
      continue;
    }
    auto root = detail::parse_toml(s.text, s.name, &ld.errors);
    if (!root) continue;
    TomlReader rd(s.name, &ld.errors);
    rd.check_keys(*root, {"policy", "grade", "mask", "rate", "rule"}, "a policy file");
    roots.emplace_back(s.name, std::move(*root));
  }
  const auto d = digest.finish();
  impl->digest = hex_encode(d);

  // Profiles and rate classes first (rules point into these vectors, so they must not grow
  // once rules are read).
  for (auto& [name, root] : roots) {
    TomlReader rd(name, &ld.errors);
    ld.read_policy_table(rd, root);
    ld.read_grades(rd, root);
    ld.read_masks(rd, root);
    ld.read_rates(rd, root);
  }
  impl->masks.shrink_to_fit();
  impl->rates.shrink_to_fit();
  for (auto& [name, root] : roots) {
    TomlReader rd(name, &ld.errors);
    ld.read_rules(rd, root);
  }
  if (!ld.have_version && ld.errors.empty()) {
    ld.errors.push_back(sources[0].name + ":1: no [policy] table with a version in any file");
  }
  for (int g = 0; g < kGradeCount && ld.have_version; ++g) {
    if (!ld.grade_seen[size_t(g)]) {
      ld.errors.push_back(ld.policy_where + ": grade '" + std::string(grade_name(GradeLevel(g))) +
                          "' is not defined by any [[grade]]");
    }
  }
  if (!ld.errors.empty()) {
    std::string m;
    for (const auto& e : ld.errors) m.append(m.empty() ? "" : "\n").append(e);
    return fail(ErrorCode::kInvalidArgument, m);
  }
  compile(*impl);
  return Policy(std::move(impl));
}

Result<Policy> load_policy_files(const std::vector<std::string>& paths) {
  std::vector<PolicySource> sources;
  for (const auto& p : paths) {
    GONGSHU_TRY(Bytes text, with_context(read_file(p, kMaxFileBytes), p));
    sources.push_back({p, std::string(as_chars(text))});
  }
  return Policy::parse(sources);
}

Result<Policy> load_policy_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return fail(ErrorCode::kNotFound, "policy directory " + dir + ": " + ec.message());
  std::vector<std::string> paths;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return fail(ErrorCode::kIo, "policy directory " + dir + ": " + ec.message());
    const fs::path& p = it->path();
    if (p.extension() != ".toml" || p.filename().string().starts_with(".")) continue;
    // The alert rules beside the policy are read by load_alert_rules (core/policy/alerts.h).
    if (p.filename() == "alerts.toml") continue;
    // The working-day calendar is read by WorkCalendar (core/policy/calendar.h).
    if (p.filename() == kCalendarFile) continue;
    if (!it->is_regular_file(ec)) continue;
    paths.push_back(p.string());
  }
  if (paths.empty())
    return fail(ErrorCode::kNotFound, "policy directory " + dir + ": no *.toml files");
  std::sort(paths.begin(), paths.end());
  return load_policy_files(paths);
}

}  // namespace gongshu::policy
