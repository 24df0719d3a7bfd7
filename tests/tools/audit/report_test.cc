// The officers' report (tools/audit/report.h): the figures from crafted entries, the period in
// Beijing time, the rendering's escaping; and gongshu-audit report through the real binary on a
// real log (AuditLog in LMDB, exported) holding the entries the alerts, third-party and
// destruction work writes: figures, refusal of an export that does not verify, unsigned tails.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/audit/export_log.h"
#include "core/audit/log.h"
#include "core/store/env.h"
#include "tests/tools/audit/audit_fixture.h"
#include "tools/audit/common.h"
#include "tools/audit/report.h"
#include "tools/audit/report_render.h"

namespace gongshu::audit_test {
namespace {

using audit_cli::ReportBuilder;
using audit_cli::ReportFigures;
using audit_cli::ReportPeriod;
using nlohmann::json;

// 2026-03-02 00:00 Beijing time = 2026-03-01T16:00:00Z.
const int64_t kMar2 =
    days_from_civil({2026, 3, 2}) * audit_cli::kDayMs - audit_cli::kBeijingOffsetMs;
constexpr int64_t kHour = 3'600'000;

ReportPeriod march_2_to_4() {
  auto p = audit_cli::parse_period("2026-03-02", "2026-03-04");
  REQUIRE(p);
  return *p;
}

// Crafted entries are written as aggregates that name only the leading fields they need.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct E {  // a crafted entry
  int64_t time_ms;
  std::string action;
  std::string role = "agency";
  std::string agency = "sjz-gongan";
  std::string dataset;
  std::string purpose;
  std::string rule;
  v1::Decision decision = v1::DECISION_NONE;
  uint64_t records = 0;
  std::vector<std::pair<std::string, std::string>> refs;
  std::string detail;
  std::string key_id = "0123456789abcdef";
};

v1::AuditEntry entry(const E& x, uint64_t seq = 0) {
  v1::AuditEntry e;
  e.set_seq(seq);
  e.set_time_ms(x.time_ms);
  e.mutable_principal()->set_key_id(x.key_id);
  e.mutable_principal()->set_role(x.role);
  e.mutable_principal()->set_agency(x.agency);
  e.set_action(x.action);
  e.set_dataset(x.dataset);
  e.set_purpose(x.purpose);
  e.set_policy_rule(x.rule);
  e.set_decision(x.decision);
  e.set_record_count(x.records);
  for (const auto& [k, v] : x.refs) {
    auto* r = e.add_refs();
    r->set_kind(k);
    r->set_value(v);
  }
  e.set_detail(x.detail);
  return e;
}

// Feeds the entries with seq 1.. and a checkpoint after the first `signed_n` of them.
ReportFigures build(const std::vector<E>& entries, size_t signed_n = SIZE_MAX) {
  ReportBuilder b(march_2_to_4());
  for (size_t i = 0; i < entries.size(); ++i) {
    b.add(i + 1, entry(entries[i], i + 1));
  }
  b.checkpoint(std::min(signed_n, entries.size()));
  return std::move(b).finish({});
}

TEST_CASE("report period: Beijing calendar days, checked") {
  auto p = march_2_to_4();
  CHECK(p.begin_ms == kMar2);
  CHECK(audit_cli::format_time_ms(p.begin_ms) == "2026-03-01T16:00:00.000Z");
  CHECK(audit_cli::format_time_ms(p.end_ms) == "2026-03-04T16:00:00.000Z");
  CHECK(p.days() == 3);
  CHECK(!p.contains(kMar2 - 1));
  CHECK(p.contains(kMar2));
  CHECK(p.day_index(kMar2 + 24 * kHour - 1) == 0);
  CHECK(p.day_index(kMar2 + 24 * kHour) == 1);
  CHECK(!p.contains(kMar2 + 72 * kHour));
  CHECK(p.contains(kMar2 + 72 * kHour - 1));

  auto one = audit_cli::parse_period("2026-12-31", "2026-12-31");
  REQUIRE(one);
  CHECK(one->days() == 1);
  auto leap = audit_cli::parse_period("2028-01-01", "2028-12-31");
  REQUIRE(leap);
  CHECK(leap->days() == 366);

  for (auto [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"2026-3-02", "2026-03-04"},
                                                        {"2026-02-30", "2026-03-04"},
                                                        {"2026-03-02", "2026-03-04T00:00"},
                                                        {"２026-03-02", "2026-03-04"},
                                                        {"2026-03-05", "2026-03-04"},
                                                        {"2026-01-01", "2027-01-02"}}) {
    INFO(from << " " << to);
    auto bad = audit_cli::parse_period(from, to);
    REQUIRE(!bad);
    CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
  }
  CHECK(contains(audit_cli::parse_period("2026-03-05", "2026-03-04").error().message(),
                 "before --from"));

  CHECK(audit_cli::beijing_time_text(kMar2) == "2026-03-02 00:00:00");
  CHECK(audit_cli::beijing_time_text(kMar2 - 1) == "2026-03-01 23:59:59");
  CHECK(audit_cli::beijing_time_text(-1) == "1970-01-01 07:59:59");
  CHECK(audit_cli::date_text(audit_cli::beijing_date(kMar2 - 1)) == "2026-03-01");
}

TEST_CASE("report: day series stay sparse and sum out-of-order days") {
  audit_cli::DaySeries s;
  s.add(2, 1);
  s.add(0, 5);
  s.add(2, 3);
  s.add(1, 0);
  s.add(0, 1);
  CHECK(s.at(0) == 6);
  CHECK(s.at(1) == 0);
  CHECK(s.at(2) == 4);
  CHECK(s.at(7) == 0);
  CHECK(s.dense(4) == std::vector<uint64_t>{6, 0, 4, 0});
}

TEST_CASE("report: data access per dataset, agency, role, purpose and day") {
  const int64_t d0 = kMar2 + 10 * kHour, d2 = kMar2 + 48 * kHour + 5;
  std::vector<E> es = {
      // Before the period: 23:59:59.999 Beijing time on 2026-03-01.
      {kMar2 - 1, "read", "agency", "sjz-gongan", "population.household", "own", "provider-own",
       v1::DECISION_ALLOW, 7},
      {d0,
       "read",
       "agency",
       "sjz-gongan",
       "population.household",
       "own",
       "provider-own",
       v1::DECISION_ALLOW,
       5,
       {{"mask", "provider-own"}}},
      {d0 + 1,
       "query_subject",
       "agency",
       "sjz-shuiwu",
       "population.household",
       "tax",
       "share-with-agreement",
       v1::DECISION_ALLOW,
       1,
       {{"agreement", "agr-1"}, {"mask", "share-masked"}}},
      {d0 + 2,
       "read",
       "officer",
       "",
       "population.household",
       "",
       "officer-reads-no-data",
       v1::DECISION_DENY,
       0,
       {},
       "officers read no data"},
      {d2,
       "download",
       "public",
       "",
       "legal_person.registration",
       "",
       "open-unconditional",
       v1::DECISION_ALLOW,
       40,
       {{"mask", "open-anonymised"}}},
      {d2 + 1, "aggregate", "licensed", "", "population.household", "stats", "licensed-aggregate",
       v1::DECISION_ALLOW, 3},
      // Not data access: counted as actions, not as accesses.
      {d2 + 2, "catalog_read", "operator", "", "population.household"},
      {d2 + 3, "ingest", "agent", "sjz-gongan", "population.household", "", "", v1::DECISION_NONE,
       1000},
      // At the period's end (exclusive): 2026-03-05 00:00 Beijing time.
      {kMar2 + 72 * kHour, "read", "agency", "sjz-gongan", "population.household", "own", "",
       v1::DECISION_ALLOW, 9},
  };
  ReportFigures f = build(es);
  CHECK(f.entries_read == 9);
  CHECK(f.in_period == 7);
  CHECK(f.unsigned_tail == 0);
  CHECK(f.access_allowed == 4);
  CHECK(f.access_denied == 1);
  CHECK(f.access_records == 5 + 1 + 40 + 3);
  CHECK(f.day_allowed.dense(3) == std::vector<uint64_t>{2, 0, 2});
  CHECK(f.day_denied.dense(3) == std::vector<uint64_t>{1, 0, 0});
  CHECK(f.day_records.dense(3) == std::vector<uint64_t>{6, 0, 43});
  REQUIRE(f.by_dataset.count("population.household"));
  const auto& hh = f.by_dataset.at("population.household");
  CHECK(hh.allowed == 3);
  CHECK(hh.denied == 1);
  CHECK(hh.records == 9);
  CHECK(hh.per_day.dense(3) == std::vector<uint64_t>{3, 0, 1});
  CHECK(f.by_dataset.at("legal_person.registration").records == 40);
  CHECK(f.by_agency.at("sjz-gongan").allowed == 1);
  CHECK(f.by_agency.at("sjz-shuiwu").allowed == 1);
  CHECK(f.by_agency.at("(none)").total() == 3);  // officer, public, licensed
  CHECK(f.by_role.at("officer").denied == 1);
  CHECK(f.by_role.at("public").records == 40);
  CHECK(f.by_purpose.at("(none)").total() == 2);
  CHECK(f.by_purpose.at("tax").allowed == 1);
  CHECK(f.by_action.at("read").total() == 2);
  CHECK(f.by_mask.at("open-anonymised").records == 40);
  CHECK(f.by_mask.at("(none)").allowed == 1);  // the aggregate named no mask
  CHECK(f.open_unconditional.size() == 1);
  CHECK(f.open_unconditional.at("legal_person.registration").allowed == 1);
  CHECK(f.actions.at("catalog_read") == 1);
  CHECK(f.actions.at("ingest") == 1);
  CHECK(f.actions.at("read") == 2);
  CHECK(f.denials == 1);
  REQUIRE(f.denials_by_rule.count("officer-reads-no-data"));
  CHECK(f.denials_by_rule.at("officer-reads-no-data").roles.at("officer") == 1);
  CHECK(f.denials_by_rule.at("officer-reads-no-data").last.detail == "officers read no data");
  CHECK(f.agreements.at("agr-1").records == 1);
  CHECK(*f.first_ms == d0);
  CHECK(*f.last_ms == d2 + 3);
  // Ranked by total accesses, most first.
  auto r = audit_cli::ranked(f.by_dataset);
  REQUIRE(r.size() == 2);
  CHECK(r[0].first == "population.household");
}

// Review M3b: a leader that withheld an allowed read's answer (sync set did not confirm) pairs
// its entry with a read_withheld entry naming it by seq; those records were never delivered.
// A lookup makes an entry per dataset; its read_withheld names each of them (review x M3b A).
TEST_CASE("report: a withheld lookup's entries all come out, the read counted once") {
  const int64_t d0 = kMar2 + 10 * kHour;
  std::vector<E> es = {
      {d0, "query_subject", "agency", "sjz-gongan", "population.household", "verify",
       "provider-own", v1::DECISION_ALLOW, 1},
      {d0, "query_subject", "agency", "sjz-gongan", "population.person", "verify", "provider-own",
       v1::DECISION_ALLOW, 3},
      {d0 + 1, "read", "agency", "sjz-gongan", "population.household", "own", "provider-own",
       v1::DECISION_ALLOW, 5},
      {d0 + 2,
       "read_withheld",
       "agency",
       "sjz-gongan",
       "",
       "",
       "",
       v1::DECISION_NONE,
       0,
       {{"withheld_entry", "1"}, {"withheld_entry", "2"}, {"write_set", "9"}}},
  };
  ReportFigures f = build(es);
  CHECK(f.access_records == 5);  // 9 before
  CHECK(f.withheld_reads == 1);
  CHECK(f.withheld_records == 4);
  CHECK(f.by_dataset["population.person"].records == 0);
  CHECK(f.by_dataset["population.household"].records == 5);
}

TEST_CASE("report: a withheld read's records are not counted as delivered") {
  const int64_t d0 = kMar2 + 10 * kHour;
  std::vector<E> es = {
      {d0,
       "query_subject",
       "agency",
       "sjz-shichang",
       "population.household",
       "market",
       "share-with-agreement",
       v1::DECISION_ALLOW,
       2,
       {{"agreement", "agr-1"}, {"mask", "share-masked"}, {"third_party", "Acme"}}},
      {d0 + 1, "read", "agency", "sjz-gongan", "population.household", "own", "provider-own",
       v1::DECISION_ALLOW, 5},
      // seq 3: the first one's answer withheld; seq 4 names it again, seq 5 an unknown entry.
      {d0 + 2,
       "read_withheld",
       "agency",
       "sjz-shichang",
       "",
       "",
       "",
       v1::DECISION_NONE,
       0,
       {{"withheld_entry", "1"}, {"write_set", "7"}, {"rows_returned", "agr-1:2"}}},
      {d0 + 3,
       "read_withheld",
       "agency",
       "sjz-shichang",
       "",
       "",
       "",
       v1::DECISION_NONE,
       0,
       {{"withheld_entry", "1"}}},
      {d0 + 4,
       "read_withheld",
       "agency",
       "sjz-shichang",
       "",
       "",
       "",
       v1::DECISION_NONE,
       0,
       {{"withheld_entry", "99"}}},
  };
  ReportFigures f = build(es);
  CHECK(f.access_allowed == 2);  // it was allowed and recorded: still an access
  CHECK(f.access_records == 5);  // 7 before: the withheld 2 were counted as delivered
  CHECK(f.withheld_reads == 1);
  CHECK(f.withheld_records == 2);
  CHECK(f.day_records.dense(3) == std::vector<uint64_t>{5, 0, 0});
  CHECK(f.by_dataset["population.household"].records == 5);
  CHECK(f.by_agency["sjz-shichang"].records == 0);
  CHECK(f.by_agency["sjz-shichang"].allowed == 1);
  CHECK(f.by_agency["sjz-gongan"].records == 5);
  CHECK(f.by_role["agency"].records == 5);
  CHECK(f.by_purpose["market"].records == 0);
  CHECK(f.by_action["query_subject"].records == 0);
  CHECK(f.by_mask["share-masked"].records == 0);
  CHECK(f.agreements["agr-1"].records == 0);
  CHECK(f.agreements["agr-1"].accesses == 1);
  CHECK(f.agreements["agr-1"].per_day.dense(3) == std::vector<uint64_t>{0, 0, 0});
  CHECK(f.third_parties["Acme"].records == 0);
  REQUIRE(f.third_parties["Acme"].sessions.size() == 1);
  CHECK(f.third_parties["Acme"].sessions.begin()->second.records == 0);
  const json j = json::parse(audit_cli::report_json(f, kMar2));
  CHECK(j["access"]["records"] == 5);
  CHECK(j["access"]["withheld_reads"] == 1);
  CHECK(j["access"]["withheld_records"] == 2);
  const std::string html = audit_cli::report_html(f, kMar2);
  CHECK(html.find("withheld_records") != std::string::npos);
}

TEST_CASE("report: only entries a checkpoint covers; undecodable entries are named") {
  std::vector<E> es;
  for (int i = 0; i < 10; ++i) {
    es.push_back({kMar2 + i, "read", "agency", "sjz-gongan", "population.household", "own", "",
                  v1::DECISION_ALLOW, 1});
  }
  ReportBuilder b(march_2_to_4());
  for (size_t i = 0; i < 4; ++i) {
    b.add(i + 1, entry(es[i], i + 1));
  }
  b.add(5, std::nullopt);  // bytes that do not decode
  b.checkpoint(5);
  for (size_t i = 5; i < 10; ++i) {
    b.add(i + 1, entry(es[i], i + 1));
  }
  b.checkpoint(8);
  ReportFigures f = std::move(b).finish({});
  CHECK(f.entries_read == 8);
  CHECK(f.undecodable == 1);
  CHECK(f.undecodable_seqs == std::vector<uint64_t>{5});
  CHECK(f.access_allowed == 7);
  CHECK(f.unsigned_tail == 2);
}

TEST_CASE("report: agreements, their kind, rows and quota refusals") {
  const int64_t t = kMar2 + kHour;
  std::vector<E> es = {
      // Applied for before the period: its kind still comes from here.
      {kMar2 - 5 * kHour,
       "agreement_apply",
       "agency",
       "sjz-shuiwu",
       "population.household",
       "tax",
       "",
       v1::DECISION_ALLOW,
       0,
       {{"agreement", "agr-s"}, {"kind", "share"}}},
      {t,
       "agreement_sign",
       "agency",
       "sjz-shuiwu",
       "population.household",
       "tax",
       "",
       v1::DECISION_ALLOW,
       0,
       {{"agreement", "agr-s"}},
       "security commitment signed"},
      {t + 1,
       "read",
       "agency",
       "sjz-shuiwu",
       "population.household",
       "tax",
       "share",
       v1::DECISION_ALLOW,
       12,
       {{"agreement", "agr-s"}}},
      {t + 2,
       "read",
       "agency",
       "sjz-shuiwu",
       "population.household",
       "tax",
       "share",
       v1::DECISION_DENY,
       0,
       {{"agreement", "agr-s"}},
       "agreement agr-s: the answer would exceed its row quota"},
      {t + 3,
       "query_subject",
       "applicant",
       "",
       "credit.penalty",
       "research",
       "open-cond",
       v1::DECISION_ALLOW,
       2,
       {{"agreement", "agr-o"}}},
      {t + 4,
       "agreement_apply",
       "applicant",
       "",
       "credit.penalty",
       "research",
       "",
       v1::DECISION_ALLOW,
       0,
       {{"agreement", "agr-new"}, {"kind", "open"}}},
  };
  es[4].key_id = "aaaaaaaaaaaaaaaa";
  ReportFigures f = build(es);
  REQUIRE(f.agreements.size() == 3);
  const auto& s = f.agreements.at("agr-s");
  CHECK(s.kind == "share");
  CHECK(s.accesses == 1);
  CHECK(s.denied == 1);
  CHECK(s.records == 12);
  CHECK(s.quota_refusals == 1);
  CHECK(s.users == std::set<std::string>{"sjz-shuiwu"});
  REQUIRE(s.workflow.size() == 1);  // the apply was before the period
  CHECK(s.workflow[0].action == "agreement_sign");
  const auto& o = f.agreements.at("agr-o");
  CHECK(o.kind.empty());  // applied for before the export began
  CHECK(o.users == std::set<std::string>{"applicant/aaaaaaaaaaaaaaaa"});
  CHECK(o.per_day.dense(3) == std::vector<uint64_t>{2, 0, 0});
  CHECK(f.agreements.at("agr-new").kind == "open");
  CHECK(f.open_unconditional.empty());  // the applicant used an agreement
}

TEST_CASE("report: alerts and how fast they were acknowledged") {
  const int64_t t = kMar2 + 2 * kHour;
  auto raised = [&](int64_t at, std::string id, std::string detail) {
    return E{at,
             "alert_raised",
             "daemon",
             "",
             "population.household",
             "",
             "bulk-read-night",
             v1::DECISION_NONE,
             0,
             {{"alert", std::move(id)}},
             std::move(detail)};
  };
  auto ack = [&](int64_t at, std::string id, std::string note) {
    return E{at,
             "alert_acknowledged",
             "officer",
             "",
             "",
             "",
             "",
             v1::DECISION_NONE,
             0,
             {{"alert", std::move(id)}},
             std::move(note),
             "fedcba9876543210"};
  };
  std::vector<E> es = {
      raised(kMar2 - kHour, "a-0", "severity=warning kind=off_hours; before the period"),
      raised(t, "a-1", "severity=critical kind=bulk_read; 5000 rows at 03:00"),
      raised(t + 1000, "a-2", "severity=warning kind=repeated_denials; 12 denials in 5 min"),
      raised(t + 2000, "a-3", "no structured head"),
      ack(t + 60'000, "a-1", "called the agency"),
      ack(t + 90'000, "a-1", "second ack is not the first"),
      ack(t + 1000 + 200'000, "a-2", "expected batch job"),
      ack(t + 300'000, "a-0", "late"),
      // After the period: still how fast a-3 was acknowledged.
      ack(kMar2 + 80 * kHour, "a-3", "after the period"),
  };
  ReportFigures f = build(es);
  REQUIRE(f.alerts.size() == 3);
  CHECK(f.alerts[0].id == "a-1");
  CHECK(f.alerts[0].severity == "critical");
  CHECK(f.alerts[0].kind == "bulk_read");
  CHECK(f.alerts[0].rule == "bulk-read-night");
  CHECK(f.alerts[0].principal == "0123456789abcdef (daemon)");
  CHECK(f.alerts[0].text == "5000 rows at 03:00");
  CHECK(f.alerts[0].ack_delay_ms() == 60'000);
  CHECK(f.alerts[0].note == "called the agency");
  CHECK(f.alerts[0].acked_by == "fedcba9876543210 (officer)");
  CHECK(f.alerts[1].ack_delay_ms() == 200'000);
  CHECK(f.alerts[2].severity.empty());
  CHECK(f.alerts[2].text == "no structured head");
  CHECK(f.alerts[2].ack_delay_ms() == kMar2 + 80 * kHour - (t + 2000));
  CHECK(f.acks_of_earlier_alerts == 1);
  auto s = audit_cli::summarize_alerts(f.alerts);
  CHECK(s.raised == 3);
  CHECK(s.acknowledged == 3);
  CHECK(s.open == 0);
  CHECK(s.median_delay_ms == 200'000);
  CHECK(s.by_severity.at("critical") == 1);
  CHECK(s.by_severity.at("(none)") == 1);
  CHECK(s.by_rule.at("bulk-read-night") == 3);

  // An even count: the mean of the two middle delays; an unacknowledged alert is open.
  f.alerts.pop_back();
  f.alerts.push_back(f.alerts.back());
  f.alerts.back().acked_ms.reset();
  s = audit_cli::summarize_alerts(f.alerts);
  CHECK(s.open == 1);
  CHECK(s.median_delay_ms == (60'000 + 200'000) / 2);
  CHECK(s.max_delay_ms == 200'000);
}

TEST_CASE("report: third parties with sessions per principal and day; destruction; quality") {
  const int64_t t = kMar2 + 3 * kHour;
  auto tp = [&](int64_t at, std::string key, std::string action, uint64_t n,
                v1::Decision d = v1::DECISION_ALLOW) {
    E e{at,
        std::move(action),
        "agency",
        "sjz-gongan",
        "population.household",
        "maintenance",
        "",
        d,
        n,
        {{"third_party", "某某科技有限公司"}}};
    e.key_id = std::move(key);
    return e;
  };
  std::vector<E> es = {
      tp(t, "1111111111111111", "export", 100),
      tp(t + 10 * kHour, "1111111111111111", "download", 20),
      tp(t + 22 * kHour, "1111111111111111", "read", 5),  // the next Beijing day
      tp(t + 1, "2222222222222222", "export", 9, v1::DECISION_DENY),
      {t + 2,
       "dataset_destroy_requested",
       "operator",
       "",
       "population.household",
       "",
       "",
       v1::DECISION_NONE,
       0,
       {{"destroy", "d-1"}},
       "requested"},
      {t + 3,
       "dataset_destroyed",
       "officer",
       "",
       "population.household",
       "",
       "",
       v1::DECISION_NONE,
       300,
       {{"destroy", "d-1"}, {"data_key", "k-9"}},
       "key k-9 destroyed"},
  };
  ReportFigures f = build(es);
  REQUIRE(f.third_parties.size() == 1);
  const auto& c = f.third_parties.begin()->second;
  CHECK(f.third_parties.begin()->first == "某某科技有限公司");
  CHECK(c.entries == 4);
  CHECK(c.records == 125);
  CHECK(c.denied == 1);
  CHECK(c.principals.size() == 2);
  REQUIRE(c.sessions.size() == 3);
  const auto& first = c.sessions.begin()->second;
  CHECK(first.key_id == "1111111111111111");
  CHECK(first.entries == 2);
  CHECK(first.first_ms == t);
  CHECK(first.last_ms == t + 10 * kHour);
  CHECK(first.actions.at("download") == 1);
  REQUIRE(f.destruction.size() == 2);
  CHECK(f.destruction[1].records == 300);
  CHECK(f.quality.empty());
  CHECK(f.objection_actions.empty());
}

TEST_CASE("report: data quality at ingest; objections followed to their answers") {
  const int64_t t = kMar2 + 4 * kHour;
  auto ingest = [&](int64_t at, std::string agency, std::string dataset, uint64_t n,
                    std::string detail, std::string action = "ingest") {
    return E{at,
             std::move(action),
             "agent",
             std::move(agency),
             std::move(dataset),
             "aggregation per catalog (R-10)",
             "ingest.provider",
             v1::DECISION_ALLOW,
             n,
             {},
             std::move(detail)};
  };
  auto obj = [&](int64_t at, std::string action, std::string id, std::string detail) {
    return E{at,
             std::move(action),
             "agency",
             "sjz-shuiwu",
             "population.household",
             "",
             "",
             v1::DECISION_NONE,
             2,
             {{"objection", std::move(id)}, {"assigned_agency", "sjz-gongan"}},
             std::move(detail)};
  };
  std::vector<E> es = {
      ingest(t, "sjz-gongan", "population.household", 98, "98 accepted, 2 rejected"),
      ingest(t + 1, "sjz-gongan", "population.household", 50, "50 accepted, 0 rejected"),
      ingest(t + 2, "sjz-gongan", "", 0, "schema: bad batch", "ingest_refused"),
      ingest(t + 3, "sjz-gongan", "population.household", 0, "re-sent", "ingest_duplicate"),
      ingest(t + 4, "sjz-shichang", "legal_person.registration", 7, "7 accepted, 12345 rejected"),
      // Filed before the period and answered in it (late).
      obj(kMar2 - kHour, "objection_filed", "OBJ-0", "-> filed; deadline 2026-03-01T17:00:00Z (1)"),
      obj(t + 10, "objection_upheld", "OBJ-0", "answered after the deadline (overdue)"),
      obj(t + 20, "objection_filed", "OBJ-1",
          "-> filed; assigned to sjz-gongan (catalog); deadline 2026-03-10T09:00:00Z (5 working "
          "days, Asia/Shanghai); 2 record(s) disputed"),
      obj(t + 30, "objection_filed", "OBJ-2",
          "-> filed; assigned to sjz-gongan; deadline 2026-03-01T21:00:00Z (0 working days)"),
      obj(t + 40, "objection_verifying", "OBJ-1", "filed -> verifying"),
      obj(t + 20 + 2 * kHour, "objection_corrected", "OBJ-1", "answered within the deadline"),
      {t + 50, "consent_grant", "agency", "sjz-minzheng"},
  };
  ReportFigures f = build(es);
  REQUIRE(f.quality.size() == 2);
  const auto& q = f.quality.at("sjz-gongan").at("population.household");
  CHECK(q.batches == 2);
  CHECK(q.accepted == 148);
  CHECK(q.rejected == 2);
  CHECK(q.duplicates == 1);
  CHECK(f.quality.at("sjz-gongan").at("(none)").refused == 1);
  CHECK(f.quality.at("sjz-shichang").at("legal_person.registration").rejected == 12345);

  REQUIRE(f.objections.size() == 2);  // OBJ-0 was filed before the period
  CHECK(f.objections[0].id == "OBJ-1");
  CHECK(f.objections[0].assigned_agency == "sjz-gongan");
  CHECK(f.objections[0].records == 2);
  CHECK(f.objections[0].deadline_ms ==
        days_from_civil({2026, 3, 10}) * audit_cli::kDayMs + 9 * kHour);
  CHECK(f.objections[0].answer == "objection_corrected");
  CHECK(f.objections[0].answer_delay_ms() == 2 * kHour);
  CHECK(!f.objections[0].answered_overdue);
  CHECK(!f.objections[1].answered_ms);
  CHECK(f.objection_answers.at("objection_upheld") == 1);
  CHECK(f.objection_answers.at("objection_corrected") == 1);
  CHECK(f.objection_answers_overdue == 1);
  CHECK(f.objection_actions.at("objection_filed") == 2);
  CHECK(f.consent_actions.at("consent_grant") == 1);
  auto s = audit_cli::summarize_objections(f);
  CHECK(s.filed == 2);
  CHECK(s.answered == 1);
  CHECK(s.open == 1);
  // OBJ-2's deadline (21:00Z) is before the export's last entry (22:00:00.020Z).
  CHECK(s.open_past_deadline == 1);
  CHECK(s.median_answer_ms == 2 * kHour);

  const json j = json::parse(audit_cli::report_json(f, kMar2));
  CHECK(j["quality"]["recorded"] == true);
  CHECK(j["objections"]["open_past_deadline"] == 1);
  CHECK(j["objections"]["items"][0]["deadline"] == "2026-03-10T09:00:00.000Z");
  CHECK(j["consent"]["consent_grant"] == 1);
  const std::string html = audit_cli::report_html(f, kMar2);
  CHECK(contains(html, "data-f=\"objections_open_past_deadline\">1</dd>"));
  CHECK(contains(html, "<td class=\"n\">1.33%</td>"));  // 2 of 150 rejected
}

TEST_CASE("report rendering: every string from the log escaped; quality says none recorded") {
  const std::string evil = "<script>alert(1)</script>\"'&\x1b[31m";
  std::vector<E> es = {
      {kMar2, "read", "agency", evil, evil, evil, evil, v1::DECISION_DENY, 0, {}, evil},
      {kMar2 + 1,
       "alert_raised",
       "daemon",
       "",
       "",
       "",
       evil,
       v1::DECISION_NONE,
       0,
       {{"alert", evil}},
       "severity=" + evil + " kind=x; " + evil},
      {kMar2 + 2,
       "export",
       "agency",
       "a",
       "d",
       "",
       "",
       v1::DECISION_ALLOW,
       1,
       {{"third_party", evil}, {"agreement", evil}}},
      {kMar2 + 3, "dataset_destroyed", "officer", "", evil, "", "", v1::DECISION_NONE, 0, {}, evil},
  };
  ReportFigures f = build(es);
  f.source.path = evil;
  f.source.origin = evil;
  const std::string html = audit_cli::report_html(f, kMar2);
  CHECK(!contains(html, "<script"));
  CHECK(!contains(html, "\x1b"));
  CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\\x1b[31m"));
  CHECK(contains(html, "无记录 None recorded"));
  CHECK(contains(html, "Asia/Shanghai"));
  const json j = json::parse(audit_cli::report_json(f, kMar2));
  CHECK(j["access"]["by_agency"].size() == 2);
  CHECK(j["denials"]["by_rule"][0]["rule"] == evil);
  CHECK(j["third_parties"][0]["company"].get<std::string>().substr(0, 8) == "<script>");
  CHECK(j["objections"]["recorded"] == false);
  CHECK(j["period"]["time_zone"] == "Asia/Shanghai (UTC+08:00)");
  CHECK(j["generated"] == "2026-03-01T16:00:00.000Z");
}

// A real log in LMDB holding crafted entries, exported as the daemon would.
class CraftedLog {
 public:
  explicit CraftedLog(const crypto::IdentityKey& key) : clock_(kMar2 * 1'000'000) {
    auto env = store::Env::open(dir_.path());
    REQUIRE(env);
    env_ = std::move(*env);
    audit::AuditLogOptions opts;
    opts.origin = "gongshu.test/report";
    opts.checkpoint_every = 1'000'000;
    opts.checkpoint_interval_ms = 1'000'000'000;
    auto log = audit::AuditLog::open(*env_, key, opts, clock_);
    REQUIRE(log);
    log_ = std::move(*log);
  }
  ~CraftedLog() {
    log_.reset();
    env_.reset();
  }
  void append(const std::vector<E>& es, bool checkpoint = true) {
    auto txn = env_->begin_write();
    REQUIRE(txn);
    for (const E& x : es) {
      v1::AuditEntry e = entry(x);
      REQUIRE(log_->append(*txn, e));
    }
    if (checkpoint) REQUIRE(log_->checkpoint(*txn));
    REQUIRE(std::move(*txn).commit());
  }
  void export_to(const std::string& path) {
    auto txn = env_->begin_read();
    REQUIRE(txn);
    // Up to the last entry, so an unsigned tail is exported too.
    REQUIRE(audit::export_log(*log_, *txn, 1, log_->head(*txn).size, path));
  }

 private:
  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<store::Env> env_;
  std::unique_ptr<audit::AuditLog> log_;
};

TEST_CASE("gongshu-audit report: a real log with alerts, third parties and destruction") {
  auto key = test_key(7);
  const std::string hex_key = key.public_key().hex();
  testing::TempDir dir;
  CraftedLog log(key);
  const int64_t t = kMar2 + 9 * kHour;
  log.append({
      {t,
       "read",
       "agency",
       "sjz-gongan",
       "population.household",
       "own",
       "provider-own",
       v1::DECISION_ALLOW,
       4,
       {{"mask", "provider-own"}}},
      {t + 1, "read", "officer", "", "population.household", "", "officer-reads-no-data",
       v1::DECISION_DENY, 0},
      {t + 2,
       "alert_raised",
       "daemon",
       "",
       "population.household",
       "",
       "bulk-read",
       v1::DECISION_NONE,
       0,
       {{"alert", "al-1"}},
       "severity=critical kind=bulk_read; 4 rows"},
      {t + 3,
       "export",
       "agency",
       "sjz-gongan",
       "population.household",
       "maintenance",
       "",
       v1::DECISION_ALLOW,
       50,
       {{"third_party", "某某科技有限公司"}}},
      {t + 45'000,
       "alert_acknowledged",
       "officer",
       "",
       "",
       "",
       "",
       v1::DECISION_NONE,
       0,
       {{"alert", "al-1"}},
       "checked with the agency"},
      {t + 50'000, "dataset_destroy_requested", "operator", "", "population.household"},
  });
  // Chained but never signed: left out of the report.
  log.append({{t + 60'000, "read", "agency", "sjz-gongan", "population.household", "own", "",
               v1::DECISION_ALLOW, 1000}},
             false);
  const std::string path = dir.file("log.gsa");
  log.export_to(path);
  const std::string out = dir.file("report.html");

  auto r = testing::run_process({kAudit, "report", path, "--key", hex_key, "--from", "2026-03-02",
                                 "--to", "2026-03-02", "--out", out, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["entries"]["signed"] == 6);
  CHECK(j["entries"]["unsigned_tail_left_out"] == 1);
  CHECK(j["export"]["signed_through"] == 6);
  CHECK(j["export"]["daemon_key_ids"][0] == key.public_key().key_id());
  CHECK(j["access"]["allowed"] == 2);
  CHECK(j["access"]["denied"] == 1);
  CHECK(j["access"]["records"] == 54);
  CHECK(j["denials"]["by_rule"][0]["rule"] == "officer-reads-no-data");
  CHECK(j["alerts"]["raised"] == 1);
  CHECK(j["alerts"]["items"][0]["ack_delay_ms"] == 45'000 - 2);
  CHECK(j["alerts"]["items"][0]["acknowledged"] == audit_cli::format_time_ms(t + 45'000));
  CHECK(j["third_parties"][0]["company"] == "某某科技有限公司");
  CHECK(j["third_parties"][0]["sessions"].size() == 1);
  CHECK(j["destruction"][0]["action"] == "dataset_destroy_requested");
  CHECK(j["objections"]["recorded"] == false);
  CHECK(j["quality"]["recorded"] == false);
  const std::string html = testing::read_text(out);
  CHECK(contains(html, "data-f=\"access_records\">54</dd>"));
  CHECK(contains(html, "某某科技有限公司"));
  CHECK(contains(html,
                 "<tr data-k=\"population.household\"><td class=\"k\">population.household"
                 "</td><td class=\"n\" data-f=\"allowed\">2</td><td class=\"n\" "
                 "data-f=\"denied\">1</td><td class=\"n\" data-f=\"records\">54</td>"));
  CHECK(contains(html, ">44 秒 <span class=\"en\">44 s</span></td>"));

  // A period with nothing in it still makes a report.
  auto empty = testing::run_process({kAudit, "report", path, "--key", hex_key, "--from",
                                     "2026-04-01", "--to", "2026-04-30", "--out", out, "--json"});
  REQUIRE(empty.exit_code == 0);
  CHECK(json::parse(empty.out)["entries"]["in_period"] == 0);

  // Text mode: one line naming the file and the left-out tail.
  auto text = testing::run_process({kAudit, "report", path, "--key", hex_key, "--from",
                                    "2026-03-02", "--to", "2026-03-02", "--out", out});
  CHECK(text.exit_code == 0);
  CHECK(contains(text.out, "report written to " + out));
  CHECK(contains(text.out, "left out: 1 entry after the last checkpoint"));
}

TEST_CASE("gongshu-audit report: no report from an export that does not verify") {
  auto key = test_key(8);
  const std::string hex_key = key.public_key().hex();
  testing::TempDir dir;
  CraftedLog log(key);
  log.append({{kMar2 + 1, "read", "agency", "sjz-gongan", "population.household", "own", "",
               v1::DECISION_ALLOW, 3},
              {kMar2 + 2, "read", "agency", "sjz-gongan", "population.household", "own", "",
               v1::DECISION_ALLOW, 3}});
  const std::string path = dir.file("log.gsa");
  log.export_to(path);
  const std::string out = dir.file("report.html");

  // One record count changed: entry 2's hash no longer matches the checkpoint's chain.
  auto frames = read_frames(path);
  size_t i = entry_index(frames, 2);
  auto e = audit::decode_entry(as_bytes(frames[i].data));
  REQUIRE(e);
  e->set_record_count(3000);
  frames[i].data = e->SerializeAsString();
  const std::string tampered = dir.file("tampered.gsa");
  write_frames(tampered, frames);
  auto r = testing::run_process({kAudit, "report", tampered, "--key", hex_key, "--from",
                                 "2026-03-02", "--to", "2026-03-02", "--out", out});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "does not verify"));
  CHECK(contains(r.err, "checkpoint"));
  CHECK(!std::filesystem::exists(out));
  auto rj = testing::run_process({kAudit, "report", tampered, "--key", hex_key, "--from",
                                  "2026-03-02", "--to", "2026-03-02", "--out", out, "--json"});
  CHECK(rj.exit_code == 1);
  CHECK(json::parse(rj.out)["status"] == "tampered");
  CHECK(!std::filesystem::exists(out));

  // The wrong key: the checkpoints do not verify either.
  auto wrong =
      testing::run_process({kAudit, "report", path, "--key", test_key(9).public_key().hex(),
                            "--from", "2026-03-02", "--to", "2026-03-02", "--out", out});
  CHECK(wrong.exit_code == 1);
  CHECK(!std::filesystem::exists(out));

  // A checkpoint the officer kept from a longer log: this export was cut short before it.
  log.append({{kMar2 + 3, "read", "agency", "sjz-gongan", "population.household", "own", "",
               v1::DECISION_ALLOW, 3}});
  const std::string longer = dir.file("longer.gsa");
  log.export_to(longer);
  auto cp = testing::run_process({kAudit, "checkpoint", longer});
  REQUIRE(cp.exit_code == 0);
  const std::string note = dir.file("kept.note");
  testing::write_text(note, cp.out);
  auto cut = testing::run_process({kAudit, "report", path, "--key", hex_key, "--checkpoint", note,
                                   "--from", "2026-03-02", "--to", "2026-03-02", "--out", out});
  CHECK(cut.exit_code == 1);
  CHECK(contains(cut.err, "rollback or truncation"));
  CHECK(!std::filesystem::exists(out));
  auto whole =
      testing::run_process({kAudit, "report", longer, "--key", hex_key, "--checkpoint", note,
                            "--from", "2026-03-02", "--to", "2026-03-02", "--out", out, "--json"});
  CHECK(whole.exit_code == 0);
  CHECK(json::parse(whole.out)["access"]["allowed"] == 3);
  std::filesystem::remove(out);

  // Could not run: exit 2, naming why.
  auto bad_date = testing::run_process({kAudit, "report", path, "--key", hex_key, "--from",
                                        "2026-03-32", "--to", "2026-04-01", "--out", out});
  CHECK(bad_date.exit_code == 2);
  CHECK(contains(bad_date.err, "--from '2026-03-32': not a date"));
  auto missing = testing::run_process({kAudit, "report", dir.file("nope.gsa"), "--key", hex_key,
                                       "--from", "2026-03-02", "--to", "2026-03-02", "--out", out});
  CHECK(missing.exit_code == 2);
  CHECK(!std::filesystem::exists(out));

  auto help = testing::run_process({kAudit, "report", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "Asia/Shanghai"));
}

}  // namespace
}  // namespace gongshu::audit_test
