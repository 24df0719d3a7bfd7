// Principals (DESIGN §4): who may use the api socket, as what. Agents enroll with a token
// (daemon/api.cc); everyone else is registered by an operator from the public key the person
// generated (`gongshuctl keygen`) — the secret key never reaches the authority:
//
//   agency     a user of a registered agency: its own data, sharing, reviews
//   operator   the authority's staff
//   officer    security officer: audit, no data
//   applicant  an organisation applying for and using open-use agreements
//   licensed   a licensed operator: aggregates only, over the datasets and purposes of
//              its licence, until its term ends
//   reviewer   a catalog reviewer of an agency, whose region code is the level it
//              reviews at (daemon/catalog_workflow.h); no data
//
// Revocation takes effect on the caller's next request (the directory is re-checked per
// message). The last active operator cannot be revoked (nobody could administer the authority
// again), and an operator does not revoke itself. An agent rotates its own key
// (agent_key_rotate, docs/protocol.md): the new key is registered for the same agency and the
// old one revoked as "rotated to <new key id>" in one transaction. Every change is audited in
// the transaction that makes it, every refusal on its own. Api thread only.
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply principal_add(ApiContext& ctx, const Caller& c, const v1::PrincipalAddRequest& req,
                    v1::ApiResponse& resp);
Reply principal_list(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp);
Reply principal_revoke(ApiContext& ctx, const Caller& c, const v1::PrincipalRevokeRequest& req,
                       v1::ApiResponse& resp);
Reply agent_key_rotate(ApiContext& ctx, const Caller& c, const v1::AgentKeyRotateRequest& req,
                       v1::ApiResponse& resp);

}  // namespace gongshu::daemon
