// Rules that need the subject's consent (R-15 (三)): the loader's guard and decide().
#include <catch2/catch.hpp>

#include <string>

#include "core/policy/decide.h"
#include "core/policy/policy.h"
#include "tests/core/policy/policy_test_util.h"

namespace gongshu::policy {
namespace {

const std::string kConsentRule = R"(
[[rule]]
id = "consent"
effect = "allow"
roles = ["applicant"]
actions = ["query_subject"]
open = ["unconditional"]
consent = true
require_purpose = true
mask = "raw"
)";

std::string error_of(const std::string& text) {
  auto p = test::parse_with_header(text);
  if (p) FAIL("the policy loaded but should not have:\n" << text);
  return p.error().message();
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

TEST_CASE("the loader opens personal data unmasked only with consent, to one subject",
          "[policy][loader][consent]") {
  REQUIRE(test::parse_with_header(kConsentRule));
  // Without consent the same rule opens personal data unanonymised: refused (R-15).
  CHECK_THAT(error_of(replaced(kConsentRule, "consent = true\n", "")),
             Catch::Contains("does not anonymise") && Catch::Contains("R-15"));
  // Consent covers one subject: not a whole dataset.
  CHECK_THAT(
      error_of(replaced(kConsentRule, "[\"query_subject\"]", "[\"query_subject\", \"read\"]")),
      Catch::Contains("query_subject only"));
  // Consent names an applicant: not the public.
  CHECK_THAT(error_of(replaced(kConsentRule, "[\"applicant\"]", "[\"applicant\", \"public\"]")),
             Catch::Contains("applicant role only"));
  // A deny rule takes no consent condition.
  CHECK_THAT(error_of(R"(
[[rule]]
id = "d"
effect = "deny"
roles = ["applicant"]
actions = ["query_subject"]
consent = true
)"),
             Catch::Contains("no conditions"));
  // Consent does not lift the other guards: closed data is not opened to applicants.
  CHECK_THAT(error_of(replaced(kConsentRule, "[\"unconditional\"]", "[\"closed\"]")),
             Catch::Contains("closed data"));
  // The shipped policy carries consent rules and loads.
  const Policy& shipped = test::shipped_policy();
  REQUIRE(shipped.rule("consent-subject-unconditional") != nullptr);
  CHECK(shipped.rule("consent-subject-unconditional")->consent);
}

TEST_CASE("a consent rule allows only when the subject's consent is in force",
          "[policy][decide][consent]") {
  auto p = test::parse_with_header(kConsentRule);
  REQUIRE(p);
  auto entry = test::make_entry("open.people", "sjz-a", "general-2", "unconditional",
                                "unconditional", test::person_fields());
  auto attrs = test::attrs(entry);
  Request r;
  r.role = Role::kApplicant;
  r.principal = "0123456789abcdef";
  r.action = Action::kQuerySubject;
  r.dataset = &attrs;
  r.purpose = "research";
  r.now_ms = test::kNow;
  auto no = decide(*p, r);
  CHECK_FALSE(no.allowed());
  CHECK(no.rule_id == kDefaultDenyRule);
  auto ex = explain(*p, r);
  REQUIRE(ex.rules.size() == 1);
  CHECK_THAT(ex.rules[0].reason, Catch::Contains("consent"));
  r.subject_consent = true;
  auto yes = decide(*p, r);
  CHECK(yes.allowed());
  CHECK(yes.rule_id == "consent");
  // The purpose is still required.
  r.purpose = "";
  CHECK_FALSE(decide(*p, r).allowed());
}

}  // namespace
}  // namespace gongshu::policy
