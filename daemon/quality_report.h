// The data quality report (R-12 数据质量; issue 16; docs/quality.md): for each dataset in the
// catalog (approved or retired) and each agency that delivered to it, how fresh the data is
// against the catalog's update frequency, how much was refused (by reason class) or invalidated,
// how complete each field is, and the dataset's open and overdue objections — with a status per
// dataset and findings that each name where they come from (agency, agent, batch, versions,
// objection ids). Judged by the pure rules of core/catalog/quality_status.h over the counts the
// ingest writer keeps (daemon/delivery_stats.h).
//
//   quality_report   operator, officer: every dataset; agency: the datasets it provides, and
//                    its own deliveries to others'. Filters: dataset, agency (provider).
//                    One audit entry (quality_report) per answer, naming the filters and how many
//                    datasets were reported; refusals are audited too.
//
// The report carries counts, ids and times, never record content. Api thread only.
#pragma once

#include "daemon/api_context.h"

namespace gongshu::daemon {

Reply quality_report(ApiContext& ctx, const Caller& c, const v1::QualityReportRequest& req,
                     v1::ApiResponse& resp);

}  // namespace gongshu::daemon
