// Decisions (DESIGN §8): may this caller do this action on this dataset, and if so under which
// masking profile and limits. The daemon asks once per request (and once per dataset when it
// lists the catalog), before it reads anything.
//
// The rules that can match a (role, action) were indexed when the policy was loaded; decide()
// tries that bucket's deny rules, then its allow rules, each in policy order:
//  - a matching deny rule decides: deny wins over every allow;
//  - otherwise the first matching allow rule decides, with its mask profile and limits;
//  - otherwise the decision is deny, rule "default-deny".
// A rule matches when every selector it has matches (role, agency, action, dataset attributes)
// and every condition holds (an active agreement covering dataset + fields + purpose, the
// purpose, the hours, the subject's consent). explain() evaluates every rule of the policy the same
// way and says, for each, whether it matched and why not; its decision is always decide()'s.
//
// decide() does not allocate and takes well under a microsecond (bench/policy). It reads only
// its arguments. The returned Decision points into the Policy (rule, profile, version) and
// into request.agreements; it is valid while both are.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy/agreement.h"
#include "core/policy/dataset_attrs.h"
#include "core/policy/policy.h"

namespace gongshu::policy {

inline constexpr std::string_view kDefaultDenyRule = "default-deny";

struct Request {
  Role role = Role::kPublic;
  std::string_view principal;  // the caller's key id; matched against agreement holders
  std::string_view agency;     // agent and agency roles: the caller's agency
  Action action = Action::kRead;
  const DatasetAttrs* dataset = nullptr;  // required
  std::string_view purpose;
  // The fields the answer would carry (for aggregates: the fields grouped or measured); empty
  // means every field of the dataset.
  std::span<const std::string_view> fields;
  // The caller's agreements, any status; the daemon looks them up. Their holders must be the
  // principal (or, for sharing, the agency); others never match.
  std::span<const Agreement> agreements;
  int64_t now_ms = 0;
  // query_subject: the subject asked about has a consent in force naming this principal,
  // covering the dataset and the purpose. The daemon looks it up (daemon/consent.h).
  bool subject_consent = false;
};

struct Limits {
  // Rows one answer may carry: the smallest of the rule's max_rows, the grade's max_rows and
  // the agreement's remaining row quota (row actions only). nullopt: no cap.
  std::optional<uint64_t> max_rows;
  uint32_t k_threshold = 0;         // aggregates: suppress groups smaller than k
  const RateClass* rate = nullptr;  // nullptr: the daemon's default
};

struct Decision {
  Effect effect = Effect::kDeny;
  const Rule* rule = nullptr;  // nullptr for the default deny
  std::string_view rule_id = kDefaultDenyRule;
  std::string_view policy_version;
  // Allowing decisions on actions that return data: the profile every returned row is masked
  // with. Never null then.
  const MaskProfile* mask = nullptr;
  Limits limits;
  const Agreement* agreement = nullptr;  // the agreement that satisfied the rule, if it needed one

  bool allowed() const { return effect == Effect::kAllow; }
};

Decision decide(const Policy& policy, const Request& request);

struct RuleVerdict {
  const Rule* rule;
  bool matched;
  // matched: what held ("role, action and dataset match; agreement KF-1 covers it");
  // otherwise every reason it did not match, separated by "; ".
  std::string reason;
};

struct Explanation {
  Decision decision;
  std::string summary;             // one line: why the decision fell as it did
  std::vector<RuleVerdict> rules;  // every rule, in policy order
};

Explanation explain(const Policy& policy, const Request& request);

}  // namespace gongshu::policy
