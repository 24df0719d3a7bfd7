// The api socket against an adversary who makes a fresh CURVE key per connection (issue 13,
// item 2): requests of keys the daemon does not know are limited per source address and as one
// class, their refusals (role denials, forged enrollment tokens, rate refusals) are audited in
// summary — the first of a minute, the rest counted into the next — and pending agreement
// applications are capped. A real gongshud over real sockets (tests/daemon/daemon_fixture.h).
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>

#include "core/crypto/secret_bytes.h"
#include "core/wire/enroll_token.h"
#include "daemon/api_context.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::DaemonFixture;
using testing::FixtureOptions;

int64_t at(int y, unsigned m, unsigned d) { return days_from_civil({y, m, d}) * 86'400'000LL; }
const int64_t kStartMs = at(2026, 3, 2) + 4 * 3'600'000LL;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Well-formed, naming this daemon, with a secret it never issued.
std::string forged_token(const DaemonFixture& f) {
  wire::EnrollTokenData data;
  data.daemon_key = f.daemon->public_key();
  auto secret = crypto::SecretBytes::random(data.secret.size());
  std::memcpy(data.secret.data(), secret.data(), data.secret.size());
  data.api_endpoint = f.daemon->api_endpoint();
  return wire::format_enroll_token(data);
}

// Audit entries appended since `before` entries, less the two that audit_entries() itself
// appends (its checkpoint and its export).
size_t added_since(DaemonFixture& f, size_t before) {
  return f.audit_entries().size() - before - 2;
}

TEST_CASE("fresh keys per connection: limited per address, refusals audited in summary") {
  FakeClock clock(kStartMs * 1'000'000);
  ApiLimits limits;
  limits.unknown_keys_per_address_per_minute = 100;
  limits.unknown_keys_per_minute = 1000;
  FixtureOptions o;
  o.clock = &clock;
  o.api_limits = limits;
  DaemonFixture f(o);
  const size_t before = f.audit_entries().size();

  // Each connection a new key: a forged enrollment token, then a request its role may not make.
  constexpr int kConnections = 200;
  int denied = 0, limited = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kConnections; ++i) {
    auto key = crypto::IdentityKey::generate();
    auto c = f.client(key);
    v1::ApiRequest enroll;
    enroll.mutable_enroll()->set_token(forged_token(f));
    enroll.mutable_enroll()->set_agent_public_key(key.public_key().hex());
    enroll.mutable_enroll()->set_hostname("attacker");
    v1::ApiRequest list;
    list.mutable_agent_list();
    for (const auto& req : {enroll, list}) {
      auto r = c->call(req);
      denied += r.error().code() == v1::API_DENIED;
      limited += r.error().code() == v1::API_RATE_LIMITED;
      if (r.error().code() == v1::API_RATE_LIMITED) CHECK(r.error().retry_after_ms() > 0);
    }
  }
  const auto took = std::chrono::steady_clock::now() - started;
  // The clock stands still: one address gets its burst of a minute's worth, and no more.
  CHECK(denied == 100);
  CHECK(limited == 2 * kConnections - 100);
  // 400 refusals, three entries: the first forged token, the first role denial and the first
  // rate refusal of the minute. (Before: one durable entry for each of the 400.)
  const size_t added = added_since(f, before);
  CAPTURE(added, std::chrono::duration<double>(took).count());
  CHECK(added == 3);

  // Summarised, never silent: a minute later the next refusal of each kind is audited with the
  // count of those that were not.
  clock.advance(std::chrono::seconds(61));
  auto key = crypto::IdentityKey::generate();
  auto c = f.client(key);
  v1::ApiRequest list;
  list.mutable_agent_list();
  CHECK(c->call(list).error().code() == v1::API_DENIED);
  v1::ApiRequest enroll;
  enroll.mutable_enroll()->set_token(forged_token(f));
  enroll.mutable_enroll()->set_agent_public_key(key.public_key().hex());
  CHECK(c->call(enroll).error().code() == v1::API_DENIED);
  int role = 0, token = 0, rate = 0;
  for (const auto& e : f.audit_entries()) {
    if (e.policy_rule() == "role" && e.principal().role() == "public") {
      ++role;
      if (role == 2) CHECK(contains(e.detail(), "; 49 earlier refusals like this one"));
    }
    if (e.action() == "enroll" && e.decision() == v1::DECISION_DENY) {
      ++token;
      CHECK(contains(e.detail(), "unknown enrollment token"));
      if (token == 2) CHECK(contains(e.detail(), "; 49 earlier refusals like this one"));
    }
    if (e.policy_rule() == "rate:unknown-keys") {
      ++rate;
      CHECK(contains(e.detail(), "source address 127.0.0.1"));
    }
  }
  CHECK(role == 2);
  CHECK(token == 2);
  CHECK(rate == 1);

  // Known keys are not held by the limits of the unknown ones.
  v1::ApiRequest ping_list;
  ping_list.mutable_agent_list();
  CHECK(f.op->call(ping_list).error().code() == v1::API_OK);
  // And an agent enrolls with a real token from the same address (its bucket has refilled).
  f.add_agency("sjz-gongan", "石家庄市公安局");
  f.enroll("sjz-gongan");
}

// A conditionally open person dataset of sjz-gongan, which open-use agreements may cover.
void add_conditional_dataset(DaemonFixture& f, const std::string& id) {
  v1::ApiRequest req;
  auto* e = req.mutable_catalog_add()->mutable_entry();
  e->set_id(id);
  e->set_name("测试人口 " + id);
  e->set_provider_agency("sjz-gongan");
  e->set_grade("general-3");
  e->set_open_attribute("conditional");
  e->set_share_attribute("conditional");
  e->set_update_frequency("daily");
  e->set_subject_kind("person");
  e->set_category("population");
  auto* field = e->add_fields();
  field->set_name("citizen_id");
  field->set_type(v1::FIELD_TYPE_TEXT);
  field->set_pii(v1::PII_CITIZEN_ID);
  field->set_required(true);
  auto r = f.op->call(req);
  INFO(r.error().message());
  REQUIRE(r.error().code() == v1::API_OK);
}

v1::ApiRequest apply(const std::string& dataset, const crypto::IdentityKey* public_applicant) {
  v1::ApiRequest req;
  auto* a = req.mutable_agreement_apply();
  a->set_kind("open");
  a->add_scope()->set_dataset(dataset);
  a->add_purposes("research");
  a->set_valid_to_ms(kStartMs + 30 * 86'400'000LL);
  a->set_security_measures("数据仅在单位内网的加密工作站处理，访问留痕");
  a->set_applicant_name("某某交通研究院");
  if (public_applicant) a->set_applicant_public_key(public_applicant->public_key().hex());
  return req;
}

TEST_CASE("pending agreement applications are capped per applicant and in all") {
  FakeClock clock(kStartMs * 1'000'000);
  ApiLimits limits;
  limits.max_pending_applications_per_applicant = 2;
  limits.max_pending_applications = 5;
  FixtureOptions o;
  o.clock = &clock;
  o.api_limits = limits;
  DaemonFixture f(o);
  f.add_agency("sjz-gongan", "石家庄市公安局");
  add_conditional_dataset(f, "people.cond");
  const size_t before = f.audit_entries().size();

  // Fresh public keys, one application each: the first five are filed, then the platform is
  // full for keys it does not know. (Before: every one was filed.)
  constexpr int kStrangers = 40;
  int filed = 0, full = 0;
  for (int i = 0; i < kStrangers; ++i) {
    auto key = crypto::IdentityKey::generate();
    auto r = f.client(key)->call(apply("people.cond", &key));
    filed += r.error().code() == v1::API_OK;
    full += r.error().code() == v1::API_UNAVAILABLE;
  }
  CHECK(filed == 5);
  CHECK(full == kStrangers - 5);

  // A registered applicant is not crowded out by strangers, but has its own cap.
  auto applicant = f.add_principal("applicant");
  auto ac = f.client(applicant);
  CHECK(ac->call(apply("people.cond", nullptr)).error().code() == v1::API_OK);
  CHECK(ac->call(apply("people.cond", nullptr)).error().code() == v1::API_OK);
  for (int i = 0; i < 5; ++i)
    CHECK(ac->call(apply("people.cond", nullptr)).error().code() == v1::API_CONFLICT);

  // What the store holds: seven pending applications.
  v1::ApiRequest list;
  list.mutable_agreement_list();
  auto all = f.op->call(list);
  REQUIRE(all.error().code() == v1::API_OK);
  int pending = 0;
  for (const auto& a : all.agreements().agreements()) pending += a.status() == "pending_review";
  CHECK(pending == 7);
  // Seven applications, the principal's registration, and one refusal entry per cap.
  CHECK(added_since(f, before) == 7 + 1 + 2);
}

TEST_CASE("source addresses are counted as an attacker must pay for them") {
  CHECK(source_address_class("127.0.0.1") == "127.0.0.1");
  CHECK(source_address_class("::ffff:10.1.2.3") == "10.1.2.3");
  // Every address of one /64 is one address.
  CHECK(source_address_class("2001:db8:1:2::1") == "2001:db8:1:2::/64");
  CHECK(source_address_class("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(source_address_class("2001:db8:1:3::1") == "2001:db8:1:3::/64");
  CHECK(source_address_class("") == "local");
}

}  // namespace
}  // namespace gongshu::daemon
