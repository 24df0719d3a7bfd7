// The officers' report as one HTML page: no script, no external resource, charts as inline SVG,
// a print style sheet for A4. Figures carry data-f (the figure's JSON name) and rows data-k (the
// row's key), so a program can read the page back and compare it with the JSON.

#include <algorithm>
#include <cstdio>

#include "core/util/html_text.h"
#include "core/util/printable.h"
#include "tools/audit/common.h"
#include "tools/audit/report_render.h"

namespace gongshu::audit_cli {
namespace {

constexpr const char* kStyle = R"(
:root { --allow: #2b6cb0; --deny: #c53030; --rows: #2f855a; --muted: #5a6270; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
       "Microsoft YaHei", "PingFang SC", sans-serif; color: #1a202c; margin: 24px auto;
       max-width: 1000px; padding: 0 16px; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #2b6cb0; padding-bottom: 4px; margin-top: 2em; }
h3 { margin-top: 1.4em; }
.en { color: var(--muted); font-weight: normal; font-size: 0.85em; }
table { border-collapse: collapse; margin: 0.6em 0; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #cbd2d9; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #edf2f7; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.t { white-space: nowrap; }
.k { word-break: break-all; }
td:first-child { min-width: 8em; }
dl.grid { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
dl.grid div { border: 1px solid #cbd2d9; border-radius: 4px; padding: 6px 8px; }
dl.grid dt { font-size: 0.8em; color: var(--muted); }
dl.grid dd { margin: 0; font-size: 1.4em; font-weight: bold; }
.none { color: var(--muted); font-style: italic; }
.ok { color: #276749; font-weight: bold; }
.warn { color: var(--deny); font-weight: bold; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
svg text { font-size: 10px; fill: #4a5568; }
nav ol { columns: 2; }
footer { margin-top: 3em; font-size: 0.85em; color: var(--muted); }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  nav { display: none; }
  h2 { break-before: auto; break-after: avoid; }
  table, svg, dl.grid { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
)";

std::string esc(std::string_view s) { return html_escape(s); }
std::string num(uint64_t n) { return std::to_string(n); }
std::string key_text(const std::string& k) {
  return k == kNone ? "<span class=\"none\">(无 none)</span>" : esc(k);
}

// A duration for people, Chinese beside English like every label of the report:
// "850 毫秒 <span class="en">850 ms</span>", "3 分 20 秒 … 3 min 20 s", "2 小时 5 分 … 2 h 5 min",
// "3 天 4 小时 … 3 d 4 h".
std::string duration_text(int64_t ms) {
  if (ms < 0) return "-" + duration_text(-ms);
  auto both = [](int64_t a, const char* zh_a, const char* en_a, int64_t b = -1,
                 const char* zh_b = "", const char* en_b = "") {
    std::string zh = std::to_string(a) + " " + zh_a;
    std::string en = std::to_string(a) + " " + en_a;
    if (b >= 0) {
      zh += " " + std::to_string(b) + " " + zh_b;
      en += " " + std::to_string(b) + " " + en_b;
    }
    return zh + " <span class=\"en\">" + en + "</span>";
  };
  if (ms < 1000) return both(ms, "毫秒", "ms");
  int64_t s = ms / 1000;
  if (s < 60) return both(s, "秒", "s");
  if (s < 3600) return both(s / 60, "分", "min", s % 60, "秒", "s");
  if (s < 86400) return both(s / 3600, "小时", "h", s / 60 % 60, "分", "min");
  return both(s / 86400, "天", "d", s / 3600 % 24, "小时", "h");
}

std::string when(int64_t ms) { return esc(beijing_time_text(ms)); }

std::string title(const char* zh, const char* en) {
  return std::string(zh) + " <span class=\"en\">" + en + "</span>";
}

std::string none_recorded() {
  return "<p class=\"none\" data-f=\"none\">无记录 None recorded.</p>\n";
}

std::string day_label(const ReportPeriod& p, size_t d) {
  CivilDate c = civil_from_days(p.first_day + int64_t(d));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02u-%02u", c.month, c.day);
  return buf;
}

// Stacked bars per day: each layer (values, colour, label) drawn on the one below.
struct Layer {
  std::vector<uint64_t> values;
  const char* colour;
  const char* label;
};

std::string day_chart(const ReportPeriod& p, const std::vector<Layer>& layers, const char* aria) {
  const size_t days = p.days();
  const double w = 940, h = 200, left = 48, bottom = 28, top = 10;
  uint64_t max = 0;
  for (size_t d = 0; d < days; ++d) {
    uint64_t sum = 0;
    for (const auto& l : layers) sum += l.values[d];
    max = std::max(max, sum);
  }
  std::string out = "<svg role=\"img\" aria-label=\"" + std::string(aria) +
                    "\" viewBox=\"0 0 940 200\" width=\"100%\" "
                    "xmlns=\"http://www.w3.org/2000/svg\">\n";
  const double plot_w = w - left - 8, plot_h = h - bottom - top;
  char buf[512];
  // Axis and the maximum.
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#a0aec0\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e8f0\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%llu</text>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>\n",
                left, top + plot_h, left + plot_w, top + plot_h, left, top, left + plot_w, top,
                left - 4, top + 4, static_cast<unsigned long long>(max), left - 4, top + plot_h);
  out += buf;
  const double slot = plot_w / double(days ? days : 1);
  const size_t label_every = std::max<size_t>(1, (days + 11) / 12);
  const double bar_w = std::min(slot * 0.8, 40.0);
  for (size_t d = 0; d < days; ++d) {
    double x = left + slot * double(d);
    double y = top + plot_h;
    std::string tip = date_text(civil_from_days(p.first_day + int64_t(d)));
    for (const auto& l : layers) tip += ", " + std::string(l.label) + " " + num(l.values[d]);
    for (const auto& l : layers) {
      if (l.values[d] == 0 || max == 0) continue;
      double bh = plot_h * double(l.values[d]) / double(max);
      y -= bh;
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
                    "<title>%s</title></rect>",
                    x + (slot - bar_w) / 2, y, bar_w, bh, l.colour, esc(tip).c_str());
      out += buf;
    }
    if (d % label_every == 0 || d + 1 == days) {
      std::snprintf(buf, sizeof buf, "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                    x + slot / 2, h - 10, day_label(p, d).c_str());
      out += buf;
    }
    out += "\n";
  }
  out += "</svg>\n<p class=\"legend\">";
  for (const auto& l : layers) {
    out += "<span><i style=\"background:" + std::string(l.colour) + "\"></i>" + l.label + "</span>";
  }
  out += "</p>\n";
  return out;
}

// A small bar per day for a table row.
std::string sparkline(const std::vector<uint64_t>& v) {
  const double w = 140, h = 22;
  uint64_t max = 0;
  for (uint64_t x : v) max = std::max(max, x);
  std::string out =
      "<svg viewBox=\"0 0 140 22\" width=\"140\" height=\"22\" "
      "xmlns=\"http://www.w3.org/2000/svg\">";
  const double slot = w / double(v.empty() ? 1 : v.size());
  char buf[160];
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == 0 || max == 0) continue;
    double bh = std::max(1.0, (h - 2) * double(v[i]) / double(max));
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#2b6cb0\"/>",
                  slot * double(i), h - bh, std::max(0.5, slot * 0.8), bh);
    out += buf;
  }
  out += "</svg>";
  return out;
}

// Horizontal bars: one per (label, value), longest first as given.
std::string hbars(const std::vector<std::pair<std::string, uint64_t>>& rows, const char* colour,
                  const char* aria) {
  if (rows.empty()) return "";
  const double w = 940, row_h = 20, label_w = 300;
  uint64_t max = 0;
  for (const auto& r : rows) max = std::max(max, r.second);
  const double h = row_h * double(rows.size()) + 4;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "<svg role=\"img\" aria-label=\"%s\" viewBox=\"0 0 940 %.0f\" width=\"100%%\" "
                "xmlns=\"http://www.w3.org/2000/svg\">\n",
                aria, h);
  std::string out = buf;
  for (size_t i = 0; i < rows.size(); ++i) {
    const double y = row_h * double(i) + 2;
    const double bw = max ? (w - label_w - 60) * double(rows[i].second) / double(max) : 0;
    std::string label = rows[i].first;
    if (label.size() > 48) label = label.substr(0, 45) + "...";
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", label_w - 6,
                  y + 13);
    out += buf + esc(label) + "</text>";
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>"
                  "<text x=\"%.2f\" y=\"%.1f\">%llu</text>\n",
                  label_w, y + 2, bw, row_h - 6, colour, label_w + bw + 4, y + 13,
                  static_cast<unsigned long long>(rows[i].second));
    out += buf;
  }
  out += "</svg>\n";
  return out;
}

std::string counts_text(const std::map<std::string, uint64_t>& m) {
  std::string out;
  for (const auto& [k, n] : m) {
    if (!out.empty()) out += ", ";
    out += esc(k) + " " + num(n);
  }
  return out;
}

// A breakdown as a table: key, allowed, denied, records, per day.
std::string breakdown_table(const std::string& name, const char* zh, const char* en,
                            const Breakdown& b, size_t days) {
  std::string out = "<h3>" + title(zh, en) + "</h3>\n";
  if (b.empty()) return out + none_recorded();
  out += "<table data-t=\"" + name + "\"><thead><tr><th>" + title(zh, en) +
         "</th><th>允许 <span class=\"en\">Allowed</span></th><th>拒绝 <span "
         "class=\"en\">Denied</span></th><th>记录数 <span class=\"en\">Records</span></th><th>每日 "
         "<span class=\"en\">Per day</span></th></tr></thead><tbody>\n";
  auto rows = ranked(b);
  AccessRow rest;
  size_t rest_n = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const AccessRow& r = *rows[i].second;
    if (i >= kMaxHtmlRows) {
      rest.allowed += r.allowed;
      rest.denied += r.denied;
      rest.records += r.records;
      rest_n++;
      continue;
    }
    out += "<tr data-k=\"" + esc(rows[i].first) + "\"><td class=\"k\">" + key_text(rows[i].first) +
           "</td><td class=\"n\" data-f=\"allowed\">" + num(r.allowed) +
           "</td><td class=\"n\" data-f=\"denied\">" + num(r.denied) +
           "</td><td class=\"n\" data-f=\"records\">" + num(r.records) + "</td><td>" +
           sparkline(r.per_day.dense(days)) + "</td></tr>\n";
  }
  if (rest_n) {
    out += "<tr><td>其他 <span class=\"en\">Others</span> (" + num(rest_n) +
           ")</td><td class=\"n\">" + num(rest.allowed) + "</td><td class=\"n\">" +
           num(rest.denied) + "</td><td class=\"n\">" + num(rest.records) +
           "</td><td>见 JSON <span class=\"en\">see --json</span></td></tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string stat(const char* f, const char* zh, const char* en, const std::string& value) {
  return "<div><dt>" + std::string(zh) + " <span class=\"en\">" + en + "</span></dt><dd data-f=\"" +
         f + "\">" + value + "</dd></div>\n";
}

std::string principal_text(const std::string& key_id, const std::string& role,
                           const std::string& agency) {
  std::string out = "<span class=\"k\">" + esc(key_id) + "</span> (" + esc(role) + ")";
  if (!agency.empty()) out += "<br>" + esc(agency);
  return out;
}

std::string event_table(const std::vector<Event>& events, const std::string& name) {
  std::string out =
      "<table data-t=\"" + name +
      "\"><thead><tr><th>序号 <span class=\"en\">Seq</span></th><th>时间 <span "
      "class=\"en\">Time</span></th><th>操作 <span class=\"en\">Action</span></th><th>"
      "主体 <span class=\"en\">Principal</span></th><th>数据集 <span "
      "class=\"en\">Dataset</span></th><th>决定 <span class=\"en\">Decision</span></th>"
      "<th>记录数 <span class=\"en\">Records</span></th><th>说明 <span "
      "class=\"en\">Detail</span></th></tr></thead><tbody>\n";
  for (const Event& e : events) {
    out += "<tr data-k=\"" + num(e.seq) + "\"><td class=\"n\">" + num(e.seq) +
           "</td><td class=\"t\">" + when(e.time_ms) + "</td><td>" + esc(e.action) + "</td><td>" +
           principal_text(e.key_id, e.role, e.agency) + "</td><td class=\"k\">" + esc(e.dataset) +
           "</td><td>" + esc(e.decision) + "</td><td class=\"n\">" + num(e.records) + "</td><td>" +
           esc(e.detail) + "</td></tr>\n";
  }
  return out + "</tbody></table>\n";
}

void header(std::string& out, const ReportFigures& f, int64_t generated_ms) {
  const std::string period = date_text(f.period.from) + " 至 " + date_text(f.period.to);
  out +=
      "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:\">\n<title>公共数据安全审计报告 Officers' audit "
      "report " +
      esc(period) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<header>\n<h1>" +
      title("公共数据安全审计报告", "Officers' audit report (R-27)") + "</h1>\n";
  const ExportFacts& s = f.source;
  out +=
      "<table data-t=\"about\"><tbody>\n"
      "<tr><th>报告期间 <span class=\"en\">Period</span></th><td data-f=\"period\">" +
      esc(period) + " (" + num(f.period.days()) +
      " 天 days)，按北京时间 (Asia/Shanghai, UTC+08:00) 计日 <span class=\"en\">days are "
      "Beijing calendar days; every time in this report is Beijing time "
      "(北京时间)</span></td></tr>\n"
      "<tr><th>审计导出 <span class=\"en\">Audit export</span></th><td class=\"k\">" +
      esc(s.path) + "<br>来源 <span class=\"en\">origin</span> " + esc(s.origin) +
      "; 条目 <span class=\"en\">entries</span> " + num(s.first_seq) + ".." + num(s.last_seq) +
      "</td></tr>\n<tr><th>验证 <span class=\"en\">Verification</span></th><td><span "
      "class=\"ok\" data-f=\"verified\">✓ 已验证 Verified</span>: 哈希链、" +
      (s.full ? std::string("Merkle 树、") : std::string()) + num(s.checkpoints) +
      " 个签名检查点 <span class=\"en\">hash chain, " +
      (s.full ? std::string("Merkle tree, ") : std::string()) + num(s.checkpoints) +
      " signed checkpoints</span>; 签名至条目 <span class=\"en\">signed through entry</span> " +
      num(s.signed_through);
  if (s.full)
    out += "<br>根 <span class=\"en\">root</span> <span class=\"k\">" + esc(s.root_hex) + "</span>";
  if (!s.full)
    out += "<br>摘录 <span class=\"en\">an excerpt: not from entry 1, roots not recomputed</span>";
  out += "<br>守护进程密钥 <span class=\"en\">daemon key ids</span>";
  for (const auto& k : s.key_ids) out += " <span class=\"k\">" + esc(k) + "</span>";
  out += "</td></tr>\n";
  if (f.unsigned_tail || f.undecodable) {
    out += "<tr><th>未计入 <span class=\"en\">Left out</span></th><td class=\"warn\">";
    if (f.unsigned_tail) {
      out += "<span data-f=\"unsigned_tail_left_out\">" + num(f.unsigned_tail) +
             "</span> 条最后检查点之后未签名的条目 <span class=\"en\">entries after the last "
             "checkpoint (chained, not signed)</span>. ";
    }
    if (f.undecodable) {
      out += "<span data-f=\"undecodable\">" + num(f.undecodable) +
             "</span> 条无法解码的条目 <span class=\"en\">entries that do not decode</span>:";
      for (uint64_t q : f.undecodable_seqs) out += " " + num(q);
    }
    out += "</td></tr>\n";
  }
  out += "<tr><th>生成时间 <span class=\"en\">Generated</span></th><td>" + when(generated_ms) +
         " 北京时间 <span class=\"en\">Beijing time</span>; gongshu-audit report</td></tr>\n"
         "</tbody></table>\n</header>\n";
}

}  // namespace

std::string html_escape(std::string_view raw) { return html_text(raw); }

std::string report_html(const ReportFigures& f, int64_t generated_ms) {
  const size_t days = f.period.days();
  const AlertSummary as = summarize_alerts(f.alerts);
  std::string out;
  header(out, f, generated_ms);

  out +=
      "<nav><ol>"
      "<li><a href=\"#summary\">概要 Summary</a></li>"
      "<li><a href=\"#access\">数据访问 Data access</a></li>"
      "<li><a href=\"#sharing\">共享与开放 Sharing and open data</a></li>"
      "<li><a href=\"#denials\">拒绝 Denials</a></li>"
      "<li><a href=\"#alerts\">告警 Alerts</a></li>"
      "<li><a href=\"#third-parties\">第三方 Third parties</a></li>"
      "<li><a href=\"#destruction\">数据销毁 Destruction</a></li>"
      "<li><a href=\"#quality\">数据质量与异议 Quality and objections</a></li>"
      "<li><a href=\"#actions\">全部操作 All actions</a></li></ol></nav>\n";

  // Summary.
  out += "<section id=\"summary\"><h2>" + title("概要", "Summary") + "</h2>\n<dl class=\"grid\">\n";
  out += stat("in_period", "期间内条目", "Entries in period", num(f.in_period));
  out += stat("access_allowed", "允许的数据访问", "Data accesses allowed", num(f.access_allowed));
  out += stat("access_denied", "拒绝的数据访问", "Data accesses denied", num(f.access_denied));
  out += stat("access_records", "交付记录数", "Records delivered", num(f.access_records));
  if (f.withheld_reads > 0)
    out += stat("withheld_records", "已记录但未发送的记录数", "Records recorded but withheld",
                num(f.withheld_records) + " (" + num(f.withheld_reads) + ")");
  out += stat("denials", "全部拒绝", "All denials", num(f.denials));
  out += stat("alerts_raised", "告警", "Alerts raised", num(as.raised));
  out += stat("alerts_open", "未确认告警", "Alerts not acknowledged", num(as.open));
  out += stat("third_parties", "第三方公司", "Third-party companies", num(f.third_parties.size()));
  out += "</dl>\n";
  if (f.first_ms) {
    out += "<p>期间内首末条目 <span class=\"en\">First and last entry in the period</span>: " +
           when(*f.first_ms) + " — " + when(*f.last_ms) +
           " 北京时间 <span class=\"en\">Beijing "
           "time</span></p>\n";
  }
  out += "</section>\n";

  // Data access.
  out += "<section id=\"access\"><h2>" + title("数据访问", "Data access") + "</h2>\n";
  out +=
      "<p>数据访问指 read、query_subject、download、export、aggregate 操作。<span "
      "class=\"en\">Data access is the actions read, query_subject, download, export and "
      "aggregate; records are those delivered by allowed accesses.</span></p>\n";
  out += "<h3>" + title("每日访问次数", "Accesses per day") + "</h3>\n";
  out += day_chart(f.period,
                   {{f.day_allowed.dense(days), "#2b6cb0", "允许 allowed"},
                    {f.day_denied.dense(days), "#c53030", "拒绝 denied"}},
                   "每日访问次数 accesses per day");
  out += "<h3>" + title("每日交付记录数", "Records delivered per day") + "</h3>\n";
  out += day_chart(f.period, {{f.day_records.dense(days), "#2f855a", "记录 records"}},
                   "每日交付记录数 records per day");
  out += breakdown_table("by_dataset", "按数据集", "By dataset", f.by_dataset, days);
  out += breakdown_table("by_agency", "按部门", "By agency", f.by_agency, days);
  out += breakdown_table("by_role", "按角色", "By role", f.by_role, days);
  out += breakdown_table("by_purpose", "按用途", "By purpose", f.by_purpose, days);
  out += breakdown_table("by_action", "按操作", "By action", f.by_action, days);
  out += "</section>\n";

  // Sharing and open data.
  out += "<section id=\"sharing\"><h2>" + title("共享与开放", "Sharing and open data") + "</h2>\n";
  out += "<h3>" + title("按协议", "By agreement") + "</h3>\n";
  if (f.agreements.empty()) {
    out += none_recorded();
  } else {
    out +=
        "<p>行配额不写入审计日志，见 <code>gongshuctl agreement show ID</code>。<span "
        "class=\"en\">An agreement's row quota is not in the audit log: gongshuctl agreement "
        "show ID has it; refusals naming the quota are counted here.</span></p>\n";
    out +=
        "<table data-t=\"agreements\"><thead><tr><th>协议 <span class=\"en\">Agreement</span>"
        "</th><th>类型 <span class=\"en\">Kind</span></th><th>访问 <span "
        "class=\"en\">Accesses</span></th><th>拒绝 <span class=\"en\">Denied</span></th><th>"
        "记录数 <span class=\"en\">Records</span></th><th>超配额 <span class=\"en\">Over "
        "quota</span></th><th>数据集 <span class=\"en\">Datasets</span></th><th>使用方 <span "
        "class=\"en\">Users</span></th><th>每日记录 <span class=\"en\">Records per "
        "day</span></th></tr></thead><tbody>\n";
    for (const auto& [id, a] : f.agreements) {
      std::string ds, users;
      for (const auto& d : a.datasets) ds += (ds.empty() ? "" : "<br>") + esc(d);
      for (const auto& u : a.users) users += (users.empty() ? "" : "<br>") + esc(u);
      const std::string kind = a.kind == "share"  ? "共享 share"
                               : a.kind == "open" ? "开放 open"
                               : a.kind.empty()   ? "<span class=\"none\">(未知 unknown)</span>"
                                                  : esc(a.kind);
      out += "<tr data-k=\"" + esc(id) + "\"><td class=\"k\">" + esc(id) + "</td><td>" + kind +
             "</td><td class=\"n\" data-f=\"accesses\">" + num(a.accesses) +
             "</td><td class=\"n\" data-f=\"denied\">" + num(a.denied) +
             "</td><td class=\"n\" data-f=\"records\">" + num(a.records) +
             "</td><td class=\"n\" data-f=\"quota_refusals\">" + num(a.quota_refusals) +
             "</td><td class=\"k\">" + ds + "</td><td class=\"k\">" + users + "</td><td>" +
             sparkline(a.per_day.dense(days)) + "</td></tr>\n";
    }
    out += "</tbody></table>\n";
    std::vector<Event> workflow;
    for (const auto& [id, a] : f.agreements)
      workflow.insert(workflow.end(), a.workflow.begin(), a.workflow.end());
    std::sort(workflow.begin(), workflow.end(),
              [](const Event& x, const Event& y) { return x.seq < y.seq; });
    if (!workflow.empty()) {
      out += "<h3>" + title("协议流程", "Agreement workflow") + "</h3>\n";
      out += event_table(workflow, "agreement_workflow");
    }
  }
  out += breakdown_table("open_unconditional", "无条件开放数据使用（按数据集）",
                         "Unconditional open data used by the public, by dataset",
                         f.open_unconditional, days);
  out +=
      breakdown_table("by_mask", "按脱敏规则", "Allowed accesses by mask profile", f.by_mask, days);
  out += "</section>\n";

  // Denials.
  out += "<section id=\"denials\"><h2>" + title("拒绝", "Denials") + "</h2>\n";
  out +=
      "<p>所有决定为拒绝的条目 <span class=\"en\">Every entry whose decision is deny</span>: "
      "<b data-f=\"denials\">" +
      num(f.denials) + "</b></p>\n";
  if (f.denials_by_rule.empty()) {
    out += none_recorded();
  } else {
    std::vector<std::pair<std::string, uint64_t>> bars;
    for (const auto& [rule, d] : f.denials_by_rule) bars.emplace_back(rule, d.count);
    std::stable_sort(bars.begin(), bars.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    out += hbars(bars, "#c53030", "按规则的拒绝次数 denials by rule");
    out +=
        "<table data-t=\"denials_by_rule\"><thead><tr><th>规则 <span class=\"en\">Rule</span>"
        "</th><th>次数 <span class=\"en\">Count</span></th><th>操作 <span "
        "class=\"en\">Actions</span></th><th>角色 <span class=\"en\">Roles</span></th><th>"
        "最近一次 <span class=\"en\">Latest</span></th><th>每日 <span class=\"en\">Per "
        "day</span></th></tr></thead><tbody>\n";
    for (const auto& [rule, d] : f.denials_by_rule) {
      out += "<tr data-k=\"" + esc(rule) + "\"><td class=\"k\">" + key_text(rule) +
             "</td><td class=\"n\" data-f=\"count\">" + num(d.count) + "</td><td>" +
             counts_text(d.actions) + "</td><td>" + counts_text(d.roles) + "</td><td>" +
             when(d.last.time_ms) + "<br>#" + num(d.last.seq) + " " + esc(d.last.detail) +
             "</td><td>" + sparkline(d.per_day.dense(days)) + "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";

  // Alerts.
  out += "<section id=\"alerts\"><h2>" + title("告警", "Alerts") + "</h2>\n";
  if (f.alerts.empty() && f.acks_of_earlier_alerts == 0) {
    out += none_recorded();
  } else {
    out += "<dl class=\"grid\">\n";
    out += stat("alerts_raised", "告警", "Raised", num(as.raised));
    out += stat("alerts_acknowledged", "已确认", "Acknowledged", num(as.acknowledged));
    out += stat("alerts_open", "未确认", "Not acknowledged", num(as.open));
    out += stat("median_ack_delay", "确认用时中位数", "Median time to acknowledge",
                as.median_delay_ms ? duration_text(*as.median_delay_ms) : "—");
    out += stat("max_ack_delay", "最长确认用时", "Longest time to acknowledge",
                as.max_delay_ms ? duration_text(*as.max_delay_ms) : "—");
    out += stat("acks_of_earlier_alerts", "期前告警的确认", "Acks of earlier alerts",
                num(f.acks_of_earlier_alerts));
    out += "</dl>\n<p>按规则 <span class=\"en\">By rule</span>: " + counts_text(as.by_rule) +
           "<br>按级别 <span class=\"en\">By severity</span>: " + counts_text(as.by_severity) +
           "</p>\n";
    std::vector<std::pair<std::string, uint64_t>> bars;
    for (const Alert& a : f.alerts) {
      if (auto d = a.ack_delay_ms())
        bars.emplace_back(a.id, uint64_t(std::max<int64_t>(0, *d / 1000)));
    }
    if (!bars.empty()) {
      out += "<h3>" + title("确认用时（秒）", "Time to acknowledge (seconds)") + "</h3>\n";
      out += hbars(bars, "#dd6b20", "确认用时 time to acknowledge");
    }
    out +=
        "<table data-t=\"alerts\"><thead><tr><th>告警 <span class=\"en\">Alert</span></th><th>"
        "规则 · 触发主体 <span class=\"en\">Rule · raised by</span></th><th>级别 <span "
        "class=\"en\">Severity</span>"
        "</th><th>发生 <span class=\"en\">Raised</span></th><th>确认 <span "
        "class=\"en\">Acknowledged</span></th><th>用时 <span class=\"en\">Delay</span></th>"
        "<th>说明 <span class=\"en\">Text</span></th></tr></thead><tbody>\n";
    for (const Alert& a : f.alerts) {
      std::string acked = "<span class=\"warn\">未确认 not acknowledged</span>";
      if (a.acked_ms) {
        acked = when(*a.acked_ms) + "<br>" + esc(a.acked_by) +
                (a.note.empty() ? std::string() : "<br>" + esc(a.note));
      }
      auto delay = a.ack_delay_ms();
      out += "<tr data-k=\"" + esc(a.id) + "\"><td class=\"k\">" + esc(a.id) + "<br>#" +
             num(a.seq) + "</td><td>" + esc(a.rule) + "<br>" + esc(a.kind) + "<br>" +
             esc(a.principal) + "</td><td>" +
             (a.severity == "critical"  ? "<span class=\"warn\">严重 critical</span>"
              : a.severity == "warning" ? std::string("警告 warning")
                                        : esc(a.severity)) +
             "</td><td class=\"t\">" + when(a.raised_ms) + "</td><td>" + acked +
             "</td><td class=\"n\" data-f=\"ack_delay_ms\" data-v=\"" +
             (delay ? std::to_string(*delay) : std::string()) + "\">" +
             (delay ? duration_text(*delay) : std::string("—")) + "</td><td>" + esc(a.text) +
             "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";

  // Third parties.
  out += "<section id=\"third-parties\"><h2>" + title("第三方", "Third parties") + "</h2>\n";
  out +=
      "<p>带 third_party 引用的条目（第三方人员的操作）；会话指同一主体在同一北京日的操作。<span "
      "class=\"en\">Entries with a third_party reference (actions of third-party staff); a "
      "session is one principal's entries on one Beijing day.</span></p>\n";
  if (f.third_parties.empty()) {
    out += none_recorded();
  } else {
    out +=
        "<table data-t=\"third_parties\"><thead><tr><th>公司 <span class=\"en\">Company</span>"
        "</th><th>条目 <span class=\"en\">Entries</span></th><th>记录数 <span "
        "class=\"en\">Records</span></th><th>拒绝 <span class=\"en\">Denied</span></th><th>操作 "
        "<span class=\"en\">Actions</span></th><th>主体 <span class=\"en\">Principals</span>"
        "</th></tr></thead><tbody>\n";
    for (const auto& [name, c] : f.third_parties) {
      std::string who;
      for (const auto& k : c.principals) who += (who.empty() ? "" : "<br>") + esc(k);
      out += "<tr data-k=\"" + esc(name) + "\"><td>" + esc(name) +
             "</td><td class=\"n\" data-f=\"entries\">" + num(c.entries) +
             "</td><td class=\"n\" data-f=\"records\">" + num(c.records) +
             "</td><td class=\"n\" data-f=\"denied\">" + num(c.denied) + "</td><td>" +
             counts_text(c.actions) + "</td><td class=\"k\">" + who + "</td></tr>\n";
    }
    out += "</tbody></table>\n<h3>" + title("会话", "Sessions") + "</h3>\n";
    out +=
        "<table data-t=\"sessions\"><thead><tr><th>公司 <span class=\"en\">Company</span></th>"
        "<th>主体 <span class=\"en\">Principal</span></th><th>开始 <span "
        "class=\"en\">First</span></th><th>结束 <span class=\"en\">Last</span></th><th>条目 "
        "<span class=\"en\">Entries</span></th><th>记录数 <span class=\"en\">Records</span>"
        "</th><th>操作 <span class=\"en\">Actions</span></th></tr></thead><tbody>\n";
    for (const auto& [name, c] : f.third_parties) {
      for (const auto& [k, s] : c.sessions) {
        out += "<tr data-k=\"" + esc(name) + "\"><td>" + esc(name) + "</td><td>" +
               principal_text(s.key_id, s.role, s.agency) + "</td><td class=\"t\">" +
               when(s.first_ms) + "</td><td class=\"t\">" + when(s.last_ms) +
               "</td><td class=\"n\" data-f=\"entries\">" + num(s.entries) +
               "</td><td class=\"n\">" + num(s.records) + "</td><td>" + counts_text(s.actions) +
               "</td></tr>\n";
      }
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";

  // Destruction.
  out += "<section id=\"destruction\"><h2>" + title("数据销毁", "Destruction") + "</h2>\n";
  out += f.destruction.empty() ? none_recorded() : event_table(f.destruction, "destruction");
  out += "</section>\n";

  // Quality and objections.
  out += "<section id=\"quality\"><h2>" + title("数据质量与异议", "Quality and objections") +
         "</h2>\n<h3>" + title("数据汇聚质量", "Data quality at ingest") + "</h3>\n";
  if (f.quality.empty()) {
    out += none_recorded();
  } else {
    out +=
        "<p>按部门、数据集统计的汇聚批次与记录；拒收率 = 拒收记录 / (入库 + 拒收)。<span "
        "class=\"en\">Deliveries per agency and dataset; rejection rate = rejected / "
        "(accepted + rejected). A refused batch names no dataset.</span></p>\n"
        "<table data-t=\"quality\"><thead><tr><th>部门 <span class=\"en\">Agency</span></th>"
        "<th>数据集 <span class=\"en\">Dataset</span></th><th>批次 <span "
        "class=\"en\">Batches</span></th><th>入库 <span class=\"en\">Accepted</span></th><th>"
        "拒收 <span class=\"en\">Rejected</span></th><th>拒收率 <span class=\"en\">Rejection "
        "rate</span></th><th>整批拒绝 <span class=\"en\">Refused batches</span></th><th>重复 "
        "<span class=\"en\">Duplicates</span></th></tr></thead><tbody>\n";
    for (const auto& [agency, by_dataset] : f.quality) {
      for (const auto& [dataset, q] : by_dataset) {
        char rate[32] = "—";
        if (q.accepted + q.rejected) {
          std::snprintf(rate, sizeof rate, "%.2f%%",
                        100.0 * double(q.rejected) / double(q.accepted + q.rejected));
        }
        out += "<tr data-k=\"" + esc(agency + "/" + dataset) + "\"><td>" + key_text(agency) +
               "</td><td class=\"k\">" + key_text(dataset) +
               "</td><td class=\"n\" data-f=\"batches\">" + num(q.batches) +
               "</td><td class=\"n\" data-f=\"accepted\">" + num(q.accepted) +
               "</td><td class=\"n\" data-f=\"rejected\">" + num(q.rejected) +
               "</td><td class=\"n\">" + rate + "</td><td class=\"n\" data-f=\"refused\">" +
               num(q.refused) + "</td><td class=\"n\">" + num(q.duplicates) + "</td></tr>\n";
      }
    }
    out += "</tbody></table>\n";
  }
  out += "<h3>" + title("异议", "Objections") + "</h3>\n";
  if (f.objection_actions.empty()) {
    out += none_recorded();
  } else {
    const ObjectionSummary os = summarize_objections(f);
    out += "<dl class=\"grid\">\n";
    out += stat("objections_filed", "期间内提出", "Filed in the period", num(os.filed));
    out += stat("objections_answered", "已答复", "Answered", num(os.answered));
    out += stat("objections_open", "未答复", "Not answered", num(os.open));
    out += stat("objections_open_past_deadline", "逾期未答复", "Open past deadline",
                num(os.open_past_deadline));
    out += stat("objections_median_answer", "答复用时中位数", "Median time to answer",
                os.median_answer_ms ? duration_text(*os.median_answer_ms) : "—");
    out += stat("objections_answers_overdue", "期间内逾期答复", "Answered late in the period",
                num(f.objection_answers_overdue));
    out += "</dl>\n<p>期间内答复 <span class=\"en\">Answers in the period</span>: " +
           counts_text(f.objection_answers) +
           "<br>全部异议操作 <span class=\"en\">All "
           "objection actions</span>: " +
           counts_text(f.objection_actions) + "</p>\n";
    if (!f.objections.empty()) {
      out +=
          "<table data-t=\"objections\"><thead><tr><th>异议 <span class=\"en\">Objection"
          "</span></th><th>数据集 · 承办部门 <span class=\"en\">Dataset · assigned to</span>"
          "</th><th>提出 <span class=\"en\">Filed</span></th><th>期限 <span "
          "class=\"en\">Deadline</span></th><th>答复 <span class=\"en\">Answer</span></th>"
          "<th>用时 <span class=\"en\">Time</span></th></tr></thead><tbody>\n";
      for (const Objection& o : f.objections) {
        std::string answer = "<span class=\"warn\">未答复 not answered</span>";
        if (o.answered_ms) {
          answer = esc(o.answer) + "<br>" + when(*o.answered_ms) +
                   (o.answered_overdue ? "<br><span class=\"warn\">逾期 overdue</span>" : "");
        }
        auto delay = o.answer_delay_ms();
        out += "<tr data-k=\"" + esc(o.id) + "\"><td class=\"k\">" + esc(o.id) + "<br>#" +
               num(o.seq) + "</td><td class=\"k\">" + esc(o.dataset) + "<br>" +
               esc(o.assigned_agency) + "</td><td class=\"t\">" + when(o.filed_ms) + "<br>" +
               esc(o.filed_by) + "<br>" + num(o.records) + " 条记录 records</td><td class=\"t\">" +
               (o.deadline_ms ? when(*o.deadline_ms) : std::string("—")) + "</td><td>" + answer +
               "</td><td class=\"n\">" + (delay ? duration_text(*delay) : std::string("—")) +
               "</td></tr>\n";
      }
      out += "</tbody></table>\n";
    }
  }
  if (!f.consent_actions.empty()) {
    out +=
        "<p>同意 <span class=\"en\">Consent</span>: " + counts_text(f.consent_actions) + "</p>\n";
  }
  out += "</section>\n\n";

  // Every action.
  out +=
      "<section id=\"actions\"><h2>" + title("全部操作", "All actions in the period") + "</h2>\n";
  if (f.actions.empty()) {
    out += none_recorded();
  } else {
    out +=
        "<table data-t=\"actions\"><thead><tr><th>操作 <span class=\"en\">Action</span></th>"
        "<th>条目 <span class=\"en\">Entries</span></th></tr></thead><tbody>\n";
    for (const auto& [a, n] : f.actions) {
      out += "<tr data-k=\"" + esc(a) + "\"><td>" + esc(a) +
             "</td><td class=\"n\" data-f=\"count\">" + num(n) + "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";

  out +=
      "<footer>本报告仅由通过验证的审计导出生成（gongshu-audit "
      "report），只计入签名检查点覆盖的条目。"
      "<span class=\"en\">Built by gongshu-audit report from an audit export that verified; "
      "only entries covered by a signed checkpoint are counted. The same figures: "
      "gongshu-audit report --json. How to read it: docs/reports.md.</span></footer>\n"
      "</body>\n</html>\n";
  return out;
}

}  // namespace gongshu::audit_cli
