#include "daemon/enrollment.h"

#include <cstring>

#include "core/crypto/secret_bytes.h"
#include "core/util/clock.h"
#include "core/util/printable.h"
#include "core/util/version.h"
#include "core/wire/curve_key.h"
#include "core/wire/enroll_token.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr int64_t kMaxTokenTtlSeconds = 30 * 24 * 3600;

}  // namespace

Reply ping(ApiContext& ctx, v1::ApiResponse& resp) {
  resp.mutable_pong()->set_daemon_public_key(ctx.store.daemon_key().public_key().hex());
  resp.mutable_pong()->set_version(kVersion);
  return {};
}

Reply enroll_token_create(ApiContext& ctx, const Caller& c, const v1::EnrollTokenCreateRequest& req,
                          v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "create enrollment tokens", {"operator"}); !r) return r;
  if (req.ttl_seconds() == 0 || req.ttl_seconds() > uint64_t(kMaxTokenTtlSeconds)) {
    return refuse(v1::API_BAD_REQUEST, "ttl must be 1 second .. 30 days");
  }
  DaemonStore& store = ctx.store;
  wire::EnrollTokenData data;
  data.daemon_key = store.daemon_key().public_key();
  crypto::SecretBytes secret = crypto::SecretBytes::random(16);
  std::memcpy(data.secret.data(), secret.data(), 16);
  data.api_endpoint = ctx.options.endpoint;
  int64_t now = store.clock().now_ms();
  std::string hash = wire::enroll_secret_hash(data.secret);
  stored::EnrollToken t;
  t.set_agency(req.agency());
  t.set_created_at_ms(now);
  t.set_expires_at_ms(now + int64_t(req.ttl_seconds()) * 1000);
  t.set_created_by(c.key_id);
  auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
    if (!store.db().agencies.get(txn, req.agency()))
      return fail(ErrorCode::kNotFound, "no agency " + req.agency());
    GONGSHU_RETURN_IF_ERROR(store.db().tokens.insert(txn, hash, as_bytes(t.SerializeAsString())));
    auto e = entry_for(c, "enroll_token_create");
    add_ref(e, "token", hash.substr(0, 16));
    add_ref(e, "agency", req.agency());
    e.set_detail("expires " + format_utc(t.expires_at_ms() * 1'000'000));
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  resp.mutable_enroll_token()->set_token(wire::format_enroll_token(data));
  resp.mutable_enroll_token()->set_expires_at_ms(t.expires_at_ms());
  std::memset(data.secret.data(), 0, data.secret.size());
  return {};
}

Reply enroll(ApiContext& ctx, const Caller& c, const v1::EnrollRequest& req,
             v1::ApiResponse& resp) {
  DaemonStore& store = ctx.store;
  auto token = wire::parse_enroll_token(req.token());
  if (!token) return refuse(v1::API_BAD_REQUEST, token.error().message());
  auto pub = crypto::PublicKey::from_hex(req.agent_public_key());
  if (!pub) return refuse(v1::API_BAD_REQUEST, pub.error().message());
  // Proof of possession: the key being enrolled is the key this connection authenticated with.
  auto curve = wire::curve_key_of(*pub);
  if (!curve || c.role != "public" || wire::curve_key_hex(*curve) != c.curve_hex) {
    return refuse(v1::API_DENIED, "enroll from a connection made with the key being enrolled");
  }
  if (token->daemon_key != store.daemon_key().public_key()) {
    return refuse(v1::API_DENIED, "the token was issued by another daemon");
  }
  // The hostname is shown to operators (agent list, principal list): text, no control
  // characters (docs/protocol.md, "Text and control characters").
  if (req.hostname().size() > 255 || !is_printable(req.hostname()))
    return refuse(v1::API_BAD_REQUEST,
                  "hostname must be at most 255 bytes of UTF-8 text without control characters");
  std::string hash = wire::enroll_secret_hash(token->secret);
  std::string agency;
  int64_t now = store.clock().now_ms();
  // Refused enrollments are audited once a minute per token the daemon issued, and once a
  // minute for all tokens it did not issue together (those cost nothing to make).
  std::string refusal_key = "token:unknown";
  auto s = ctx.update_principals([&](store::WriteTxn& txn) -> Status {
    const auto& db = store.db();
    auto v = db.tokens.get(txn, hash);
    stored::EnrollToken t;
    if (!v || !parse_value(*v, t))
      return fail(ErrorCode::kPermissionDenied, "unknown enrollment token");
    refusal_key = "token:" + hash.substr(0, 16);
    if (t.used_at_ms() != 0)
      return fail(ErrorCode::kPermissionDenied, "enrollment token was already used");
    if (now > t.expires_at_ms())
      return fail(ErrorCode::kPermissionDenied, "enrollment token has expired");
    if (db.principals.get(txn, pub->key_id()))
      return fail(ErrorCode::kAlreadyExists, "key " + pub->key_id() + " is already enrolled");
    t.set_used_at_ms(now);
    t.set_used_by(pub->key_id());
    GONGSHU_RETURN_IF_ERROR(db.tokens.put(txn, hash, as_bytes(t.SerializeAsString())));
    stored::Principal p;
    p.set_public_key(pub->bytes().data(), pub->bytes().size());
    p.set_role("agent");
    p.set_agency(t.agency());
    p.set_hostname(req.hostname());
    p.set_created_at_ms(now);
    p.set_created_by("token:" + hash.substr(0, 16));
    GONGSHU_RETURN_IF_ERROR(
        db.principals.insert(txn, pub->key_id(), as_bytes(p.SerializeAsString())));
    agency = t.agency();
    Caller who;
    who.role = "agent";
    who.policy_role = policy::Role::kAgent;
    who.key_id = pub->key_id();
    who.agency = t.agency();
    auto e = entry_for(who, "enroll");
    add_ref(e, "token", hash.substr(0, 16));
    add_ref(e, "hostname", p.hostname());
    e.set_detail("agent key registered for agency " + t.agency());
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!s) {
    auto e = entry_for(c, "enroll");
    e.set_decision(v1::DECISION_DENY);
    if (refusal_key != "token:unknown") add_ref(e, "token", refusal_key.substr(6));
    e.set_detail(s.error().message());
    if (auto a = ctx.audit_refusal(refusal_key, "enroll", std::move(e)); !a)
      return tl::unexpected(from_error(a.error()));
    return tl::unexpected(from_error(s.error()));
  }
  auto* out = resp.mutable_enroll();
  out->set_agency(agency);
  out->set_agent_key_id(pub->key_id());
  out->set_daemon_public_key(store.daemon_key().public_key().hex());
  out->set_ingest_endpoint(ctx.options.advertised_ingest);
  return {};
}

}  // namespace gongshu::daemon
