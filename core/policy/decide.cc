#include "core/policy/decide.h"

#include <algorithm>
#include <cstdio>

#include "core/catalog/dataset.h"
#include "core/policy/policy_impl.h"
#include "core/util/check.h"
#include "core/util/clock.h"

namespace gongshu::policy {
namespace {

constexpr int64_t kMsPerMinute = 60'000;

// Lazily computed facts about one request, shared by every rule tried.
struct Ctx {
  const Policy::Impl& p;
  const Request& r;
  const DatasetAttrs& d;
  int64_t dataset_slot = -2;  // -2: not looked up yet; -1: no rule names the dataset
  int64_t agency_slot = -2;
  int local_minute = -1;

  static int64_t lookup(const SlotMap& m, std::string_view key) {
    auto it = m.find(key);
    return it == m.end() ? -1 : int64_t(it->second);
  }
  int64_t dataset() {
    if (dataset_slot == -2) dataset_slot = lookup(p.dataset_slots, d.id);
    return dataset_slot;
  }
  int64_t agency() {
    if (agency_slot == -2) agency_slot = r.agency.empty() ? -1 : lookup(p.agency_slots, r.agency);
    return agency_slot;
  }
  int minute() {
    if (local_minute < 0) {
      const int64_t local = r.now_ms / kMsPerMinute + p.utc_offset_minutes;
      local_minute = int(((local % 1440) + 1440) % 1440);
    }
    return local_minute;
  }
  bool own_dataset() const { return !r.agency.empty() && r.agency == d.provider; }
};

// Collects why a rule does not match. On the hot path (no output string) the first failed test
// ends the evaluation; when explaining, every failed test is recorded.
class Tracer {
 public:
  explicit Tracer(std::string* out) : out_(out) {}
  template <typename F>
  bool fail(F&& reason) {
    failed_ = true;
    if (!out_) return false;
    if (!out_->empty()) out_->append("; ");
    out_->append(reason());
    return true;
  }
  bool failed() const { return failed_; }
  bool explaining() const { return out_ != nullptr; }

 private:
  std::string* out_;
  bool failed_ = false;
};

bool in_slots(const std::vector<uint32_t>& slots, int64_t slot) {
  return slot >= 0 && std::binary_search(slots.begin(), slots.end(), uint32_t(slot));
}

std::string join(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out.append(i ? ", " : "").append(v[i]);
  return out + "]";
}

template <typename E>
std::string names_in(uint32_t mask, int count, std::string_view (*name)(E)) {
  std::string out = "[";
  bool first = true;
  for (int i = 0; i < count; ++i) {
    if (!(mask & (1u << i))) continue;
    out.append(first ? "" : ", ").append(name(E(i)));
    first = false;
  }
  return out + "]";
}

std::string clock_text(int minute) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", (minute / 60) % 100, minute % 60);
  return buf;
}

std::string time_text(int64_t ms) { return format_utc(ms * 1'000'000); }

bool covers_field(const AgreementScope& s, std::string_view field) {
  for (const auto& f : s.fields) {
    if (f == "*" || f == field) return true;
  }
  return false;
}

// Whether agreement a satisfies a rule that needs one of `kind`; when not and why is given,
// says why (the first failed check).
bool agreement_ok(const Agreement& a, AgreementKind kind, Ctx& c, std::string* why) {
  auto no = [&](auto&& reason) {
    if (why) *why = "agreement " + a.id + ": " + reason();
    return false;
  };
  const Request& r = c.r;
  if (a.kind != kind) {
    return no([&] {
      return "is a " + std::string(agreement_kind_name(a.kind)) + " agreement, not " +
             std::string(agreement_kind_name(kind));
    });
  }
  const bool holder = (!r.principal.empty() && a.holder == r.principal) ||
                      (!r.agency.empty() && a.holder == r.agency);
  if (!holder) return no([&] { return "is held by " + a.holder + ", not the caller"; });
  if (a.status != AgreementStatus::kActive) {
    return no([&] { return "is " + std::string(agreement_status_name(a.status)); });
  }
  if (r.now_ms < a.valid_from_ms) {
    return no([&] { return "is not valid before " + time_text(a.valid_from_ms); });
  }
  if (r.now_ms >= a.valid_to_ms) {
    return no([&] { return "expired at " + time_text(a.valid_to_ms); });
  }
  const AgreementScope* scope = nullptr;
  for (const AgreementScope& s : a.scope) {
    if (s.dataset == c.d.id) scope = &s;
  }
  if (!scope) return no([&] { return "does not cover dataset " + c.d.id; });
  if (returns_data(r.action)) {
    if (r.fields.empty()) {
      for (const auto& field : c.d.fields) {
        const std::string& name = field.first;  // clang 14 cannot capture a structured binding
        if (!covers_field(*scope, name)) {
          return no([&] { return "does not cover field " + name + " (all fields requested)"; });
        }
      }
    } else {
      for (std::string_view f : r.fields) {
        if (!covers_field(*scope, f)) {
          return no([&] { return "does not cover field " + std::string(f); });
        }
      }
    }
  }
  if (r.purpose.empty()) return no([] { return std::string("the request states no purpose"); });
  if (std::find(a.purposes.begin(), a.purposes.end(), r.purpose) == a.purposes.end()) {
    return no([&] {
      return "purpose '" + std::string(r.purpose) + "' is not one of " + join(a.purposes);
    });
  }
  if (returns_rows(r.action) && a.rows_remaining && *a.rows_remaining == 0) {
    return no([] { return std::string("its row quota is exhausted"); });
  }
  return true;
}

// Whether rule matches the request; sets *used to the agreement that satisfied it.
bool match(const Rule& rule, Ctx& c, Tracer& t, const Agreement** used) {
  const Request& r = c.r;
  const DatasetAttrs& d = c.d;
  if (!(rule.roles & bit(r.role)) && !t.fail([&] {
        return "role " + std::string(role_name(r.role)) + " is not one of " +
               names_in(rule.roles, kRoleCount, role_name);
      }))
    return false;
  if (!(rule.actions & bit(r.action)) && !t.fail([&] {
        return "action " + std::string(action_name(r.action)) + " is not one of " +
               names_in(rule.actions, kActionCount, action_name);
      }))
    return false;
  if (!rule.agency_slots.empty() && !in_slots(rule.agency_slots, c.agency()) && !t.fail([&] {
        return "agency '" + std::string(r.agency) + "' is not one of " + join(rule.agencies);
      }))
    return false;
  if (rule.provider == ProviderMatch::kSelf && !c.own_dataset() && !t.fail([&] {
        return "the dataset is provided by " + d.provider + ", not the caller's agency" +
               (r.agency.empty() ? std::string() : " " + std::string(r.agency));
      }))
    return false;
  if (rule.provider == ProviderMatch::kOther && c.own_dataset() && !t.fail([&] {
        return "the caller's agency " + std::string(r.agency) + " provides the dataset";
      }))
    return false;
  if (!rule.dataset_slots.empty() && !in_slots(rule.dataset_slots, c.dataset()) &&
      !t.fail([&] { return "dataset " + d.id + " is not one of " + join(rule.datasets); }))
    return false;
  if (!(rule.grades & bit(d.grade)) && !t.fail([&] {
        return "grade " + std::string(grade_name(d.grade)) + " is not one of " +
               names_in(rule.grades, kGradeCount, grade_name);
      }))
    return false;
  if (!(rule.open & bit(d.open)) && !t.fail([&] {
        return "open attribute " + std::string(open_name(d.open)) + " is not one of " +
               names_in(rule.open, kOpenCount, open_name);
      }))
    return false;
  if (!(rule.share & bit(d.share)) && !t.fail([&] {
        return "share attribute " + std::string(share_name(d.share)) + " is not one of " +
               names_in(rule.share, kShareCount, share_name);
      }))
    return false;
  if (!(rule.categories & bit(d.category)) && !t.fail([&] {
        return "category " + std::string(category_name(d.category)) + " is not one of " +
               names_in(rule.categories, kCategoryCount, category_name);
      }))
    return false;
  if (rule.pii_any && !(d.pii_kinds & rule.pii_any) && !t.fail([&] {
        std::string kinds;
        for (int k = 0; k < 9; ++k) {
          if (rule.pii_any & (1u << k))
            kinds.append(kinds.empty() ? "" : ", ").append(catalog::pii_kind_name(v1::PiiKind(k)));
        }
        return "the dataset has no field of kind [" + kinds + "]";
      }))
    return false;
  if (rule.personal && *rule.personal != d.personal() && !t.fail([&] {
        return std::string(d.personal() ? "the dataset has personal fields"
                                        : "the dataset has no personal fields");
      }))
    return false;

  // Conditions.
  if (rule.require_purpose && r.purpose.empty() &&
      !t.fail([] { return std::string("the request states no purpose"); }))
    return false;
  if (!rule.purposes.empty() &&
      std::find(rule.purposes.begin(), rule.purposes.end(), r.purpose) == rule.purposes.end() &&
      !t.fail([&] {
        return "purpose '" + std::string(r.purpose) + "' is not one of " + join(rule.purposes);
      }))
    return false;
  if (rule.hours) {
    const int m = c.minute();
    const TimeWindow w = *rule.hours;
    const bool inside = w.from_minute < w.to_minute ? (m >= w.from_minute && m < w.to_minute)
                                                    : (m >= w.from_minute || m < w.to_minute);
    if (!inside && !t.fail([&] {
          return "local time " + clock_text(m) + " is outside " + clock_text(w.from_minute) + "-" +
                 clock_text(w.to_minute);
        }))
      return false;
  }
  if (rule.consent && !r.subject_consent && !t.fail([&] {
        return std::string(r.action == Action::kQuerySubject
                               ? "needs the subject's consent (R-15) to this caller for this "
                                 "dataset and purpose; none is in force"
                               : "needs the subject's consent (R-15), which covers query_subject "
                                 "only");
      }))
    return false;
  if (rule.agreement) {
    const Agreement* found = nullptr;
    std::string reasons;
    for (const Agreement& a : r.agreements) {
      std::string why;
      if (agreement_ok(a, *rule.agreement, c, t.explaining() ? &why : nullptr)) {
        found = &a;
        break;
      }
      if (t.explaining()) reasons.append(reasons.empty() ? "" : ", ").append(why);
    }
    if (!found && !t.fail([&] {
          const std::string kind(agreement_kind_name(*rule.agreement));
          if (r.agreements.empty()) return "needs an active " + kind + " agreement; none given";
          return "needs an active " + kind + " agreement covering it: " + reasons;
        }))
      return false;
    if (found && used) *used = found;
  }
  return !t.failed();
}

Decision make_decision(const Policy::Impl& p, const Request& r, const Rule* rule,
                       const Agreement* agreement) {
  Decision d;
  d.policy_version = p.version;
  if (!rule) return d;
  d.rule = rule;
  d.rule_id = rule->id;
  d.effect = rule->effect;
  if (rule->effect == Effect::kDeny) return d;
  if (returns_data(r.action)) d.mask = rule->mask;
  d.agreement = agreement;
  std::optional<uint64_t> cap = rule->max_rows;
  auto lower = [&](std::optional<uint64_t> v) {
    if (v && (!cap || *v < *cap)) cap = v;
  };
  lower(p.grades[size_t(r.dataset->grade)].max_rows);
  if (agreement && returns_rows(r.action)) lower(agreement->rows_remaining);
  d.limits.max_rows = cap;
  d.limits.k_threshold = rule->k_threshold;
  d.limits.rate = rule->rate;
  return d;
}

void check_request(const Request& r) {
  GONGSHU_CHECK_MSG(r.dataset != nullptr, "a policy request needs its dataset's attributes");
  GONGSHU_CHECK(size_t(r.role) < size_t(kRoleCount));
  GONGSHU_CHECK(size_t(r.action) < size_t(kActionCount));
}

}  // namespace

Decision decide(const Policy& policy, const Request& r) {
  check_request(r);
  const Policy::Impl& p = policy.impl();
  Ctx c{p, r, *r.dataset};
  const Bucket& b = p.buckets[size_t(r.role)][size_t(r.action)];
  for (uint16_t i : b.denies) {
    Tracer t(nullptr);
    if (match(p.rules[i], c, t, nullptr)) return make_decision(p, r, &p.rules[i], nullptr);
  }
  for (uint16_t i : b.allows) {
    Tracer t(nullptr);
    const Agreement* a = nullptr;
    if (match(p.rules[i], c, t, &a)) return make_decision(p, r, &p.rules[i], a);
  }
  return make_decision(p, r, nullptr, nullptr);
}

Explanation explain(const Policy& policy, const Request& r) {
  check_request(r);
  const Policy::Impl& p = policy.impl();
  Ctx c{p, r, *r.dataset};
  Explanation e;
  e.rules.reserve(p.rules.size());
  const Rule* first_deny = nullptr;
  const Rule* first_allow = nullptr;
  const Agreement* allow_agreement = nullptr;
  size_t allows = 0;
  for (const Rule& rule : p.rules) {
    std::string why;
    Tracer t(&why);
    const Agreement* a = nullptr;
    const bool matched = match(rule, c, t, &a);
    if (matched) {
      why = "role, action and dataset match";
      if (rule.require_purpose || !rule.purposes.empty()) why += "; purpose given";
      if (rule.hours) why += "; within hours";
      if (rule.consent) why += "; the subject consented";
      if (a) why += "; agreement " + a->id + " covers dataset, fields and purpose";
      if (rule.effect == Effect::kDeny) {
        if (!first_deny) first_deny = &rule;
      } else {
        ++allows;
        if (!first_allow) {
          first_allow = &rule;
          allow_agreement = a;
        }
      }
    }
    e.rules.push_back({&rule, matched, std::move(why)});
  }
  if (first_deny) {
    e.decision = make_decision(p, r, first_deny, nullptr);
    e.summary = "deny: rule " + first_deny->id + " denies, and a matching deny rule wins";
    if (allows) e.summary += " over the " + std::to_string(allows) + " matching allow rule(s)";
  } else if (first_allow) {
    e.decision = make_decision(p, r, first_allow, allow_agreement);
    e.summary = "allow: rule " + first_allow->id + " allows and no deny rule matches";
    if (allows > 1) {
      e.summary +=
          " (" + std::to_string(allows) + " allow rules match; the first in policy order decides)";
    }
  } else {
    e.decision = make_decision(p, r, nullptr, nullptr);
    e.summary = "deny: no rule matches, so the default applies (default-deny)";
  }
  return e;
}

}  // namespace gongshu::policy
