// Consent (R-15 (三) 同意; issue 16; docs/objections.md): a citizen's or organisation's consent
// to open its data to one applicant for a purpose and a period, collected by an agency's service
// desk with a signed form the desk keeps (the evidence reference). A policy rule with
// consent = true (core/policy/policy.h) allows an applicant's query_subject about that subject
// only while such a consent is in force; the daemon looks it up at decision time
// (consent_in_force), so a revocation is in force from the next request.
//
//   consent_grant   agency (the desk that collected it): subject, applicant key id, datasets
//                   (none: every dataset about the subject), purpose, period, evidence.
//   consent_revoke  the agency that collected it, or an operator, with a reason.
//   consent_list    operator, officer: every consent; agency: those it collected; applicant:
//                   those naming it. Filters: subject, applicant.
//
// The subject's identifier is never stored: consents are keyed by the subject index's keyed
// hash (DaemonStore::subject_token). Every grant and revocation is one audit entry
// (consent_granted, consent_revoked) in the transaction that makes it; refusals are audited.
// Api thread only, except consent_in_force, which takes any transaction.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/crypto/sha256.h"
#include "core/store/txn.h"
#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply consent_grant(ApiContext& ctx, const Caller& c, const v1::ConsentGrantRequest& req,
                    v1::ApiResponse& resp);
Reply consent_revoke(ApiContext& ctx, const Caller& c, const v1::ConsentRevokeRequest& req,
                     v1::ApiResponse& resp);
Reply consent_list(ApiContext& ctx, const Caller& c, const v1::ConsentListRequest& req,
                   v1::ApiResponse& resp);

// The id of a consent in force at now_ms by the subject whose token this is, naming applicant,
// covering dataset and purpose; nullopt when there is none.
std::optional<std::string> consent_in_force(const DaemonStore& store, const store::Txn& txn,
                                            const crypto::Digest& subject_token,
                                            std::string_view applicant, std::string_view dataset,
                                            std::string_view purpose, int64_t now_ms);

// Why consent `id`, as stored, does not let applicant query its subject in dataset for purpose at
// now_ms — unknown, given to another applicant, revoked, pending or expired, for another purpose,
// not covering the dataset — or empty when it does: consent_in_force's rule for one consent
// (the leader's re-check of a replica's read, read_on_replica.cc).
std::string consent_not_in_force(const DaemonStore& store, const store::Txn& txn,
                                 const std::string& id, std::string_view applicant,
                                 std::string_view dataset, std::string_view purpose,
                                 int64_t now_ms);

}  // namespace gongshu::daemon
