#include "tools/drill/report.h"

// Languages: the report is a signed record for officers that carries its own Chinese beside
// English (应急演练报告 Emergency drill report); it reads the same whatever the language of the
// drill that wrote it, so its text is not translated (i18n-exempt). verify_report's refusals are
// for the person at the terminal and are translated (tr()).

#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/util/encoding.h"
#include "core/util/html_text.h"
#include "core/util/i18n.h"
#include "tools/drill/bilingual.h"

namespace gongshu::drill {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kDomain = "gongshu.drill-report.v1";
constexpr std::string_view kBegin = "-----BEGIN GONGSHU DRILL SIGNATURE-----\n";  // i18n-exempt
constexpr std::string_view kEnd = "-----END GONGSHU DRILL SIGNATURE-----\n";      // i18n-exempt

std::string figure_text(double v) {
  std::ostringstream o;
  if (v == static_cast<double>(static_cast<int64_t>(v))) {
    o << static_cast<int64_t>(v);
  } else {
    o << std::fixed << std::setprecision(3) << v;
  }
  return o.str();
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string outcome_zh(const std::string& o) {
  if (o == "ok") return "通过";
  if (o == "failed") return "未通过";
  if (o == "not run") return "未执行";  // i18n-exempt
  if (o == "error") return "无法执行";
  return o;
}

}  // namespace

bool Report::passed() const {
  if (scenarios.empty()) return false;
  for (const auto& s : scenarios) {
    if (!s.passed) return false;
  }
  return true;
}

std::string iso_time(int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, int(ms % 1000));
  return out;
}

std::string report_json(const Report& r) {
  json j;
  j["format"] = "gongshu-drill-report-v1";
  j["report_id"] = r.report_id;
  j["tool"] = "gongshu-drill " + r.tool_version;
  j["target"] = r.target;
  j["started_at"] = iso_time(r.started_at_ms);
  j["operator_key_id"] = r.operator_key_id;
  j["passed"] = r.passed();
  json bins = json::object();
  for (const auto& [name, version] : r.binaries) bins[name] = version;
  j["binaries"] = bins;
  json scenarios = json::array();
  for (const auto& s : r.scenarios) {
    json sj;
    sj["name"] = s.name;
    sj["summary_zh"] = s.summary_zh;
    sj["summary_en"] = s.summary_en;
    sj["plan"] = s.plan_file;
    sj["started_at"] = iso_time(s.started_at_ms);
    sj["duration_ms"] = s.duration_ms;
    sj["passed"] = s.passed;
    if (!s.error.empty()) sj["error"] = s.error;
    json marks = json::object();
    for (const auto& [action, seq] : s.audit_marks) marks[action] = seq;
    sj["audit_marks"] = marks;
    json steps = json::array();
    for (const auto& st : s.steps) {
      json x;
      x["step"] = st.index;
      x["do"] = st.action;
      x["line"] = st.line;
      x["title"] = st.title;
      x["title_zh"] = st.title_zh;
      x["started_at"] = st.started_at_ms ? iso_time(st.started_at_ms) : "";
      x["duration_ms"] = st.duration_ms;
      x["outcome"] = st.outcome;
      json cmds = json::array();
      for (const auto& c : st.commands) {
        cmds.push_back(
            {{"command", c.command}, {"exit_code", c.exit_code}, {"duration_ms", c.duration_ms}});
      }
      x["commands"] = cmds;
      json figs = json::object();
      for (const auto& [k, v] : st.figures) figs[k] = v;
      x["figures"] = figs;
      json exps = json::array();
      for (const auto& e : st.expectations) {
        exps.push_back({{"expectation", e.text},
                        {"expectation_zh", e.text_zh},
                        {"held", e.held},
                        {"evidence", e.evidence},
                        {"evidence_zh", e.evidence_zh}});
      }
      x["expectations"] = exps;
      steps.push_back(x);
    }
    sj["steps"] = steps;
    scenarios.push_back(sj);
  }
  j["scenarios"] = scenarios;
  // Evidence is taken from processes' output: bytes that are not UTF-8 are replaced, never a
  // throw that would end the drill with no report (review L7).
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<std::string> report_text_from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
    std::ostringstream o;
    bool passed = j.at("passed").get<bool>();
    o << "应急演练报告 Emergency drill report\n"                                    // i18n-exempt
      << "报告编号 report id:   " << j.value("report_id", std::string()) << "\n"    // i18n-exempt
      << "工具 tool:            " << j.at("tool").get<std::string>() << "\n"        // i18n-exempt
      << "目标 target:          " << j.at("target").get<std::string>() << "\n"      // i18n-exempt
      << "开始 started:         " << j.at("started_at").get<std::string>() << "\n"  // i18n-exempt
      << "演练人 operator key:  " << j.at("operator_key_id").get<std::string>()     // i18n-exempt
      << "\n";                                                                      // i18n-exempt
    for (const auto& [name, v] : j.at("binaries").items()) {
      o << "版本 version:         " << name << ": " << v.get<std::string>() << "\n";  // i18n-exempt
    }
    o << "结论 result:          " << (passed ? "通过 PASSED" : "未通过 FAILED")  // i18n-exempt
      << "\n";                                                                   // i18n-exempt
    for (const auto& s : j.at("scenarios")) {
      o << "\n== 场景 scenario " << s.at("name").get<std::string>() << " — "  // i18n-exempt
        << (s.at("passed").get<bool>() ? "通过 passed" : "未通过 failed") << "\n"
        << "   " << s.at("summary_zh").get<std::string>() << "\n"
        << "   " << s.at("summary_en").get<std::string>() << "\n"
        << "   预案 plan " << s.at("plan").get<std::string>() << ", 开始 started "  // i18n-exempt
        << s.at("started_at").get<std::string>() << ", 用时 took "                  // i18n-exempt
        << s.at("duration_ms").get<uint64_t>() << " ms\n";                          // i18n-exempt
      if (s.contains("audit_marks")) {
        o << "   审计日志中的演练标记 drill marks in the target's audit log:";  // i18n-exempt
        for (const auto& [action, seq] : s.at("audit_marks").items()) {
          o << " " << action << " = 审计日志项 entry " << seq.get<uint64_t>();  // i18n-exempt
        }
        o << "\n";
      }
      if (s.contains("error")) {
        o << "   无法执行 could not run: " << s.at("error").get<std::string>()  // i18n-exempt
          << "\n";                                                              // i18n-exempt
      }
      for (const auto& st : s.at("steps")) {
        std::string outcome = st.at("outcome").get<std::string>();
        o << "\n   [" << st.at("step").get<int>() << "] " << st.at("do").get<std::string>()
          << " (第 " << st.at("line").get<int>() << " 行 line "  // i18n-exempt
          << st.at("line").get<int>()                            // i18n-exempt
          << "): " << st.at("title").get<std::string>();         // i18n-exempt
        if (!str(st, "title_zh").empty()) o << "\n       " << str(st, "title_zh");
        o << "\n       " << outcome_zh(outcome) << " " << outcome;
        if (!st.at("started_at").get<std::string>().empty()) {
          o << ", 开始 started " << st.at("started_at").get<std::string>()  // i18n-exempt
            << ", 用时 took "                                               // i18n-exempt
            << st.at("duration_ms").get<uint64_t>() << " ms";               // i18n-exempt
        }
        o << "\n";
        for (const auto& c : st.at("commands")) {
          o << "       $ " << c.at("command").get<std::string>()  // i18n-exempt
            << "   → 退出码 exit "                                // i18n-exempt
            << c.at("exit_code").get<int>() << ", " << c.at("duration_ms").get<uint64_t>()
            << " ms\n";  // i18n-exempt
        }
        for (const auto& [k, v] : st.at("figures").items()) {
          o << "       数据 figure " << figure_name(k).zh << " = "  // i18n-exempt
            << figure_text(v.get<double>())                         // i18n-exempt
            << "\n";                                                // i18n-exempt
        }
        for (const auto& e : st.at("expectations")) {
          // One line in each language, each whole: 成立/不成立, the expectation, its evidence.
          bool held = e.at("held").get<bool>();
          if (!str(e, "expectation_zh").empty()) {
            o << "       " << (held ? "✓ 成立 " : "✗ 不成立 ") << str(e, "expectation_zh")
              << "；证据：" << str(e, "evidence_zh") << "\n";  // i18n-exempt
          }
          o << "       " << (held ? "✓ held " : "✗ FAILED ")             // i18n-exempt
            << e.at("expectation").get<std::string>() << "; evidence: "  // i18n-exempt
            << e.at("evidence").get<std::string>() << "\n";
        }
      }
    }
    return o.str();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kCorrupt, std::string("drill report: ") + e.what());  // i18n-exempt
  }
}

namespace {

// Text made safe for HTML element content and attribute values (core/util/html_text.h).
std::string esc(const std::string& in) { return html_text(in); }

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;margin:2em;color:#222}"  // i18n-exempt
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}"
    "th{background:#eee}.ok{color:#060}.bad{color:#b00;font-weight:bold}"
    ".cmd{font-family:monospace;font-size:90%;white-space:pre-wrap;word-break:break-all}"
    "h2{border-top:2px solid #888;padding-top:.5em}";

}  // namespace

Result<std::string> report_html_from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    bool passed = j.at("passed").get<bool>();
    std::ostringstream o;
    o << "<!DOCTYPE html>\n<html "  // i18n-exempt
         "lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<title>应急演练报告 Emergency drill report " << esc(str(j, "report_id"))  // i18n-exempt
      << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n"             // i18n-exempt
      << "<h1>应急演练报告 Emergency drill report</h1>\n<table>\n";                 // i18n-exempt
    auto row = [&](const char* zh, const char* en, const std::string& v) {
      o << "<tr><th>" << zh << " " << en << "</th><td>" << esc(v) << "</td></tr>\n";  // i18n-exempt
    };
    row("报告编号", "report id", str(j, "report_id"));  // i18n-exempt
    row("工具", "tool", str(j, "tool"));
    row("目标", "target", str(j, "target"));
    row("开始", "started", str(j, "started_at"));
    row("演练人密钥", "operator key", str(j, "operator_key_id"));  // i18n-exempt
    for (const auto& [name, v] : j.at("binaries").items()) {
      row("版本", "version", name + ": " + (v.is_string() ? v.get<std::string>() : ""));
    }
    o << "<tr><th>结论 result</th><td class=\"" << (passed ? "ok" : "bad") << "\">"  // i18n-exempt
      << (passed ? "通过 PASSED" : "未通过 FAILED") << "</td></tr>\n</table>\n";     // i18n-exempt
    for (const auto& s : j.at("scenarios")) {
      bool sp = s.at("passed").get<bool>();
      o << "<h2>场景 scenario " << esc(str(s, "name")) << " — <span class=\""         // i18n-exempt
        << (sp ? "ok\">通过 passed" : "bad\">未通过 failed") << "</span></h2>\n"      // i18n-exempt
        << "<p>" << esc(str(s, "summary_zh")) << "<br>" << esc(str(s, "summary_en"))  // i18n-exempt
        << "</p>\n"                                                                   // i18n-exempt
        << "<p>预案 plan <code>" << esc(str(s, "plan")) << "</code>, 开始 started "   // i18n-exempt
        << esc(str(s, "started_at")) << ", 用时 took "                                // i18n-exempt
        << s.at("duration_ms").get<uint64_t>()                                        // i18n-exempt
        << " ms</p>\n";                                                               // i18n-exempt
      if (s.contains("audit_marks")) {
        o << "<p>审计日志中的演练标记 drill marks in the target's audit log:";  // i18n-exempt
        for (const auto& [action, seq] : s.at("audit_marks").items()) {
          o << " " << esc(action) << " = 审计日志项 entry " << seq.get<uint64_t>();  // i18n-exempt
        }
        o << "</p>\n";  // i18n-exempt
      }
      if (s.contains("error")) {
        o << "<p class=\"bad\">无法执行 could not run: " << esc(str(s, "error"))  // i18n-exempt
          << "</p>\n";                                                            // i18n-exempt
      }
      o << "<table>\n<tr><th>#</th><th>步骤 step</th><th>结果 outcome</th>"  // i18n-exempt
        << "<th>开始 started / 用时 took</th><th>命令 commands</th><th>数据 figures</th>"  // i18n-exempt
        << "<th>预期 expectations</th></tr>\n";  // i18n-exempt
      for (const auto& st : s.at("steps")) {
        std::string outcome = str(st, "outcome");
        o << "<tr><td>" << st.at("step").get<int>() << "</td><td><b>"                // i18n-exempt
          << esc(str(st, "do"))                                                      // i18n-exempt
          << "</b> (第 " << st.at("line").get<int>() << " 行 line "                  // i18n-exempt
          << st.at("line").get<int>() << ")<br>"                                     // i18n-exempt
          << (str(st, "title_zh").empty() ? "" : esc(str(st, "title_zh")) + "<br>")  // i18n-exempt
          << esc(str(st, "title"))                                                   // i18n-exempt
          << "</td><td class=\"" << (outcome == "ok" ? "ok" : "bad") << "\">"        // i18n-exempt
          << esc(outcome_zh(outcome) + " " + outcome) << "</td><td>"                 // i18n-exempt
          << esc(str(st, "started_at"))                                              // i18n-exempt
          << "<br>" << st.at("duration_ms").get<uint64_t>()                          // i18n-exempt
          << " ms</td><td class=\"cmd\">";                                           // i18n-exempt
        for (const auto& c : st.at("commands")) {
          o << "$ " << esc(str(c, "command")) << " → 退出码 exit "  // i18n-exempt
            << c.at("exit_code").get<int>()                         // i18n-exempt
            << ", "                                                 // i18n-exempt
            << c.at("duration_ms").get<uint64_t>() << " ms\n";      // i18n-exempt
        }
        o << "</td><td>";  // i18n-exempt
        for (const auto& [k, v] : st.at("figures").items()) {
          o << esc(figure_name(k).zh) << " = " << figure_text(v.get<double>())  // i18n-exempt
            << "<br>";                                                          // i18n-exempt
        }
        o << "</td><td>";  // i18n-exempt
        for (const auto& e : st.at("expectations")) {
          bool held = e.at("held").get<bool>();
          o << "<div class=\"" << (held ? "ok" : "bad") << "\">"        // i18n-exempt
            << (held ? "✓ 成立 held" : "✗ 不成立 FAILED") << "</div>";  // i18n-exempt
          if (!str(e, "expectation_zh").empty()) {
            o << "<div>" << esc(str(e, "expectation_zh")) << "；证据："  // i18n-exempt
              << esc(str(e, "evidence_zh")) << "</div>";                 // i18n-exempt
          }
          o << "<div>" << esc(str(e, "expectation")) << "; evidence: "  // i18n-exempt
            << esc(str(e, "evidence")) << "</div>";                     // i18n-exempt
        }
        o << "</td></tr>\n";  // i18n-exempt
      }
      o << "</table>\n";  // i18n-exempt
    }
    o << "<p>签名报告为 JSON；用 <code>gongshu-drill verify-report FILE</code> 证明其未被篡改。"  // i18n-exempt
      << "<br>The signed report is the JSON; prove it unaltered with "              // i18n-exempt
      << "<code>gongshu-drill verify-report FILE</code>.</p>\n</body>\n</html>\n";  // i18n-exempt
    return o.str();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kCorrupt, std::string("drill report: ") + e.what());  // i18n-exempt
  }
}

std::string report_html(const Report& r) {
  auto h = report_html_from_json(report_json(r));
  return h ? *h : esc(h.error().message());
}

std::string report_text(const Report& r) {
  auto t = report_text_from_json(report_json(r));
  return t ? *t : t.error().message();
}

std::string sign_report(const std::string& json_text, const crypto::IdentityKey& key) {
  crypto::Signature sig = key.sign(kDomain, as_bytes(json_text));
  std::string out = json_text;
  out += kBegin;
  out += "signer " + key.public_key().hex() + "\n";
  out += "signature " + base64_encode(ByteView(sig.data(), sig.size())) + "\n";
  out += kEnd;
  return out;
}

Result<VerifiedReport> verify_report(const std::string& bytes,
                                     const std::optional<crypto::PublicKey>& expected) {
  size_t begin = bytes.rfind(kBegin);
  if (begin == std::string::npos) {
    return fail(ErrorCode::kCorrupt, tr("not a signed drill report (no signature block)"));
  }
  std::string block = bytes.substr(begin + kBegin.size());
  std::istringstream in(block);
  std::string l1, l2, l3, rest;
  std::getline(in, l1);
  std::getline(in, l2);
  std::getline(in, l3);
  std::getline(in, rest, '\0');
  if (l1.rfind("signer ", 0) != 0 || l2.rfind("signature ", 0) != 0 || l3 + "\n" != kEnd ||
      !rest.empty()) {
    return fail(ErrorCode::kCorrupt, tr("malformed signature block"));
  }
  auto signer = crypto::PublicKey::from_hex(l1.substr(7));
  auto sig_bytes = base64_decode(l2.substr(10));
  if (!signer || !sig_bytes || sig_bytes->size() != crypto::kSignatureSize) {
    return fail(ErrorCode::kCorrupt, tr("malformed signer or signature"));
  }
  crypto::Signature sig;
  std::copy(sig_bytes->begin(), sig_bytes->end(), sig.begin());
  VerifiedReport v{bytes.substr(0, begin), *signer};
  if (!crypto::verify(*signer, kDomain, as_bytes(v.json), sig)) {
    return fail(ErrorCode::kUnauthenticated,
                tr("the signature does not verify: the report was altered after signing"));
  }
  if (expected && !(*expected == *signer)) {
    return fail(ErrorCode::kUnauthenticated,
                trf("signed by {}, not by {}", signer->key_id(), expected->key_id()));
  }
  return v;
}

}  // namespace gongshu::drill
