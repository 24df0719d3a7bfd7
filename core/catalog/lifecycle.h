// The catalog lifecycle: the states a version of a catalog entry passes through,
// the steps that move it and who may take each step, listed once in kTransitions. The daemon
// (daemon/catalog_workflow.cc) and docs/catalog.md both follow this table. Pure: no I/O, no
// allocation; callable from any thread.
//
// A dataset has numbered versions. At most one version is open (draft, submitted,
// county_approved) at a time; the approved version stays in force until a newer one is
// approved, which then supersedes it. A county agency's version (its provider's region is not
// the city's) is approved first by that county's reviewer and then by the city's; a city
// agency's by the city's reviewer alone. Which region is the city's is the daemon's
// configuration ([catalog] city_region, daemon/config.h; 130100, 石家庄市, by default).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace gongshu::catalog {

enum class State : uint8_t {
  kNone,            // before a version exists (a new version starts here)
  kDraft,           // 草稿: kept by the agency, not yet submitted
  kSubmitted,       // 已提交: waiting for its first reviewer
  kCountyApproved,  // 区县已审: a county agency's version the county approved, awaiting the city
  kApproved,        // 已批准: in force
  kRejected,        // 已驳回: final for this version; the agency submits a new one
  kSuperseded,      // 已替代: was approved, replaced by a newer approved version
  kRetired,         // 已停用: the dataset is withdrawn; nothing new is accepted
};

enum class Step : uint8_t {
  kSaveDraft,  // the agency keeps a version without submitting it
  kSubmit,     // the agency submits a version for review
  kApprove,    // a reviewer approves at their level
  kReject,     // a reviewer rejects at their level
  kRetire,     // the dataset is withdrawn
  kSupersede,  // the platform: a newer version was approved
  kAdd,        // the authority's direct path (operator `catalog add`): approved as added
};

enum class Actor : uint8_t {
  kProviderAgency,  // a user of the agency that provides the dataset
  kCountyReviewer,  // a reviewer whose region is the provider's county
  kCityReviewer,    // a reviewer of the city (its agency's region is the city's)
  kOperator,        // the data authority's staff
  kPlatform,        // the daemon itself, as a consequence of another step
};

// Which entries a transition applies to.
enum class Scope : uint8_t { kAny, kCountyEntry, kCityEntry };

struct Transition {
  State from;
  Step step;
  Actor actor;
  Scope scope;
  State to;
};

// The one table (docs/catalog.md copies it).
inline constexpr Transition kTransitions[] = {
    {State::kNone, Step::kSaveDraft, Actor::kProviderAgency, Scope::kAny, State::kDraft},
    {State::kDraft, Step::kSaveDraft, Actor::kProviderAgency, Scope::kAny, State::kDraft},
    {State::kNone, Step::kSubmit, Actor::kProviderAgency, Scope::kAny, State::kSubmitted},
    {State::kDraft, Step::kSubmit, Actor::kProviderAgency, Scope::kAny, State::kSubmitted},
    {State::kSubmitted, Step::kApprove, Actor::kCountyReviewer, Scope::kCountyEntry,
     State::kCountyApproved},
    {State::kSubmitted, Step::kReject, Actor::kCountyReviewer, Scope::kCountyEntry,
     State::kRejected},
    {State::kCountyApproved, Step::kApprove, Actor::kCityReviewer, Scope::kCountyEntry,
     State::kApproved},
    {State::kCountyApproved, Step::kReject, Actor::kCityReviewer, Scope::kCountyEntry,
     State::kRejected},
    {State::kSubmitted, Step::kApprove, Actor::kCityReviewer, Scope::kCityEntry, State::kApproved},
    {State::kSubmitted, Step::kReject, Actor::kCityReviewer, Scope::kCityEntry, State::kRejected},
    {State::kApproved, Step::kSupersede, Actor::kPlatform, Scope::kAny, State::kSuperseded},
    {State::kApproved, Step::kRetire, Actor::kProviderAgency, Scope::kAny, State::kRetired},
    {State::kApproved, Step::kRetire, Actor::kCityReviewer, Scope::kAny, State::kRetired},
    {State::kApproved, Step::kRetire, Actor::kOperator, Scope::kAny, State::kRetired},
    {State::kNone, Step::kAdd, Actor::kOperator, Scope::kAny, State::kApproved},
};

// The state `from` becomes when `actor` takes `step` on an entry (county_entry: its provider's
// region is not the city's), or nullopt if the table does not allow it.
std::optional<State> next_state(State from, Step step, Actor actor, bool county_entry);

// Whether a version in this state is open (at most one per dataset) or in force.
bool is_open(State s);

// What a dataset's records may do, by the state of the version the catalog shows for it
// (its status string; unknown strings are neither): new records are accepted only for an
// approved dataset; stored ones stay readable under the policy once it is retired.
bool accepts_records(std::string_view status);
bool records_readable(std::string_view status);

// Who must act next on a version in state s: kCountyReviewer / kCityReviewer for a version
// waiting for review, nullopt otherwise.
std::optional<Actor> awaiting(State s, bool county_entry);

std::string_view state_name(State s);  // "draft", "county_approved", ...
std::string_view state_name_zh(State s);
std::string_view step_name(Step s);  // "submit", "approve", ...
std::string_view actor_name(Actor a);
std::optional<State> parse_state(std::string_view s);

}  // namespace gongshu::catalog
