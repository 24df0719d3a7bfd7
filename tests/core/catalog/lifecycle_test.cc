// The catalog lifecycle table (core/catalog/lifecycle.h): who may move a version where.
#include "core/catalog/lifecycle.h"

#include <catch2/catch.hpp>

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

}  // namespace
}  // namespace gongshu::catalog
