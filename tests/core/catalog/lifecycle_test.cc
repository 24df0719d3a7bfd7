// The catalog lifecycle table (core/catalog/lifecycle.h): who may move a version where.
#include "core/catalog/lifecycle.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gongshu::catalog {
namespace {

TEST_CASE("lifecycle: a city agency's version needs the city reviewer only") {
  auto s = next_state(State::kNone, Step::kSubmit, Actor::kProviderAgency, false);
  REQUIRE(s == State::kSubmitted);
  CHECK(awaiting(*s, false) == Actor::kCityReviewer);
  CHECK_FALSE(next_state(*s, Step::kApprove, Actor::kCountyReviewer, false));
  CHECK_FALSE(next_state(*s, Step::kApprove, Actor::kProviderAgency, false));
  CHECK_FALSE(next_state(*s, Step::kApprove, Actor::kOperator, false));
  CHECK(next_state(*s, Step::kApprove, Actor::kCityReviewer, false) == State::kApproved);
  CHECK(next_state(*s, Step::kReject, Actor::kCityReviewer, false) == State::kRejected);
}

TEST_CASE("lifecycle: a county agency's version needs the county reviewer, then the city's") {
  auto s = next_state(State::kDraft, Step::kSubmit, Actor::kProviderAgency, true);
  REQUIRE(s == State::kSubmitted);
  CHECK(awaiting(*s, true) == Actor::kCountyReviewer);
  CHECK_FALSE(next_state(*s, Step::kApprove, Actor::kCityReviewer, true));
  auto c = next_state(*s, Step::kApprove, Actor::kCountyReviewer, true);
  REQUIRE(c == State::kCountyApproved);
  CHECK(awaiting(*c, true) == Actor::kCityReviewer);
  CHECK_FALSE(next_state(*c, Step::kApprove, Actor::kCountyReviewer, true));
  CHECK(next_state(*c, Step::kApprove, Actor::kCityReviewer, true) == State::kApproved);
  CHECK(next_state(*c, Step::kReject, Actor::kCityReviewer, true) == State::kRejected);
}

TEST_CASE("lifecycle: final states go nowhere but by the table") {
  for (State s : {State::kRejected, State::kSuperseded, State::kRetired}) {
    CHECK_FALSE(is_open(s));
    CHECK_FALSE(awaiting(s, true));
    for (const Transition& t : kTransitions) CHECK(t.from != s);
  }
  CHECK(next_state(State::kApproved, Step::kRetire, Actor::kOperator, false) == State::kRetired);
  CHECK(next_state(State::kApproved, Step::kSupersede, Actor::kPlatform, true) ==
        State::kSuperseded);
  CHECK_FALSE(next_state(State::kSubmitted, Step::kRetire, Actor::kOperator, false));
  CHECK(next_state(State::kNone, Step::kAdd, Actor::kOperator, false) == State::kApproved);
  CHECK_FALSE(next_state(State::kNone, Step::kAdd, Actor::kProviderAgency, false));
}

TEST_CASE("lifecycle: every state has one name that parses back") {
  for (int i = 0; i <= int(State::kRetired); ++i) {
    CHECK(parse_state(state_name(State(i))) == State(i));
    CHECK_FALSE(state_name_zh(State(i)).empty());
  }
  CHECK_FALSE(parse_state("pending"));
}

TEST_CASE("lifecycle: records are accepted for approved datasets, and stay readable once retired") {
  CHECK(accepts_records("approved"));
  for (auto s : {"draft", "submitted", "county_approved", "rejected", "superseded", "retired", ""})
    CHECK_FALSE(accepts_records(s));
  CHECK(records_readable("approved"));
  CHECK(records_readable("retired"));
  for (auto s : {"draft", "submitted", "county_approved", "rejected", "superseded", "approve"})
    CHECK_FALSE(records_readable(s));
}

// docs/catalog.md copies the table for data officers and reviewers; it must say what the code
// does, row for row.
TEST_CASE("lifecycle: docs/catalog.md shows exactly this table") {
  std::ifstream in(std::string(GONGSHU_SOURCE_DIR) + "/docs/catalog.md");
  REQUIRE(in);
  std::vector<std::string> rows;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "<!-- lifecycle-table -->") inside = true;
    if (line == "<!-- /lifecycle-table -->") inside = false;
    if (inside && line.starts_with("| ") && !line.starts_with("| from") &&
        !line.starts_with("|---"))
      rows.push_back(line);
  }
  auto scope = [](Scope s) {
    return s == Scope::kAny ? "any" : s == Scope::kCountyEntry ? "county" : "city";
  };
  std::vector<std::string> expected;
  for (const Transition& t : kTransitions) {
    std::ostringstream os;
    os << "| " << state_name(t.from) << " | " << step_name(t.step) << " | " << actor_name(t.actor)
       << " | " << scope(t.scope) << " | " << state_name(t.to) << " |";
    expected.push_back(os.str());
  }
  CHECK(rows == expected);
}

}  // namespace
}  // namespace gongshu::catalog
