// Objections and consent through the real api socket of an in-process gongshud
// with the shipped policy and calendar (policies/policy) and a fake clock: each objection path
// (corrected with the version that fixed it, upheld, transferred), deadlines met and missed,
// the disputed mark on every read, consent allowing one subject's rows, revoked at once, and
// refused without it; every step's audit entry, with no personal data in it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "core/policy/calendar.h"
#include "daemon/objections.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::ApiClient;
using testing::citizen_id;
using testing::DaemonFixture;
using testing::FixtureOptions;
using testing::TestAgent;

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 86'400'000;

// Local (Asia/Shanghai) time on a day.
int64_t local(CivilDate d, int hour) {
  return policy::WorkCalendar::local_day_start_ms(d) + hour * kHourMs;
}
// Monday 2 March 2026, 10:00 in Shijiazhuang.
const int64_t kStartMs = local({2026, 3, 2}, 10);
const std::string kDataset = "test.people";
const std::string kReason = "户籍地址错误：应为长安区中山东路39号";
const std::string kContact = "手机 13800000000";

std::string code_name(const v1::ApiResponse& r) {
  return v1::ApiErrorCode_Name(r.error().code()) + ": " + r.error().message();
}

v1::DatasetEntry people() {
  v1::DatasetEntry e;
  e.set_id(kDataset);
  e.set_name("测试人口");
  e.set_provider_agency("sjz-gongan");
  e.set_grade("general-3");
  e.set_open_attribute("unconditional");
  e.set_share_attribute("unconditional");
  e.set_update_frequency("daily");
  e.set_subject_kind("person");
  e.set_category("population");
  auto field = [&](const char* name, v1::FieldType type, v1::PiiKind pii, bool required) {
    auto* f = e.add_fields();
    f->set_name(name);
    f->set_type(type);
    f->set_pii(pii);
    f->set_required(required);
  };
  field("citizen_id", v1::FIELD_TYPE_TEXT, v1::PII_CITIZEN_ID, true);
  field("name", v1::FIELD_TYPE_TEXT, v1::PII_NAME, true);
  field("address", v1::FIELD_TYPE_TEXT, v1::PII_ADDRESS, false);
  return e;
}

v1::Record person(const std::string& key, const std::string& cid, const std::string& name,
                  const std::string& address) {
  v1::Record r;
  r.set_dataset(kDataset);
  r.set_record_key(key);
  r.set_subject_id(cid);
  r.set_observed_at_ms(kStartMs - kDayMs);
  auto add = [&](const char* n) {
    auto* f = r.add_fields();
    f->set_name(n);
    return f->mutable_value();
  };
  add("citizen_id")->set_text(cid);
  add("name")->set_text(name);
  add("address")->set_text(address);
  return r;
}

struct Platform {
  Platform() : clock(kStartMs * 1'000'000), f(options()) {
    f.add_agency("sjz-gongan", "石家庄市公安局");
    f.add_agency("sjz-minzheng", "石家庄市民政局");
    f.add_agency("sjz-shuiwu", "国家税务总局石家庄市税务局");
    agent_key = std::make_unique<crypto::IdentityKey>(f.enroll("sjz-gongan"));
    agent = std::make_unique<TestAgent>(f.ctx, *agent_key, f.daemon->public_key(),
                                        f.daemon->ingest_endpoint(), "sjz-gongan");
    v1::ApiRequest req;
    *req.mutable_catalog_add()->mutable_entry() = people();
    auto resp = f.op->call(req);
    INFO(code_name(resp));
    REQUIRE(resp.error().code() == v1::API_OK);
    deliver({person("p-1", citizen_id(1), "张三丰", "河北省石家庄市长安区建设北大街5号"),
             person("p-2", citizen_id(2), "李四", "河北省石家庄市桥西区中华南大街2号"),
             person("p-3", citizen_id(3), "王五", "河北省石家庄市新华区和平西路1号")});
    gongan_key = std::make_unique<crypto::IdentityKey>(f.add_principal("agency", "sjz-gongan"));
    desk_key = std::make_unique<crypto::IdentityKey>(f.add_principal("agency", "sjz-minzheng"));
    shuiwu_key = std::make_unique<crypto::IdentityKey>(f.add_principal("agency", "sjz-shuiwu"));
    gongan = f.client(*gongan_key);
    desk = f.client(*desk_key);
    shuiwu = f.client(*shuiwu_key);
  }

  FixtureOptions options() {
    FixtureOptions o;
    o.clock = &clock;
    return o;
  }

  void deliver(const std::vector<v1::Record>& records) {
    agent->send(++seq, records);
    auto ack = agent->ack();
    REQUIRE(ack);
    INFO(ack->error_message());
    REQUIRE(ack->error() == v1::BATCH_OK);
    REQUIRE(ack->accepted() == records.size());
  }

  void set_time(int64_t ms) { clock.set_ns(ms * 1'000'000); }

  FakeClock clock;
  DaemonFixture f;
  std::unique_ptr<crypto::IdentityKey> agent_key, gongan_key, desk_key, shuiwu_key;
  std::unique_ptr<TestAgent> agent;
  std::unique_ptr<ApiClient> gongan, desk, shuiwu;
  uint64_t seq = 0;
};

v1::ApiResponse file(ApiClient& c, const std::string& record, const std::string& subject = "") {
  v1::ApiRequest req;
  auto* f = req.mutable_objection_file();
  f->set_dataset(kDataset);
  f->set_record_key(record);
  f->set_subject_id(subject);
  f->set_reason(kReason);
  f->set_contact(kContact);
  return c.call(req);
}

v1::ObjectionInfo filed(ApiClient& c, const std::string& record, const std::string& subject = "") {
  auto r = file(c, record, subject);
  INFO(code_name(r));
  REQUIRE(r.error().code() == v1::API_OK);
  REQUIRE(r.objections().objections_size() == 1);
  return r.objections().objections(0);
}

v1::ApiResponse verify(ApiClient& c, const std::string& id) {
  v1::ApiRequest req;
  req.mutable_objection_verify()->set_id(id);
  req.mutable_objection_verify()->set_note("核对户籍档案");
  return c.call(req);
}

v1::ApiResponse answer(ApiClient& c, const std::string& id, uint64_t corrected, bool upheld,
                       const std::string& transfer, const std::string& note = "已核实") {
  v1::ApiRequest req;
  auto* a = req.mutable_objection_answer();
  a->set_id(id);
  a->set_corrected_version(corrected);
  a->set_upheld(upheld);
  a->set_transfer_to(transfer);
  a->set_note(note);
  return c.call(req);
}

v1::ObjectionInfo ok_one(const v1::ApiResponse& r) {
  INFO(code_name(r));
  REQUIRE(r.error().code() == v1::API_OK);
  REQUIRE(r.objections().objections_size() == 1);
  return r.objections().objections(0);
}

v1::ApiResponse list(ApiClient& c, bool overdue, const std::string& agency = "") {
  v1::ApiRequest req;
  req.mutable_objection_list()->set_overdue(overdue);
  req.mutable_objection_list()->set_agency(agency);
  return c.call(req);
}

std::vector<std::string> ids_of(const v1::ApiResponse& r) {
  std::vector<std::string> out;
  for (const auto& o : r.objections().objections()) out.push_back(o.id());
  return out;
}

// The provider's own read of one record (rule agency-own-data).
v1::Row read_record(ApiClient& c, const std::string& key) {
  v1::ApiRequest req;
  req.mutable_query()->set_dataset(kDataset);
  req.mutable_query()->set_record_key(key);
  req.mutable_query()->set_purpose("核查");
  auto r = c.call(req);
  INFO(code_name(r));
  REQUIRE(r.error().code() == v1::API_OK);
  REQUIRE(r.query().rows_size() == 1);
  return r.query().rows(0);
}

// The audit entries of `action` (their details must never hold the reason or the contact).
std::vector<v1::AuditEntry> entries(DaemonFixture& f, const std::string& action) {
  std::vector<v1::AuditEntry> out;
  for (const auto& e : f.audit_entries()) {
    CHECK(e.detail().find(kReason) == std::string::npos);
    CHECK(e.detail().find(kContact) == std::string::npos);
    for (const auto& ref : e.refs()) CHECK(ref.value().find(citizen_id(1)) == std::string::npos);
    if (e.action() == action) out.push_back(e);
  }
  return out;
}

std::string ref(const v1::AuditEntry& e, const std::string& kind) {
  for (const auto& r : e.refs()) {
    if (r.kind() == kind) return r.value();
  }
  return "";
}

TEST_CASE("objection: filed, verified and corrected by the version that fixed it, in time",
          "[daemon][objections]") {
  Platform p;
  const v1::Row before = read_record(*p.gongan, "p-1");
  CHECK_FALSE(before.disputed());

  const v1::ObjectionInfo o = filed(*p.desk, "p-1");
  CHECK(o.id() == "YY-2026-0001");
  CHECK(o.state() == "filed");
  CHECK(o.assigned_agency() == "sjz-gongan");
  CHECK(o.routed_by() == "provider");
  CHECK(o.filed_by_agency() == "sjz-minzheng");
  CHECK(o.deadline_working_days() == 5);
  // Filed Monday 2 March: Tuesday to Friday and Monday 9 March; due by the end of the 9th.
  CHECK(o.deadline_ms() == policy::WorkCalendar::local_day_start_ms({2026, 3, 10}));
  CHECK(o.version_at_filing() == before.version());
  REQUIRE(o.records_size() == 1);
  CHECK(o.records(0) == "p-1");

  // Disputed on every read that returns the record, and only that record.
  const v1::Row disputed = read_record(*p.gongan, "p-1");
  CHECK(disputed.disputed());
  REQUIRE(disputed.objections_size() == 1);
  CHECK(disputed.objections(0) == o.id());
  CHECK_FALSE(read_record(*p.gongan, "p-2").disputed());
  {
    v1::ApiRequest req;
    req.mutable_lookup()->set_subject_id(citizen_id(1));
    req.mutable_lookup()->set_purpose("核查");
    auto r = p.gongan->call(req);
    REQUIRE(r.error().code() == v1::API_OK);
    REQUIRE(r.lookup().datasets_size() == 1);
    REQUIRE(r.lookup().datasets(0).rows_size() == 1);
    CHECK(r.lookup().datasets(0).rows(0).disputed());
  }
  {
    // Another agency reading the shared data sees the mark too.
    v1::ApiRequest req;
    req.mutable_query()->set_dataset(kDataset);
    req.mutable_query()->set_purpose("救助审核");
    auto r = p.desk->call(req);
    INFO(code_name(r));
    REQUIRE(r.error().code() == v1::API_OK);
    int marked = 0;
    for (const auto& row : r.query().rows()) marked += row.disputed();
    CHECK(marked == 1);
  }

  // Only the assigned agency moves it, and only along the table.
  CHECK(verify(*p.desk, o.id()).error().code() == v1::API_DENIED);
  CHECK(answer(*p.gongan, o.id(), 0, true, "").error().code() == v1::API_CONFLICT);
  // Two outcomes at once.
  CHECK(answer(*p.gongan, o.id(), 0, true, "sjz-shuiwu").error().code() == v1::API_BAD_REQUEST);
  p.set_time(local({2026, 3, 4}, 9));
  CHECK(ok_one(verify(*p.gongan, o.id())).state() == "verifying");

  // A version stored before the filing did not fix it.
  auto stale = answer(*p.gongan, o.id(), before.version(), false, "");
  CHECK(stale.error().code() == v1::API_BAD_REQUEST);
  CHECK_THAT(stale.error().message(), Catch::Contains("before the objection was filed"));
  // Nor does a version of another record.
  p.deliver({person("p-2", citizen_id(2), "李四", "河北省石家庄市桥西区中华南大街4号")});
  const uint64_t other = read_record(*p.gongan, "p-2").version();
  CHECK(answer(*p.gongan, o.id(), other, false, "").error().code() == v1::API_BAD_REQUEST);

  p.deliver({person("p-1", citizen_id(1), "张三丰", "河北省石家庄市长安区中山东路39号")});
  const uint64_t fixed = read_record(*p.gongan, "p-1").version();
  REQUIRE(fixed > before.version());
  p.set_time(local({2026, 3, 6}, 15));
  const v1::ObjectionInfo done =
      ok_one(answer(*p.gongan, o.id(), fixed, false, "", "地址已按户籍档案更正"));
  CHECK(done.state() == "corrected");
  CHECK(done.corrected_version() == fixed);
  CHECK_FALSE(done.overdue());
  CHECK(done.notified_at_ms() == local({2026, 3, 6}, 15));
  CHECK_THAT(done.notification(), Catch::Contains("已更正") &&
                                      Catch::Contains(std::to_string(fixed)) &&
                                      Catch::Contains("地址已按户籍档案更正"));
  CHECK(done.steps_size() == 3);
  CHECK_FALSE(read_record(*p.gongan, "p-1").disputed());
  CHECK(answer(*p.gongan, o.id(), 0, true, "").error().code() == v1::API_CONFLICT);

  // Every step audited, with the ids and no personal data.
  auto filed_e = entries(p.f, "objection_filed");
  REQUIRE(filed_e.size() == 1);
  CHECK(ref(filed_e[0], "objection") == o.id());
  CHECK(ref(filed_e[0], "record") == "p-1");
  CHECK(filed_e[0].principal().agency() == "sjz-minzheng");
  CHECK(entries(p.f, "objection_verifying").size() == 1);
  auto corrected = entries(p.f, "objection_corrected");
  REQUIRE(corrected.size() == 1);
  CHECK_THAT(corrected[0].detail(), Catch::Contains("version " + std::to_string(fixed)) &&
                                        Catch::Contains("within the deadline"));
  // The desk sees its objection; an uninvolved agency does not.
  CHECK(ids_of(list(*p.desk, false)) == std::vector<std::string>{o.id()});
  CHECK(ids_of(list(*p.shuiwu, false)).empty());
}

TEST_CASE("objection: past the deadline it is overdue; upheld late it stays marked overdue",
          "[daemon][objections]") {
  Platform p;
  const v1::ObjectionInfo a = filed(*p.desk, "p-2");
  // By subject: every record about the citizen, the identifier kept only as a keyed hash.
  const v1::ObjectionInfo b = filed(*p.desk, "", citizen_id(3));
  CHECK(b.record_key().empty());
  REQUIRE(b.records_size() == 1);
  CHECK(b.records(0) == "p-3");
  CHECK(b.subject_token().size() == 64);
  CHECK(b.subject_token().find(citizen_id(3)) == std::string::npos);
  CHECK(read_record(*p.gongan, "p-3").disputed());

  CHECK(ids_of(list(*p.f.op, true)).empty());
  // The last minute of the fifth working day: still in time.
  p.set_time(local({2026, 3, 10}, 0) - 60'000);
  CHECK(ids_of(list(*p.f.op, true)).empty());
  p.set_time(local({2026, 3, 10}, 0));
  CHECK(ids_of(list(*p.f.op, true)) == std::vector<std::string>{a.id(), b.id()});
  CHECK(ids_of(list(*p.f.op, true, "sjz-shuiwu")).empty());
  CHECK(ids_of(list(*p.gongan, true, "sjz-gongan")).size() == 2);

  REQUIRE(ok_one(verify(*p.gongan, a.id())).state() == "verifying");
  const v1::ObjectionInfo upheld = ok_one(answer(*p.gongan, a.id(), 0, true, "", "数据无误"));
  CHECK(upheld.state() == "upheld");
  CHECK(upheld.overdue());
  CHECK_THAT(upheld.notification(), Catch::Contains("维持原状"));
  CHECK_FALSE(read_record(*p.gongan, "p-2").disputed());
  CHECK(ids_of(list(*p.f.op, true)) == std::vector<std::string>{b.id()});
  auto e = entries(p.f, "objection_upheld");
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0].detail(), Catch::Contains("after the deadline"));
  // The subject's objection names it by its keyed hash in the log.
  auto fe = entries(p.f, "objection_filed");
  REQUIRE(fe.size() == 2);
  CHECK(ref(fe[1], "subject_token") == b.subject_token());
}

TEST_CASE("objection: transferred to the agency that must answer, with a fresh deadline",
          "[daemon][objections]") {
  Platform p;
  const v1::ObjectionInfo o = filed(*p.desk, "p-1");
  CHECK(answer(*p.gongan, o.id(), 0, false, "sjz-nobody").error().code() == v1::API_NOT_FOUND);
  // Transferred on Friday 6 March: due at the end of Friday 13 March.
  p.set_time(local({2026, 3, 6}, 11));
  const v1::ObjectionInfo moved =
      ok_one(answer(*p.gongan, o.id(), 0, false, "sjz-shuiwu", "纳税信息由税务局核实"));
  CHECK(moved.state() == "transferred");
  REQUIRE_FALSE(moved.transferred_to().empty());
  CHECK_THAT(moved.notification(), Catch::Contains(moved.transferred_to()));

  v1::ApiRequest show;
  show.mutable_objection_list()->set_id(moved.transferred_to());
  const v1::ObjectionInfo next = ok_one(p.shuiwu->call(show));
  CHECK(next.state() == "filed");
  CHECK(next.assigned_agency() == "sjz-shuiwu");
  CHECK(next.transferred_from() == o.id());
  CHECK(next.filed_by_agency() == "sjz-minzheng");
  CHECK(next.reason() == kReason);
  CHECK(next.contact() == kContact);
  // What the requester wrote is stored sealed under the dataset's key: no file of the daemon's
  // state holds it in clear (the answer read above was opened from the sealed form).
  for (const auto& file : std::filesystem::recursive_directory_iterator(p.f.dir.file("state"))) {
    if (!file.is_regular_file()) continue;
    std::ifstream in(file.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(file.path().string());
    CHECK(bytes.find(kReason) == std::string::npos);
    CHECK(bytes.find(kContact) == std::string::npos);
  }
  CHECK(next.deadline_ms() == policy::WorkCalendar::local_day_start_ms({2026, 3, 14}));
  // Still disputed, now by the new objection.
  const v1::Row row = read_record(*p.gongan, "p-1");
  CHECK(row.disputed());
  REQUIRE(row.objections_size() == 1);
  CHECK(row.objections(0) == next.id());
  // The old agency no longer acts on it.
  CHECK(verify(*p.gongan, next.id()).error().code() == v1::API_DENIED);
  REQUIRE(ok_one(verify(*p.shuiwu, next.id())).state() == "verifying");
  CHECK(ok_one(answer(*p.shuiwu, next.id(), 0, true, "")).state() == "upheld");
  CHECK_FALSE(read_record(*p.gongan, "p-1").disputed());

  auto t = entries(p.f, "objection_transferred");
  REQUIRE(t.size() == 1);
  CHECK_THAT(t[0].detail(), Catch::Contains(next.id()) && Catch::Contains("sjz-shuiwu"));
  CHECK(entries(p.f, "objection_filed").size() == 2);
}

TEST_CASE("objection: a field whose data item has an authoritative source goes to its provider",
          "[daemon][objections]") {
  Platform p;
  // sjz-shuiwu's dataset is named the source of people's names (R-11 权威来源).
  v1::DatasetEntry names = people();
  names.set_id("test.names");
  names.set_provider_agency("sjz-shuiwu");
  v1::ApiRequest add;
  *add.mutable_catalog_add()->mutable_entry() = names;
  REQUIRE(p.f.op->call(add).error().code() == v1::API_OK);
  v1::ApiRequest set;
  auto* a = set.mutable_catalog_authority_set()->mutable_authority();
  a->set_item("person.name");
  a->set_name("姓名");
  a->add_fields("name");
  a->set_dataset("test.names");
  a->set_note("姓名以该库为准");
  auto designated = p.f.op->call(set);
  INFO(code_name(designated));
  REQUIRE(designated.error().code() == v1::API_OK);

  v1::ApiRequest req;
  auto* f = req.mutable_objection_file();
  f->set_dataset(kDataset);
  f->set_record_key("p-1");
  f->set_field("name");
  f->set_reason(kReason);
  f->set_contact(kContact);
  const v1::ObjectionInfo by_name = ok_one(p.desk->call(req));
  CHECK(by_name.assigned_agency() == "sjz-shuiwu");
  CHECK(by_name.routed_by() == "authority person.name (test.names)");
  // Still about the record objected to, which is disputed.
  CHECK(by_name.dataset() == kDataset);
  CHECK(read_record(*p.gongan, "p-1").disputed());
  // A field no item names goes to the provider; an unknown field is refused.
  f->set_field("address");
  CHECK(ok_one(p.desk->call(req)).assigned_agency() == "sjz-gongan");
  f->set_field("nickname");
  CHECK(p.desk->call(req).error().code() == v1::API_BAD_REQUEST);
}

TEST_CASE("objection: refusals name the problem", "[daemon][objections]") {
  Platform p;
  auto no_record = file(*p.desk, "p-9");
  CHECK(no_record.error().code() == v1::API_NOT_FOUND);
  CHECK_THAT(no_record.error().message(), Catch::Contains("p-9"));
  auto bad_id = file(*p.desk, "", "110101199003077777");
  CHECK(bad_id.error().code() == v1::API_BAD_REQUEST);
  v1::ApiRequest req;
  req.mutable_objection_file()->set_dataset(kDataset);
  req.mutable_objection_file()->set_record_key("p-1");
  req.mutable_objection_file()->set_reason(kReason);
  auto no_contact = p.desk->call(req);
  CHECK(no_contact.error().code() == v1::API_BAD_REQUEST);
  CHECK_THAT(no_contact.error().message(), Catch::Contains("contact"));
  // Applicants and the public do not file.
  auto applicant = p.f.add_principal("applicant");
  CHECK(file(*p.f.client(applicant), "p-1").error().code() == v1::API_DENIED);
}

v1::ApiResponse subject_query(ApiClient& c, const std::string& subject,
                              const std::string& purpose) {
  v1::ApiRequest req;
  req.mutable_query()->set_dataset(kDataset);
  req.mutable_query()->set_subject_id(subject);
  req.mutable_query()->set_purpose(purpose);
  return c.call(req);
}

v1::ApiResponse grant(ApiClient& c, const std::string& subject, const std::string& applicant,
                      int64_t until) {
  v1::ApiRequest req;
  auto* g = req.mutable_consent_grant();
  g->set_subject_id(subject);
  g->set_applicant(applicant);
  g->add_datasets(kDataset);
  g->set_purpose("贷款审核");
  g->set_valid_to_ms(until);
  g->set_evidence("民政局窗口 同意书 2026-0301");
  return c.call(req);
}

TEST_CASE("consent: one subject's rows to the named applicant, revoked at once",
          "[daemon][consent]") {
  Platform p;
  auto applicant_key = p.f.add_principal("applicant");
  const std::string applicant = applicant_key.public_key().key_id();
  auto applicant_c = p.f.client(applicant_key);
  auto other_key = p.f.add_principal("applicant");
  auto other = p.f.client(other_key);

  // Without consent: refused (the shipped policy opens no personal rows unanonymised).
  auto before = subject_query(*applicant_c, citizen_id(1), "贷款审核");
  CHECK(before.error().code() == v1::API_DENIED);
  CHECK_THAT(before.error().message(), Catch::Contains("consent"));

  // Only an agency desk records consent, for a registered applicant.
  CHECK(grant(*p.f.op, citizen_id(1), applicant, kStartMs + 30 * kDayMs).error().code() ==
        v1::API_DENIED);
  CHECK(grant(*p.desk, citizen_id(1), "0123456789abcdef", kStartMs + 30 * kDayMs).error().code() ==
        v1::API_NOT_FOUND);
  auto granted = grant(*p.desk, citizen_id(1), applicant, kStartMs + 30 * kDayMs);
  INFO(code_name(granted));
  REQUIRE(granted.error().code() == v1::API_OK);
  const v1::ConsentInfo k = granted.consents().consents(0);
  CHECK(k.status() == "active");
  CHECK(k.agency() == "sjz-minzheng");
  CHECK(k.subject_token().find(citizen_id(1)) == std::string::npos);

  auto allowed = subject_query(*applicant_c, citizen_id(1), "贷款审核");
  INFO(code_name(allowed));
  REQUIRE(allowed.error().code() == v1::API_OK);
  CHECK(allowed.query().decision().rule() == "consent-subject-unconditional");
  REQUIRE(allowed.query().rows_size() == 1);
  bool unmasked_name = false;
  for (const auto& f : allowed.query().rows(0).record().fields())
    unmasked_name |= f.name() == "name" && f.value().text() == "张三丰";
  CHECK(unmasked_name);
  // That subject only, that purpose only, that applicant only.
  CHECK(subject_query(*applicant_c, citizen_id(2), "贷款审核").error().code() == v1::API_DENIED);
  CHECK(subject_query(*applicant_c, citizen_id(1), "营销").error().code() == v1::API_DENIED);
  CHECK(subject_query(*other, citizen_id(1), "贷款审核").error().code() == v1::API_DENIED);

  // Revocation: by the collecting agency (or an operator), effective on the next request.
  v1::ApiRequest revoke;
  revoke.mutable_consent_revoke()->set_id(k.id());
  revoke.mutable_consent_revoke()->set_reason("本人撤回同意");
  CHECK(p.gongan->call(revoke).error().code() == v1::API_DENIED);
  auto revoked = p.desk->call(revoke);
  REQUIRE(revoked.error().code() == v1::API_OK);
  CHECK(revoked.consents().consents(0).status() == "revoked");
  CHECK(subject_query(*applicant_c, citizen_id(1), "贷款审核").error().code() == v1::API_DENIED);

  // A consent that has expired is not in force either.
  REQUIRE(grant(*p.desk, citizen_id(1), applicant, kStartMs + kDayMs).error().code() == v1::API_OK);
  CHECK(subject_query(*applicant_c, citizen_id(1), "贷款审核").error().code() == v1::API_OK);
  p.set_time(kStartMs + kDayMs);
  CHECK(subject_query(*applicant_c, citizen_id(1), "贷款审核").error().code() == v1::API_DENIED);

  // Listing: the applicant sees those naming it, by subject too.
  v1::ApiRequest ls;
  ls.mutable_consent_list()->set_subject_id(citizen_id(1));
  auto listed = applicant_c->call(ls);
  REQUIRE(listed.error().code() == v1::API_OK);
  REQUIRE(listed.consents().consents_size() == 2);
  CHECK(listed.consents().consents(0).status() == "revoked");
  CHECK(listed.consents().consents(1).status() == "expired");
  CHECK(other->call(ls).consents().consents_size() == 0);

  CHECK(entries(p.f, "consent_granted").size() == 2);
  CHECK(entries(p.f, "consent_revoked").size() == 1);
  int by_consent = 0;
  for (const auto& e : p.f.audit_entries()) {
    if (e.action() == "query_subject" && e.decision() == v1::DECISION_ALLOW &&
        !ref(e, "consent").empty())
      ++by_consent;
  }
  CHECK(by_consent == 2);
}

}  // namespace
}  // namespace gongshu::daemon
