// Authoritative sources (R-11 权威来源; issue 15): the catalog names a data item — a set of
// fields known by name or PII kind, such as 公民身份号码+姓名+出生日期 — as sourced from one
// approved dataset. The rules over an item are core/catalog/authority.h; docs/catalog.md
// explains them to reviewers.
//
//   catalog_authority_set   city reviewer, operator: names (or re-names) the dataset an item is
//                           sourced from, or with remove withdraws the designation. The
//                           dataset must be approved and hold every element of the item; a
//                           note is required. One audit entry (catalog_authority_set /
//                           catalog_authority_remove) naming the item, the dataset before and
//                           after and the elements, in the transaction that makes the change.
//   catalog_authority_list  operator, officer, reviewer, agency: every designation, or those
//                           matching the request's field, PII kind and dataset. Writes nothing.
//
// Submissions are compared with the designations as with other agencies' approved datasets
// (daemon/catalog_workflow.cc): an entry collecting an item again is flagged with its source.
// Api thread only (daemon/api_context.h), except the two reads below, which take any
// transaction.
//
// Designations live in the store's meta table under "catalog_authority\0<item>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/catalog/authority.h"
#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply catalog_authority_set(ApiContext& ctx, const Caller& c,
                            const v1::CatalogAuthoritySetRequest& req, v1::ApiResponse& resp);
Reply catalog_authority_list(ApiContext& ctx, const Caller& c,
                             const v1::CatalogAuthorityListRequest& req, v1::ApiResponse& resp);

// Every designation as txn sees it, by item id.
Result<std::vector<v1::CatalogAuthority>> read_authorities(const DaemonStore& store,
                                                           const store::Txn& txn);

// Which datasets are authoritative for a field: the designations whose item names the field
// (by name) or its PII kind; field empty or pii PII_NONE match nothing on that side. For
// routing an objection about a field to the dataset it is sourced from (R-12, issue 16).
Result<std::vector<v1::CatalogAuthority>> authoritative_for(const DaemonStore& store,
                                                            const store::Txn& txn,
                                                            std::string_view field,
                                                            v1::PiiKind pii);

// The item of a designation, for core/catalog/authority.h.
catalog::DataItem data_item(const v1::CatalogAuthority& a);

}  // namespace gongshu::daemon
