// gongshuctl quality report and the quality rules at ingest (R-12; issue 16), driven through the
// real gongshuctl binary against an in-process gongshud with a fake clock
// (tests/daemon/daemon_fixture.h): each rule kind refused with its reason, the reference rule
// (an earlier batch, earlier in the same batch, later in the batch, missing, invalidated), the
// report's exact counts and staleness as the clock moves, objections in it, who may see what, and
// a subject objection disputing a record delivered after it was filed.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/policy/calendar.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::ctl {
namespace {

using daemon::testing::citizen_id;
using daemon::testing::DaemonFixture;
using daemon::testing::FixtureOptions;
using daemon::testing::TestAgent;
using gongshu::testing::RunResult;
using nlohmann::json;

const std::string kCtl = gongshu::testing::binary_path("bin/gongshuctl");
constexpr int64_t kHourMs = 3'600'000;

int64_t local(CivilDate d, int hour) {
  return policy::WorkCalendar::local_day_start_ms(d) + hour * kHourMs;
}
const int64_t kT0 = local({2026, 3, 2}, 10);  // a Monday

json parse(const RunResult& r) {
  INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  try {
    return json::parse(r.out);
  } catch (const json::exception& e) {
    FAIL("--json output does not parse: " << e.what());
  }
  return {};
}

v1::DatasetEntry entry(const std::string& id, const std::string& provider,
                       const std::string& frequency, const std::string& subject) {
  v1::DatasetEntry e;
  e.set_id(id);
  e.set_name("测试 " + id);
  e.set_provider_agency(provider);
  e.set_grade("general-3");
  e.set_open_attribute("unconditional");
  e.set_share_attribute("unconditional");
  e.set_update_frequency(frequency);
  e.set_subject_kind(subject);
  e.set_category("topic");
  return e;
}

v1::FieldSpec* field(v1::DatasetEntry& e, const std::string& name, v1::FieldType type,
                     bool required = false, v1::PiiKind pii = v1::PII_NONE) {
  auto* f = e.add_fields();
  f->set_name(name);
  f->set_type(type);
  f->set_required(required);
  f->set_pii(pii);
  return f;
}

v1::Record record(const std::string& dataset, const std::string& key,
                  std::vector<std::pair<std::string, std::string>> text,
                  std::optional<int64_t> capital = std::nullopt) {
  v1::Record r;
  r.set_dataset(dataset);
  r.set_record_key(key);
  for (auto& [n, v] : text) {
    auto* f = r.add_fields();
    f->set_name(n);
    f->mutable_value()->set_text(v);
  }
  if (capital) {
    auto* f = r.add_fields();
    f->set_name("capital");
    f->mutable_value()->set_integer(*capital);
  }
  return r;
}

v1::Record person(const std::string& key, int n) {
  v1::Record r = record("test.people", key, {{"citizen_id", citizen_id(n)}, {"name", "张三"}});
  r.set_subject_id(citizen_id(n));
  return r;
}

v1::Record invalidate(const std::string& dataset, const std::string& key) {
  v1::Record r;
  r.set_dataset(dataset);
  r.set_record_key(key);
  r.set_op(v1::RECORD_OP_INVALIDATE);
  return r;
}

struct Platform {
  Platform() : clock(kT0 * 1'000'000), f(options()) {
    f.add_agency("sjz-gongan", "石家庄市公安局");
    f.add_agency("sjz-shichang", "石家庄市市场监督管理局");
    f.add_agency("sjz-minzheng", "石家庄市民政局");
    auto people = entry("test.people", "sjz-gongan", "daily", "person");
    field(people, "citizen_id", v1::FIELD_TYPE_TEXT, true, v1::PII_CITIZEN_ID);
    field(people, "name", v1::FIELD_TYPE_TEXT, true, v1::PII_NAME);
    auto never = entry("test.never", "sjz-gongan", "daily", "none");
    field(never, "v", v1::FIELD_TYPE_TEXT, true);
    auto market = entry("market.entity", "sjz-shichang", "daily", "none");
    field(market, "name", v1::FIELD_TYPE_TEXT, true);
    // One field per rule kind.
    auto licence = entry("test.licence", "sjz-shichang", "weekly", "none");
    field(licence, "entity", v1::FIELD_TYPE_TEXT, true)
        ->mutable_quality()
        ->set_references("market.entity");
    auto* kind = field(licence, "kind", v1::FIELD_TYPE_TEXT)->mutable_quality();
    kind->add_allowed_text("A");
    kind->add_allowed_text("B");
    field(licence, "phone", v1::FIELD_TYPE_TEXT)->mutable_quality()->add_prefixes("13");
    field(licence, "code", v1::FIELD_TYPE_TEXT)->mutable_quality()->set_chars("0-9A-Z");
    field(licence, "note", v1::FIELD_TYPE_TEXT)->mutable_quality()->set_max_length(4);
    auto* capital = field(licence, "capital", v1::FIELD_TYPE_INTEGER)->mutable_quality();
    capital->set_min_int(0);
    capital->set_max_int(1000);
    for (const auto& e : {people, never, market, licence}) {
      v1::ApiRequest req;
      *req.mutable_catalog_add()->mutable_entry() = e;
      auto resp = f.op->call(req);
      INFO(resp.error().message());
      REQUIRE(resp.error().code() == v1::API_OK);
    }
    gongan_key = std::make_unique<crypto::IdentityKey>(f.enroll("sjz-gongan"));
    shichang_key = std::make_unique<crypto::IdentityKey>(f.enroll("sjz-shichang"));
    gongan = std::make_unique<TestAgent>(f.ctx, *gongan_key, f.daemon->public_key(),
                                         f.daemon->ingest_endpoint(), "sjz-gongan");
    shichang = std::make_unique<TestAgent>(f.ctx, *shichang_key, f.daemon->public_key(),
                                           f.daemon->ingest_endpoint(), "sjz-shichang");
    env = {{"GONGSHU_API", f.daemon->api_endpoint()},
           {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()},
           {"TZ", "Asia/Shanghai"}};
  }
  FixtureOptions options() {
    FixtureOptions o;
    o.clock = &clock;
    return o;
  }
  v1::BatchAck send(TestAgent& a, uint64_t seq, const std::vector<v1::Record>& records) {
    a.send(seq, records);
    auto ack = a.ack();
    REQUIRE(ack);
    REQUIRE(ack->error() == v1::BATCH_OK);
    return *ack;
  }
  RunResult ctl(const std::string& key, std::vector<std::string> args) {
    args.insert(args.begin(), kCtl);
    auto e = env;
    e["GONGSHU_KEY"] = key;
    return gongshu::testing::run_process(args, "", e);
  }
  std::pair<std::string, std::string> principal(const std::string& role,
                                                const std::string& agency) {
    std::string path = f.dir.file(role + "-" + agency + ".key");
    auto k = parse(
        gongshu::testing::run_process({kCtl, "keygen", "--kind", role, "--out", path, "--json"}));
    std::vector<std::string> args = {"principal",        "add",   "--role", role, "--public-key",
                                     k.at("public_key"), "--json"};
    if (!agency.empty()) args.insert(args.end(), {"--agency", agency});
    auto j = parse(ctl(f.operator_key_path, args));
    return {path, j.at("key_id")};
  }
  json report(const std::string& key, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"quality", "report", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return parse(ctl(key, args));
  }
  // The dataset's entry of a report.
  static json dataset(const json& report, const std::string& id) {
    for (const auto& d : report.at("datasets"))
      if (d.at("dataset") == id) return d;
    FAIL("dataset " << id << " not in the report: " << report.dump());
    return {};
  }
  static std::vector<std::string> ids(const json& report) {
    std::vector<std::string> out;
    for (const auto& d : report.at("datasets")) out.push_back(d.at("dataset"));
    return out;
  }

  FakeClock clock;
  DaemonFixture f;
  std::unique_ptr<crypto::IdentityKey> gongan_key, shichang_key;
  std::unique_ptr<TestAgent> gongan, shichang;
  std::map<std::string, std::string> env;
};

// The reason a refused record got, by its index in the batch.
std::string reason(const v1::BatchAck& ack, uint32_t index) {
  for (const auto& s : ack.statuses())
    if (s.index() == index) return s.code() == v1::RECORD_STATUS_QUALITY ? s.reason() : "";
  return "accepted";
}

// Deliveries at kT0: market entities, licences breaking each rule, an invalidation; people.
void deliver(Platform& p) {
  CHECK(p.send(*p.shichang, 1,
               {record("market.entity", "E-1", {{"name", "甲"}}),
                record("market.entity", "E-2", {{"name", "乙"}})})
            .accepted() == 2);
  auto lic = [](const std::string& key, const std::string& entity,
                std::vector<std::pair<std::string, std::string>> more = {},
                std::optional<int64_t> capital = std::nullopt) {
    more.insert(more.begin(), {"entity", entity});
    return record("test.licence", key, more, capital);
  };
  auto ack = p.send(*p.shichang, 2,
                    {lic("L-1", "E-1", {{"kind", "A"}}),                // 0 earlier batch
                     record("market.entity", "E-3", {{"name", "丙"}}),  // 1
                     lic("L-2", "E-3"),                                 // 2 earlier in batch
                     lic("L-3", "E-4"),                                 // 3 later in batch
                     record("market.entity", "E-4", {{"name", "丁"}}),  // 4
                     lic("L-4", "E-404"),                               // 5 no such entity
                     lic("L-5", "E-1", {{"kind", "C"}}),                // 6 enumeration
                     lic("L-6", "E-1", {{"phone", "18012345678"}}),     // 7 prefix
                     lic("L-7", "E-1", {{"code", "ab"}}),               // 8 characters
                     lic("L-8", "E-1", {{"note", "toolong"}}),          // 9 length
                     lic("L-9", "E-1", {}, 5000),                       // 10 range
                     lic("L-10", "E-2", {{"phone", "13012345678"}})});  // 11
  CHECK(ack.accepted() == 5);
  CHECK(reason(ack, 0) == "accepted");
  CHECK(reason(ack, 2) == "accepted");
  CHECK(reason(ack, 11) == "accepted");
  CHECK(reason(ack, 3) ==
        "record 'L-3': field 'entity': reference rule: 'E-4' is not the key of a current record "
        "of dataset 'market.entity' (none, or invalidated)");
  CHECK_THAT(reason(ack, 5), Catch::Contains("record 'L-4'") && Catch::Contains("'E-404'") &&
                                 Catch::Contains("market.entity"));
  CHECK_THAT(reason(ack, 6), Catch::Contains("enumeration rule"));
  CHECK_THAT(reason(ack, 7), Catch::Contains("prefix rule"));
  CHECK_THAT(reason(ack, 8), Catch::Contains("character rule"));
  CHECK_THAT(reason(ack, 9), Catch::Contains("length rule"));
  CHECK_THAT(reason(ack, 10), Catch::Contains("range rule"));
  for (uint32_t i : {3u, 5u, 6u, 7u, 8u, 9u, 10u}) {
    bool named = false;
    for (const auto& s : ack.statuses()) named = named || (s.index() == i && !s.field().empty());
    CHECK(named);
  }
  // A reference to a record invalidated earlier in the batch, then in an earlier batch.
  auto inv = p.send(*p.shichang, 3, {invalidate("market.entity", "E-2"), lic("L-11", "E-2")});
  CHECK(inv.accepted() == 1);
  CHECK_THAT(reason(inv, 1), Catch::Contains("reference rule") && Catch::Contains("'E-2'"));
  auto later = p.send(*p.shichang, 4, {lic("L-12", "E-2")});
  CHECK(later.accepted() == 0);
  CHECK_THAT(reason(later, 0), Catch::Contains("reference rule"));
  CHECK(p.send(*p.gongan, 1, {person("p-1", 1), person("p-2", 2)}).accepted() == 2);
}

TEST_CASE("gongshuctl quality report: rules at ingest, exact counts, staleness, objections") {
  Platform p;
  deliver(p);
  const std::string op = p.f.operator_key_path;
  const std::string shichang_agent = p.shichang_key->public_key().key_id();

  auto r = p.report(op);
  CHECK(p.ids(r) ==
        std::vector<std::string>{"market.entity", "test.licence", "test.never", "test.people"});
  auto lic = p.dataset(r, "test.licence");
  CHECK(lic.at("staleness") == "ok");
  CHECK(lic.at("status") == "problem");
  REQUIRE(lic.at("agencies").size() == 1);
  auto d = lic.at("agencies")[0];
  CHECK(d.at("agency") == "sjz-shichang");
  CHECK(d.at("counted") == true);
  CHECK(d.at("from_start") == true);
  CHECK(d.at("batches") == 3);
  CHECK(d.at("accepted") == 3);
  CHECK(d.at("upserts") == 3);
  CHECK(d.at("invalidations") == 0);
  CHECK(d.at("rejected") == 9);
  CHECK(d.at("rejected_by_class") == json{{"quality", 9}});
  CHECK(d.at("rejection_rate").get<double>() == Approx(0.75));
  CHECK(d.at("last_delivery_ms") == kT0);
  CHECK(d.at("last_agent") == shichang_agent);
  CHECK(d.at("last_batch_seq") == 2);
  CHECK(d.at("last_versions") == "3-7");  // batch 1 stored versions 1-2
  CHECK(d.at("last_rejected").at("batch_seq") == 4);
  CHECK(d.at("last_rejected").at("record_index") == 0);
  CHECK(d.at("last_rejected").at("reason_class") == "quality");
  CHECK(d.at("last_rejected").at("field") == "entity");
  std::map<std::string, uint64_t> present;
  for (const auto& f : d.at("fields")) present[f.at("field")] = f.at("present");
  CHECK(present ==
        std::map<std::string, uint64_t>{
            {"entity", 3}, {"kind", 1}, {"phone", 1}, {"code", 0}, {"note", 0}, {"capital", 0}});
  bool rejections = false;
  int completeness = 0;
  for (const auto& f : lic.at("findings")) {
    if (f.at("kind") == "rejections") {
      rejections = true;
      CHECK(f.at("severity") == "problem");
      CHECK(f.at("agent") == shichang_agent);
      CHECK(f.at("batch_seq") == 4);
      CHECK(f.at("count") == 9);
    }
    if (f.at("kind") == "completeness") ++completeness;
  }
  CHECK(rejections);
  CHECK(completeness == 5);  // every optional field is given in fewer than half

  auto market = p.dataset(r, "market.entity");
  auto m = market.at("agencies")[0];
  CHECK(m.at("batches") == 3);
  CHECK(m.at("accepted") == 5);
  CHECK(m.at("invalidations") == 1);
  CHECK(m.at("rejected") == 0);
  CHECK(m.at("last_batch_seq") == 3);
  CHECK(market.at("records") == 4);
  CHECK(market.at("invalidated_records") == 1);
  CHECK(market.at("status") == "attention");  // 1 of 5 stored is an invalidation
  CHECK(p.dataset(r, "test.people").at("status") == "ok");
  auto never = p.dataset(r, "test.never");
  CHECK(never.at("staleness") == "never");
  CHECK(never.at("status") == "problem");
  CHECK(never.at("agencies")[0].at("counted") == false);

  // The table for people: local time, every dataset, the statuses.
  auto table = p.ctl(op, {"quality", "report"});
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("test.licence") && Catch::Contains("problem") &&
                            Catch::Contains("2026-03-02 10:00:00") && Catch::Contains("75.0%") &&
                            Catch::Contains("batch 4"));

  // A day and a half on, the daily datasets are due, the weekly one is not.
  p.clock.set_ns((kT0 + 36 * kHourMs) * 1'000'000);
  r = p.report(op);
  CHECK(p.dataset(r, "test.people").at("staleness") == "due");
  CHECK(p.dataset(r, "test.people").at("status") == "attention");
  CHECK(p.dataset(r, "test.people").at("due_ms") == kT0 + 24 * kHourMs);
  CHECK(p.dataset(r, "test.licence").at("staleness") == "ok");
  // More than two days: stale.
  p.clock.set_ns((kT0 + 80 * kHourMs) * 1'000'000);
  r = p.report(op, {"--dataset", "test.people"});
  REQUIRE(p.ids(r) == std::vector<std::string>{"test.people"});
  CHECK(p.dataset(r, "test.people").at("staleness") == "stale");
  CHECK(p.dataset(r, "test.people").at("status") == "problem");

  // A subject objection: open, then overdue, in the report; a later delivery refreshes.
  const auto [desk, desk_id] = p.principal("agency", "sjz-minzheng");
  auto o = parse(
      p.ctl(desk, {"objection", "file", "--dataset", "test.people", "--subject", citizen_id(1),
                   "--reason", "地址错误", "--contact", "窗口回电", "--json"}));
  const std::string id = o.at("id");
  CHECK(p.send(*p.gongan, 2, {person("p-9", 1), person("p-10", 3)}).accepted() == 2);
  auto people = p.dataset(p.report(op, {"--dataset", "test.people"}), "test.people");
  CHECK(people.at("staleness") == "ok");
  CHECK(people.at("open_objections") == json::array({id}));
  CHECK(people.at("overdue_objections").empty());
  CHECK(people.at("status") == "attention");
  CHECK(people.at("agencies")[0].at("batches") == 2);
  CHECK(people.at("agencies")[0].at("accepted") == 4);
  p.clock.set_ns(local({2026, 3, 31}, 9) * 1'000'000);
  people = p.dataset(p.report(op, {"--dataset", "test.people"}), "test.people");
  CHECK(people.at("overdue_objections") == json::array({id}));
  CHECK(people.at("status") == "problem");
  bool overdue = false;
  for (const auto& f : people.at("findings"))
    overdue = overdue ||
              (f.at("kind") == "overdue_objections" && f.at("objections") == json::array({id}));
  CHECK(overdue);

  // The read is audited, naming the filter and how many datasets were reported.
  int audited = 0;
  for (const auto& e : p.f.audit_entries()) {
    if (e.action() != "quality_report") continue;
    ++audited;
    CHECK(e.decision() == v1::DECISION_ALLOW);
  }
  CHECK(audited == 6);
}

TEST_CASE("gongshuctl quality report: an agency sees its own datasets; others are refused") {
  Platform p;
  deliver(p);
  const auto [gongan, gongan_id] = p.principal("agency", "sjz-gongan");
  const auto [shichang, shichang_id] = p.principal("agency", "sjz-shichang");
  const auto [officer, officer_id] = p.principal("officer", "");
  const auto [applicant, applicant_id] = p.principal("applicant", "");
  CHECK(p.ids(p.report(gongan)) == std::vector<std::string>{"test.never", "test.people"});
  // The police bureau's agent delivers to the market regulator's dataset: refused, and counted
  // under that pair, which the police bureau then sees — its own deliveries, nothing else.
  CHECK(p.send(*p.gongan, 2, {record("market.entity", "X-1", {{"name", "x"}})}).accepted() == 0);
  auto own = p.report(gongan);
  CHECK(p.ids(own) == std::vector<std::string>{"market.entity", "test.never", "test.people"});
  auto theirs = p.dataset(own, "market.entity");
  REQUIRE(theirs.at("agencies").size() == 1);
  CHECK(theirs.at("agencies")[0].at("agency") == "sjz-gongan");
  CHECK(theirs.at("agencies")[0].at("rejected_by_class") == json{{"not_provider", 1}});
  CHECK(theirs.at("staleness") == "");
  CHECK(theirs.at("records") == 0);
  auto market = p.dataset(p.report(shichang), "market.entity");
  REQUIRE(market.at("agencies").size() == 2);
  CHECK(market.at("agencies")[0].at("agency") == "sjz-shichang");  // the provider first
  CHECK(market.at("records") == 4);
  CHECK(p.ids(p.report(shichang)) == std::vector<std::string>{"market.entity", "test.licence"});
  CHECK(p.ids(p.report(officer)).size() == 4);
  CHECK(p.ids(p.report(p.f.operator_key_path, {"--agency", "sjz-shichang"})) ==
        std::vector<std::string>{"market.entity", "test.licence"});
  auto other = p.ctl(gongan, {"quality", "report", "--agency", "sjz-shichang", "--json"});
  CHECK(other.exit_code == 1);
  CHECK_THAT(other.err, Catch::Contains("its own datasets"));
  auto dataset = p.ctl(gongan, {"quality", "report", "--dataset", "test.licence"});
  CHECK(dataset.exit_code == 1);
  CHECK_THAT(dataset.err, Catch::Contains("another agency"));
  auto nobody = p.ctl(applicant, {"quality", "report"});
  CHECK(nobody.exit_code == 1);
  auto missing = p.ctl(p.f.operator_key_path, {"quality", "report", "--dataset", "no.such"});
  CHECK(missing.exit_code == 1);
  // Refusals are audited through the limiter: the first of a minute per key (gongan's second is
  // counted into the next entry) — the fake clock stands still.
  int denied = 0;
  for (const auto& e : p.f.audit_entries())
    if (e.action() == "quality_report" && e.decision() == v1::DECISION_DENY) ++denied;
  CHECK(denied == 2);
}

TEST_CASE("a subject objection disputes records about the subject delivered after it") {
  Platform p;
  deliver(p);
  const auto [desk, desk_id] = p.principal("agency", "sjz-minzheng");
  const auto [gongan, gongan_id] = p.principal("agency", "sjz-gongan");
  auto o = parse(
      p.ctl(desk, {"objection", "file", "--dataset", "test.people", "--subject", citizen_id(1),
                   "--reason", "地址错误", "--contact", "窗口回电", "--json"}));
  const std::string id = o.at("id");
  CHECK(o.at("records") == json::array({"p-1"}));
  // Delivered after the filing: p-9 about the same subject, p-10 about another.
  CHECK(p.send(*p.gongan, 2, {person("p-9", 1), person("p-10", 3)}).accepted() == 2);
  auto disputed = [&] {
    auto q = parse(p.ctl(gongan, {"query", "test.people", "--purpose", "核查", "--json"}));
    std::map<std::string, json> out;
    for (const auto& row : q.at("rows"))
      out[row.at("record_key")] = row.contains("objections") ? row.at("objections") : json();
    return out;
  };
  auto rows = disputed();
  CHECK(rows.at("p-1") == json::array({id}));  // once, though marked by record and by subject
  CHECK(rows.at("p-9") == json::array({id}));
  CHECK(rows.at("p-2").is_null());
  CHECK(rows.at("p-10").is_null());
  // Answered: nothing about the subject is disputed any more.
  parse(p.ctl(gongan, {"objection", "verify", id, "--json"}));
  parse(p.ctl(gongan, {"objection", "answer", id, "--upheld", "--note", "无误", "--json"}));
  rows = disputed();
  CHECK(rows.at("p-1").is_null());
  CHECK(rows.at("p-9").is_null());
}

}  // namespace
}  // namespace gongshu::ctl
