// gongshu-audit report on the audit export of a real gongshud run (tests/integration/platform.h:
// the daemon, gongshuctl and gongshu-agent binaries on 127.0.0.1): households delivered by an
// agent, reads by the provider, a denied read by another agency that then shares under a signed
// agreement, a denied read by an officer, a read by third-party staff that raises an alert an
// officer acknowledges. The report's JSON is held to figures this test counts
// itself from the export's frames; the HTML page is rendered in headless Chromium (the Debian
// package, which scripts/test installs: this test fails without it, it never skips): no console
// message, the figures in the rendered DOM equal the JSON, and a screenshot that is not blank.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/util/clock.h"
#include "tests/integration/platform.h"
#include "tests/tools/audit/audit_fixture.h"

namespace gongshu::audit_test {
namespace {

using nlohmann::json;
using testing::Platform;
using testing::RunResult;

constexpr int64_t kBeijingMs = 8 * 3'600'000LL;
constexpr int64_t kDay = 86'400'000LL;

std::string day_text(int64_t days) {
  CivilDate d = civil_from_days(days);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// Headless Chromium on one file with its own profile directory, bounded in time.
RunResult chromium(const std::string& bin, const std::string& profile,
                   std::vector<std::string> args, const std::string& file) {
  std::vector<std::string> argv = {"/usr/bin/timeout",
                                   "120",
                                   bin,
                                   "--headless",
                                   "--no-sandbox",  // root in CI containers has no user namespace
                                   "--disable-gpu",
                                   "--no-first-run",
                                   "--disable-extensions",
                                   "--user-data-dir=" + profile,
                                   "--enable-logging=stderr",
                                   "--v=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("file://" + file);
  return testing::run_process(argv);
}

// Chromium logs every console message of the page as "...:CONSOLE...] "text", source: ...".
std::vector<std::string> console_lines(const std::string& err) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < err.size()) {
    size_t nl = err.find('\n', pos);
    std::string line = err.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (contains(line, ":CONSOLE") || contains(line, "Uncaught")) out.push_back(line);
    pos = nl == std::string::npos ? err.size() : nl + 1;
  }
  return out;
}

struct Png {
  uint32_t width = 0, height = 0;
  size_t bytes = 0;
};

Png read_png(const std::string& path) {
  std::string b = testing::read_text(path);
  REQUIRE(b.size() > 24);
  REQUIRE(b.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  REQUIRE(b.substr(12, 4) == "IHDR");
  auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(b[at])) << 24 | uint32_t(uint8_t(b[at + 1])) << 16 |
           uint32_t(uint8_t(b[at + 2])) << 8 | uint32_t(uint8_t(b[at + 3]));
  };
  return {be32(16), be32(20), b.size()};
}

// The figures counted from the export itself: its entries up to the last checkpoint whose time
// falls within [begin, end), decoded here with protobuf.
struct Counted {
  uint64_t signed_entries = 0, in_period = 0;
  uint64_t allowed = 0, denied = 0, records = 0, denials = 0, ingested = 0;
  std::map<std::string, std::array<uint64_t, 3>> by_dataset, by_role, by_agency, by_purpose;
  std::map<std::string, uint64_t> denials_by_rule, actions, agreement_records;
  std::map<std::string, int64_t> alert_raised_ms;        // alert id -> raised, in the period
  std::map<std::string, int64_t> alert_acked_ms;         // alert id -> first ack, whole export
  std::map<std::string, std::array<uint64_t, 2>> third;  // company -> entries, records
};

std::string or_none(const std::string& s) { return s.empty() ? "(none)" : s; }

Counted count_export(const std::string& path, int64_t begin, int64_t end) {
  auto frames = read_frames(path);
  uint64_t signed_through = 0;
  for (const auto& f : frames) {
    if (f.type != 2) continue;
    auto body = audit::parse_checkpoint_note_unverified(f.data);
    REQUIRE(body);
    signed_through = body->size;
  }
  Counted c;
  for (const auto& f : frames) {
    if (f.type != 1) continue;
    auto e = audit::decode_entry(as_bytes(f.data));
    REQUIRE(e);
    if (e->seq() > signed_through) continue;
    c.signed_entries++;
    auto ref = [&](const std::string& kind) {
      for (const auto& r : e->refs())
        if (r.kind() == kind) return r.value();
      return std::string();
    };
    if (e->action() == "alert_acknowledged") c.alert_acked_ms.emplace(ref("alert"), e->time_ms());
    if (e->time_ms() < begin || e->time_ms() >= end) continue;
    c.in_period++;
    const bool deny = e->decision() == v1::DECISION_DENY;
    c.actions[e->action()]++;
    if (deny) {
      c.denials++;
      c.denials_by_rule[or_none(e->policy_rule())]++;
    }
    if (e->action() == "ingest") c.ingested += e->record_count();
    if (e->action() == "alert_raised") c.alert_raised_ms[ref("alert")] = e->time_ms();
    if (!ref("third_party").empty()) {
      auto& t = c.third[ref("third_party")];
      t[0]++;
      t[1] += deny ? 0 : e->record_count();
    }
    static const std::set<std::string> kAccess = {"read", "query_subject", "download", "export",
                                                  "aggregate"};
    if (!kAccess.count(e->action())) continue;
    const uint64_t rows = deny ? 0 : e->record_count();
    (deny ? c.denied : c.allowed)++;
    c.records += rows;
    auto add = [&](auto& m, const std::string& k) {
      auto& v = m[or_none(k)];
      v[deny ? 1 : 0]++;
      v[2] += rows;
    };
    add(c.by_dataset, e->dataset());
    add(c.by_role, e->principal().role());
    add(c.by_agency, e->principal().agency());
    add(c.by_purpose, e->purpose());
    for (const auto& r : e->refs())
      if (r.kind() == "agreement" && !deny) c.agreement_records[r.value()] += rows;
  }
  return c;
}

void check_breakdown(const json& rows, const std::map<std::string, std::array<uint64_t, 3>>& m,
                     const std::string& name) {
  INFO(name << ": " << rows.dump());
  REQUIRE(rows.size() == m.size());
  for (const auto& row : rows) {
    auto it = m.find(row["key"].get<std::string>());
    REQUIRE(it != m.end());
    CHECK(row["allowed"] == it->second[0]);
    CHECK(row["denied"] == it->second[1]);
    CHECK(row["records"] == it->second[2]);
  }
}

// The text of the element carrying data-f="name" inside the rendered DOM (first match after
// `after`), or nullopt.
std::optional<std::string> dom_figure(const std::string& dom, const std::string& name,
                                      size_t after = 0) {
  const std::string marker = "data-f=\"" + name + "\">";
  size_t at = dom.find(marker, after);
  if (at == std::string::npos) return std::nullopt;
  at += marker.size();
  return dom.substr(at, dom.find('<', at) - at);
}

TEST_CASE("gongshu-audit report on a real gongshud's export, rendered in headless Chromium") {
  const std::string chrome = find_chromium();
  if (chrome.empty()) {
    FAIL(
        "chromium is not installed: scripts/test installs it (scripts/lib/common.sh lists it); "
        "by hand: apt-get install chromium");
  }
  Platform p;
  // The platform's daemon runs without an access policy; restart it with the shipped one.
  const std::string config = p.dir.file("gongshud.toml");
  testing::write_text(config, testing::read_text(config) + "[policy]\ndir = \"" +
                                  std::string(GONGSHU_SOURCE_DIR) + "/policies/policy\"\n");
  p.kill_daemon(SIGTERM);
  p.start_daemon();
  const std::string agent = p.enroll_agent("sjz-gongan", "gongan");
  testing::submit_households(p, agent, 0, 30);
  auto running = p.run_agent(agent);
  testing::require_households_once(p, 30, std::chrono::seconds(60));

  auto principal = [&](const std::string& name, const std::string& role, const std::string& agency,
                       const std::vector<std::string>& more = {}) {
    const std::string key = p.dir.file(name + ".key");
    auto kg = p.ctl({"keygen", "--kind", role, "--out", key, "--json"});
    const std::string pub = json::parse(kg.out)["public_key"];
    std::vector<std::string> args = {"principal", "add", "--role",       role,
                                     "--name",    name,  "--public-key", pub};
    if (!agency.empty()) {
      args.push_back("--agency");
      args.push_back(agency);
    }
    args.insert(args.end(), more.begin(), more.end());
    p.ctl(args);
    return key;
  };
  const std::string gongan = principal("gongan", "agency", "sjz-gongan");
  const std::string shuiwu = principal("shuiwu", "agency", "sjz-shuiwu");
  const std::string officer = principal("officer", "officer", "");
  const std::string company = "某某信息技术有限公司";
  const std::string contractor =
      principal("contractor", "agency", "sjz-gongan",
                {"--third-party", "--company", company, "--contract", "HT-2026-017"});

  // The provider reads its own data under two purposes.
  p.ctl({"query", testing::kHouseholds, "--purpose", "household-check", "--key", gongan});
  p.ctl({"query", testing::kHouseholds, "--purpose", "household-check", "--limit", "5", "--key",
         gongan});
  p.ctl({"query", testing::kHouseholds, "--purpose", "statistics", "--key", gongan});
  // Another agency is denied, files a sharing agreement, then reads under it.
  CHECK(p.ctl({"query", testing::kHouseholds, "--purpose", "tax-household-check", "--key", shuiwu},
              true)
            .exit_code != 0);
  const std::string year_later =
      day_text((SystemClock::instance().now_ms() + kBeijingMs) / kDay + 365);
  auto applied = p.ctl({"agreement", "apply", "--kind", "share", "--dataset", testing::kHouseholds,
                        "--purpose", "tax-household-check", "--to", year_later, "--measures",
                        "内网专机处理", "--name", "税务局", "--key", shuiwu, "--json"});
  const std::string agreement = json::parse(applied.out)["id"];
  p.ctl({"agreement", "review", agreement, "--approve", "--note", "用途明确", "--key", gongan});
  p.ctl({"agreement", "approve", agreement, "--approve"});
  p.ctl({"agreement", "sign", agreement, "--yes", "--key", shuiwu});
  p.ctl({"query", testing::kHouseholds, "--purpose", "tax-household-check", "--key", shuiwu});
  // An officer reads no data.
  CHECK(p.ctl({"query", testing::kHouseholds, "--purpose", "inspection", "--key", officer}, true)
            .exit_code != 0);

  // Third-party staff read the police bureau's data: audited with their company, and alerted;
  // an officer acknowledges the alert.
  p.ctl({"query", testing::kHouseholds, "--purpose", "system-maintenance", "--limit", "3", "--key",
         contractor});
  auto alerts = json::parse(p.ctl({"alert", "list", "--open", "--json", "--key", officer}).out);
  std::string alert_id;
  for (const auto& a : alerts)
    if (a["rule"] == "third-party-action") alert_id = a["id"];
  REQUIRE(!alert_id.empty());
  p.ctl({"alert", "ack", alert_id, "--note", "维护合同内的操作 within the maintenance contract",
         "--key", officer});

  const std::string path = p.dir.file("audit.gsa");
  p.ctl({"audit", "export", "--out", path});

  // Today in Beijing, with a day either side (the run may cross midnight).
  const int64_t today = (SystemClock::instance().now_ms() + kBeijingMs) / kDay;
  const std::string from = day_text(today - 1), to = day_text(today + 1);
  const int64_t begin = (today - 1) * kDay - kBeijingMs, end = (today + 2) * kDay - kBeijingMs;
  const std::string html = p.dir.file("report.html");
  auto r = testing::run_process({kAudit, "report", path, "--key", p.daemon_key(), "--from", from,
                                 "--to", to, "--out", html, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  const Counted c = count_export(path, begin, end);

  // The run did what the figures should show.
  CHECK(c.allowed >= 4);
  CHECK(c.denied >= 2);
  CHECK(c.agreement_records.count(agreement));
  CHECK(c.by_role.size() >= 2);
  CHECK(c.ingested == 30);

  CHECK(j["period"]["from"] == from);
  CHECK(j["period"]["to"] == to);
  CHECK(j["export"]["verified"] == true);
  CHECK(j["entries"]["signed"] == c.signed_entries);
  CHECK(j["entries"]["in_period"] == c.in_period);
  CHECK(j["access"]["allowed"] == c.allowed);
  CHECK(j["access"]["denied"] == c.denied);
  CHECK(j["access"]["records"] == c.records);
  CHECK(j["denials"]["total"] == c.denials);
  check_breakdown(j["access"]["by_dataset"], c.by_dataset, "by_dataset");
  check_breakdown(j["access"]["by_role"], c.by_role, "by_role");
  check_breakdown(j["access"]["by_agency"], c.by_agency, "by_agency");
  check_breakdown(j["access"]["by_purpose"], c.by_purpose, "by_purpose");
  std::map<std::string, uint64_t> actions = j["actions"];
  CHECK(actions == c.actions);
  std::map<std::string, uint64_t> rules;
  for (const auto& d : j["denials"]["by_rule"]) rules[d["rule"]] = d["count"];
  CHECK(rules == c.denials_by_rule);
  CHECK(rules.count("officer-reads-no-data") == 1);
  bool found = false;
  for (const auto& a : j["sharing"]["agreements"]) {
    if (a["id"] != agreement) continue;
    found = true;
    CHECK(a["kind"] == "share");
    CHECK(a["records"] == c.agreement_records.at(agreement));
    CHECK(a["workflow"].size() >= 4);  // apply, review, approve, sign
  }
  CHECK(found);
  uint64_t per_day = 0;
  for (const auto& n : j["access"]["per_day"]["allowed"]) per_day += n.get<uint64_t>();
  CHECK(per_day == c.allowed);
  CHECK(j["objections"]["recorded"] == false);

  // Alerts: the same ones, with the delay between their raised and acknowledged entries.
  REQUIRE(c.alert_raised_ms.count(alert_id));
  CHECK(j["alerts"]["raised"] == c.alert_raised_ms.size());
  for (const auto& a : j["alerts"]["items"]) {
    const std::string id = a["id"];
    INFO(id);
    REQUIRE(c.alert_raised_ms.count(id));
    auto acked = c.alert_acked_ms.find(id);
    if (acked == c.alert_acked_ms.end()) {
      CHECK(a["ack_delay_ms"].is_null());
    } else {
      CHECK(a["ack_delay_ms"] == acked->second - c.alert_raised_ms.at(id));
    }
  }
  CHECK(j["alerts"]["open"] == 0);
  // Third parties: the company's entries and records, and a session of its staff.
  REQUIRE(c.third.count(company));
  REQUIRE(j["third_parties"].size() == c.third.size());
  for (const auto& t : j["third_parties"]) {
    const std::string name = t["company"];
    CHECK(t["entries"] == c.third.at(name)[0]);
    CHECK(t["records"] == c.third.at(name)[1]);
  }
  CHECK(j["third_parties"][0]["sessions"].size() >= 1);
  uint64_t accepted = 0;
  for (const auto& q : j["quality"]["ingest"]) {
    if (q["agency"] == "sjz-gongan" && q["dataset"] == testing::kHouseholds)
      accepted += q["accepted"].get<uint64_t>();
  }
  CHECK(accepted == c.ingested);

  // Chromium: first prove the console check sees an error, then render the report.
  testing::TempDir profile;
  const std::string probe = p.dir.file("probe.html");
  testing::write_text(probe,
                      "<!DOCTYPE html><body><script>console.error('probe-error');"
                      "undefined_function();</script></body>");
  auto pr = chromium(chrome, profile.path(), {"--dump-dom"}, probe);
  INFO(pr.err);
  REQUIRE(pr.exit_code == 0);
  auto probe_lines = console_lines(pr.err);
  CHECK(probe_lines.size() >= 2);

  auto dom = chromium(chrome, profile.path(), {"--dump-dom"}, html);
  INFO(dom.err);
  REQUIRE(dom.exit_code == 0);
  CHECK(console_lines(dom.err).empty());
  CHECK(contains(dom.out, "公共数据安全审计报告"));
  CHECK(contains(dom.out, "Asia/Shanghai"));
  CHECK(!contains(dom.out, "<script"));
  CHECK(dom_figure(dom.out, "access_allowed") == std::to_string(c.allowed));
  CHECK(dom_figure(dom.out, "access_denied") == std::to_string(c.denied));
  CHECK(dom_figure(dom.out, "access_records") == std::to_string(c.records));
  CHECK(dom_figure(dom.out, "denials") == std::to_string(c.denials));
  CHECK(dom_figure(dom.out, "in_period") == std::to_string(c.in_period));
  for (const auto& [ds, v] : c.by_dataset) {
    INFO(ds);
    size_t table = dom.out.find("data-t=\"by_dataset\"");
    REQUIRE(table != std::string::npos);
    size_t row = dom.out.find("data-k=\"" + ds + "\"", table);
    REQUIRE(row != std::string::npos);
    CHECK(dom_figure(dom.out, "allowed", row) == std::to_string(v[0]));
    CHECK(dom_figure(dom.out, "denied", row) == std::to_string(v[1]));
    CHECK(dom_figure(dom.out, "records", row) == std::to_string(v[2]));
  }
  size_t rule_table = dom.out.find("data-t=\"denials_by_rule\"");
  REQUIRE(rule_table != std::string::npos);
  for (const auto& [rule, n] : c.denials_by_rule) {
    size_t row = dom.out.find("data-k=\"" + rule + "\"", rule_table);
    REQUIRE(row != std::string::npos);
    CHECK(dom_figure(dom.out, "count", row) == std::to_string(n));
  }
  CHECK(dom_figure(dom.out, "none").has_value());  // objections: none recorded
  CHECK(dom_figure(dom.out, "alerts_raised") == std::to_string(c.alert_raised_ms.size()));
  size_t tp_table = dom.out.find("data-t=\"third_parties\"");
  REQUIRE(tp_table != std::string::npos);
  size_t tp_row = dom.out.find("data-k=\"" + company + "\"", tp_table);
  REQUIRE(tp_row != std::string::npos);
  CHECK(dom_figure(dom.out, "entries", tp_row) == std::to_string(c.third.at(company)[0]));

  // A screenshot of the report, against one of an empty page of the same size.
  const std::string shot = p.dir.file("report.png"), blank_shot = p.dir.file("blank.png");
  const std::string blank = p.dir.file("blank.html");
  testing::write_text(blank, "<!DOCTYPE html><html><body></body></html>");
  auto s1 =
      chromium(chrome, profile.path(),
               {"--hide-scrollbars", "--window-size=1100,1600", "--screenshot=" + shot}, html);
  INFO(s1.err);
  REQUIRE(s1.exit_code == 0);
  auto s2 = chromium(chrome, profile.path(),
                     {"--hide-scrollbars", "--window-size=1100,1600", "--screenshot=" + blank_shot},
                     blank);
  REQUIRE(s2.exit_code == 0);
  CHECK(console_lines(s1.err).empty());
  const Png report_png = read_png(shot), blank_png = read_png(blank_shot);
  CHECK(report_png.width == 1100);
  CHECK(report_png.height == 1600);
  INFO("report " << report_png.bytes << " bytes, blank " << blank_png.bytes << " bytes");
  CHECK(report_png.bytes > 5 * blank_png.bytes);
  // Printed (the print style sheet, A4): a PDF of several pages.
  const std::string pdf = p.dir.file("report.pdf");
  auto s3 =
      chromium(chrome, profile.path(), {"--no-pdf-header-footer", "--print-to-pdf=" + pdf}, html);
  INFO(s3.err);
  REQUIRE(s3.exit_code == 0);
  CHECK(console_lines(s3.err).empty());
  const std::string pdf_bytes = testing::read_text(pdf);
  CHECK(pdf_bytes.substr(0, 5) == "%PDF-");
  std::smatch pages;
  REQUIRE(std::regex_search(pdf_bytes, pages, std::regex("/Count ([0-9]+)")));
  CHECK(std::stoi(pages[1]) >= 2);
  // To look at them: GONGSHU_KEEP_REPORT=DIR keeps the page, its JSON and the screenshot.
  if (const char* keep = std::getenv("GONGSHU_KEEP_REPORT")) {
    std::filesystem::copy_file(html, std::string(keep) + "/report.html",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(shot, std::string(keep) + "/report.png",
                               std::filesystem::copy_options::overwrite_existing);
    testing::write_text(std::string(keep) + "/report.json", r.out);
  }
}

}  // namespace
}  // namespace gongshu::audit_test
