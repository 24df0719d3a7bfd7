// Enrollment (DESIGN §4, docs/protocol.md "Enrollment"): how an agency's agent comes to be
// known. An operator creates a one-time token for a registered agency; the token carries the
// daemon's public key and this api socket's endpoint, and the daemon keeps only a hash of its
// secret. The agent then enrolls its own key with it, from a connection made with that key
// (proof of possession).
//
//   ping                anyone: the daemon's public key and version. Writes nothing.
//   enroll_token_create operator: a token for agency (registered) valid for ttl_seconds
//                       (1 s .. 30 days). Audited as enroll_token_create (the token's hash
//                       prefix, the agency, the expiry) in the transaction that stores it.
//   enroll              the public (the key being enrolled): checks the token (this daemon's,
//                       known, unused, unexpired) and the hostname (at most 255 bytes of
//                       printable text), marks the token used and registers the key as an
//                       agent of the token's agency, audited as enroll in the same transaction;
//                       in force when this answers (ApiContext::update_principals). Answers
//                       the agency, the key id, the daemon's key and the ingest endpoint
//                       (options.advertised_ingest). A refusal is audited as a denied enroll,
//                       summarised: the first each minute per token the daemon issued, and
//                       once a minute for all tokens it did not issue together, since those
//                       cost nothing to make (ApiContext::audit_refusal).
//
// Api thread only (daemon/api_context.h).
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply ping(ApiContext& ctx, v1::ApiResponse& resp);
Reply enroll_token_create(ApiContext& ctx, const Caller& c, const v1::EnrollTokenCreateRequest& req,
                          v1::ApiResponse& resp);
Reply enroll(ApiContext& ctx, const Caller& c, const v1::EnrollRequest& req, v1::ApiResponse& resp);

}  // namespace gongshu::daemon
