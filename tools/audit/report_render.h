// The officers' report (report.h) written out: as one self-contained HTML page for people
// (Chinese with English labels, charts as inline SVG, no script, printable) and as one JSON
// object for programs (English keys, times in UTC ISO-8601) holding the same figures. Every
// string that came from the audit log is escaped: HTML-escaped (after printable(), so control
// and bidirectional characters are shown, not acted on) in the page, JSON-escaped in the object.
// Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tools/audit/report.h"

namespace gongshu::audit_cli {

// The page; generated_ms is when it was made (shown in Beijing time).
std::string report_html(const ReportFigures& f, int64_t generated_ms);
// The JSON object, one line.
std::string report_json(const ReportFigures& f, int64_t generated_ms);

// &, <, >, " and ' as character references, after printable() (core/util/printable.h).
std::string html_escape(std::string_view s);

// The HTML page shows at most this many rows of a breakdown; the rest are summed in one row.
inline constexpr size_t kMaxHtmlRows = 50;

}  // namespace gongshu::audit_cli
