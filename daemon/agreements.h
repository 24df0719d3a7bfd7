// Agreements (DESIGN §8): R-18 open-use agreements for conditionally open data, R-13 sharing
// requests between agencies, and R-20 licences of licensed operators. The policy library only
// checks agreement facts (core/policy/agreement.h); this module keeps them and runs the
// workflow:
//
//   apply     an applicant (kind open; also a public key, proving it holds the key it applies
//             with) or an agency user (kind share): datasets, fields, purposes, period, security
//             measures, optional row quota. Refused while the applicant (or its agency) has a
//             recorded violation.                                      -> pending_review
//   review    a user of each agency that provides one of the datasets       -> pending_approval
//   approve   the authority (operator); a public applicant's key becomes an applicant principal
//                                                                           -> pending_signature
//   sign      the applicant signs the security commitment (安全承诺书, commitment_text()) with
//             its key: Ed25519 over "gongshu.commitment.v1" || 0x00 || text  -> active
//   revoke    the authority                                                 -> revoked
//   violation the authority records a violation: revoked, and future applications blocked
//
// Either review or approval may reject (-> rejected). An active agreement is used by decisions
// only within its term; expiry, revocation and the row quota take effect on the next request.
// A licence is not applied for: it is the licensed operator's principal record (term end,
// datasets, purposes), set by `gongshuctl principal add --role licensed`.
//
// Every change is audited in the transaction that makes it; refusals are audited too. A public
// caller applies and signs at the public default rate (access.h rate_check), so unknown keys
// cannot grow the store and the audit log without bound. Api thread only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/policy/agreement.h"
#include "core/store/txn.h"
#include "daemon/api_context.h"

namespace gongshu::daemon {

inline constexpr std::string_view kCommitmentDomain = "gongshu.commitment.v1";

// The agreement facts a decision for caller may use: the stored agreements held by its key or
// its agency, any status, and a licensed operator's licence.
Result<std::vector<policy::Agreement>> caller_agreements(ApiContext& ctx, const store::Txn& txn,
                                                         const Caller& caller);

// Counts rows an answer revealed under agreement a against its row quota, inside txn. Nothing
// for a null agreement, no rows, or an agreement without a quota. When the quota has not the
// rows left it fails kResourceExhausted and sets *over_quota: what tells that denial apart from
// a full store (MDB_MAP_FULL / MDB_TXN_FULL saving the count, the same code; review L10).
Status use_rows(ApiContext& ctx, store::WriteTxn& txn, const policy::Agreement* a, uint64_t rows,
                bool* over_quota = nullptr);
// Gives back rows use_rows counted for an answer that was never sent (read_on_replica.h
// withhold_read), inside txn, by use_rows' rule: nothing for an agreement without a quota
// (nothing was counted) or one gone or unreadable since; never below zero.
Status return_rows(ApiContext& ctx, store::WriteTxn& txn, const std::string& id, uint64_t rows);

// The security commitment the applicant signs: UTF-8 text built only from the agreement's
// facts (docs/protocol.md gives the layout), so both sides can rebuild it.
std::string commitment_text(const v1::AgreementInfo& a);

Reply agreement_apply(ApiContext& ctx, const Caller& c, const v1::AgreementApplyRequest& req,
                      v1::ApiResponse& resp);
Reply agreement_review(ApiContext& ctx, const Caller& c, const v1::AgreementReviewRequest& req,
                       v1::ApiResponse& resp);
Reply agreement_approve(ApiContext& ctx, const Caller& c, const v1::AgreementApproveRequest& req,
                        v1::ApiResponse& resp);
Reply agreement_sign(ApiContext& ctx, const Caller& c, const v1::AgreementSignRequest& req,
                     v1::ApiResponse& resp);
Reply agreement_revoke(ApiContext& ctx, const Caller& c, const v1::AgreementRevokeRequest& req,
                       v1::ApiResponse& resp);
Reply agreement_violation(ApiContext& ctx, const Caller& c,
                          const v1::AgreementViolationRequest& req, v1::ApiResponse& resp);
// Lists the agreements the caller may see (id empty), or shows one.
Reply agreement_list(ApiContext& ctx, const Caller& c, const std::string& id,
                     v1::ApiResponse& resp);

}  // namespace gongshu::daemon
