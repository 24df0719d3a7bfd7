#include "core/catalog/lifecycle.h"

#include <array>

namespace gongshu::catalog {
namespace {

constexpr std::array<std::string_view, 8> kStates = {
    "none",     "draft",    "submitted",  "county_approved",
    "approved", "rejected", "superseded", "retired"};
constexpr std::array<std::string_view, 8> kStatesZh = {"无",     "草稿",   "已提交", "区县已审",
                                                       "已批准", "已驳回", "已替代", "已停用"};
constexpr std::array<std::string_view, 7> kSteps = {"save_draft", "submit",    "approve", "reject",
                                                    "retire",     "supersede", "add"};
constexpr std::array<std::string_view, 5> kActors = {"provider agency", "county reviewer",
                                                     "city reviewer", "operator", "platform"};

bool in_scope(Scope s, bool county_entry) {
  switch (s) {
    case Scope::kAny:
      return true;
    case Scope::kCountyEntry:
      return county_entry;
    case Scope::kCityEntry:
      return !county_entry;
  }
  return false;
}

}  // namespace

std::optional<State> next_state(State from, Step step, Actor actor, bool county_entry) {
  for (const Transition& t : kTransitions) {
    if (t.from == from && t.step == step && t.actor == actor && in_scope(t.scope, county_entry))
      return t.to;
  }
  return std::nullopt;
}

bool is_open(State s) {
  return s == State::kDraft || s == State::kSubmitted || s == State::kCountyApproved;
}

bool accepts_records(std::string_view status) { return status == state_name(State::kApproved); }

bool records_readable(std::string_view status) {
  return status == state_name(State::kApproved) || status == state_name(State::kRetired);
}

std::optional<Actor> awaiting(State s, bool county_entry) {
  for (Actor a : {Actor::kCountyReviewer, Actor::kCityReviewer}) {
    if (next_state(s, Step::kApprove, a, county_entry)) return a;
  }
  return std::nullopt;
}

std::string_view state_name(State s) { return kStates[size_t(s)]; }
std::string_view state_name_zh(State s) { return kStatesZh[size_t(s)]; }
std::string_view step_name(Step s) { return kSteps[size_t(s)]; }
std::string_view actor_name(Actor a) { return kActors[size_t(a)]; }

std::optional<State> parse_state(std::string_view s) {
  for (size_t i = 0; i < kStates.size(); ++i) {
    if (kStates[i] == s) return State(i);
  }
  return std::nullopt;
}

}  // namespace gongshu::catalog
