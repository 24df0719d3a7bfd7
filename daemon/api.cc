#include "daemon/api.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/audit/export_file.h"
#include "core/audit/export_log.h"
#include "core/batch/batch.h"
#include "core/catalog/dataset.h"
#include "core/crypto/sodium_init.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "core/util/printable.h"
#include "core/util/version.h"
#include "core/wire/codec.h"
#include "core/wire/enroll_token.h"
#include "core/wire/server_channel.h"
#include "daemon/access.h"
#include "daemon/agreements.h"
#include "daemon/api_context.h"
#include "daemon/audit_export.h"
#include "daemon/backup.h"
#include "daemon/daemon_keys.h"
#include "daemon/principals.h"
#include "daemon/provenance.h"
#include "daemon/stored.pb.h"
#include "gongshu/v1/api.pb.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::daemon {
namespace {

constexpr int64_t kMaxTokenTtlSeconds = 30 * 24 * 3600;

bool is_agency_id(std::string_view s) {
  if (s.size() < 2 || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

}  // namespace

struct ApiService::Impl {
  DaemonStore& store;
  Directory& directory;
  CatalogView& catalog;
  ApiOptions options;
  RateLimiter limiter;
  ApiContext ctx;
  wire::ServerChannel channel;
  std::string endpoint;
  std::atomic<bool> stopping{false};
  std::thread thread;

  Impl(DaemonStore& s, Directory& d, CatalogView& c, PolicyView& p, ApiOptions o,
       wire::ServerChannel ch)
      : store(s),
        directory(d),
        catalog(c),
        options(std::move(o)),
        ctx{s, d, c, p, limiter, options},
        channel(std::move(ch)) {}

  void loop();
  v1::ApiResponse handle(const Caller& caller, const v1::ApiRequest& req);
  Reply dispatch(const Caller& caller, const v1::ApiRequest& req, v1::ApiResponse& resp);
  Caller identify(const std::string& user_id);

  Reply require(const Caller& c, std::string_view action,
                std::initializer_list<std::string_view> roles) {
    return ctx.require(c, action, roles);
  }

  Reply ping(v1::ApiResponse& resp);
  Reply enroll(const Caller& c, const v1::EnrollRequest& req, v1::ApiResponse& resp);
  Reply agency_add(const Caller& c, const v1::Agency& a);
  Reply agency_list(const Caller& c, const std::string& only, v1::ApiResponse& resp);
  Reply catalog_add(const Caller& c, const v1::DatasetEntry& entry, v1::ApiResponse& resp);
  Reply catalog_show(const Caller& c, const std::string& id, v1::ApiResponse& resp);
  Reply token_create(const Caller& c, const v1::EnrollTokenCreateRequest& req,
                     v1::ApiResponse& resp);
  Reply agent_list(const Caller& c, v1::ApiResponse& resp);
  Reply agent_revoke(const Caller& c, const std::string& key_id, v1::ApiResponse& resp);
  Reply audit_head(const Caller& c, bool sign_now, v1::ApiResponse& resp);
};

Caller ApiService::Impl::identify(const std::string& user_id) {
  Caller c;
  auto colon = user_id.find(':');
  std::string role = user_id.substr(0, colon);
  std::string rest = colon == std::string::npos ? "" : user_id.substr(colon + 1);
  c.role = "public";
  c.key_id = "public";
  c.policy_role = policy::Role::kPublic;
  std::optional<Identity> id;
  if (role == "public") {
    c.curve_hex = rest;
    // The key may have been registered since the connection was made (a public applicant
    // whose agreement was approved): it is that principal from its next request.
    auto raw = hex_decode(rest);
    if (!raw || raw->size() != sizeof(wire::CurveKey)) return c;
    wire::CurveKey curve;
    std::copy(raw->begin(), raw->end(), curve.begin());
    id = directory.by_curve(curve);
    if (!id) return c;
  } else {
    // Re-check on every request: the connection may predate a revocation, after which the key
    // is nobody in particular: the public.
    id = directory.by_key_id(rest);
  }
  auto prole = id ? policy::parse_role(id->role) : std::nullopt;
  if (!id || id->revoked || !prole) {
    if (id) {
      if (auto curve = wire::curve_key_of(id->key)) c.curve_hex = wire::curve_key_hex(*curve);
      if (id->revoked) c.revoked_key_id = id->key_id;
    }
    return c;
  }
  c.role = id->role;
  c.policy_role = *prole;
  c.key_id = id->key_id;
  c.agency = id->agency;
  return c;
}

void ApiService::Impl::loop() {
  while (!stopping.load()) {
    auto in = channel.receive(std::chrono::milliseconds(100));
    if (!in || !*in) continue;
    v1::ApiResponse resp;
    v1::ApiRequest req;
    if (auto s = wire::decode((*in)->payload, options.max_request, req); !s) {
      resp.mutable_error()->set_code(v1::API_BAD_REQUEST);
      resp.mutable_error()->set_message("request does not parse: " + s.error().message());
    } else {
      Caller caller = identify((*in)->user_id);
      caller.address = source_address_class((*in)->peer_address);
      resp = handle(caller, req);
    }
    if (auto bytes = wire::encode(resp)) (void)channel.send((*in)->from, *bytes);
  }
}

v1::ApiResponse ApiService::Impl::handle(const Caller& c, const v1::ApiRequest& req) {
  v1::ApiResponse resp;
  resp.set_request_id(req.request_id());
  // A ping costs nothing and writes nothing; every other request of an unknown key is admitted
  // against the limits for unknown keys first.
  Reply r = req.body_case() == v1::ApiRequest::kPing ? Reply{} : ctx.admit(c);
  if (r) r = dispatch(c, req, resp);
  if (!r) {
    resp.clear_body();
    auto* err = resp.mutable_error();
    err->set_code(r.error().code);
    err->set_message(r.error().message);
    err->set_rule(r.error().rule);
    err->set_policy_version(r.error().policy_version);
    if (r.error().retry_after_ms > 0) err->set_retry_after_ms(uint64_t(r.error().retry_after_ms));
  }
  return resp;
}

Reply ApiService::Impl::dispatch(const Caller& c, const v1::ApiRequest& req,
                                 v1::ApiResponse& resp) {
  Reply r;
  switch (req.body_case()) {
    case v1::ApiRequest::kPing:
      r = ping(resp);
      break;
    case v1::ApiRequest::kEnroll:
      r = enroll(c, req.enroll(), resp);
      break;
    case v1::ApiRequest::kCatalog:
      r = catalog_list(ctx, c, req.catalog(), resp);
      break;
    case v1::ApiRequest::kAgencyAdd:
      r = agency_add(c, req.agency_add().agency());
      break;
    case v1::ApiRequest::kAgencyList:
      r = agency_list(c, "", resp);
      break;
    case v1::ApiRequest::kAgencyShow:
      r = agency_list(c, req.agency_show().id(), resp);
      break;
    case v1::ApiRequest::kCatalogAdd:
      r = catalog_add(c, req.catalog_add().entry(), resp);
      break;
    case v1::ApiRequest::kCatalogShow:
      r = catalog_show(c, req.catalog_show().id(), resp);
      break;
    case v1::ApiRequest::kEnrollTokenCreate:
      r = token_create(c, req.enroll_token_create(), resp);
      break;
    case v1::ApiRequest::kAgentList:
      r = agent_list(c, resp);
      break;
    case v1::ApiRequest::kAgentRevoke:
      r = agent_revoke(c, req.agent_revoke().key_id(), resp);
      break;
    case v1::ApiRequest::kRecordProvenance:
      r = provenance(ctx, c, req.record_provenance(), resp);
      break;
    case v1::ApiRequest::kAuditHead:
      r = audit_head(c, false, resp);
      break;
    case v1::ApiRequest::kAuditCheckpoint:
      r = audit_head(c, true, resp);
      break;
    case v1::ApiRequest::kAuditExport:
      r = audit_export(ctx, c, req.audit_export(), resp);
      break;
    case v1::ApiRequest::kOpenCatalog:
      r = open_catalog(ctx, c, req.open_catalog(), resp);
      break;
    case v1::ApiRequest::kQuery:
      r = query(ctx, c, req.query(), resp);
      break;
    case v1::ApiRequest::kLookup:
      r = lookup(ctx, c, req.lookup(), resp);
      break;
    case v1::ApiRequest::kDownload:
      r = download(ctx, c, req.download(), resp);
      break;
    case v1::ApiRequest::kAggregate:
      r = aggregate(ctx, c, req.aggregate(), resp);
      break;
    case v1::ApiRequest::kAgreementApply:
      r = agreement_apply(ctx, c, req.agreement_apply(), resp);
      break;
    case v1::ApiRequest::kAgreementReview:
      r = agreement_review(ctx, c, req.agreement_review(), resp);
      break;
    case v1::ApiRequest::kAgreementApprove:
      r = agreement_approve(ctx, c, req.agreement_approve(), resp);
      break;
    case v1::ApiRequest::kAgreementSign:
      r = agreement_sign(ctx, c, req.agreement_sign(), resp);
      break;
    case v1::ApiRequest::kAgreementRevoke:
      r = agreement_revoke(ctx, c, req.agreement_revoke(), resp);
      break;
    case v1::ApiRequest::kAgreementViolation:
      r = agreement_violation(ctx, c, req.agreement_violation(), resp);
      break;
    case v1::ApiRequest::kAgreementList:
      r = agreement_list(ctx, c, "", resp);
      break;
    case v1::ApiRequest::kAgreementShow:
      r = agreement_list(ctx, c, req.agreement_show().id(), resp);
      break;
    case v1::ApiRequest::kPrincipalAdd:
      r = principal_add(ctx, c, req.principal_add(), resp);
      break;
    case v1::ApiRequest::kPrincipalList:
      r = principal_list(ctx, c, resp);
      break;
    case v1::ApiRequest::kPrincipalRevoke:
      r = principal_revoke(ctx, c, req.principal_revoke(), resp);
      break;
    case v1::ApiRequest::kBackup:
      r = backup(ctx, c, req.backup(), resp);
      break;
    case v1::ApiRequest::kStatus:
      r = status(ctx, c, options.status, resp);
      break;
    case v1::ApiRequest::kAgentKeyRotate:
      r = agent_key_rotate(ctx, c, req.agent_key_rotate(), resp);
      break;
    case v1::ApiRequest::kDaemonKeyRotate:
      r = options.daemon_keys ? daemon_key_rotate(ctx, *options.daemon_keys, c, resp)
                              : refuse(v1::API_INTERNAL, "daemon keys are not available");
      break;
    case v1::ApiRequest::kDaemonKeyStatus:
      r = options.daemon_keys ? daemon_key_status(ctx, *options.daemon_keys, resp)
                              : refuse(v1::API_INTERNAL, "daemon keys are not available");
      break;
    default:
      r = refuse(v1::API_BAD_REQUEST, "unknown request");
  }
  return r;
}

Reply ApiService::Impl::ping(v1::ApiResponse& resp) {
  resp.mutable_pong()->set_daemon_public_key(store.daemon_key().public_key().hex());
  resp.mutable_pong()->set_version(kVersion);
  return {};
}

Reply ApiService::Impl::enroll(const Caller& c, const v1::EnrollRequest& req,
                               v1::ApiResponse& resp) {
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
  out->set_ingest_endpoint(options.advertised_ingest);
  return {};
}

Reply ApiService::Impl::agency_add(const Caller& c, const v1::Agency& in) {
  if (auto r = require(c, "add agencies", {"operator"}); !r) return r;
  if (!is_agency_id(in.id()))
    return refuse(v1::API_BAD_REQUEST, "agency id '" + in.id() + "' must be 2..64 of [a-z0-9_-]");
  if (in.name().empty() || in.name().size() > 200 || !is_printable(in.name()))
    return refuse(v1::API_BAD_REQUEST,
                  "agency name must be 1..200 bytes of UTF-8 text without control characters");
  static const char* kTypes[] = {"government", "public_service", "national_office"};
  if (std::find_if(std::begin(kTypes), std::end(kTypes),
                   [&](const char* t) { return in.type() == t; }) == std::end(kTypes)) {
    return refuse(v1::API_BAD_REQUEST,
                  "agency type '" + in.type() +
                      "' is not government, public_service or national_office (R-02)");
  }
  if (in.region_code().size() != 6 ||
      in.region_code().find_first_not_of("0123456789") != std::string::npos) {
    return refuse(v1::API_BAD_REQUEST, "region code '" + in.region_code() + "' is not 6 digits");
  }
  v1::Agency a = in;
  a.set_created_at_ms(store.clock().now_ms());
  auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(
        store.db().agencies.insert(txn, a.id(), as_bytes(a.SerializeAsString())));
    auto e = entry_for(c, "agency_add");
    add_ref(e, "agency", a.id());
    e.set_detail(a.name() + " (" + a.type() + ", " + a.region_code() + ")");
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!s) {
    if (s.error().code() == ErrorCode::kAlreadyExists)
      return refuse(v1::API_CONFLICT, "agency " + a.id() + " already exists");
    return tl::unexpected(from_error(s.error()));
  }
  return {};
}

Reply ApiService::Impl::agency_list(const Caller& c, const std::string& only,
                                    v1::ApiResponse& resp) {
  if (auto r = require(c, "list agencies", {"operator", "officer"}); !r) return r;
  auto txn = store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto* out = resp.mutable_agencies();
  auto cur = store.db().agencies.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::Agency a;
    if (!parse_value(e->value, a)) continue;
    if (!only.empty() && a.id() != only) continue;
    *out->add_agencies() = a;
  }
  if (!only.empty() && out->agencies_size() == 0)
    return refuse(v1::API_NOT_FOUND, "no agency " + only);
  return {};
}

Reply ApiService::Impl::catalog_add(const Caller& c, const v1::DatasetEntry& in,
                                    v1::ApiResponse& resp) {
  if (auto r = require(c, "change the catalog", {"operator"}); !r) return r;
  v1::DatasetEntry entry = in;
  if (auto s = catalog::validate_dataset(entry); !s)
    return refuse(v1::API_BAD_REQUEST, s.error().message());
  bool updated = false;
  auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
    const auto& db = store.db();
    if (!db.agencies.get(txn, entry.provider_agency())) {
      return fail(ErrorCode::kInvalidArgument,
                  "provider agency '" + entry.provider_agency() + "' is not registered");
    }
    uint64_t version = 1;
    if (auto v = db.catalog.get(txn, entry.id())) {
      v1::DatasetEntry old;
      if (parse_value(*v, old)) version = old.version() + 1;
      updated = true;
    }
    // The review workflow comes later; an operator's entry is approved as added.
    entry.set_status("approved");
    entry.set_version(version);
    GONGSHU_RETURN_IF_ERROR(db.catalog.put(txn, entry.id(), as_bytes(entry.SerializeAsString())));
    GONGSHU_RETURN_IF_ERROR(store.create_data_key(txn, entry.id()));
    auto e = entry_for(c, updated ? "catalog_update" : "catalog_add");
    e.set_dataset(entry.id());
    add_ref(e, "catalog_version", std::to_string(version));
    e.set_detail(entry.name() + "; grade " + entry.grade() + ", open " + entry.open_attribute() +
                 ", share " + entry.share_attribute());
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  auto txn = store.env().begin_read();
  if (txn) (void)catalog.reload(store, *txn);
  return catalog_show(c, entry.id(), resp);
}

Reply ApiService::Impl::catalog_show(const Caller& c, const std::string& id,
                                     v1::ApiResponse& resp) {
  if (auto r = require(c, "show the catalog", {"operator", "officer"}); !r) return r;
  auto txn = store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto* out = resp.mutable_datasets();
  auto cur = store.db().catalog.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::DatasetInfo info;
    if (!parse_value(e->value, *info.mutable_entry())) continue;
    if (!id.empty() && info.entry().id() != id) continue;
    if (auto v = store.db().datasets.get(*txn, info.entry().id())) {
      stored::DatasetState st;
      if (parse_value(*v, st)) {
        info.set_records(st.records());
        info.set_versions(st.versions());
        info.set_invalidated(st.invalidated());
      }
    }
    *out->add_datasets() = std::move(info);
  }
  if (!id.empty() && out->datasets_size() == 0)
    return refuse(v1::API_NOT_FOUND, "no dataset " + id);
  return {};
}

Reply ApiService::Impl::token_create(const Caller& c, const v1::EnrollTokenCreateRequest& req,
                                     v1::ApiResponse& resp) {
  if (auto r = require(c, "create enrollment tokens", {"operator"}); !r) return r;
  if (req.ttl_seconds() == 0 || req.ttl_seconds() > uint64_t(kMaxTokenTtlSeconds)) {
    return refuse(v1::API_BAD_REQUEST, "ttl must be 1 second .. 30 days");
  }
  wire::EnrollTokenData data;
  data.daemon_key = store.daemon_key().public_key();
  crypto::SecretBytes secret = crypto::SecretBytes::random(16);
  std::memcpy(data.secret.data(), secret.data(), 16);
  data.api_endpoint = endpoint;
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

Reply ApiService::Impl::agent_list(const Caller& c, v1::ApiResponse& resp) {
  if (auto r = require(c, "list agents", {"operator", "officer"}); !r) return r;
  auto txn = store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto* out = resp.mutable_agents();
  auto cur = store.db().principals.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    stored::Principal p;
    if (!parse_value(e->value, p) || p.role() != "agent") continue;
    auto* a = out->add_agents();
    auto key = crypto::PublicKey::from_bytes(as_bytes(p.public_key()));
    a->set_key_id(std::string(as_chars(e->key)));
    if (key) a->set_public_key(key->hex());
    a->set_agency(p.agency());
    a->set_hostname(p.hostname());
    a->set_enrolled_at_ms(p.created_at_ms());
    a->set_revoked(p.revoked());
    a->set_revoked_at_ms(p.revoked_at_ms());
    a->set_last_seen_ms(p.last_seen_ms());
    a->set_batches(p.batches());
    a->set_last_batch_seq(p.last_batch_seq());
  }
  return {};
}

Reply ApiService::Impl::agent_revoke(const Caller& c, const std::string& key_id,
                                     v1::ApiResponse& resp) {
  if (auto r = require(c, "revoke agents", {"operator"}); !r) return r;
  // In force when this answers, or not made (ApiContext::update_principals).
  auto s = ctx.update_principals([&](store::WriteTxn& txn) -> Status {
    auto v = store.db().principals.get(txn, key_id);
    stored::Principal p;
    if (!v || !parse_value(*v, p) || p.role() != "agent")
      return fail(ErrorCode::kNotFound, "no agent with key id " + key_id);
    if (p.revoked())
      return fail(ErrorCode::kAlreadyExists, "agent " + key_id + " is already revoked");
    p.set_revoked(true);
    p.set_revoked_at_ms(store.clock().now_ms());
    GONGSHU_RETURN_IF_ERROR(
        store.db().principals.put(txn, key_id, as_bytes(p.SerializeAsString())));
    auto e = entry_for(c, "agent_revoke");
    add_ref(e, "agent", key_id);
    add_ref(e, "agency", p.agency());
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  return agent_list(c, resp);
}

Reply ApiService::Impl::audit_head(const Caller& c, bool sign_now, v1::ApiResponse& resp) {
  if (auto r = sign_now ? require(c, "sign checkpoints", {"operator", "officer"})
                        : require(c, "read the audit head", {"operator", "officer", "agent"});
      !r) {
    return r;
  }
  std::string note;
  if (sign_now) {
    auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
      auto e = entry_for(c, "audit_checkpoint");
      GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
      GONGSHU_TRY(note, store.audit().checkpoint(txn));
      return {};
    });
    if (!s) return tl::unexpected(from_error(s.error()));
  } else {
    auto txn = store.env().begin_read();
    if (!txn) return tl::unexpected(from_error(txn.error()));
    auto latest = store.audit().latest_checkpoint(*txn);
    if (!latest) return refuse(v1::API_NOT_FOUND, "no checkpoint yet");
    note = *latest;
  }
  resp.mutable_audit_head()->set_checkpoint(note);
  return {};
}

ApiService::ApiService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiService::~ApiService() { stop(); }

Result<std::unique_ptr<ApiService>> ApiService::start(wire::Context& context,
                                                      const wire::ZapHandler& zap,
                                                      DaemonStore& store, Directory& directory,
                                                      CatalogView& catalog, PolicyView& policy,
                                                      ApiOptions options) {
  wire::ServerOptions so;
  so.zap_domain = "gongshu.api";
  so.max_message_size = options.max_request;
  GONGSHU_TRY(wire::ServerChannel channel,
              wire::ServerChannel::create(context, zap, store.daemon_key(), so));
  GONGSHU_TRY(std::string bound,
              with_context(channel.bind(options.endpoint), "api " + options.endpoint));
  auto impl = std::make_unique<Impl>(store, directory, catalog, policy, std::move(options),
                                     std::move(channel));
  impl->endpoint = bound;
  Impl* p = impl.get();
  p->thread = std::thread([p] { p->loop(); });
  return std::unique_ptr<ApiService>(new ApiService(std::move(impl)));
}

const std::string& ApiService::endpoint() const { return impl_->endpoint; }

void ApiService::stop() {
  if (!impl_) return;
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace gongshu::daemon
