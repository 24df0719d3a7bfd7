#include "core/policy/decide.h"

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/core/policy/policy_test_util.h"

namespace gongshu::policy {
namespace {

using test::kDayMs;
using test::kNow;

const DatasetAttrs& people(const std::string& open = "conditional",
                           const std::string& share = "conditional",
                           const std::string& grade = "general-3") {
  static std::map<std::string, DatasetAttrs> cache;
  const std::string key = open + "/" + share + "/" + grade;
  auto it = cache.find(key);
  if (it == cache.end()) {
    it = cache
             .emplace(key, test::attrs(test::make_entry("test.people", "sjz-gongan", grade, open,
                                                        share, test::person_fields())))
             .first;
  }
  return it->second;
}

Request request(Role role, Action action, const DatasetAttrs& d) {
  Request r;
  r.role = role;
  r.action = action;
  r.dataset = &d;
  r.now_ms = kNow;
  r.purpose = "research";
  return r;
}

TEST_CASE("deny wins over any number of matching allow rules", "[policy][decide]") {
  auto p = test::parse_with_header(R"(
[[rule]]
id = "allow-first"
effect = "allow"
roles = ["agency"]
actions = ["read"]
provider = "self"
mask = "raw"

[[rule]]
id = "no-important"
effect = "deny"
roles = ["*"]
actions = ["*"]
grades = ["important"]

[[rule]]
id = "allow-later"
effect = "allow"
roles = ["agency"]
actions = ["read"]
mask = "anon"
share = ["unconditional"]
)");
  REQUIRE(p);
  Request r = request(Role::kAgency, Action::kRead, people("closed", "unconditional", "important"));
  r.agency = "sjz-gongan";
  Decision d = decide(*p, r);
  CHECK_FALSE(d.allowed());
  CHECK(d.rule_id == "no-important");
  CHECK(d.rule == p->rule("no-important"));
  CHECK(d.mask == nullptr);
  CHECK(d.policy_version == "t-1");
  Explanation e = explain(*p, r);
  CHECK(e.decision.rule_id == "no-important");
  CHECK(e.summary ==
        "deny: rule no-important denies, and a matching deny rule wins over the 2 matching allow "
        "rule(s)");
  REQUIRE(e.rules.size() == 3);
  CHECK(e.rules[0].matched);
  CHECK(e.rules[1].matched);
  CHECK(e.rules[2].matched);

  // Without the deny rule's grade, the first allow rule in policy order decides.
  r.dataset = &people("closed", "unconditional", "general-1");
  d = decide(*p, r);
  CHECK(d.allowed());
  CHECK(d.rule_id == "allow-first");
  CHECK(d.mask == p->mask("raw"));
  e = explain(*p, r);
  CHECK(e.summary ==
        "allow: rule allow-first allows and no deny rule matches (2 allow rules match; the "
        "first in policy order decides)");
  CHECK_FALSE(e.rules[1].matched);
  CHECK(e.rules[1].reason == "grade general-1 is not one of [important]");
}

TEST_CASE("nothing matches: default deny, with the policy version", "[policy][decide]") {
  auto p = test::parse_with_header(R"(
[[rule]]
id = "only-operators"
effect = "allow"
roles = ["operator"]
actions = ["catalog"]
)");
  REQUIRE(p);
  for (int role = 0; role < kRoleCount; ++role) {
    for (int action = 0; action < kActionCount; ++action) {
      const Request r = request(Role(role), Action(action), people());
      const Decision d = decide(*p, r);
      if (Role(role) == Role::kOperator && Action(action) == Action::kCatalog) {
        CHECK(d.allowed());
        continue;
      }
      CHECK_FALSE(d.allowed());
      CHECK(d.rule == nullptr);
      CHECK(d.rule_id == "default-deny");
      CHECK(d.policy_version == "t-1");
    }
  }
  const Explanation e = explain(*p, request(Role::kPublic, Action::kRead, people()));
  CHECK(e.summary == "deny: no rule matches, so the default applies (default-deny)");
  REQUIRE(e.rules.size() == 1);
  CHECK(e.rules[0].reason ==
        "role public is not one of [operator]; action read is not one of [catalog]");
}

TEST_CASE("a policy with no rules denies everything", "[policy][decide]") {
  auto p = test::parse_with_header("");
  REQUIRE(p);
  CHECK(p->rules().empty());
  CHECK_FALSE(decide(*p, request(Role::kOperator, Action::kCatalog, people())).allowed());
}

struct AgreementCase {
  const char* name;
  std::function<void(Agreement&, Request&)> change;
  const char* reason;  // what explain() says about the agreement
};

TEST_CASE("open agreements: every condition must hold", "[policy][decide][agreement]") {
  const Policy& p = test::shipped_policy();
  const DatasetAttrs& d = people("conditional", "none", "general-3");
  static const std::vector<std::string_view> kSomeFields = {"birth_date", "household_size"};
  const std::vector<AgreementCase> cases = {
      {"valid", [](Agreement&, Request&) {}, ""},
      {"expired", [](Agreement& a, Request&) { a.valid_to_ms = kNow; },
       "agreement KF-1: expired at 2026-03-02T04:00:00Z"},
      {"not yet valid", [](Agreement& a, Request&) { a.valid_from_ms = kNow + 1; },
       "agreement KF-1: is not valid before 2026-03-02T04:00:00Z"},
      {"wrong purpose", [](Agreement&, Request& r) { r.purpose = "marketing"; },
       "agreement KF-1: purpose 'marketing' is not one of [research]"},
      {"no purpose", [](Agreement&, Request& r) { r.purpose = ""; },
       "agreement KF-1: the request states no purpose"},
      {"wrong dataset", [](Agreement& a, Request&) { a.scope[0].dataset = "test.other"; },
       "agreement KF-1: does not cover dataset test.people"},
      {"field not covered",
       [](Agreement& a, Request& r) {
         a.scope[0].fields = {"birth_date"};
         r.fields = kSomeFields;
       },
       "agreement KF-1: does not cover field household_size"},
      {"all fields requested, some not covered",
       [](Agreement& a, Request&) {
         a.scope[0].fields = {"birth_date", "household_size"};
       },
       "agreement KF-1: does not cover field citizen_id (all fields requested)"},
      {"quota exhausted", [](Agreement& a, Request&) { a.rows_remaining = 0; },
       "agreement KF-1: its row quota is exhausted"},
      {"revoked", [](Agreement& a, Request&) { a.status = AgreementStatus::kRevoked; },
       "agreement KF-1: is revoked"},
      {"suspended", [](Agreement& a, Request&) { a.status = AgreementStatus::kSuspended; },
       "agreement KF-1: is suspended"},
      {"pending", [](Agreement& a, Request&) { a.status = AgreementStatus::kPending; },
       "agreement KF-1: is pending"},
      {"someone else's", [](Agreement& a, Request&) { a.holder = "ffffffffffffffff"; },
       "agreement KF-1: is held by ffffffffffffffff, not the caller"},
      {"wrong kind", [](Agreement& a, Request&) { a.kind = AgreementKind::kLicence; },
       "agreement KF-1: is a licence agreement, not open"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    std::vector<Agreement> agreements = {
        test::make_agreement("KF-1", AgreementKind::kOpen, "a1b2c3d4e5f60718", d.id)};
    Request r = request(Role::kApplicant, Action::kRead, d);
    r.principal = "a1b2c3d4e5f60718";
    c.change(agreements[0], r);
    r.agreements = agreements;
    const Decision dec = decide(p, r);
    const Explanation e = explain(p, r);
    CHECK(e.decision.rule_id == dec.rule_id);
    if (std::string_view(c.reason).empty()) {
      CHECK(dec.allowed());
      CHECK(dec.rule_id == "open-conditional-agreement");
      CHECK(dec.agreement == &agreements[0]);
      CHECK(dec.mask == p.mask("conditional-anonymised"));
      CHECK(dec.limits.k_threshold == 10);
      CHECK(dec.limits.max_rows == 50000);  // the grade's cap (general-3)
      CHECK(dec.limits.rate == p.rate("applicant"));
      continue;
    }
    CHECK_FALSE(dec.allowed());
    CHECK(dec.rule_id == "default-deny");
    const RuleVerdict* v = nullptr;
    for (const auto& rv : e.rules) {
      if (rv.rule->id == "open-conditional-agreement") v = &rv;
    }
    REQUIRE(v);
    CHECK_FALSE(v->matched);
    CHECK(v->reason == "needs an active open agreement covering it: " + std::string(c.reason));
  }
}

TEST_CASE("agreements: the remaining quota caps the rows; another agreement may serve",
          "[policy][decide][agreement]") {
  const Policy& p = test::shipped_policy();
  const DatasetAttrs& d = people("conditional", "none", "general-2");
  std::vector<Agreement> agreements = {
      test::make_agreement("KF-old", AgreementKind::kOpen, "a1", d.id),
      test::make_agreement("KF-new", AgreementKind::kOpen, "a1", d.id)};
  agreements[0].status = AgreementStatus::kExpired;
  agreements[1].rows_remaining = 120;
  Request r = request(Role::kApplicant, Action::kDownload, d);
  r.principal = "a1";
  r.agreements = agreements;
  Decision dec = decide(p, r);
  REQUIRE(dec.allowed());
  CHECK(dec.agreement == &agreements[1]);
  CHECK(dec.limits.max_rows == 120);
  // An aggregate returns no rows, so an exhausted quota does not stop it.
  agreements[1].rows_remaining = 0;
  CHECK_FALSE(decide(p, r).allowed());
  r.action = Action::kAggregate;
  dec = decide(p, r);
  CHECK(dec.allowed());
  CHECK(dec.limits.max_rows == std::nullopt);
  CHECK(explain(p, r).rules[p.rule("open-conditional-agreement")->index].reason ==
        "role, action and dataset match; agreement KF-new covers dataset, fields and purpose");
}

TEST_CASE("licensed operators: aggregates only, never rows, nothing after the term",
          "[policy][decide][licensed]") {
  const Policy& p = test::shipped_policy();
  const DatasetAttrs& d = people("closed", "conditional", "important");
  std::vector<Agreement> licence = {
      test::make_agreement("SQ-1", AgreementKind::kLicence, "lic-key", d.id)};
  Request r = request(Role::kLicensed, Action::kAggregate, d);
  r.principal = "lic-key";
  r.agreements = licence;

  Decision dec = decide(p, r);
  REQUIRE(dec.allowed());
  CHECK(dec.rule_id == "licensed-aggregate");
  CHECK(dec.limits.k_threshold == 10);
  CHECK(dec.mask == p.mask("licensed-aggregate"));
  CHECK_FALSE(dec.mask->not_anonymising());

  for (Action a : {Action::kRead, Action::kQuerySubject, Action::kDownload, Action::kExport}) {
    r.action = a;
    dec = decide(p, r);
    CHECK_FALSE(dec.allowed());
    CHECK(dec.rule_id == "licensed-no-raw-rows");
  }
  for (Action a : {Action::kIngest, Action::kCorrect, Action::kDestroy, Action::kProvenance}) {
    r.action = a;
    CHECK_FALSE(decide(p, r).allowed());
  }
  // At and after the end of the term: nothing, not even the catalog.
  r.now_ms = licence[0].valid_to_ms;
  for (int a = 0; a < kActionCount; ++a) {
    r.action = Action(a);
    CHECK_FALSE(decide(p, r).allowed());
  }
  // Before the term starts, likewise.
  r.now_ms = licence[0].valid_from_ms - 1;
  r.action = Action::kAggregate;
  CHECK_FALSE(decide(p, r).allowed());
  // A dataset outside the licence.
  r.now_ms = kNow;
  const DatasetAttrs& other = test::attrs(test::make_entry(
      "test.elsewhere", "sjz-gongan", "general-1", "closed", "none", test::person_fields()));
  r.dataset = &other;
  CHECK_FALSE(decide(p, r).allowed());
}

TEST_CASE("limits: the smallest of rule, grade and quota", "[policy][decide]") {
  const Policy& p = test::shipped_policy();
  Request r = request(Role::kAgency, Action::kRead, people("closed", "unconditional", "general-1"));
  r.agency = "sjz-minzheng";
  Decision d = decide(p, r);
  REQUIRE(d.rule_id == "share-unconditional");
  CHECK(d.limits.max_rows == 10000);  // the rule
  CHECK(d.limits.rate == p.rate("agency"));
  r.dataset = &people("closed", "unconditional", "important");
  CHECK(decide(p, r).limits.max_rows == 1000);  // the grade
  // A purpose is required for unconditional sharing.
  r.purpose = "";
  CHECK(decide(p, r).rule_id == "default-deny");
  // Catalog decisions carry no mask.
  r.action = Action::kCatalog;
  d = decide(p, r);
  CHECK(d.allowed());
  CHECK(d.mask == nullptr);
}

TEST_CASE("rule hours are local time and may wrap past midnight", "[policy][decide]") {
  auto p = test::parse_with_header(R"(
[policy]
)");
  REQUIRE_FALSE(p);  // [policy] twice
  p = test::parse_with_header(R"(
[[rule]]
id = "office-hours"
effect = "allow"
roles = ["operator"]
actions = ["read"]
hours = "08:00-18:00"
mask = "anon"

[[rule]]
id = "night-batch"
effect = "allow"
roles = ["operator"]
actions = ["aggregate"]
hours = "22:00-06:00"
mask = "anon"
)");
  REQUIRE(p);
  const int64_t midnight_cst = kNow - 12 * 3'600'000;  // kNow is 12:00 UTC+8
  auto at = [&](Action a, int hour, int minute) {
    Request r = request(Role::kOperator, a, people());
    r.now_ms = midnight_cst + (hour * 60 + minute) * 60'000;
    return decide(*p, r).allowed();
  };
  CHECK_FALSE(at(Action::kRead, 7, 59));
  CHECK(at(Action::kRead, 8, 0));
  CHECK(at(Action::kRead, 17, 59));
  CHECK_FALSE(at(Action::kRead, 18, 0));
  CHECK(at(Action::kAggregate, 23, 0));
  CHECK(at(Action::kAggregate, 2, 0));
  CHECK_FALSE(at(Action::kAggregate, 6, 0));
  CHECK_FALSE(at(Action::kAggregate, 12, 0));
  Request r = request(Role::kOperator, Action::kRead, people());
  r.now_ms = midnight_cst + 19 * 3'600'000;
  CHECK(explain(*p, r).rules[0].reason == "local time 19:00 is outside 08:00-18:00");
}

TEST_CASE("agency and dataset selectors use the interned ids", "[policy][decide]") {
  auto p = test::parse_with_header(R"(
[[rule]]
id = "civil-affairs-households"
effect = "allow"
roles = ["agency"]
agencies = ["sjz-minzheng", "sjz-weijian"]
actions = ["query_subject"]
datasets = ["test.people", "population.household"]
share = ["unconditional"]
purposes = ["subsidy-check"]
mask = "anon"
)");
  REQUIRE(p);
  Request r = request(Role::kAgency, Action::kQuerySubject, people("closed", "unconditional"));
  r.agency = "sjz-weijian";
  r.purpose = "subsidy-check";
  CHECK(decide(*p, r).allowed());
  r.agency = "sjz-jiaotong";
  CHECK_FALSE(decide(*p, r).allowed());
  CHECK(explain(*p, r).rules[0].reason ==
        "agency 'sjz-jiaotong' is not one of [sjz-minzheng, sjz-weijian]");
  r.agency = "sjz-minzheng";
  r.purpose = "marketing";
  CHECK(explain(*p, r).rules[0].reason == "purpose 'marketing' is not one of [subsidy-check]");
  r.purpose = "subsidy-check";
  const DatasetAttrs other = test::attrs(test::make_entry(
      "test.unknown", "sjz-gongan", "general-1", "closed", "unconditional", test::person_fields()));
  r.dataset = &other;
  CHECK_FALSE(decide(*p, r).allowed());
}

TEST_CASE("explain() always agrees with decide()", "[policy][decide][property]") {
  const Policy& p = test::shipped_policy();
  std::mt19937_64 rng(2026);
  auto pick = [&](auto n) { return size_t(rng() % size_t(n)); };
  const char* grades[] = {"core", "important", "general-4", "general-3", "general-2", "general-1"};
  const char* opens[] = {"unconditional", "conditional", "closed"};
  const char* shares[] = {"unconditional", "conditional", "none"};
  const char* agencies[] = {"", "sjz-gongan", "sjz-minzheng"};
  const char* purposes[] = {"", "research", "other"};
  std::vector<test::FieldDef> biometric = test::person_fields();
  biometric.push_back({"face", v1::FIELD_TYPE_BLOB, v1::PII_BIOMETRIC});
  for (int n = 0; n < 3000; ++n) {
    const DatasetAttrs d = test::attrs(
        test::make_entry("test.people", agencies[1 + pick(2)], grades[pick(6)], opens[pick(3)],
                         shares[pick(3)], pick(4) == 0 ? biometric : test::person_fields()));
    std::vector<Agreement> agreements;
    const auto kind = AgreementKind(pick(3));
    const std::string holder = kind == AgreementKind::kShare ? "sjz-minzheng" : "k1";
    if (pick(2)) agreements.push_back(test::make_agreement("A", kind, holder, d.id));
    Request r = request(Role(pick(kRoleCount)), Action(pick(kActionCount)), d);
    r.principal = "k1";
    r.agency = agencies[pick(3)];
    r.purpose = purposes[pick(3)];
    r.agreements = agreements;
    r.now_ms = kNow + int64_t(pick(3) - 1) * 2 * kDayMs;
    const Decision a = decide(p, r);
    const Explanation e = explain(p, r);
    INFO(e.summary);
    REQUIRE(a.effect == e.decision.effect);
    REQUIRE(a.rule == e.decision.rule);
    REQUIRE(a.mask == e.decision.mask);
    REQUIRE(a.agreement == e.decision.agreement);
    REQUIRE(a.limits.max_rows == e.decision.limits.max_rows);
    size_t matched = 0;
    for (const auto& v : e.rules) matched += v.matched;
    if (!a.rule) REQUIRE(matched == 0);
    // Personal data reaches outside roles only anonymised (R-15).
    if (a.allowed() && returns_data(r.action) && is_outside_role(r.role)) {
      REQUIRE(a.mask);
      REQUIRE_FALSE(a.mask->not_anonymising());
    }
  }
}

}  // namespace
}  // namespace gongshu::policy
