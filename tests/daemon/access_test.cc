// Access through the real api socket of an in-process gongshud with the shipped policy
// (policies/policy): the role x open x share x action matrix, masking on every read path,
// agreements from application to use (and expiry, revocation, quotas, violations), licensed
// operators, the public's open catalog and downloads with their rate limit, policy reloads, and
// the audit entry of every decision.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>

#include "core/catalog/dataset.h"
#include "core/catalog/validate.h"
#include "core/util/fd.h"
#include "daemon/agreements.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::ApiClient;
using testing::citizen_id;
using testing::DaemonFixture;
using testing::FixtureOptions;
using testing::TestAgent;

const std::string kVersion = "2026.01.1";
const std::string kPurpose = "research";

int64_t at(int y, unsigned m, unsigned d) { return days_from_civil({y, m, d}) * 86'400'000LL; }
// 2026-03-02T12:00:00+08:00
const int64_t kStartMs = at(2026, 3, 2) + 4 * 3'600'000LL;
const int64_t kDayMs = 86'400'000LL;

std::string code_name(const v1::ApiResponse& r) {
  return v1::ApiErrorCode_Name(r.error().code()) + ": " + r.error().message();
}

// A person dataset provided by sjz-gongan with the given attributes.
v1::DatasetEntry person_dataset(const std::string& id, const std::string& open,
                                const std::string& share, const std::string& grade = "general-3") {
  v1::DatasetEntry e;
  e.set_id(id);
  e.set_name("测试人口 " + id);
  e.set_provider_agency("sjz-gongan");
  e.set_grade(grade);
  e.set_open_attribute(open);
  e.set_share_attribute(share);
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
  field("birth_date", v1::FIELD_TYPE_DATE, v1::PII_BIRTH_DATE, false);
  field("address", v1::FIELD_TYPE_TEXT, v1::PII_ADDRESS, false);
  field("household_size", v1::FIELD_TYPE_INTEGER, v1::PII_NONE, false);
  return e;
}

v1::Record person(const std::string& dataset, const std::string& key, const std::string& cid,
                  const std::string& name, const std::string& address, int size) {
  v1::Record r;
  r.set_dataset(dataset);
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
  add("birth_date")->set_date_days(int32_t(days_from_civil({1990, 3, 7})));
  add("address")->set_text(address);
  add("household_size")->set_integer(size);
  return r;
}

const v1::FieldValue* field(const v1::Record& r, const std::string& name) {
  for (const auto& f : r.fields()) {
    if (f.name() == name) return &f.value();
  }
  return nullptr;
}

// The platform of these tests: gongshud with three agencies, an agent of sjz-gongan, and
// helpers for the requests.
struct Platform {
  explicit Platform(FixtureOptions o = {}) : f(std::move(o)) {
    f.add_agency("sjz-gongan", "石家庄市公安局");
    f.add_agency("sjz-minzheng", "石家庄市民政局");
    f.add_agency("sjz-shuiwu", "国家税务总局石家庄市税务局");
    agent_key = std::make_unique<crypto::IdentityKey>(f.enroll("sjz-gongan"));
    agent = std::make_unique<TestAgent>(f.ctx, *agent_key, f.daemon->public_key(),
                                        f.daemon->ingest_endpoint(), "sjz-gongan");
  }

  void add_dataset(const v1::DatasetEntry& e) {
    v1::ApiRequest req;
    *req.mutable_catalog_add()->mutable_entry() = e;
    auto resp = f.op->call(req);
    INFO(code_name(resp));
    REQUIRE(resp.error().code() == v1::API_OK);
  }

  void deliver(const std::vector<v1::Record>& records) {
    agent->send(++seq, records);
    auto ack = agent->ack();
    REQUIRE(ack);
    INFO(ack->error_message());
    REQUIRE(ack->error() == v1::BATCH_OK);
    for (const auto& s : ack->statuses()) INFO(s.reason());
    REQUIRE(ack->accepted() == records.size());
  }

  // Five people in dataset id: three in 长安区, two in 桥西区.
  void five_people(const std::string& id) {
    deliver({person(id, "p-1", citizen_id(1), "张三丰", "河北省石家庄市长安区中山东路39号", 3),
             person(id, "p-2", citizen_id(2), "李四", "河北省石家庄市长安区建设北大街5号", 2),
             person(id, "p-3", citizen_id(3), "王五", "河北省石家庄市长安区光华路1号", 4),
             person(id, "p-4", citizen_id(4), "赵六", "河北省石家庄市桥西区中华南大街2号", 1),
             person(id, "p-5", citizen_id(5), "钱七", "河北省石家庄市桥西区自强路8号", 5)});
  }

  crypto::IdentityKey user(const std::string& agency) { return f.add_principal("agency", agency); }

  DaemonFixture f;
  std::unique_ptr<crypto::IdentityKey> agent_key;
  std::unique_ptr<TestAgent> agent;
  uint64_t seq = 0;
};

v1::ApiResponse query(ApiClient& c, const std::string& dataset,
                      const std::string& purpose = kPurpose, const std::string& subject = "",
                      std::vector<std::string> fields = {}, uint32_t limit = 0,
                      const std::string& cursor = "") {
  v1::ApiRequest req;
  auto* q = req.mutable_query();
  q->set_dataset(dataset);
  q->set_purpose(purpose);
  q->set_subject_id(subject);
  for (auto& x : fields) q->add_fields(x);
  q->set_limit(limit);
  q->set_cursor(cursor);
  return c.call(req);
}

v1::ApiResponse download(ApiClient& c, const std::string& dataset, bool export_ = false,
                         const std::string& cursor = "", uint32_t chunk = 0,
                         const std::string& id = "", const std::string& purpose = kPurpose) {
  v1::ApiRequest req;
  auto* d = req.mutable_download();
  d->set_dataset(dataset);
  d->set_purpose(purpose);
  d->set_export_(export_);
  d->set_cursor(cursor);
  d->set_chunk_rows(chunk);
  d->set_download_id(id);
  return c.call(req);
}

v1::ApiResponse aggregate(ApiClient& c, const std::string& dataset,
                          std::vector<std::string> group_by, std::vector<std::string> sum = {},
                          const std::string& purpose = kPurpose) {
  v1::ApiRequest req;
  auto* a = req.mutable_aggregate();
  a->set_dataset(dataset);
  a->set_purpose(purpose);
  for (auto& g : group_by) a->add_group_by(g);
  for (auto& s : sum) a->add_sum(s);
  return c.call(req);
}

std::set<std::string> open_catalog(ApiClient& c, const std::string& purpose = "") {
  v1::ApiRequest req;
  req.mutable_open_catalog()->set_purpose(purpose);
  auto resp = c.call(req);
  INFO(code_name(resp));
  REQUIRE(resp.error().code() == v1::API_OK);
  std::set<std::string> ids;
  for (const auto& d : resp.open_catalog().datasets()) ids.insert(d.id());
  return ids;
}

v1::AgreementInfo agreement_call(ApiClient& c, v1::ApiRequest req,
                                 v1::ApiErrorCode expect = v1::API_OK) {
  auto resp = c.call(std::move(req));
  INFO(code_name(resp));
  REQUIRE(resp.error().code() == expect);
  if (expect != v1::API_OK) return {};
  REQUIRE(resp.agreements().agreements_size() == 1);
  return resp.agreements().agreements(0);
}

v1::ApiRequest apply_request(const std::string& kind, const std::vector<std::string>& datasets,
                             std::vector<std::string> fields, int64_t valid_to_ms,
                             uint64_t quota = 0, const std::string& purpose = kPurpose) {
  v1::ApiRequest req;
  auto* a = req.mutable_agreement_apply();
  a->set_kind(kind);
  for (const auto& d : datasets) {
    auto* s = a->add_scope();
    s->set_dataset(d);
    for (auto& x : fields) s->add_fields(x);
  }
  a->add_purposes(purpose);
  a->set_valid_to_ms(valid_to_ms);
  a->set_security_measures("数据仅在单位内网的加密工作站处理，访问留痕");
  a->set_row_quota(quota);
  a->set_applicant_name("某某交通研究院");
  return req;
}

v1::ApiRequest review_request(const std::string& id, bool approve) {
  v1::ApiRequest req;
  req.mutable_agreement_review()->set_id(id);
  req.mutable_agreement_review()->set_approve(approve);
  req.mutable_agreement_review()->set_note(approve ? "同意" : "不同意");
  return req;
}

v1::ApiRequest approve_request(const std::string& id, bool approve = true) {
  v1::ApiRequest req;
  req.mutable_agreement_approve()->set_id(id);
  req.mutable_agreement_approve()->set_approve(approve);
  return req;
}

v1::ApiRequest sign_request(const std::string& id, const crypto::IdentityKey& key,
                            const std::string& commitment) {
  auto sig = key.sign(kCommitmentDomain, as_bytes(commitment));
  v1::ApiRequest req;
  req.mutable_agreement_sign()->set_id(id);
  req.mutable_agreement_sign()->set_signature(std::string(sig.begin(), sig.end()));
  return req;
}

// apply -> review by the provider (sjz-gongan) -> approval -> signature: an active agreement.
std::string active_agreement(Platform& p, const crypto::IdentityKey& applicant,
                             const crypto::IdentityKey& reviewer, v1::ApiRequest apply) {
  auto a = p.f.client(applicant);
  auto r = p.f.client(reviewer);
  auto info = agreement_call(*a, std::move(apply));
  REQUIRE(info.status() == "pending_review");
  info = agreement_call(*r, review_request(info.id(), true));
  REQUIRE(info.status() == "pending_approval");
  info = agreement_call(*p.f.op, approve_request(info.id()));
  REQUIRE(info.status() == "pending_signature");
  REQUIRE(!info.commitment().empty());
  info = agreement_call(*a, sign_request(info.id(), applicant, info.commitment()));
  REQUIRE(info.status() == "active");
  return info.id();
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("principals are registered by operators, audited, and revocation applies at once") {
  Platform p;
  p.add_dataset(person_dataset("people.own", "closed", "unconditional"));
  p.five_people("people.own");
  auto gongan = p.user("sjz-gongan");
  auto applicant = p.f.add_principal("applicant");
  auto licensed = p.f.add_principal("licensed", "", kStartMs + 365 * kDayMs, {"people.own"},
                                    {"market-analysis"});
  p.f.add_principal("officer");

  auto add = [&](const std::string& role, const std::string& agency, int64_t until,
                 const std::string& key_hex) {
    v1::ApiRequest req;
    auto* a = req.mutable_principal_add();
    a->set_role(role);
    a->set_agency(agency);
    a->set_valid_until_ms(until);
    a->set_public_key(key_hex);
    if (role == "licensed") {
      a->add_datasets("people.own");
      a->add_purposes("x");
    }
    return p.f.op->call(req);
  };
  auto fresh = crypto::IdentityKey::generate().public_key().hex();
  CHECK(add("agency", "no-such-agency", 0, fresh).error().code() == v1::API_NOT_FOUND);
  CHECK(add("licensed", "", 0, fresh).error().code() == v1::API_BAD_REQUEST);
  CHECK(add("agent", "", 0, fresh).error().code() == v1::API_BAD_REQUEST);
  CHECK(add("root", "", 0, fresh).error().code() == v1::API_BAD_REQUEST);
  CHECK(add("applicant", "", 0, "abcd").error().code() == v1::API_BAD_REQUEST);
  CHECK(add("applicant", "", 0, applicant.public_key().hex()).error().code() == v1::API_CONFLICT);
  {
    // Only operators register principals; the attempt is audited as a denial.
    v1::ApiRequest req;
    req.mutable_principal_add()->set_role("operator");
    req.mutable_principal_add()->set_public_key(fresh);
    auto resp = p.f.client(gongan)->call(req);
    CHECK(resp.error().code() == v1::API_DENIED);
  }

  v1::ApiRequest list;
  list.mutable_principal_list();
  auto listed = p.f.op->call(list);
  REQUIRE(listed.error().code() == v1::API_OK);
  std::map<std::string, v1::PrincipalInfo> by_id;
  for (const auto& pi : listed.principals().principals()) by_id[pi.key_id()] = pi;
  CHECK(by_id[gongan.public_key().key_id()].role() == "agency");
  CHECK(by_id[gongan.public_key().key_id()].agency() == "sjz-gongan");
  CHECK(by_id[applicant.public_key().key_id()].role() == "applicant");
  CHECK(by_id[licensed.public_key().key_id()].valid_until_ms() == kStartMs + 365 * kDayMs);
  CHECK(by_id[licensed.public_key().key_id()].datasets(0) == "people.own");
  CHECK(by_id[p.agent_key->public_key().key_id()].role() == "agent");

  // The agency user reads its own data; once revoked, its very next request is the public's.
  auto client = p.f.client(gongan);
  REQUIRE(query(*client, "people.own").error().code() == v1::API_OK);
  v1::ApiRequest revoke;
  revoke.mutable_principal_revoke()->set_key_id(gongan.public_key().key_id());
  revoke.mutable_principal_revoke()->set_reason("left the agency");
  REQUIRE(p.f.op->call(revoke).error().code() == v1::API_OK);
  auto after = query(*client, "people.own");
  CHECK(after.error().code() == v1::API_DENIED);
  CHECK(after.error().message().find("role public") != std::string::npos);
  CHECK(p.f.op->call(revoke).error().code() == v1::API_CONFLICT);
  v1::ApiRequest self;
  self.mutable_principal_revoke()->set_key_id(p.f.operator_key->public_key().key_id());
  CHECK(p.f.op->call(self).error().code() == v1::API_DENIED);
  // An empty key id was looked up as an empty LMDB key, which aborted the daemon.
  v1::ApiRequest nobody;
  nobody.mutable_principal_revoke()->set_key_id("");
  CHECK(p.f.op->call(nobody).error().code() == v1::API_NOT_FOUND);

  std::map<std::string, int> actions;
  for (const auto& e : p.f.audit_entries()) {
    if (e.decision() != v1::DECISION_DENY || e.action() != "principal_revoke")
      ++actions[e.action()];
    if (e.action() == "principal_revoke" && e.decision() == v1::DECISION_ALLOW) {
      CHECK(e.principal().key_id() == p.f.operator_key->public_key().key_id());
      CHECK(e.refs(0).value() == gongan.public_key().key_id());
    }
  }
  CHECK(actions["principal_add"] == 4);
  CHECK(actions["principal_revoke"] == 1);
  CHECK(actions["add principals"] == 1);  // the denied attempt
}

// ---------------------------------------------------------------------------------------------
// The decision matrix through the socket: the same table as tests/core/policy/matrix_test.cc,
// now with real principals, real agreements made through the workflow, real rows.

constexpr std::array<const char*, 3> kOpen = {"unconditional", "conditional", "closed"};
constexpr std::array<const char*, 3> kShare = {"unconditional", "conditional", "none"};

std::string matrix_id(size_t i) {
  return "matrix." + std::to_string(i / 3) + std::to_string(i % 3);
}

struct MatrixRow {
  const char* caller;
  const char* action;
  const char* expect;  // open: uncond | cond | closed, each share: u c n
};

// clang-format off
const std::vector<MatrixRow> kMatrix = {
  {"public",             "catalog",       "AAA AAA DDD"},
  {"public",             "read",          "DDD DDD DDD"},
  {"public",             "query_subject", "DDD DDD DDD"},
  {"public",             "download",      "AAA DDD DDD"},
  {"public",             "export",        "DDD DDD DDD"},
  {"public",             "aggregate",     "DDD DDD DDD"},
  {"applicant",          "catalog",       "AAA AAA DDD"},
  {"applicant",          "read",          "DDD DDD DDD"},
  {"applicant",          "download",      "AAA DDD DDD"},
  {"applicant",          "aggregate",     "DDD DDD DDD"},
  {"applicant+open",     "catalog",       "AAA AAA DDD"},
  {"applicant+open",     "read",          "DDD AAA DDD"},
  {"applicant+open",     "query_subject", "DDD DDD DDD"},
  {"applicant+open",     "download",      "AAA AAA DDD"},
  {"applicant+open",     "export",        "DDD DDD DDD"},
  {"applicant+open",     "aggregate",     "DDD AAA DDD"},
  {"agency:own",         "catalog",       "AAA AAA AAA"},
  {"agency:own",         "read",          "AAA AAA AAA"},
  {"agency:own",         "query_subject", "AAA AAA AAA"},
  {"agency:own",         "download",      "AAA AAA AAA"},
  {"agency:own",         "export",        "AAA AAA AAA"},
  {"agency:own",         "aggregate",     "AAA AAA AAA"},
  {"agency:other",       "read",          "ADD ADD ADD"},
  {"agency:other",       "query_subject", "ADD ADD ADD"},
  {"agency:other",       "download",      "DDD DDD DDD"},
  {"agency:other",       "export",        "DDD DDD DDD"},
  {"agency:other",       "aggregate",     "ADD ADD ADD"},
  {"agency:other+share", "read",          "AAD AAD AAD"},
  {"agency:other+share", "query_subject", "AAD AAD AAD"},
  {"agency:other+share", "download",      "AAD AAD AAD"},
  {"agency:other+share", "export",        "AAD AAD AAD"},
  {"agency:other+share", "aggregate",     "AAD AAD AAD"},
  {"operator",           "catalog",       "AAA AAA AAA"},
  {"operator",           "read",          "AAA AAA AAA"},
  {"operator",           "query_subject", "DDD DDD DDD"},
  {"operator",           "download",      "DDD DDD DDD"},
  {"operator",           "aggregate",     "AAA AAA AAA"},
  {"officer",            "catalog",       "AAA AAA AAA"},
  {"officer",            "read",          "DDD DDD DDD"},
  {"officer",            "query_subject", "DDD DDD DDD"},
  {"officer",            "download",      "DDD DDD DDD"},
  {"officer",            "export",        "DDD DDD DDD"},
  {"officer",            "aggregate",     "DDD DDD DDD"},
  {"licensed",           "catalog",       "DDD DDD DDD"},
  {"licensed",           "aggregate",     "DDD DDD DDD"},
  {"licensed+licence",   "catalog",       "AAA AAA AAA"},
  {"licensed+licence",   "aggregate",     "AAA AAA AAA"},
  {"licensed+licence",   "read",          "DDD DDD DDD"},
  {"licensed+licence",   "query_subject", "DDD DDD DDD"},
  {"licensed+licence",   "download",      "DDD DDD DDD"},
  {"licensed+licence",   "export",        "DDD DDD DDD"},
};
// clang-format on

TEST_CASE("an aggregate that would build more groups than the limit is refused and audited") {
  Platform p(FixtureOptions{nullptr, "", 4});
  p.add_dataset(person_dataset("people.many", "conditional", "unconditional"));
  p.five_people("people.many");  // five household sizes: five groups
  auto refused = aggregate(*p.f.op, "people.many", {"household_size"}, {}, "statistics");
  REQUIRE(refused.error().code() == v1::API_DENIED);
  CHECK(refused.error().message().find("makes more than 4 groups (limits.max_aggregate_groups)") !=
        std::string::npos);
  CHECK(refused.aggregate().groups_size() == 0);
  bool audited = false;
  for (const auto& e : p.f.audit_entries()) {
    if (e.action() == "aggregate" && e.decision() == v1::DECISION_DENY &&
        e.detail().find("more than 4 groups") != std::string::npos)
      audited = true;
  }
  CHECK(audited);
  // Without a grouping field there is one group, well within the limit.
  auto fine = aggregate(*p.f.op, "people.many", {}, {"household_size"}, "statistics");
  REQUIRE(fine.error().code() == v1::API_OK);
  REQUIRE(fine.aggregate().groups_size() == 1);
  CHECK(fine.aggregate().groups(0).count() == 5);
}

TEST_CASE("a flood of role denials is audited once a minute per caller, with the count") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  auto gongan = p.user("sjz-gongan");
  auto minzheng = p.user("sjz-minzheng");
  auto add_operator = [&](ApiClient& c) {
    v1::ApiRequest req;
    req.mutable_principal_add()->set_role("operator");
    req.mutable_principal_add()->set_public_key(crypto::IdentityKey::generate().public_key().hex());
    return c.call(req).error().code();
  };
  auto denials = [&] {
    std::vector<v1::AuditEntry> out;
    for (const auto& e : p.f.audit_entries())
      if (e.policy_rule() == "role" && e.action() == "add principals") out.push_back(e);
    return out;
  };
  auto a = p.f.client(gongan);
  for (int i = 0; i < 25; ++i) REQUIRE(add_operator(*a) == v1::API_DENIED);
  REQUIRE(add_operator(*p.f.client(minzheng)) == v1::API_DENIED);
  auto seen = denials();
  REQUIRE(seen.size() == 2);  // one for each caller, not 26
  CHECK(seen[0].principal().key_id() == gongan.public_key().key_id());
  CHECK(seen[1].principal().key_id() == minzheng.public_key().key_id());
  clock.advance(std::chrono::minutes(1));
  REQUIRE(add_operator(*a) == v1::API_DENIED);
  seen = denials();
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].principal().key_id() == gongan.public_key().key_id());
  CHECK(seen[2].detail().find("; 24 earlier refusals like this one") != std::string::npos);
}

TEST_CASE("the role x open x share x action matrix through the socket") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  std::vector<std::string> all;
  for (size_t i = 0; i < 9; ++i) {
    all.push_back(matrix_id(i));
    p.add_dataset(person_dataset(all.back(), kOpen[i / 3], kShare[i % 3]));
    p.deliver(
        {person(all.back(), "m-1", citizen_id(1), "张三", "河北省石家庄市长安区中山东路1号", 2)});
  }
  p.add_dataset(person_dataset("people.other", "closed", "none"));
  const int64_t year = kStartMs + 365 * kDayMs;
  auto gongan = p.user("sjz-gongan");
  auto minzheng = p.user("sjz-minzheng");
  auto shuiwu = p.user("sjz-shuiwu");
  auto applicant = p.f.add_principal("applicant");
  auto applicant_open = p.f.add_principal("applicant");
  auto officer = p.f.add_principal("officer");
  auto licensed = p.f.add_principal("licensed", "", year, {"people.other"}, {kPurpose});
  auto licensed_ok = p.f.add_principal("licensed", "", year, all, {kPurpose});

  // The open agreement covers the conditionally open datasets; the sharing request every
  // dataset that is shared at all.
  active_agreement(p, applicant_open, gongan,
                   apply_request("open", {all[3], all[4], all[5]}, {}, year));
  active_agreement(
      p, shuiwu, gongan,
      apply_request("share", {all[0], all[1], all[3], all[4], all[6], all[7]}, {}, year));

  std::map<std::string, const crypto::IdentityKey*> keys = {{"applicant", &applicant},
                                                            {"applicant+open", &applicant_open},
                                                            {"agency:own", &gongan},
                                                            {"agency:other", &minzheng},
                                                            {"agency:other+share", &shuiwu},
                                                            {"operator", p.f.operator_key.get()},
                                                            {"officer", &officer},
                                                            {"licensed", &licensed},
                                                            {"licensed+licence", &licensed_ok}};
  for (const MatrixRow& row : kMatrix) {
    std::string got;
    // The public: a fresh unknown key per request, so the public rate limit stays out of it.
    std::vector<crypto::IdentityKey> strangers;
    auto client_for = [&]() {
      if (std::string(row.caller) == "public") {
        strangers.push_back(crypto::IdentityKey::generate());
        return p.f.client(strangers.back());
      }
      return p.f.client(*keys.at(row.caller));
    };
    std::set<std::string> listed;
    if (std::string(row.action) == "catalog") listed = open_catalog(*client_for(), kPurpose);
    for (size_t i = 0; i < 9; ++i) {
      if (i && i % 3 == 0) got += ' ';
      const std::string& ds = all[i];
      const std::string action = row.action;
      if (action == "catalog") {
        got += listed.count(ds) ? 'A' : 'D';
        continue;
      }
      auto c = client_for();
      v1::ApiResponse r;
      if (action == "read") {
        r = query(*c, ds);
      } else if (action == "query_subject") {
        r = query(*c, ds, kPurpose, citizen_id(1));
      } else if (action == "download") {
        r = download(*c, ds);
      } else if (action == "export") {
        r = download(*c, ds, true);
      } else {
        r = aggregate(*c, ds, {"household_size"});
      }
      INFO(row.caller << " " << action << " " << ds << ": " << code_name(r));
      REQUIRE((r.error().code() == v1::API_OK || r.error().code() == v1::API_DENIED));
      got += r.error().code() == v1::API_OK ? 'A' : 'D';
      if (r.error().code() == v1::API_DENIED) {
        CHECK(!r.error().rule().empty());
        CHECK(r.error().policy_version() == kVersion);
      } else if (action == "read" || action == "query_subject") {
        CHECK(r.query().rows_size() == 1);
        CHECK(!r.query().decision().mask_profile().empty());
      } else if (action == "download" || action == "export") {
        CHECK(r.download().rows_size() == 1);
      }
    }
    INFO(row.caller << " " << row.action);
    CHECK(got == row.expect);
  }
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("a subject's records are found in merged partitions and in the runs of the filling one") {
  Platform p;
  p.add_dataset(person_dataset("people.many", "unconditional", "unconditional"));
  // 17 batches of 1,000, one commit each: a subject-index run per commit, and the commit that
  // numbers version 16,384 closes partition 0 and merges its runs. The last 2,000 records
  // rewrite p-0..p-1999 with the same subjects, so a record's entries repeat within partition 0
  // (merged once) and across partitions 0 and 1.
  constexpr int kSubjects = 40;
  for (int b = 0; b < 17; ++b) {
    std::vector<v1::Record> batch;
    for (int i = 0; i < 1000; ++i) {
      const int n = b * 1000 + i;
      batch.push_back(person("people.many", "p-" + std::to_string(n % 15000),
                             citizen_id(n % kSubjects), "张三", "河北省石家庄市长安区", 1));
    }
    p.deliver(batch);
  }
  auto gongan = p.f.client(p.user("sjz-gongan"));
  for (int subject : {0, 7, 39}) {
    std::set<std::string> want;
    for (int m = subject; m < 15000; m += kSubjects) want.insert("p-" + std::to_string(m));
    std::set<std::string> got;
    std::string cursor;
    do {
      auto r = query(*gongan, "people.many", kPurpose, citizen_id(subject), {}, 100, cursor);
      INFO(code_name(r));
      REQUIRE(r.error().code() == v1::API_OK);
      for (const auto& row : r.query().rows()) {
        CHECK(row.record().subject_id() == citizen_id(subject));
        CHECK(got.insert(row.record().record_key()).second);  // each record once
      }
      cursor = r.query().next_cursor();
    } while (!cursor.empty());
    CHECK(got == want);
  }
}

TEST_CASE("every read path masks rows with the decision's profile") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  // Open conditionally, shared unconditionally.
  p.add_dataset(person_dataset("people.masked", "conditional", "unconditional"));
  p.five_people("people.masked");
  p.add_dataset(person_dataset("people.open", "unconditional", "unconditional"));
  p.five_people("people.open");
  const std::string cid = citizen_id(1);
  auto gongan = p.user("sjz-gongan");
  auto minzheng = p.user("sjz-minzheng");
  auto applicant = p.f.add_principal("applicant");
  active_agreement(p, applicant, gongan,
                   apply_request("open", {"people.masked"}, {}, kStartMs + 30 * kDayMs));

  auto row_of = [](const google::protobuf::RepeatedPtrField<v1::Row>& rows,
                   const std::string& key) -> const v1::Record* {
    for (const auto& r : rows) {
      if (r.record().record_key() == key) return &r.record();
    }
    return nullptr;
  };
  auto check_share_masked = [&](const v1::Record& r) {
    CHECK(field(r, "citizen_id")->text() == cid);  // identifiers kept for matching
    CHECK(field(r, "name")->text() == "张**");     // per character, not per byte
    CHECK(field(r, "birth_date")->integer() == 1990);
    CHECK(field(r, "address")->text() == "河北省石家庄市长安区***");
    CHECK(field(r, "household_size")->integer() == 3);
    CHECK(r.subject_id() == cid);
  };

  SECTION("the providing agency reads its own data as delivered") {
    auto r = query(*p.f.client(gongan), "people.masked", "", "", {}, 0);
    REQUIRE(r.error().code() == v1::API_OK);
    const v1::Record* rec = row_of(r.query().rows(), "p-1");
    REQUIRE(rec);
    CHECK(field(*rec, "name")->text() == "张三丰");
    CHECK(field(*rec, "address")->text() == "河北省石家庄市长安区中山东路39号");
    CHECK(r.query().decision().mask_profile() == "provider-own");
  }
  SECTION("another agency: read, query by subject and lookup, all share-masked") {
    auto c = p.f.client(minzheng);
    auto r = query(*c, "people.masked");
    INFO(code_name(r));
    REQUIRE(r.error().code() == v1::API_OK);
    CHECK(r.query().decision().rule() == "share-unconditional");
    check_share_masked(*row_of(r.query().rows(), "p-1"));
    auto s = query(*c, "people.masked", kPurpose, cid);
    REQUIRE(s.error().code() == v1::API_OK);
    REQUIRE(s.query().rows_size() == 1);
    check_share_masked(s.query().rows(0).record());
    v1::ApiRequest l;
    l.mutable_lookup()->set_subject_id(cid);
    l.mutable_lookup()->set_purpose(kPurpose);
    auto lr = c->call(l);
    INFO(code_name(lr));
    REQUIRE(lr.error().code() == v1::API_OK);
    CHECK(lr.lookup().subject_kind() == "citizen_id");
    REQUIRE(lr.lookup().datasets_size() == 2);
    for (const auto& ds : lr.lookup().datasets()) {
      REQUIRE(ds.rows_size() == 1);
      check_share_masked(ds.rows(0).record());
    }
    // A lookup without the purpose sharing requires is denied, dataset by dataset.
    l.mutable_lookup()->clear_purpose();
    auto denied = c->call(l);
    REQUIRE(denied.error().code() == v1::API_OK);
    CHECK(denied.lookup().datasets_size() == 0);
    CHECK(denied.lookup().denied_size() == 2);
  }
  SECTION("an applicant under an open agreement: anonymised, identifiers as keyed tokens") {
    auto c = p.f.client(applicant);
    auto r = query(*c, "people.masked");
    INFO(code_name(r));
    REQUIRE(r.error().code() == v1::API_OK);
    CHECK(r.query().decision().mask_profile() == "conditional-anonymised");
    REQUIRE(r.query().rows_size() == 5);
    std::set<std::string> tokens;
    for (const auto& row : r.query().rows()) {
      const v1::Record& rec = row.record();
      CHECK(field(rec, "name") == nullptr);
      CHECK(field(rec, "citizen_id")->text().rfind("tk_", 0) == 0);
      CHECK(rec.record_key().rfind("tk_", 0) == 0);
      CHECK(rec.subject_id().rfind("tk_", 0) == 0);
      CHECK(rec.observed_at_ms() == 0);
      CHECK(row.version() == 0);
      tokens.insert(field(rec, "citizen_id")->text());
    }
    CHECK(tokens.size() == 5);
    // Downloading gives the same masking, and the same tokens (one key per agreement).
    auto d = download(*c, "people.masked");
    REQUIRE(d.error().code() == v1::API_OK);
    for (const auto& row : d.download().rows()) {
      CHECK(field(row.record(), "name") == nullptr);
      CHECK(tokens.count(field(row.record(), "citizen_id")->text()) == 1);
    }
    // Asking for a field the profile drops is refused by name.
    auto named = query(*c, "people.masked", kPurpose, "", {"name"});
    CHECK(named.error().code() == v1::API_DENIED);
    CHECK(named.error().message().find("field 'name'") != std::string::npos);
  }
  SECTION("the public downloads unconditionally open data anonymised") {
    auto stranger = crypto::IdentityKey::generate();
    auto d = download(*p.f.client(stranger), "people.open");
    INFO(code_name(d));
    REQUIRE(d.error().code() == v1::API_OK);
    CHECK(d.download().decision().mask_profile() == "open-anonymised");
    REQUIRE(d.download().rows_size() == 5);
    for (const auto& row : d.download().rows()) {
      const v1::Record& rec = row.record();
      CHECK(field(rec, "citizen_id") == nullptr);
      CHECK(field(rec, "name") == nullptr);
      CHECK(field(rec, "address")->text().rfind("河北省石家庄市", 0) == 0);
      CHECK(field(rec, "address")->text().find("区") == std::string::npos);
      CHECK(field(rec, "birth_date")->integer() == 1990);
      CHECK(rec.subject_id().empty());
      CHECK(rec.record_key().rfind("tk_", 0) == 0);
    }
    CHECK(d.download().columns_size() == 3);  // birth_date, address, household_size
  }
  SECTION("operators see samples for a stated purpose, desensitised") {
    auto r = query(*p.f.op, "people.masked", "quality check", "", {}, 2);
    REQUIRE(r.error().code() == v1::API_OK);
    CHECK(r.query().rows_size() == 2);
    CHECK(!r.query().next_cursor().empty());
    const v1::Record* rec = row_of(r.query().rows(), "p-1");
    REQUIRE(rec);
    CHECK(field(*rec, "citizen_id")->text() == cid.substr(0, 6) + "********" + cid.substr(14));
    CHECK(field(*rec, "name")->text() == "张**");
    // The cursor pages on and reveals nothing: it is not the record key.
    CHECK(r.query().next_cursor().find("p-2") == std::string::npos);
    auto next =
        query(*p.f.op, "people.masked", "quality check", "", {}, 2, r.query().next_cursor());
    REQUIRE(next.error().code() == v1::API_OK);
    CHECK(next.query().rows(0).record().record_key() == "p-3");
    auto forged = query(*p.f.op, "people.masked", "quality check", "", {}, 2, "00ff");
    CHECK(forged.error().code() == v1::API_BAD_REQUEST);
    // Without a purpose, operators read nothing.
    CHECK(query(*p.f.op, "people.masked", "").error().code() == v1::API_DENIED);
  }
  SECTION("aggregates mask their group keys") {
    auto r = aggregate(*p.f.op, "people.masked", {"address"}, {"household_size"}, "statistics");
    INFO(code_name(r));
    REQUIRE(r.error().code() == v1::API_OK);
    std::map<std::string, std::pair<uint64_t, double>> groups;
    for (const auto& g : r.aggregate().groups()) groups[g.key(0).text()] = {g.count(), g.sums(0)};
    CHECK(groups["河北省石家庄市长安区***"] == std::pair<uint64_t, double>{3, 9.0});
    CHECK(groups["河北省石家庄市桥西区***"] == std::pair<uint64_t, double>{2, 6.0});
  }
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("open-use agreements: application, review, approval, signed commitment, use") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  p.add_dataset(person_dataset("people.cond", "conditional", "conditional"));
  p.add_dataset(person_dataset("people.open", "unconditional", "unconditional"));
  p.add_dataset(person_dataset("people.closed", "closed", "conditional"));
  p.five_people("people.cond");
  auto gongan = p.user("sjz-gongan");
  auto minzheng = p.user("sjz-minzheng");
  auto applicant = p.f.add_principal("applicant");
  auto other_applicant = p.f.add_principal("applicant");
  auto a = p.f.client(applicant);
  const int64_t month = kStartMs + 30 * kDayMs;

  // What may not be applied for.
  agreement_call(*a, apply_request("open", {"people.open"}, {}, month), v1::API_BAD_REQUEST);
  agreement_call(*a, apply_request("open", {"people.closed"}, {}, month), v1::API_BAD_REQUEST);
  agreement_call(*a, apply_request("open", {"people.cond"}, {"no_such"}, month),
                 v1::API_BAD_REQUEST);
  agreement_call(*a, apply_request("share", {"people.cond"}, {}, month), v1::API_DENIED);
  agreement_call(*a, apply_request("open", {"people.cond"}, {}, kStartMs - 1), v1::API_BAD_REQUEST);

  auto info = agreement_call(
      *a, apply_request("open", {"people.cond"}, {"address", "household_size"}, month, 3));
  const std::string id = info.id();
  CHECK(id == "KF-2026-0001");
  CHECK(info.status() == "pending_review");
  CHECK(info.reviews_pending(0) == "sjz-gongan");
  CHECK(info.holder() == applicant.public_key().key_id());

  // Not usable until active: the reason names the agreement and its state.
  auto pending = query(*a, "people.cond", kPurpose, "", {"address"});
  CHECK(pending.error().code() == v1::API_DENIED);
  CHECK(pending.error().message().find(id + ": is pending") != std::string::npos);

  // Only a providing agency reviews; only the authority approves; only the applicant signs.
  agreement_call(*p.f.client(minzheng), review_request(id, true), v1::API_DENIED);
  agreement_call(*a, approve_request(id), v1::API_DENIED);
  agreement_call(*p.f.op, approve_request(id), v1::API_CONFLICT);  // not reviewed yet
  info = agreement_call(*p.f.client(gongan), review_request(id, true));
  CHECK(info.status() == "pending_approval");
  info = agreement_call(*p.f.op, approve_request(id));
  CHECK(info.status() == "pending_signature");
  CHECK(info.commitment().find("agreement: " + id) != std::string::npos);
  CHECK(info.commitment().find("row quota: 3") != std::string::npos);
  agreement_call(*p.f.client(other_applicant), sign_request(id, other_applicant, info.commitment()),
                 v1::API_DENIED);
  agreement_call(*a, sign_request(id, applicant, info.commitment() + "tampered"), v1::API_DENIED);
  info = agreement_call(*a, sign_request(id, applicant, info.commitment()));
  CHECK(info.status() == "active");

  SECTION("used within its fields, purposes and row quota") {
    auto outside = query(*a, "people.cond", kPurpose, "", {"name"});
    CHECK(outside.error().code() == v1::API_DENIED);
    CHECK(outside.error().message().find("does not cover field name") != std::string::npos);
    auto all_fields = query(*a, "people.cond");
    CHECK(all_fields.error().code() == v1::API_DENIED);
    auto purpose = query(*a, "people.cond", "marketing", "", {"address"});
    CHECK(purpose.error().code() == v1::API_DENIED);
    CHECK(purpose.error().message().find("purpose 'marketing'") != std::string::npos);

    auto first = query(*a, "people.cond", kPurpose, "", {"address", "household_size"}, 2);
    INFO(code_name(first));
    REQUIRE(first.error().code() == v1::API_OK);
    CHECK(first.query().rows_size() == 2);
    CHECK(first.query().decision().agreement_id() == id);
    CHECK(first.query().decision().rows_remaining() == 1);
    // The quota caps the next answer, then refuses.
    auto second = query(*a, "people.cond", kPurpose, "", {"address"}, 10);
    REQUIRE(second.error().code() == v1::API_OK);
    CHECK(second.query().rows_size() == 1);
    auto third = query(*a, "people.cond", kPurpose, "", {"address"});
    CHECK(third.error().code() == v1::API_DENIED);
    CHECK(third.error().message().find("row quota is exhausted") != std::string::npos);
    // Aggregates count no rows against the quota.
    auto agg = aggregate(*a, "people.cond", {"household_size"});
    CHECK(agg.error().code() == v1::API_OK);
    v1::ApiRequest show;
    show.mutable_agreement_show()->set_id(id);
    CHECK(agreement_call(*a, show).rows_used() == 3);
  }
  SECTION("expiry takes effect on the next request") {
    REQUIRE(query(*a, "people.cond", kPurpose, "", {"address"}, 1).error().code() == v1::API_OK);
    clock.set_ns((month + 1) * 1'000'000);
    auto r = query(*a, "people.cond", kPurpose, "", {"address"}, 1);
    CHECK(r.error().code() == v1::API_DENIED);
    CHECK(r.error().message().find("expired") != std::string::npos);
    v1::ApiRequest show;
    show.mutable_agreement_show()->set_id(id);
    CHECK(agreement_call(*a, show).status() == "expired");
  }
  SECTION("revocation takes effect on the next request") {
    v1::ApiRequest revoke;
    revoke.mutable_agreement_revoke()->set_id(id);
    revoke.mutable_agreement_revoke()->set_reason("scope changed");
    agreement_call(*a, revoke, v1::API_DENIED);
    CHECK(agreement_call(*p.f.op, revoke).status() == "revoked");
    auto r = query(*a, "people.cond", kPurpose, "", {"address"}, 1);
    CHECK(r.error().code() == v1::API_DENIED);
    CHECK(r.error().message().find("is revoked") != std::string::npos);
  }
  SECTION("a recorded violation ends the agreement and blocks future applications") {
    v1::ApiRequest v;
    v.mutable_agreement_violation()->set_id(id);
    v.mutable_agreement_violation()->set_note("data passed to a third party");
    auto after = agreement_call(*p.f.op, v);
    CHECK(after.status() == "revoked");
    CHECK(after.violation());
    CHECK(query(*a, "people.cond", kPurpose, "", {"address"}, 1).error().code() == v1::API_DENIED);
    auto again = a->call(apply_request("open", {"people.cond"}, {}, month));
    CHECK(again.error().code() == v1::API_DENIED);
    CHECK(again.error().message().find("recorded violation") != std::string::npos);
    // Others may still apply.
    agreement_call(*p.f.client(other_applicant), apply_request("open", {"people.cond"}, {}, month));
  }
  SECTION("who sees which agreements") {
    v1::ApiRequest list;
    list.mutable_agreement_list();
    CHECK(p.f.client(other_applicant)->call(list).agreements().agreements_size() == 0);
    CHECK(a->call(list).agreements().agreements_size() == 1);
    CHECK(p.f.client(gongan)->call(list).agreements().agreements_size() == 1);
    CHECK(p.f.client(minzheng)->call(list).agreements().agreements_size() == 0);
    CHECK(p.f.op->call(list).agreements().agreements_size() == 1);
    v1::ApiRequest show;
    show.mutable_agreement_show()->set_id(id);
    CHECK(p.f.client(other_applicant)->call(show).error().code() == v1::API_NOT_FOUND);
  }

  // Every step is in the audit log, in order.
  std::vector<std::string> steps;
  for (const auto& e : p.f.audit_entries()) {
    if (e.action().rfind("agreement_", 0) == 0 && e.decision() == v1::DECISION_ALLOW)
      steps.push_back(e.action());
  }
  REQUIRE(steps.size() >= 4);
  CHECK(std::vector<std::string>(steps.begin(), steps.begin() + 4) ==
        std::vector<std::string>{"agreement_apply", "agreement_review", "agreement_approve",
                                 "agreement_sign"});
}

TEST_CASE("sharing requests between agencies, and public applicants") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  p.add_dataset(person_dataset("people.cond", "conditional", "conditional"));
  p.five_people("people.cond");
  auto gongan = p.user("sjz-gongan");
  auto shuiwu = p.user("sjz-shuiwu");
  auto shuiwu2 = p.user("sjz-shuiwu");
  const int64_t month = kStartMs + 30 * kDayMs;

  SECTION("an agency's approved sharing request serves all of its users (R-13)") {
    CHECK(query(*p.f.client(shuiwu), "people.cond").error().code() == v1::API_DENIED);
    auto id =
        active_agreement(p, shuiwu, gongan, apply_request("share", {"people.cond"}, {}, month));
    CHECK(id == "GX-2026-0001");
    auto r = query(*p.f.client(shuiwu2), "people.cond");
    INFO(code_name(r));
    REQUIRE(r.error().code() == v1::API_OK);
    CHECK(r.query().decision().rule() == "share-conditional-agreement");
    CHECK(r.query().decision().mask_profile() == "share-masked");
    CHECK(download(*p.f.client(shuiwu2), "people.cond", true).error().code() == v1::API_OK);
    // The provider needs no request for its own data.
    agreement_call(*p.f.client(gongan), apply_request("share", {"people.cond"}, {}, month),
                   v1::API_BAD_REQUEST);
  }
  SECTION("a public key applies, is registered on approval, signs and uses the data") {
    auto key = crypto::IdentityKey::generate();
    auto c = p.f.client(key);
    auto req = apply_request("open", {"people.cond"}, {}, month);
    agreement_call(*c, req, v1::API_BAD_REQUEST);  // no public key given
    req.mutable_agreement_apply()->set_applicant_public_key(
        crypto::IdentityKey::generate().public_key().hex());
    agreement_call(*c, req, v1::API_DENIED);  // not the key of the connection
    req.mutable_agreement_apply()->set_applicant_public_key(key.public_key().hex());
    auto info = agreement_call(*c, req);
    CHECK(info.applicant() == key.public_key().key_id());
    v1::ApiRequest show;
    show.mutable_agreement_show()->set_id(info.id());
    CHECK(agreement_call(*c, show).status() == "pending_review");
    agreement_call(*p.f.client(gongan), review_request(info.id(), true));
    info = agreement_call(*p.f.op, approve_request(info.id()));
    info = agreement_call(*c, sign_request(info.id(), key, info.commitment()));
    CHECK(info.status() == "active");
    auto r = query(*c, "people.cond");
    INFO(code_name(r));
    CHECK(r.error().code() == v1::API_OK);
    CHECK(r.query().decision().rule() == "open-conditional-agreement");
  }
  SECTION("a rejected review ends the application") {
    auto c = p.f.client(shuiwu);
    auto info = agreement_call(*c, apply_request("share", {"people.cond"}, {}, month));
    info = agreement_call(*p.f.client(gongan), review_request(info.id(), false));
    CHECK(info.status() == "rejected");
    agreement_call(*p.f.op, approve_request(info.id()), v1::API_CONFLICT);
  }
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("a field-limited sharing request does not reveal the subject's identifier") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  p.add_dataset(person_dataset("people.cond", "conditional", "conditional"));
  p.five_people("people.cond");
  auto gongan = p.user("sjz-gongan");
  auto shuiwu = p.user("sjz-shuiwu");
  active_agreement(p, shuiwu, gongan,
                   apply_request("share", {"people.cond"}, {"household_size", "address"},
                                 kStartMs + 30 * kDayMs));
  auto c = p.f.client(shuiwu);
  // The agreement covers neither citizen_id nor name: the rows carry neither, and not the
  // citizen ID as the record's subject either.
  auto r = query(*c, "people.cond", kPurpose, "", {"household_size", "address"});
  INFO(code_name(r));
  REQUIRE(r.error().code() == v1::API_OK);
  REQUIRE(r.query().rows_size() == 5);
  for (const auto& row : r.query().rows()) {
    CHECK(row.record().subject_id().empty());
    CHECK(field(row.record(), "citizen_id") == nullptr);
    CHECK(field(row.record(), "address")->text().find("***") != std::string::npos);
  }
  CHECK(query(*c, "people.cond", kPurpose, "", {"citizen_id"}).error().code() == v1::API_DENIED);
  // Asking for the identifier field brings the subject along (the provider, own data).
  auto own = query(*p.f.client(gongan), "people.cond", "", "", {"citizen_id"});
  REQUIRE(own.error().code() == v1::API_OK);
  CHECK(own.query().rows(0).record().subject_id() == citizen_id(1));
  auto own_size = query(*p.f.client(gongan), "people.cond", "", "", {"household_size"});
  REQUIRE(own_size.error().code() == v1::API_OK);
  CHECK(own_size.query().rows(0).record().subject_id().empty());
}

TEST_CASE("empty or oversized ids, record keys and periods from the network are refused") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  p.add_dataset(person_dataset("people.cond", "conditional", "conditional"));
  p.five_people("people.cond");
  auto gongan = p.user("sjz-gongan");
  auto applicant = p.f.add_principal("applicant");
  auto stranger = crypto::IdentityKey::generate();
  // An empty id was looked up as an empty LMDB key (MDB_BAD_VALSIZE), which aborted the
  // daemon: anyone could stop it with a sign request. A huge one was echoed back whole.
  const std::string huge(2000, 'K');
  for (const std::string& id : {std::string(), huge}) {
    auto r = p.f.client(stranger)->call(sign_request(id, stranger, "text"));
    CHECK(r.error().code() == v1::API_NOT_FOUND);
    CHECK(r.error().message().find(huge) == std::string::npos);
    agreement_call(*p.f.client(gongan), review_request(id, true), v1::API_NOT_FOUND);
    agreement_call(*p.f.op, approve_request(id), v1::API_NOT_FOUND);
    v1::ApiRequest revoke;
    revoke.mutable_agreement_revoke()->set_id(id);
    agreement_call(*p.f.op, revoke, v1::API_NOT_FOUND);
    v1::ApiRequest violation;
    violation.mutable_agreement_violation()->set_id(id);
    violation.mutable_agreement_violation()->set_note("x");
    agreement_call(*p.f.op, violation, v1::API_NOT_FOUND);
  }
  {
    v1::ApiRequest show;
    show.mutable_agreement_show()->set_id(huge);
    auto r = p.f.client(stranger)->call(show);
    CHECK(r.error().code() == v1::API_NOT_FOUND);
    CHECK(r.error().message().find(huge) == std::string::npos);
  }
  {
    // Record keys are bounded as ingest bounds them.
    v1::ApiRequest q;
    q.mutable_query()->set_dataset("people.cond");
    q.mutable_query()->set_record_key(huge);
    auto r = p.f.client(gongan)->call(q);
    CHECK(r.error().code() == v1::API_BAD_REQUEST);
    q.mutable_query()->set_record_key(std::string(catalog::kMaxRecordKey, 'k'));
    r = p.f.client(gongan)->call(q);
    CHECK(r.error().code() == v1::API_OK);
    CHECK(r.query().rows_size() == 0);
  }
  // A period whose length overflowed int64 passed the five-year limit.
  auto req = apply_request("open", {"people.cond"}, {}, int64_t(5'000'000'000'000'000'000));
  req.mutable_agreement_apply()->set_valid_from_ms(-int64_t(5'000'000'000'000'000'000));
  agreement_call(*p.f.client(applicant), req, v1::API_BAD_REQUEST);
  req.mutable_agreement_apply()->set_valid_from_ms(kStartMs + 10 * 366 * kDayMs);
  req.mutable_agreement_apply()->set_valid_to_ms(kStartMs + 11 * 366 * kDayMs);
  agreement_call(*p.f.client(applicant), req, v1::API_BAD_REQUEST);
  // The daemon is still there.
  CHECK(query(*p.f.client(gongan), "people.cond").query().rows_size() == 5);
}

TEST_CASE("the public applies for agreements at the public rate") {
  FakeClock clock(kStartMs * 1'000'000);
  // The rate is what this tests; the cap on pending applications is api_limits_test's.
  ApiLimits limits;
  limits.max_pending_applications_per_applicant = 100;
  Platform p(FixtureOptions{&clock, "", 0, limits});
  p.add_dataset(person_dataset("people.cond", "conditional", "conditional"));
  auto stranger = crypto::IdentityKey::generate();
  auto c = p.f.client(stranger);
  auto req = apply_request("open", {"people.cond"}, {}, kStartMs + 30 * kDayMs);
  req.mutable_agreement_apply()->set_applicant_public_key(stranger.public_key().hex());
  // Each application is a stored agreement and an audit entry: without a limit, an unknown key
  // could add them as fast as it can send.
  int ok = 0, limited = 0;
  for (int i = 0; i < 25; ++i) {
    auto r = c->call(req);
    ok += r.error().code() == v1::API_OK ? 1 : 0;
    limited += r.error().code() == v1::API_RATE_LIMITED ? 1 : 0;
  }
  CHECK(ok == 20);  // the burst of the public default class
  CHECK(limited == 5);
  int stored = 0;
  for (const auto& e : p.f.audit_entries())
    stored += e.action() == "agreement_apply" && e.decision() == v1::DECISION_ALLOW ? 1 : 0;
  CHECK(stored == 20);
  // Registered applicants are limited by their rules, not by the public class.
  auto applicant = p.f.add_principal("applicant");
  auto a = p.f.client(applicant);
  for (int i = 0; i < 25; ++i)
    agreement_call(*a, apply_request("open", {"people.cond"}, {}, kStartMs + 30 * kDayMs));
}

TEST_CASE("licensed operators get aggregates only, small groups suppressed, within their term") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  p.add_dataset(person_dataset("people.lic", "closed", "none"));
  p.add_dataset(person_dataset("people.unlicensed", "conditional", "unconditional"));
  std::vector<v1::Record> rows;
  for (int i = 0; i < 25; ++i) {
    const char* district = i < 12 ? "长安区" : i < 22 ? "桥西区" : "新华区";
    rows.push_back(person("people.lic", "r-" + std::to_string(i), citizen_id(i), "某人",
                          std::string("河北省石家庄市") + district + "某路1号", i % 3 + 1));
  }
  p.deliver(rows);
  p.five_people("people.unlicensed");
  const int64_t term = kStartMs + 90 * kDayMs;
  auto key = p.f.add_principal("licensed", "", term, {"people.lic"}, {"market-analysis"});
  auto c = p.f.client(key);
  const std::string purpose = "market-analysis";

  // No raw row, whatever the path.
  for (auto r : {query(*c, "people.lic", purpose), query(*c, "people.lic", purpose, citizen_id(1)),
                 download(*c, "people.lic", false, "", 0, "", purpose),
                 download(*c, "people.lic", true, "", 0, "", purpose)}) {
    CHECK(r.error().code() == v1::API_DENIED);
    CHECK(r.error().rule() == "licensed-no-raw-rows");
    CHECK(r.body_case() == v1::ApiResponse::BODY_NOT_SET);
  }
  v1::ApiRequest l;
  l.mutable_lookup()->set_subject_id(citizen_id(1));
  l.mutable_lookup()->set_purpose(purpose);
  auto lr = c->call(l);
  REQUIRE(lr.error().code() == v1::API_OK);
  CHECK(lr.lookup().datasets_size() == 0);

  auto agg = aggregate(*c, "people.lic", {"address"}, {"household_size"}, purpose);
  INFO(code_name(agg));
  REQUIRE(agg.error().code() == v1::API_OK);
  CHECK(agg.aggregate().decision().rule() == "licensed-aggregate");
  CHECK(agg.aggregate().decision().k_threshold() == 10);
  REQUIRE(agg.aggregate().groups_size() == 2);
  CHECK(agg.aggregate().groups(0).key(0).text() == "河北省石家庄市长安区***");
  CHECK(agg.aggregate().groups(0).count() == 12);
  CHECK(agg.aggregate().groups(1).count() == 10);
  CHECK(agg.aggregate().suppressed_groups() == 1);  // 新华区: 3 people

  // Grouping by a person's identifier gives groups of one: all suppressed.
  auto by_person = aggregate(*c, "people.lic", {"citizen_id"}, {}, purpose);
  REQUIRE(by_person.error().code() == v1::API_OK);
  CHECK(by_person.aggregate().groups_size() == 0);
  CHECK(by_person.aggregate().suppressed_groups() == 25);
  // A field the profile drops cannot be grouped by; outside the licence nothing is allowed.
  CHECK(aggregate(*c, "people.lic", {"name"}, {}, purpose).error().code() == v1::API_DENIED);
  auto other = aggregate(*c, "people.unlicensed", {"address"}, {}, purpose);
  CHECK(other.error().code() == v1::API_DENIED);
  CHECK(other.error().message().find("does not cover dataset people.unlicensed") !=
        std::string::npos);
  CHECK(aggregate(*c, "people.lic", {"address"}, {}, "resale").error().code() == v1::API_DENIED);
  CHECK(open_catalog(*c, purpose) == std::set<std::string>{"people.lic"});

  // After the term: nothing, not even the catalog.
  clock.set_ns((term + 1) * 1'000'000);
  auto late = aggregate(*c, "people.lic", {"address"}, {}, purpose);
  CHECK(late.error().code() == v1::API_DENIED);
  CHECK(late.error().message().find("expired") != std::string::npos);
  CHECK(open_catalog(*c, purpose).empty());

  // The audit log shows no licensed operator's decision that revealed rows.
  for (const auto& e : p.f.audit_entries()) {
    if (e.principal().role() != "licensed" || e.decision() != v1::DECISION_ALLOW) continue;
    CHECK((e.action() == "aggregate" || e.action() == "open_catalog"));
  }
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("the public: the open catalog, anonymised downloads in chunks, a rate limit") {
  FakeClock clock(kStartMs * 1'000'000);
  Platform p(FixtureOptions{&clock, ""});
  p.add_dataset(person_dataset("people.open", "unconditional", "unconditional"));
  p.add_dataset(person_dataset("people.cond", "conditional", "unconditional"));
  p.add_dataset(person_dataset("people.closed", "closed", "unconditional"));
  p.add_dataset(person_dataset("people.important", "unconditional", "unconditional", "important"));
  for (const char* d : {"people.open", "people.cond", "people.closed", "people.important"})
    p.five_people(d);
  auto stranger = crypto::IdentityKey::generate();
  auto c = p.f.client(stranger);

  v1::ApiRequest req;
  req.mutable_open_catalog();
  auto cat = c->call(req);
  REQUIRE(cat.error().code() == v1::API_OK);
  std::map<std::string, v1::OpenCatalogEntry> listed;
  for (const auto& d : cat.open_catalog().datasets()) listed[d.id()] = d;
  CHECK(listed.size() == 3);  // never the closed one
  CHECK(listed.count("people.closed") == 0);
  const auto& e = listed["people.cond"];
  CHECK(e.name() == "测试人口 people.cond");
  CHECK(e.provider() == "sjz-gongan");
  CHECK(e.provider_name() == "石家庄市公安局");
  CHECK(e.open_attribute() == "conditional");
  CHECK(e.update_frequency() == "daily");
  CHECK(e.records() == 5);
  // The existing catalog request answers the public by the same policy.
  v1::ApiRequest full;
  full.mutable_catalog();
  CHECK(c->call(full).catalog().datasets_size() == 3);

  // Conditional, closed and important data never reach the public, and nothing but downloads.
  for (const char* d : {"people.cond", "people.closed", "people.important"}) {
    auto r = download(*c, d);
    INFO(d);
    CHECK(r.error().code() == v1::API_DENIED);
    CHECK(r.body_case() == v1::ApiResponse::BODY_NOT_SET);
  }
  CHECK(query(*c, "people.open").error().code() == v1::API_DENIED);
  CHECK(aggregate(*c, "people.open", {"address"}).error().code() == v1::API_DENIED);

  // A download in chunks of two: every row once, each chunk audited under one download id.
  std::set<std::string> keys;
  std::string cursor, id;
  int chunks = 0;
  do {
    auto r = download(*c, "people.open", false, cursor, 2, id);
    INFO(code_name(r));
    REQUIRE(r.error().code() == v1::API_OK);
    ++chunks;
    CHECK(r.download().total_rows() == 5);
    if (id.empty()) id = r.download().download_id();
    CHECK(r.download().download_id() == id);
    for (const auto& row : r.download().rows()) keys.insert(row.record().record_key());
    cursor = r.download().next_cursor();
    CHECK(r.download().last() == cursor.empty());
  } while (!cursor.empty());
  CHECK(chunks == 3);
  CHECK(keys.size() == 5);
  uint64_t audited_rows = 0;
  int audited_chunks = 0;
  for (const auto& entry : p.f.audit_entries()) {
    bool ours = false;
    for (const auto& ref : entry.refs())
      ours = ours || (ref.kind() == "download" && ref.value() == id);
    if (!ours) continue;
    ++audited_chunks;
    audited_rows += entry.record_count();
    CHECK(entry.principal().role() == "public");
    CHECK(entry.policy_rule() == "open-unconditional-download");
    CHECK(entry.policy_version() == kVersion);
  }
  CHECK(audited_chunks == 3);
  CHECK(audited_rows == 5);

  // Rate class "public": bursts of 20, then 60 a minute, per key. The clock stands still here,
  // so the bucket holds what is left of the burst.
  int allowed = 0, limited = 0;
  int64_t retry = 0;
  for (int i = 0; i < 25; ++i) {
    auto r = download(*c, "people.open");
    if (r.error().code() == v1::API_OK) ++allowed;
    if (r.error().code() == v1::API_RATE_LIMITED) {
      ++limited;
      retry = int64_t(r.error().retry_after_ms());
    }
  }
  // The burst was 20; the open catalog, the catalog and the chunks above took theirs.
  CHECK(allowed == 20 - 2 - chunks);
  CHECK(limited == 25 - allowed);
  CHECK(retry > 0);
  CHECK(retry <= 1000);
  // Another key has its own bucket; time refills this one.
  CHECK(download(*p.f.client(crypto::IdentityKey::generate()), "people.open").error().code() ==
        v1::API_OK);
  clock.advance(std::chrono::milliseconds(retry));
  CHECK(download(*c, "people.open").error().code() == v1::API_OK);
  // The refusals were audited once, not once each.
  int rate_entries = 0;
  for (const auto& entry : p.f.audit_entries())
    rate_entries += entry.policy_rule() == "rate:public" ? 1 : 0;
  CHECK(rate_entries == 1);
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("every decision is one audit entry naming who, what, why and how many") {
  Platform p;
  p.add_dataset(person_dataset("people.shared", "closed", "unconditional"));
  p.five_people("people.shared");
  auto minzheng = p.user("sjz-minzheng");
  auto c = p.f.client(minzheng);
  const size_t before = p.f.audit_entries().size();
  REQUIRE(query(*c, "people.shared", "subsidy-check", "", {}, 4).error().code() == v1::API_OK);
  REQUIRE(query(*c, "people.shared", "").error().code() == v1::API_DENIED);
  auto entries = p.f.audit_entries();
  // After the export that `before` came from: its own entry, the two decisions, then the
  // checkpoint this export asked for.
  REQUIRE(entries.size() == before + 4);
  CHECK(entries[before].action() == "audit_export");
  const v1::AuditEntry& allow = entries[before + 1];
  CHECK(allow.principal().key_id() == minzheng.public_key().key_id());
  CHECK(allow.principal().role() == "agency");
  CHECK(allow.principal().agency() == "sjz-minzheng");
  CHECK(allow.action() == "read");
  CHECK(allow.dataset() == "people.shared");
  CHECK(allow.purpose() == "subsidy-check");
  CHECK(allow.policy_rule() == "share-unconditional");
  CHECK(allow.policy_version() == kVersion);
  CHECK(allow.decision() == v1::DECISION_ALLOW);
  CHECK(allow.record_count() == 4);
  const v1::AuditEntry& deny = entries[before + 2];
  CHECK(deny.decision() == v1::DECISION_DENY);
  CHECK(deny.policy_rule() == "default-deny");
  CHECK(deny.record_count() == 0);
  CHECK(deny.detail().find("rule share-unconditional: the request states no purpose") !=
        std::string::npos);
}

// ---------------------------------------------------------------------------------------------

void copy_policy(const std::string& to) {
  std::filesystem::create_directories(to);
  for (const auto& f :
       std::filesystem::directory_iterator(std::string(GONGSHU_SOURCE_DIR) + "/policies/policy"))
    std::filesystem::copy_file(f.path(), to + "/" + f.path().filename().string());
}

void replace_in(const std::string& path, const std::string& from, const std::string& to) {
  std::string text = gongshu::testing::read_text(path);
  auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
  gongshu::testing::write_text(path, text);
}

TEST_CASE("a policy with an error leaves the running policy in force; a good one replaces it") {
  gongshu::testing::TempDir pdir;
  const std::string dir = pdir.file("policy");
  copy_policy(dir);
  Platform p(FixtureOptions{nullptr, dir});
  p.add_dataset(person_dataset("people.open", "unconditional", "unconditional"));
  p.five_people("people.open");
  auto stranger = crypto::IdentityKey::generate();
  auto c = p.f.client(stranger);
  REQUIRE(download(*c, "people.open").error().code() == v1::API_OK);
  CHECK(p.f.daemon->policy_version() == kVersion);

  // A broken file: refused whole, with file and line; the running policy decides as before.
  replace_in(dir + "/rules.toml", "mask = \"open-anonymised\"", "mask = \"no-such-profile\"");
  replace_in(dir + "/policy.toml", "version = \"2026.01.1\"", "version = \"2026.02.1\"");
  auto bad = p.f.daemon->reload(p.f.config);
  REQUIRE(!bad);
  CHECK(bad.error().message().find("rules.toml:") != std::string::npos);
  CHECK(bad.error().message().find("no-such-profile") != std::string::npos);
  auto still = download(*c, "people.open");
  REQUIRE(still.error().code() == v1::API_OK);
  CHECK(still.download().decision().policy_version() == kVersion);
  CHECK(p.f.daemon->policy_version() == kVersion);

  // A good one takes effect on the next request, under its version; the public download rule
  // is gone from it.
  replace_in(dir + "/rules.toml", "mask = \"no-such-profile\"", "mask = \"open-anonymised\"");
  replace_in(dir + "/rules.toml", "roles = [\"public\", \"applicant\"]\nactions = [\"download\"]",
             "roles = [\"applicant\"]\nactions = [\"download\"]");
  REQUIRE(p.f.daemon->reload(p.f.config));
  CHECK(p.f.daemon->policy_version() == "2026.02.1");
  auto now = download(*c, "people.open");
  CHECK(now.error().code() == v1::API_DENIED);
  CHECK(now.error().policy_version() == "2026.02.1");

  std::vector<std::pair<v1::Decision, std::string>> changes;
  for (const auto& e : p.f.audit_entries()) {
    if (e.action() == "policy_change") changes.emplace_back(e.decision(), e.policy_version());
  }
  REQUIRE(changes.size() == 3);  // start, the refused reload, the accepted one
  CHECK(changes[0] == std::pair{v1::DECISION_ALLOW, kVersion});
  CHECK(changes[1].first == v1::DECISION_DENY);
  CHECK(changes[2] == std::pair{v1::DECISION_ALLOW, std::string("2026.02.1")});
}

TEST_CASE("without a policy every access is denied, ingest goes on, and a reload fixes it") {
  gongshu::testing::TempDir pdir;
  Platform p(FixtureOptions{nullptr, pdir.file("missing")});
  p.add_dataset(person_dataset("people.own", "closed", "none"));
  p.five_people("people.own");  // ingest needs no access decision
  auto gongan = p.user("sjz-gongan");
  auto r = query(*p.f.client(gongan), "people.own");
  CHECK(r.error().code() == v1::API_DENIED);
  CHECK(r.error().rule() == "no-policy");
  CHECK(p.f.daemon->policy_version().empty());
  CHECK(!p.f.daemon->policy_problem().empty());
  p.f.config.policy_dir = std::string(GONGSHU_SOURCE_DIR) + "/policies/policy";
  REQUIRE(p.f.daemon->reload(p.f.config));
  CHECK(query(*p.f.client(gongan), "people.own").error().code() == v1::API_OK);
}

}  // namespace
}  // namespace gongshu::daemon
