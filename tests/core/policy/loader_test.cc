#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/policy/policy.h"
#include "tests/core/policy/policy_test_util.h"
#include "tests/support/test_support.h"

namespace gongshu::policy {
namespace {

// The error message of parsing `text` after the test header; fails the test if it parses.
std::string error_of(const std::string& text) {
  auto p = test::parse_with_header(text);
  if (p) FAIL("the policy loaded but should not have:\n" << text);
  return p.error().message();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

size_t lines(const std::string& s) {
  return size_t(std::count(s.begin(), s.end(), '\n')) + (s.empty() ? 0 : 1);
}

TEST_CASE("the shipped policy loads", "[policy][loader]") {
  const Policy& p = test::shipped_policy();
  CHECK(p.version() == "2026.01.1");
  CHECK(p.digest().size() == 64);
  CHECK(p.utc_offset_minutes() == 480);
  CHECK(p.files().size() == 5);
  CHECK(p.rules().size() >= 20);
  CHECK(p.grade(GradeLevel::kCore).name == "核心数据");
  CHECK(p.grade(GradeLevel::kImportant).max_rows == 1000);
  CHECK(p.mask("open-anonymised") != nullptr);
  CHECK(p.rate("public")->requests_per_minute == 60);
  const Rule* r = p.rule("open-unconditional-download");
  REQUIRE(r);
  CHECK(r->basis == "R-17, R-15");
  CHECK(r->file.ends_with("policies/policy/rules.toml"));
  CHECK(r->line > 1);
  // The profiles the open rules name anonymise (R-15); the agencies' do not need to.
  CHECK_FALSE(p.mask("open-anonymised")->not_anonymising());
  CHECK_FALSE(p.mask("conditional-anonymised")->not_anonymising());
  CHECK_FALSE(p.mask("licensed-aggregate")->not_anonymising());
  CHECK(p.mask("share-masked")->not_anonymising() == "citizen_id = keep");
}

TEST_CASE("the digest names the exact policy", "[policy][loader]") {
  auto a = test::parse_with_header("");
  auto b = test::parse_with_header("# a comment\n");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->digest() != b->digest());
  CHECK(a->digest() == test::parse_with_header("")->digest());
}

TEST_CASE("loader errors name file and line", "[policy][loader]") {
  struct Case {
    const char* text;
    const char* error;
  };
  // clang-format off
  const std::vector<Case> cases = {
    {"[[rule]\nid = 1\n", "test.toml:1: "},
    {"\n[[rule]]\nid = \"x\"\neffect = \"allow\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\ncolour = \"red\"\n",
     "test.toml:7: unknown key 'colour' in [[rule]]"},
    {"\n[[rule]]\nid = \"x\"\neffect = \"allow\"\nroles = [\"operator\",\n  \"mayor\"]\nactions = [\"catalog\"]\n",
     "test.toml:6: 'roles': unknown value 'mayor'; known: public, agent, agency, operator, officer, applicant, licensed"},
    {"[[rule]]\nid = \"x\"\neffect = \"permit\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\n",
     "test.toml:3: rule 'x': effect must be \"allow\" or \"deny\", not \"permit\""},
    {"[[rule]]\nid = \"x\"\neffect = \"allow\"\nroles = [\"operator\"]\n",
     "test.toml:1: missing key 'actions'"},
    {"[[rule]]\nid = \"x\"\neffect = \"allow\"\nroles = [\"operator\"]\nactions = [\"read\"]\nmask = \"nonesuch\"\n",
     "test.toml:6: rule 'x': unknown mask profile 'nonesuch'"},
    {"[[rule]]\nid = \"x\"\neffect = \"allow\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\nrate = \"fast\"\n",
     "test.toml:6: rule 'x': unknown rate class 'fast'"},
    {"[[rule]]\nid = \"Bad Id\"\neffect = \"deny\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\n",
     "test.toml:2: rule 'Bad Id': id must be"},
    {"[[rule]]\nid = \"default-deny\"\neffect = \"deny\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\n",
     "not \"default-deny\""},
    {"[[rule]]\nid = \"x\"\neffect = \"deny\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\n"
     "[[rule]]\nid = \"x\"\neffect = \"deny\"\nroles = [\"officer\"]\nactions = [\"catalog\"]\n",
     "test.toml:6: rule 'x': defined twice; first at test.toml:1"},
    {"[[rule]]\nid = \"x\"\neffect = \"allow\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\nhours = \"9-5\"\n",
     "test.toml:6: rule 'x': hours must read like \"08:00-18:00\" (local time)"},
    {"[[rule]]\nid = \"x\"\neffect = \"deny\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\nmin_grade = \"important\"\nmax_grade = \"general-2\"\n",
     "test.toml:1: rule 'x': its grade selectors leave no grade"},
    {"[[rule]]\nid = \"x\"\neffect = \"deny\"\nroles = []\nactions = [\"catalog\"]\n",
     "test.toml:4: 'roles' is empty"},
    {"[[rule]]\nid = \"x\"\neffect = \"deny\"\nroles = [\"operator\"]\nactions = [\"catalog\"]\nmax_rows = -1\n",
     "test.toml:6: 'max_rows' must be an integer in 1.."},
    {"[[mask]]\nid = \"m\"\n[mask.pii]\nphone = \"region\"\n",
     "test.toml:4: mask 'm': region applies to citizen_id, credit_code and address, not phone"},
    {"[[mask]]\nid = \"m\"\n[mask.pii]\nname = \"keep_first:0\"\n",
     "test.toml:4: mask 'keep_first:0': keep_first:N needs N in 1..32"},
    {"[[mask]]\nid = \"m\"\n[mask.pii]\nshoe_size = \"drop\"\n",
     "test.toml:4: unknown PII kind 'shoe_size'"},
    {"[[mask]]\nid = \"m\"\nrecord_key = \"year\"\n",
     "test.toml:3: record_key takes keep, redact or token"},
    {"[[mask]]\nid = \"raw\"\n", "test.toml:1: mask 'raw' is defined twice; first at head.toml:"},
    {"[[grade]]\nid = \"secret\"\nname = \"x\"\n",
     "test.toml:2: grade 'secret' is not a catalog grade"},
    {"[[grade]]\nid = \"core\"\nname = \"x\"\n", "test.toml:1: grade 'core' is defined twice"},
    {"[[rate]]\nid = \"slow\"\n", "test.toml:1: missing key 'requests_per_minute'"},
    {"[tariff]\nprice = 1\n", "test.toml:1: unknown key 'tariff' in a policy file"},
    {"rule = 3\n", "test.toml:1: 'rule' must be written as [[rule]]"},
  };
  // clang-format on
  for (const Case& c : cases) {
    INFO(c.text);
    const std::string e = error_of(c.text);
    INFO(e);
    CHECK(contains(e, c.error));
  }
}

TEST_CASE("every error is reported, one per line", "[policy][loader]") {
  const std::string e = error_of(R"([[rule]]
id = "a"
effect = "allow"
roles = ["public"]
actions = ["teleport"]

[[rule]]
id = "b"
effect = "allow"
roles = ["operator"]
actions = ["catalog"]
mask = "missing"
)");
  CHECK(lines(e) == 2);
  CHECK(contains(e, "test.toml:5: 'actions': unknown value 'teleport'"));
  CHECK(contains(e, "test.toml:12: rule 'b': unknown mask profile 'missing'"));
}

TEST_CASE("a policy needs a version and all six grades", "[policy][loader]") {
  std::vector<PolicySource> none = {{"only.toml",
                                     "[[rule]]\nid = \"x\"\neffect = \"deny\"\n"
                                     "roles = [\"public\"]\nactions = [\"read\"]\n"}};
  auto p = Policy::parse(none);
  REQUIRE_FALSE(p);
  CHECK(contains(p.error().message(), "only.toml:1: no [policy] table with a version"));
  std::vector<PolicySource> no_grades = {{"p.toml", "\n[policy]\nversion = \"1\"\n"}};
  p = Policy::parse(no_grades);
  REQUIRE_FALSE(p);
  CHECK(
      contains(p.error().message(), "p.toml:2: grade 'general-1' is not defined by any [[grade]]"));
  CHECK(lines(p.error().message()) == 6);
}

TEST_CASE("R-15: opening personal fields without an anonymising mask is refused",
          "[policy][loader][guards]") {
  // The public may download unconditional open data, but not under a profile that keeps
  // names, even partly.
  const std::string rule = R"([[mask]]
id = "leaky"
record_key = "token"
[mask.pii]
name = "keep_first:1"

[[rule]]
id = "open-download"
effect = "allow"
roles = ["public"]
actions = ["download"]
open = ["unconditional"]
mask = "leaky"
)";
  const std::string e = error_of(rule);
  CHECK(e ==
        "test.toml:13: rule 'open-download': opens data to public under mask profile 'leaky', "
        "which does not anonymise: name = keep_first:1 (R-15: personal information is opened "
        "only after anonymisation or with the subject's consent; add personal = false if the "
        "rule is only for datasets without personal fields, or consent = true to an "
        "applicant's query_subject)");
  // The same rule limited to datasets without personal fields loads.
  CHECK(test::parse_with_header(rule + "personal = false\n"));
  // A field override that keeps a value, and a record key kept as it is, are refused too.
  CHECK(contains(error_of(R"([[mask]]
id = "leaky"
record_key = "token"
[mask.fields]
"population.household:address" = "keep"

[[rule]]
id = "open-download"
effect = "allow"
roles = ["applicant"]
actions = ["download"]
open = ["unconditional"]
mask = "leaky"
)"),
                 "which does not anonymise: field \"population.household:address\" = keep"));
  CHECK(contains(error_of(R"([[mask]]
id = "leaky"

[[rule]]
id = "lic"
effect = "allow"
roles = ["licensed"]
actions = ["aggregate"]
agreement = "licence"
k_threshold = 5
mask = "leaky"
)"),
                 "test.toml:11: rule 'lic': opens data to licensed under mask profile 'leaky', "
                 "which does not anonymise: record_key = keep"));
}

TEST_CASE("the other regulation guards", "[policy][loader][guards]") {
  struct Case {
    const char* what;
    const char* rule;
    const char* error;
  };
  // clang-format off
  const std::vector<Case> cases = {
    {"R-17: the public gets unconditional open data only",
     "roles = [\"public\"]\nactions = [\"read\"]\nmask = \"anon\"\nopen = [\"unconditional\", \"conditional\"]\n",
     "test.toml:7: rule 'x': gives the public role data that is not unconditionally open (R-17"},
    {"R-17: an open selector is required",
     "roles = [\"public\"]\nactions = [\"download\"]\nmask = \"anon\"\n",
     "test.toml:1: rule 'x': gives the public role data that is not unconditionally open"},
    {"R-18: conditional data needs an open agreement",
     "roles = [\"applicant\"]\nactions = [\"read\"]\nmask = \"anon\"\nopen = [\"conditional\"]\n",
     "test.toml:7: rule 'x': gives an applicant conditionally open data without agreement = \"open\" (R-18"},
    {"R-18: closed data is never opened",
     "roles = [\"applicant\"]\nactions = [\"read\"]\nmask = \"anon\"\nopen = [\"closed\"]\n",
     "gives an applicant closed data"},
    {"R-20: no rows for licensed operators",
     "roles = [\"licensed\"]\nactions = [\"aggregate\", \"download\"]\nmask = \"anon\"\nagreement = \"licence\"\nk_threshold = 10\n",
     "test.toml:5: rule 'x': allows a licensed operator download (R-20"},
    {"R-20: only under a licence",
     "roles = [\"licensed\"]\nactions = [\"aggregate\"]\nmask = \"anon\"\nk_threshold = 10\n",
     "test.toml:1: rule 'x': allows a licensed operator without agreement = \"licence\" (R-20"},
    {"R-20: small groups suppressed",
     "roles = [\"licensed\"]\nactions = [\"aggregate\"]\nmask = \"anon\"\nagreement = \"licence\"\n",
     "test.toml:1: rule 'x': allows licensed aggregates without k_threshold >= 2"},
    {"R-27: officers read no data",
     "roles = [\"officer\"]\nactions = [\"catalog\", \"export\"]\nmask = \"raw\"\n",
     "test.toml:5: rule 'x': allows the officer role export (R-27"},
    {"R-26: data needs a mask profile",
     "roles = [\"operator\"]\nactions = [\"read\", \"provenance\"]\n",
     "test.toml:1: rule 'x': allows read, which return field values, but names no mask profile (R-26"},
    {"R-13: share none stays with its provider",
     "roles = [\"agency\"]\nactions = [\"read\"]\nmask = \"raw\"\nshare = [\"unconditional\", \"none\"]\n",
     "test.toml:7: rule 'x': gives an agency other agencies' data whose share attribute is none (R-13"},
    {"R-13: conditional sharing needs a sharing agreement",
     "roles = [\"agency\"]\nactions = [\"read\"]\nmask = \"raw\"\nshare = [\"conditional\"]\nprovider = \"other\"\n",
     "gives an agency conditionally shared data without agreement = \"share\""},
  };
  // clang-format on
  for (const Case& c : cases) {
    INFO(c.what);
    const std::string e =
        error_of("[[rule]]\nid = \"x\"\neffect = \"allow\"\n" + std::string(c.rule));
    INFO(e);
    CHECK(contains(e, c.error));
  }
  // Deny rules take no conditions.
  CHECK(contains(error_of("[[rule]]\nid = \"x\"\neffect = \"deny\"\nroles = [\"public\"]\n"
                          "actions = [\"read\"]\nagreement = \"open\"\n"),
                 "test.toml:1: rule 'x': a deny rule takes no conditions"));
  // And the rules that respect the guards load.
  CHECK(test::parse_with_header(R"([[rule]]
id = "own"
effect = "allow"
roles = ["agency"]
actions = ["read"]
provider = "self"
mask = "raw"

[[rule]]
id = "cond"
effect = "allow"
roles = ["agency"]
actions = ["export"]
share = ["conditional"]
agreement = "share"
mask = "raw"
)"));
}

TEST_CASE("load_policy_dir reads *.toml in name order", "[policy][loader]") {
  gongshu::testing::TempDir dir;
  auto missing = load_policy_dir(dir.file("nope"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  auto empty = load_policy_dir(dir.path());
  REQUIRE_FALSE(empty);
  CHECK(contains(empty.error().message(), "no *.toml files"));

  for (const char* f : {"grades.toml", "masks.toml", "policy.toml", "rates.toml"}) {
    gongshu::testing::write_text(dir.file(f),
                                 gongshu::testing::read_text(test::shipped_policy_dir() + "/" + f));
  }
  gongshu::testing::write_text(dir.file("README"), "not a policy file");
  // Two files with an allow rule each: the one in the file whose name sorts first decides.
  gongshu::testing::write_text(dir.file("b-rules.toml"), R"([[rule]]
id = "b"
effect = "allow"
roles = ["operator"]
actions = ["read"]
mask = "staff-masked"
)");
  gongshu::testing::write_text(dir.file("a-rules.toml"), R"([[rule]]
id = "a"
effect = "allow"
roles = ["operator"]
actions = ["read"]
mask = "share-masked"
)");
  auto p = load_policy_dir(dir.path());
  REQUIRE(p);
  REQUIRE(p->rules().size() == 2);
  CHECK(p->rules()[0].id == "a");
  CHECK(p->rules()[0].file == dir.file("a-rules.toml"));
  const DatasetAttrs d = test::attrs(test::make_entry("test.people", "sjz-gongan", "general-1",
                                                      "closed", "none", test::person_fields()));
  Request r;
  r.role = Role::kOperator;
  r.action = Action::kRead;
  r.dataset = &d;
  CHECK(decide(*p, r).rule_id == "a");

  gongshu::testing::write_text(dir.file("c-broken.toml"), "[[rule]]\nid = \"c\"\n");
  auto broken = load_policy_dir(dir.path());
  REQUIRE_FALSE(broken);
  CHECK(contains(broken.error().message(), dir.file("c-broken.toml") + ":1: missing key 'effect'"));

  auto files = load_policy_files({dir.file("policy.toml"), dir.file("absent.toml")});
  REQUIRE_FALSE(files);
  CHECK(contains(files.error().message(), dir.file("absent.toml")));
}

TEST_CASE("agreements parse from TOML with file:line errors", "[policy][agreement]") {
  auto a = parse_agreements_toml(R"([[agreement]]
id = "KF-2026-0001"
kind = "open"
status = "active"
holder = "a1b2c3d4e5f60718"
purposes = ["traffic-research"]
valid_from = 2026-01-01T00:00:00+08:00
valid_to = 2027-01-01
rows_remaining = 10000
[[agreement.scope]]
dataset = "population.household"
fields = ["birth_date", "address"]
)",
                                 "ag.toml");
  REQUIRE(a);
  REQUIRE(a->size() == 1);
  const Agreement& g = (*a)[0];
  CHECK(g.id == "KF-2026-0001");
  CHECK(g.kind == AgreementKind::kOpen);
  CHECK(g.status == AgreementStatus::kActive);
  CHECK(g.valid_from_ms == 1767196800000);  // 2025-12-31T16:00:00Z
  CHECK(g.valid_to_ms == 1798732800000);    // 2026-12-31T16:00:00Z
  CHECK(g.rows_remaining == 10000);
  REQUIRE(g.scope.size() == 1);
  CHECK(g.scope[0].fields == std::vector<std::string>{"birth_date", "address"});

  auto bad = parse_agreements_toml(R"([[agreement]]
id = "X"
kind = "forever"
status = "active"
holder = "h"
purposes = "p"
valid_from = 2026-01-01
valid_to = 2025-01-01
)",
                                   "ag.toml");
  REQUIRE_FALSE(bad);
  CHECK(contains(bad.error().message(),
                 "ag.toml:3: kind 'forever' is not one of open, share, licence"));
  CHECK(contains(bad.error().message(), "ag.toml:8: valid_to must be after valid_from"));
  CHECK(contains(bad.error().message(), "an agreement needs [[agreement.scope]] entries"));
}

}  // namespace
}  // namespace gongshu::policy
