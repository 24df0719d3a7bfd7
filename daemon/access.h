// Access to data through the api socket (DESIGN §8, R-13 .. ). Every request is
// decided by the policy in force (daemon/policy_view.h) for the caller's role and agency, the
// action, the dataset, the purpose, the requested fields and the caller's agreements
// (daemon/agreements.h):
//
//  - a denial is answered with API_DENIED naming the rule, the policy version and why (for the
//    default deny, why each rule that could have allowed it did not);
//  - an allowed answer is masked by the decision's profile (core/policy/mask_profile.h) on every
//    path, capped by its limits (rows per answer, an agreement's row quota, k for aggregates),
//    and rate limited by its rate class, per key — for the public per CURVE key;
//  - every decision, allow and deny, is one audit entry (principal, agency, action, dataset,
//    purpose, rule, policy version, count), committed — together with the row quota it uses —
//    before the answer leaves the daemon.
//
// The handlers:
//   catalog_list   CatalogRequest: full entries (agents: their agency's; staff: all; others by
//                  policy, action catalog)
//   open_catalog   the open catalog: name, provider, open attribute, update frequency
//   query          the rows of one dataset (action read) or about one subject in it
//                  (query_subject), by page; an opaque cursor hides record keys
//   lookup         one subject across every dataset of its kind (一数一源), query_subject each
//   download       a whole dataset in resumable chunks (download; with export, action export)
//   aggregate      counts and sums by group; groups smaller than k are left out
//
// Api thread only (daemon/api_context.h).
#pragma once

#include <string_view>
#include <vector>

#include "core/util/i18n.h"
#include "daemon/api_context.h"

namespace gongshu::daemon {

// The one refusal of a read whose access entry was not recorded (durably), on every path: the
// leader's own reads (commit_reveal, a read held for the synchronous set in api.cc), a replica's
// (its record refused or not confirmed by the leader, api_context.cc, api.cc). Sent to clients in
// English (english(kNotAudited, why): protocol text, po/README.md); the msgid is in the
// catalogue for a client or log that shows it to a person (tr(kNotAudited)).
inline constexpr const char* kNotAudited =
    tr_noop("nothing was sent: the access could not be audited: {}");

// Review A9: a read refused because the rows it would take exceed an agreement's row quota (the
// quota as stored, checked in the write transaction that commits the read's entries, which then
// aborts) is audited as a denial all the same: each of its entries (the caller's principal, the
// action, dataset, purpose, refs as the read would have recorded them) again with decision DENY,
// policy rule "quota", no rows, and `why` as the detail, in a write transaction of its own and
// summarised per minute per principal as every refusal (ApiContext::audit_refusal). On the leader
// only: commit_reveal for its own reads; the leader's access_record (read_on_replica.cc) for the
// entries a replica sent (their principal is the reader's, not the member's).
Status audit_quota_refusal(ApiContext& ctx, const std::vector<v1::AuditEntry>& entries,
                           std::string_view why);

Reply catalog_list(ApiContext& ctx, const Caller& c, const v1::CatalogRequest& req,
                   v1::ApiResponse& resp);
Reply open_catalog(ApiContext& ctx, const Caller& c, const v1::OpenCatalogRequest& req,
                   v1::ApiResponse& resp);
Reply query(ApiContext& ctx, const Caller& c, const v1::QueryRequest& req, v1::ApiResponse& resp);
Reply lookup(ApiContext& ctx, const Caller& c, const v1::LookupRequest& req, v1::ApiResponse& resp);
Reply download(ApiContext& ctx, const Caller& c, const v1::DownloadRequest& req,
               v1::ApiResponse& resp);
Reply aggregate(ApiContext& ctx, const Caller& c, const v1::AggregateRequest& req,
                v1::ApiResponse& resp);

// Takes a token of rate class `rate` for the caller (for a public caller without one, the
// class "public-default", 60 a minute in bursts of 20, so that unknown keys cannot turn
// requests into durable commits without bound; nothing for others without one). A refusal is
// audited (at most once a minute per caller and class) and answered with when to retry.
Reply rate_check(ApiContext& ctx, const Caller& c, const policy::RateClass* rate,
                 std::string_view action, const std::string& dataset);

}  // namespace gongshu::daemon
