// The shipped policy (policies/policy/) as a decision matrix: who may do what to a dataset,
// for every open attribute x share attribute. This table is the specification of the default
// policy; a change to the rules that changes a cell must change this table too.
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include "core/policy/decide.h"
#include "tests/core/policy/policy_test_util.h"

namespace gongshu::policy {
namespace {

using test::kNow;

// The dataset: household-like (citizen ID, name, birth date, address), grade general-3,
// provided by sjz-gongan. Its open and share attributes vary over the nine cells of a row.
constexpr std::array<const char*, 3> kOpen = {"unconditional", "conditional", "closed"};
constexpr std::array<const char*, 3> kShare = {"unconditional", "conditional", "none"};
const std::string kDataset = "test.people";
const std::string kProvider = "sjz-gongan";

struct Caller {
  const char* label;
  Role role;
  const char* principal;
  const char* agency;
  // The agreement the caller holds over the dataset, if any (purpose "research", all fields,
  // valid now).
  std::optional<AgreementKind> agreement;
};

const std::vector<Caller> kCallers = {
    {"public", Role::kPublic, "", "", std::nullopt},
    {"applicant", Role::kApplicant, "a1b2c3d4e5f60718", "", std::nullopt},
    {"applicant+open", Role::kApplicant, "a1b2c3d4e5f60718", "", AgreementKind::kOpen},
    {"agency:own", Role::kAgency, "0011223344556677", "sjz-gongan", std::nullopt},
    {"agency:other", Role::kAgency, "8899aabbccddeeff", "sjz-minzheng", std::nullopt},
    {"agency:other+share", Role::kAgency, "8899aabbccddeeff", "sjz-minzheng",
     AgreementKind::kShare},
    {"agent:own", Role::kAgent, "1234567890abcdef", "sjz-gongan", std::nullopt},
    {"agent:other", Role::kAgent, "fedcba0987654321", "sjz-minzheng", std::nullopt},
    {"operator", Role::kOperator, "0a0b0c0d0e0f1011", "", std::nullopt},
    {"officer", Role::kOfficer, "1110f0e0d0c0b0a0", "", std::nullopt},
    {"licensed", Role::kLicensed, "5566778899001122", "", std::nullopt},
    {"licensed+licence", Role::kLicensed, "5566778899001122", "", AgreementKind::kLicence},
};

struct Row {
  const char* caller;
  const char* action;
  // Nine cells, A = allow, D = deny, in three groups by open attribute
  //   unconditional | conditional | closed
  // and within each group by share attribute: unconditional, conditional, none.
  const char* expect;
};

// clang-format off
const std::vector<Row> kMatrix = {
  //  caller                 action            open: uncond  cond   closed
  //                                           share: u c n  u c n  u c n
  {"public",               "catalog",        "AAA AAA DDD"},  // R-14 open catalog
  {"public",               "read",           "DDD DDD DDD"},
  {"public",               "query_subject",  "DDD DDD DDD"},
  {"public",               "download",       "AAA DDD DDD"},
  {"public",               "export",         "DDD DDD DDD"},
  {"public",               "aggregate",      "DDD DDD DDD"},
  {"public",               "ingest",         "DDD DDD DDD"},
  {"public",               "correct",        "DDD DDD DDD"},
  {"public",               "destroy",        "DDD DDD DDD"},
  {"public",               "provenance",     "DDD DDD DDD"},

  {"applicant",            "catalog",        "AAA AAA DDD"},
  {"applicant",            "read",           "DDD DDD DDD"},  // needs an agreement
  {"applicant",            "query_subject",  "DDD DDD DDD"},
  {"applicant",            "download",       "AAA DDD DDD"},
  {"applicant",            "export",         "DDD DDD DDD"},
  {"applicant",            "aggregate",      "DDD DDD DDD"},
  {"applicant",            "correct",        "DDD DDD DDD"},

  {"applicant+open",       "catalog",        "AAA AAA DDD"},
  {"applicant+open",       "read",           "DDD AAA DDD"},
  {"applicant+open",       "query_subject",  "DDD DDD DDD"},
  {"applicant+open",       "download",       "AAA AAA DDD"},
  {"applicant+open",       "export",         "DDD DDD DDD"},
  {"applicant+open",       "aggregate",      "DDD AAA DDD"},

  {"agency:own",           "catalog",        "AAA AAA AAA"},
  {"agency:own",           "read",           "AAA AAA AAA"},  // R-03 own data
  {"agency:own",           "query_subject",  "AAA AAA AAA"},
  {"agency:own",           "download",       "AAA AAA AAA"},
  {"agency:own",           "export",         "AAA AAA AAA"},
  {"agency:own",           "aggregate",      "AAA AAA AAA"},
  {"agency:own",           "ingest",         "DDD DDD DDD"},  // agents deliver, users do not
  {"agency:own",           "correct",        "AAA AAA AAA"},
  {"agency:own",           "destroy",        "DDD DDD DDD"},
  {"agency:own",           "provenance",     "DDD DDD DDD"},

  {"agency:other",         "catalog",        "AAA AAA AAA"},
  {"agency:other",         "read",           "ADD ADD ADD"},  // R-13 unconditional sharing
  {"agency:other",         "query_subject",  "ADD ADD ADD"},
  {"agency:other",         "download",       "DDD DDD DDD"},  // bulk copies need a request
  {"agency:other",         "export",         "DDD DDD DDD"},
  {"agency:other",         "aggregate",      "ADD ADD ADD"},
  {"agency:other",         "correct",        "DDD DDD DDD"},
  {"agency:other",         "destroy",        "DDD DDD DDD"},

  {"agency:other+share",   "read",           "AAD AAD AAD"},  // R-13 conditional sharing
  {"agency:other+share",   "query_subject",  "AAD AAD AAD"},
  {"agency:other+share",   "download",       "AAD AAD AAD"},
  {"agency:other+share",   "export",         "AAD AAD AAD"},
  {"agency:other+share",   "aggregate",      "AAD AAD AAD"},
  {"agency:other+share",   "correct",        "DDD DDD DDD"},

  {"agent:own",            "catalog",        "AAA AAA AAA"},
  {"agent:own",            "ingest",         "AAA AAA AAA"},
  {"agent:own",            "read",           "DDD DDD DDD"},
  {"agent:own",            "correct",        "DDD DDD DDD"},
  {"agent:other",          "catalog",        "DDD DDD DDD"},
  {"agent:other",          "ingest",         "DDD DDD DDD"},

  {"operator",             "catalog",        "AAA AAA AAA"},
  {"operator",             "read",           "AAA AAA AAA"},  // R-12 quality, masked
  {"operator",             "query_subject",  "DDD DDD DDD"},
  {"operator",             "download",       "DDD DDD DDD"},
  {"operator",             "export",         "DDD DDD DDD"},
  {"operator",             "aggregate",      "AAA AAA AAA"},
  {"operator",             "ingest",         "DDD DDD DDD"},
  {"operator",             "correct",        "DDD DDD DDD"},
  {"operator",             "destroy",        "AAA AAA AAA"},  // R-23, audited
  {"operator",             "provenance",     "AAA AAA AAA"},

  {"officer",              "catalog",        "AAA AAA AAA"},
  {"officer",              "provenance",     "AAA AAA AAA"},
  {"officer",              "read",           "DDD DDD DDD"},
  {"officer",              "query_subject",  "DDD DDD DDD"},
  {"officer",              "download",       "DDD DDD DDD"},
  {"officer",              "export",         "DDD DDD DDD"},
  {"officer",              "aggregate",      "DDD DDD DDD"},
  {"officer",              "destroy",        "DDD DDD DDD"},

  {"licensed",             "catalog",        "DDD DDD DDD"},  // nothing without a licence
  {"licensed",             "aggregate",      "DDD DDD DDD"},
  {"licensed+licence",     "catalog",        "AAA AAA AAA"},
  {"licensed+licence",     "aggregate",      "AAA AAA AAA"},  // aggregates only
  {"licensed+licence",     "read",           "DDD DDD DDD"},
  {"licensed+licence",     "query_subject",  "DDD DDD DDD"},
  {"licensed+licence",     "download",       "DDD DDD DDD"},
  {"licensed+licence",     "export",         "DDD DDD DDD"},
};
// clang-format on

const Caller& caller(std::string_view label) {
  for (const Caller& c : kCallers) {
    if (c.label == label) return c;
  }
  FAIL("unknown caller " << label);
  return kCallers[0];
}

Decision decide_for(const Caller& c, Action action, const DatasetAttrs& d,
                    std::vector<Agreement>& agreements) {
  agreements.clear();
  if (c.agreement) {
    const std::string holder = *c.agreement == AgreementKind::kShare ? c.agency : c.principal;
    agreements.push_back(test::make_agreement("AG-1", *c.agreement, holder, d.id));
  }
  Request r;
  r.role = c.role;
  r.principal = c.principal;
  r.agency = c.agency;
  r.action = action;
  r.dataset = &d;
  r.purpose = "research";
  r.agreements = agreements;
  r.now_ms = kNow;
  return decide(test::shipped_policy(), r);
}

TEST_CASE("shipped policy: role x open x share x action matrix", "[policy][matrix]") {
  std::vector<DatasetAttrs> cells;
  for (const char* open : kOpen) {
    for (const char* share : kShare) {
      cells.push_back(test::attrs(
          test::make_entry(kDataset, kProvider, "general-3", open, share, test::person_fields())));
    }
  }
  std::vector<Agreement> agreements;
  for (const Row& row : kMatrix) {
    const Caller& c = caller(row.caller);
    const auto action = parse_action(row.action);
    REQUIRE(action);
    std::string got;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i && i % 3 == 0) got += ' ';
      const Decision d = decide_for(c, *action, cells[i], agreements);
      got += d.allowed() ? 'A' : 'D';
      // Every allowing decision on data names a profile; every decision names its rule and
      // the policy version.
      if (d.allowed() && returns_data(*action)) CHECK(d.mask != nullptr);
      CHECK(d.policy_version == "2026.01.1");
      CHECK_FALSE(d.rule_id.empty());
    }
    INFO(row.caller << " " << row.action);
    CHECK(got == row.expect);
  }
}

struct Why {
  const char* caller;
  const char* action;
  const char* open;
  const char* share;
  const char* grade;
  const char* rule;  // the rule that decided
  const char* mask;  // its profile ("" for none)
};

TEST_CASE("shipped policy: the deciding rule and profile", "[policy][matrix]") {
  // clang-format off
  const std::vector<Why> cases = {
    {"public",       "download", "unconditional", "none",          "general-2", "open-unconditional-download", "open-anonymised"},
    {"public",       "download", "closed",        "unconditional", "general-2", "closed-never-opened",         ""},
    {"public",       "download", "conditional",   "unconditional", "general-2", "default-deny",                ""},
    {"public",       "download", "unconditional", "unconditional", "important", "important-data-not-opened",   ""},
    {"public",       "catalog",  "unconditional", "unconditional", "important", "open-catalog",                ""},
    {"applicant+open","read",    "conditional",   "none",          "general-4", "open-conditional-agreement",  "conditional-anonymised"},
    {"applicant+open","read",    "conditional",   "none",          "core",      "important-data-not-opened",   ""},
    {"agency:own",   "read",     "closed",        "none",          "core",      "agency-own-data",             "provider-own"},
    {"agency:other", "read",     "closed",        "unconditional", "general-2", "share-unconditional",         "share-masked"},
    {"agency:other", "read",     "closed",        "unconditional", "core",      "core-data-stays-with-provider", ""},
    {"agency:other", "read",     "closed",        "none",          "general-2", "share-none-not-shared",       ""},
    {"agency:other+share", "export", "closed",    "conditional",   "general-2", "share-conditional-agreement", "share-masked"},
    {"operator",     "read",     "closed",        "none",          "general-2", "operator-quality-read",       "staff-masked"},
    {"operator",     "read",     "closed",        "none",          "core",      "core-data-stays-with-provider", ""},
    {"officer",      "read",     "unconditional", "unconditional", "general-1", "officer-reads-no-data",       ""},
    {"licensed+licence", "read", "unconditional", "unconditional", "general-1", "licensed-no-raw-rows",        ""},
    {"licensed+licence", "aggregate", "closed",   "none",          "important", "licensed-aggregate",          "licensed-aggregate"},
    {"licensed+licence", "aggregate", "closed",   "none",          "core",      "core-data-stays-with-provider", ""},
  };
  // clang-format on
  std::vector<Agreement> agreements;
  for (const Why& w : cases) {
    INFO(w.caller << " " << w.action << " open=" << w.open << " share=" << w.share
                  << " grade=" << w.grade);
    const DatasetAttrs d = test::attrs(
        test::make_entry(kDataset, kProvider, w.grade, w.open, w.share, test::person_fields()));
    const Decision dec = decide_for(caller(w.caller), *parse_action(w.action), d, agreements);
    CHECK(dec.rule_id == w.rule);
    CHECK((dec.mask ? dec.mask->id() : std::string()) == w.mask);
  }
}

TEST_CASE("shipped policy: the example catalog", "[policy][matrix]") {
  // What the public and another agency get of each shipped catalog entry.
  struct Expect {
    const char* dataset;
    const char* public_download;
    const char* other_agency_read;
  };
  const std::vector<Expect> expect = {
      {"credit.penalty", "default-deny", "share-unconditional"},
      {"e_licence.driving", "closed-never-opened", "default-deny"},
      {"economy.power_usage", "open-unconditional-download", "share-unconditional"},
      {"geo.poi", "open-unconditional-download", "share-unconditional"},
      {"legal_person.registration", "open-unconditional-download", "share-unconditional"},
      {"population.household", "closed-never-opened", "default-deny"},
  };
  const auto entries = test::shipped_catalog();
  REQUIRE(entries.size() == expect.size());
  std::vector<Agreement> none;
  for (size_t i = 0; i < entries.size(); ++i) {
    INFO(entries[i].id());
    REQUIRE(entries[i].id() == expect[i].dataset);
    const DatasetAttrs d = test::attrs(entries[i]);
    CHECK(decide_for(caller("public"), Action::kDownload, d, none).rule_id ==
          expect[i].public_download);
    CHECK(decide_for(caller("agency:other"), Action::kRead, d, none).rule_id ==
          expect[i].other_agency_read);
  }
}

}  // namespace
}  // namespace gongshu::policy
