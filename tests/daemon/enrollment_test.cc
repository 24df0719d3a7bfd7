// Enrollment's handlers (daemon/enrollment.h) over a real store, without a socket: a token made
// by an operator enrolls exactly one key, from a connection made with that key, once.
#include "daemon/enrollment.h"

#include <catch2/catch.hpp>

#include "core/util/version.h"
#include "core/wire/curve_key.h"
#include "core/wire/enroll_token.h"
#include "daemon/registry.h"
#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

// The caller a connection made with key is before the key is known: the public.
Caller public_caller(const crypto::IdentityKey& key) {
  Caller c;
  c.role = "public";
  c.key_id = "public";
  c.curve_hex = wire::curve_key_hex(*wire::curve_key_of(key.public_key()));
  c.address = "127.0.0.1";
  return c;
}

struct EnrollmentFixture : HandlerFixture {
  EnrollmentFixture() {
    options.endpoint = "tcp://127.0.0.1:7401";
    options.advertised_ingest = "tcp://127.0.0.1:7400";
    op = caller_of(add_principal("operator"));
    v1::Agency a;
    a.set_id("sjz-gongan");
    a.set_name("石家庄市公安局");
    a.set_type("government");
    a.set_region_code("130100");
    REQUIRE(agency_add(*ctx, op, a));
  }
  std::string token(const std::string& agency = "sjz-gongan") {
    v1::EnrollTokenCreateRequest req;
    req.set_agency(agency);
    req.set_ttl_seconds(3600);
    v1::ApiResponse resp;
    REQUIRE(enroll_token_create(*ctx, op, req, resp));
    return resp.enroll_token().token();
  }
  Reply enroll_as(const crypto::IdentityKey& key, const Caller& from, const std::string& token,
                  v1::ApiResponse& resp) {
    v1::EnrollRequest req;
    req.set_token(token);
    req.set_agent_public_key(key.public_key().hex());
    req.set_hostname("host-1");
    return enroll(*ctx, from, req, resp);
  }
  Caller op;
};

TEST_CASE("ping names the daemon and its version, to anyone") {
  HandlerFixture h;
  v1::ApiResponse resp;
  REQUIRE(ping(*h.ctx, resp));
  CHECK(resp.pong().daemon_public_key() == h.daemon_key.public_key().hex());
  CHECK(resp.pong().version() == kVersion);
}

TEST_CASE("a token names this daemon and its api endpoint, and its creation is audited") {
  EnrollmentFixture h;
  uint64_t before = h.audit_size();
  auto parsed = wire::parse_enroll_token(h.token());
  REQUIRE(parsed);
  CHECK(parsed->daemon_key == h.daemon_key.public_key());
  CHECK(parsed->api_endpoint == "tcp://127.0.0.1:7401");
  auto audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "enroll_token_create");

  v1::EnrollTokenCreateRequest req;
  req.set_agency("sjz-nobody");
  req.set_ttl_seconds(3600);
  v1::ApiResponse resp;
  CHECK(enroll_token_create(*h.ctx, h.op, req, resp).error().code == v1::API_NOT_FOUND);
  req.set_agency("sjz-gongan");
  req.set_ttl_seconds(31 * 24 * 3600);
  CHECK(enroll_token_create(*h.ctx, h.op, req, resp).error().code == v1::API_BAD_REQUEST);
  CHECK(enroll_token_create(*h.ctx, public_caller(h.daemon_key), req, resp).error().code ==
        v1::API_DENIED);
}

TEST_CASE("a token enrolls the key of the connection, once, as an agent of its agency") {
  EnrollmentFixture h;
  const std::string token = h.token();
  auto key = crypto::IdentityKey::generate();
  auto other = crypto::IdentityKey::generate();

  // Proof of possession: not from a connection made with another key.
  v1::ApiResponse resp;
  auto r = h.enroll_as(key, public_caller(other), token, resp);
  REQUIRE(!r);
  CHECK(r.error().code == v1::API_DENIED);

  uint64_t before = h.audit_size();
  REQUIRE(h.enroll_as(key, public_caller(key), token, resp));
  CHECK(resp.enroll().agency() == "sjz-gongan");
  CHECK(resp.enroll().agent_key_id() == key.public_key().key_id());
  CHECK(resp.enroll().ingest_endpoint() == "tcp://127.0.0.1:7400");
  auto id = h.directory.by_key_id(key.public_key().key_id());
  REQUIRE(id);  // in force when answered
  CHECK(id->role == "agent");
  CHECK(id->agency == "sjz-gongan");
  auto audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "enroll");
  CHECK(audited[0].principal().key_id() == key.public_key().key_id());

  // Used: refused for a second key, and the refusal audited.
  before = h.audit_size();
  v1::ApiResponse again;
  r = h.enroll_as(other, public_caller(other), token, again);
  REQUIRE(!r);
  CHECK(r.error().code == v1::API_DENIED);
  CHECK(!h.directory.by_key_id(other.public_key().key_id()));
  audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].decision() == v1::DECISION_DENY);
}

TEST_CASE("refused enrollments with tokens the daemon never issued are audited in summary") {
  EnrollmentFixture h;
  // Well-formed tokens of this daemon whose secrets it never stored: free to make.
  wire::EnrollTokenData forged;
  forged.daemon_key = h.daemon_key.public_key();
  forged.api_endpoint = "tcp://127.0.0.1:7401";
  uint64_t before = h.audit_size();
  for (uint8_t i = 0; i < 20; ++i) {
    forged.secret[0] = i;
    auto key = crypto::IdentityKey::generate();
    v1::ApiResponse resp;
    auto r = h.enroll_as(key, public_caller(key), wire::format_enroll_token(forged), resp);
    REQUIRE(!r);
    CHECK(r.error().code == v1::API_DENIED);
  }
  CHECK(h.audit_size() == before + 1);
}

}  // namespace
}  // namespace gongshu::daemon
