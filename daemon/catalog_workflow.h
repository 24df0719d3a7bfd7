// The catalog workflow (R-04, R-07, R-16; issue 15): agencies submit versions of their own
// catalog entries, reviewers approve or reject them at their level, entries are retired. The
// states and who may move them are core/catalog/lifecycle.h's one table; docs/catalog.md
// explains it to data officers and reviewers.
//
//   catalog_submit   agency: a version of one of its own agency's entries (draft = true keeps it
//                    as a draft), flagged with every approved dataset of another agency
//                    whose data items it duplicates and every authoritative source of a
//                    data item it collects again, each with a score. At most one version of a
//                    dataset is open at a time; a draft is replaced by the next submission. The
//                    approved version stays in force until a newer one is approved.
//   catalog_pending  reviewer: the versions awaiting its level and region; operator, officer:
//                    every version awaiting review; agency: its own agency's open versions.
//   catalog_review   reviewer: approves or rejects (a note is required) the version awaiting its
//                    level; a county reviewer acts on its county's entries first, a city reviewer
//                    on city entries and on county entries the county approved. A reviewer never
//                    decides on its own agency's entry. An approval puts the version in force
//                    (the one before it is superseded) and reloads the catalog view.
//   catalog_retire   the provider agency, a city reviewer or an operator: the version in force
//                    is retired (a note is required): nothing new is accepted for it.
//   catalog_history  operator, officer, reviewer, and the provider agency: every version with
//                    every step, who took it and when.
//   catalog_overlaps operator, officer, reviewer: every approved dataset whose data items
//                    duplicate another agency's approved dataset or collect an item named
//                    as authoritatively sourced from another dataset (R-11,
//                    daemon/catalog_authority.h), with the flags a submission would raise.
//                    Writes nothing.
//
// Every step is one audit entry, written in the transaction that takes it, naming the dataset,
// the version, the states before and after and the attributes before and after; every denial past
// the role check is audited too. Api thread only (daemon/api_context.h).
//
// The catalog table holds, per dataset, the version in force (approved or retired), or for a
// dataset never approved its latest version in whatever state it is, so ingest's refusal names
// that state (daemon/ingest_prepare.cc). Every version is in catalog_versions.
#pragma once

#include <functional>
#include <string>

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply catalog_submit(ApiContext& ctx, const Caller& c, const v1::CatalogSubmitRequest& req,
                     v1::ApiResponse& resp);
Reply catalog_pending(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp);
Reply catalog_review(ApiContext& ctx, const Caller& c, const v1::CatalogReviewRequest& req,
                     v1::ApiResponse& resp);
Reply catalog_retire(ApiContext& ctx, const Caller& c, const v1::CatalogRetireRequest& req,
                     v1::ApiResponse& resp);
Reply catalog_history(ApiContext& ctx, const Caller& c, const std::string& id,
                      v1::ApiResponse& resp);

Reply catalog_overlaps(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp);

// Runs change in a write transaction, then reloads the catalog in force (the view ingest and
// access read). A kPermissionDenied from change is answered API_DENIED and audited as a denial
// of action on dataset id (ApiContext::audit_refusal); change writes its own audit entry.
Reply catalog_change(ApiContext& ctx, const Caller& c, const std::string& action,
                     const std::string& id, const std::function<Status(store::WriteTxn&)>& change);

// The authority's direct path (registry.h catalog_add): records `entry`, approved as added, as
// its dataset's next version in txn, superseding the version in force, and returns that
// version's number. The caller writes the catalog table and the audit entry.
Result<uint64_t> record_direct_add(ApiContext& ctx, const Caller& c, store::WriteTxn& txn,
                                   const v1::DatasetEntry& entry);

}  // namespace gongshu::daemon
