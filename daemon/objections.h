// Objections (R-11 异议处理; issue 16; docs/objections.md): a citizen or organisation who finds
// data about itself wrong objects through an agency's service desk, which files on its behalf;
// the agency the objection is routed to verifies and answers within a deadline counted in working
// days (core/policy/calendar.h), and the requester is told the answer.
//
//   objection_file    agency (a desk of any agency), operator: an objection to one record of a
//                     dataset, or to the records of a subject in it (the identifier is kept only
//                     as the subject index's keyed hash), with a reason and how to reach the
//                     requester. Routed by route_objection() and given its deadline.  -> filed
//   objection_verify  a user of the assigned agency: it is checking the data.       -> verifying
//   objection_answer  a user of the assigned agency, with a note:
//                       corrected_version  a record version stored after the filing, of one of
//                                          the disputed records, fixed it          -> corrected
//                       upheld             the data stands as it is                -> upheld
//                       transfer_to        another agency must answer: this objection ends and
//                                          a new one (filed) continues there with a fresh
//                                          deadline                                -> transferred
//                     corrected and upheld are answered from verifying; a transfer from filed or
//                     verifying. The answer records the notification the requester is given
//                     (text, time).
//   objection_list    operator, officer: every objection; agency: those filed by or assigned to
//                     it. Filters: overdue (open past the deadline), agency (assigned to), id.
//
// While an objection is open (filed, verifying) its records are disputed: every read that
// returns one says so (Row.disputed, daemon/access.cc through disputes_of_record()). An objection
// by subject also disputes the records about that subject stored after it was filed: it is
// marked under the subject's keyed hash as well (objection_marks: dataset \0 \x01 token \0 id),
// which reads look up by the record's subject. Every step is one
// audit entry (objection_filed, objection_verifying, objection_corrected, objection_upheld,
// objection_transferred) in the transaction that takes it; details carry no personal data (no
// reason, contact or identifier; a subject only as its keyed hash). Api thread only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/catalog/dataset.h"
#include "core/store/txn.h"
#include "daemon/api_context.h"

namespace gongshu::daemon {

// The states and the steps between them: the pure table objection_next() checks.
enum class ObjectionState : uint8_t { kFiled, kVerifying, kCorrected, kUpheld, kTransferred };
enum class ObjectionStep : uint8_t { kVerify, kCorrect, kUphold, kTransfer };
std::string_view objection_state_name(ObjectionState s);
std::optional<ObjectionState> parse_objection_state(std::string_view s);
// The state a step leads to from `from`; nullopt when the step is not allowed there.
std::optional<ObjectionState> objection_next(ObjectionState from, ObjectionStep step);
bool objection_open(ObjectionState s);

Reply objection_file(ApiContext& ctx, const Caller& c, const v1::ObjectionFileRequest& req,
                     v1::ApiResponse& resp);
Reply objection_verify(ApiContext& ctx, const Caller& c, const v1::ObjectionVerifyRequest& req,
                       v1::ApiResponse& resp);
Reply objection_answer(ApiContext& ctx, const Caller& c, const v1::ObjectionAnswerRequest& req,
                       v1::ApiResponse& resp);
Reply objection_list(ApiContext& ctx, const Caller& c, const v1::ObjectionListRequest& req,
                     v1::ApiResponse& resp);

// The ids of the open objections disputing (dataset, record_key) as txn sees them, oldest
// first; empty when none.
std::vector<std::string> disputes_of(const DaemonStore& store, const store::Txn& txn,
                                     std::string_view dataset, std::string_view record_key);
// The same for a record as a read returns it, adding the open objections filed about its subject
// (`subject_id`, the record's as stored): a subject objection disputes the records about that
// subject delivered after its filing too, for as long as it is open. The subject is looked up
// only when the dataset has an open subject objection (one cursor seek otherwise).
std::vector<std::string> disputes_of_record(const DaemonStore& store, const store::Txn& txn,
                                            const catalog::DatasetSchema& schema,
                                            std::string_view record_key,
                                            std::string_view subject_id);

}  // namespace gongshu::daemon
