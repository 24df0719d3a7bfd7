// The registry (DESIGN §4, R-02, R-04): the agencies the authority works with, the data catalog
// operators maintain, and the agents enrolled for agencies (daemon/enrollment.h enrolls them;
// every other principal is in daemon/principals.h).
//
//   agency_add     operator: registers an agency (id 2..64 of [a-z0-9_-], a name of printable
//                  text, type government / public_service / national_office, a 6-digit region
//                  code). Audited as agency_add; an id already taken is API_CONFLICT.
//   agency_list    operator, officer: every agency (only empty), or the one named by only
//                  (API_NOT_FOUND if none). Writes nothing.
//   catalog_add    operator: adds a catalog entry or replaces it as its next version (its
//                  provider agency must be registered), approved as added (the review workflow
//                  comes later), with a data key for the dataset. Audited as catalog_add or
//                  catalog_update in the same transaction; the catalog ingest validates against
//                  is reloaded before the answer, which shows the entry as catalog_show does.
//   catalog_show   operator, officer: every catalog entry (id empty) or one, with its record,
//                  version and invalidation counts. Writes nothing.
//   agent_list     operator, officer: every enrolled agent and its ingest figures. Writes nothing.
//   agent_revoke   operator: revokes an agent key, audited as agent_revoke; in force when this
//                  answers, or not made (ApiContext::update_principals). Answers as agent_list.
//
// A caller of another role is refused with API_DENIED, audited as a role denial
// (ApiContext::require). Api thread only (daemon/api_context.h).
#pragma once

#include <string>

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply agency_add(ApiContext& ctx, const Caller& c, const v1::Agency& agency);
Reply agency_list(ApiContext& ctx, const Caller& c, const std::string& only, v1::ApiResponse& resp);
Reply catalog_add(ApiContext& ctx, const Caller& c, const v1::DatasetEntry& entry,
                  v1::ApiResponse& resp);
Reply catalog_show(ApiContext& ctx, const Caller& c, const std::string& id, v1::ApiResponse& resp);
Reply agent_list(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp);
Reply agent_revoke(ApiContext& ctx, const Caller& c, const std::string& key_id,
                   v1::ApiResponse& resp);

}  // namespace gongshu::daemon
