#include "daemon/principals.h"

#include <algorithm>
#include <set>

#include "core/util/clock.h"
#include "core/util/encoding.h"
#include "core/util/printable.h"
#include "core/wire/agent_key_rotation.h"
#include "core/wire/curve_key.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr size_t kMaxName = 200;
constexpr int kMaxList = 64;

v1::PrincipalInfo info_of(std::string_view key_id, const stored::Principal& p) {
  v1::PrincipalInfo out;
  out.set_key_id(std::string(key_id));
  if (auto key = crypto::PublicKey::from_bytes(as_bytes(p.public_key())))
    out.set_public_key(key->hex());
  out.set_role(p.role());
  out.set_agency(p.agency());
  out.set_name(p.role() == "agent" ? p.hostname() : p.name());
  out.set_created_at_ms(p.created_at_ms());
  out.set_created_by(p.created_by());
  out.set_revoked(p.revoked());
  out.set_revoked_at_ms(p.revoked_at_ms());
  out.set_revoke_reason(p.revoke_reason());
  out.set_valid_until_ms(p.valid_until_ms());
  *out.mutable_datasets() = p.datasets();
  *out.mutable_purposes() = p.purposes();
  out.set_third_party(p.third_party());
  out.set_company(p.company());
  out.set_contract(p.contract());
  return out;
}

// Operators other than except whose keys are not revoked.
size_t active_operators(ApiContext& ctx, const store::Txn& txn, std::string_view except) {
  size_t n = 0;
  auto cur = ctx.store.db().principals.cursor(txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    if (as_chars(e->key) == except) continue;
    stored::Principal p;
    if (parse_value(e->value, p) && p.role() == "operator" && !p.revoked()) ++n;
  }
  return n;
}

}  // namespace

Reply principal_add(ApiContext& ctx, const Caller& c, const v1::PrincipalAddRequest& req,
                    v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "add principals", {"operator"}); !r) return r;
  static const std::set<std::string> kRoles = {"agency",    "operator", "officer",
                                               "applicant", "licensed", "reviewer"};
  const std::string& role = req.role();
  if (role == "agent")
    return refuse(
        v1::API_BAD_REQUEST,
        "agents enroll themselves with a one-time token (gongshuctl enroll-token create)");
  if (!kRoles.count(role)) {
    return refuse(
        v1::API_BAD_REQUEST,
        "role '" + role + "' is not agency, operator, officer, applicant, licensed or reviewer");
  }
  auto pub = crypto::PublicKey::from_hex(req.public_key());
  if (!pub) return refuse(v1::API_BAD_REQUEST, "public key: " + pub.error().message());
  if (!wire::curve_key_of(*pub))
    return refuse(v1::API_BAD_REQUEST, "public key is not a usable Ed25519 key");
  if (req.name().size() > kMaxName || !is_printable(req.name()))
    return refuse(v1::API_BAD_REQUEST,
                  "name is at most 200 bytes of UTF-8 text without control characters");
  // A reviewer reviews the catalog for its agency's region: the agency names the level.
  const bool with_agency = role == "agency" || role == "reviewer";
  if (with_agency && req.agency().empty())
    return refuse(v1::API_BAD_REQUEST,
                  std::string(role == "agency" ? "an agency user" : "a reviewer") +
                      " needs --agency (a registered agency id)");
  if (!with_agency && !req.agency().empty())
    return refuse(v1::API_BAD_REQUEST, "only agency users and reviewers belong to an agency");
  const int64_t now = ctx.store.clock().now_ms();
  const bool licensed = role == "licensed";
  if (licensed) {
    if (req.valid_until_ms() <= now)
      return refuse(v1::API_BAD_REQUEST, "a licence needs a term end in the future (--until)");
    if (req.datasets().empty() || req.datasets_size() > kMaxList)
      return refuse(v1::API_BAD_REQUEST, "a licence covers 1..64 datasets (--datasets)");
    if (req.purposes().empty() || req.purposes_size() > kMaxList)
      return refuse(v1::API_BAD_REQUEST, "a licence states 1..64 purposes (--purposes)");
    for (const auto& p : req.purposes()) {
      if (p.empty() || p.size() > kMaxName || !is_printable(p))
        return refuse(v1::API_BAD_REQUEST, "a purpose is 1..200 printable characters");
    }
    auto snap = ctx.catalog.snapshot();
    for (const auto& d : req.datasets()) {
      if (!snap->count(d))
        return refuse(v1::API_NOT_FOUND, "no dataset '" + d + "' in the catalog");
    }
  } else if (req.valid_until_ms() || !req.datasets().empty() || !req.purposes().empty()) {
    return refuse(v1::API_BAD_REQUEST,
                  "a term end, datasets and purposes are for licensed operators only");
  }
  // Third-party service staff: named with their company and service contract, so every
  // action of theirs is tagged and alerted (daemon/alerts.h).
  if (req.third_party()) {
    if (role == "operator" || role == "officer")
      return refuse(v1::API_BAD_REQUEST,
                    "third-party staff are not registered as " + role +
                        ": the authority's operators and officers are its own staff");
    for (const auto& [what, v] :
         {std::pair{"--company", &req.company()}, {"--contract", &req.contract()}}) {
      if (v->empty() || v->size() > kMaxName || !is_printable(*v))
        return refuse(v1::API_BAD_REQUEST,
                      std::string("a third party needs ") + what +
                          " (1..200 bytes of text without control characters)");
    }
  } else if (!req.company().empty() || !req.contract().empty()) {
    return refuse(v1::API_BAD_REQUEST, "--company and --contract are for --third-party staff only");
  }
  stored::Principal p;
  p.set_public_key(pub->bytes().data(), pub->bytes().size());
  p.set_role(role);
  p.set_third_party(req.third_party());
  p.set_company(req.company());
  p.set_contract(req.contract());
  p.set_agency(req.agency());
  p.set_name(req.name());
  p.set_created_at_ms(now);
  p.set_created_by(c.key_id);
  p.set_valid_until_ms(req.valid_until_ms());
  *p.mutable_datasets() = req.datasets();
  *p.mutable_purposes() = req.purposes();
  const std::string key_id = pub->key_id();
  auto s = ctx.update_principals([&](store::WriteTxn& txn) -> Status {
    const auto& db = ctx.store.db();
    if (with_agency && !db.agencies.get(txn, req.agency()))
      return fail(ErrorCode::kNotFound, "no agency " + req.agency());
    if (auto v = db.principals.get(txn, key_id)) {
      stored::Principal old;
      // Only to word the refusal, which stands either way: a record that does not parse
      // names no role rather than part of one.
      if (!parse_value(*v, old)) old.Clear();
      return fail(ErrorCode::kAlreadyExists, "key " + key_id + " is already registered (role " +
                                                 old.role() + (old.revoked() ? ", revoked" : "") +
                                                 ")");
    }
    GONGSHU_RETURN_IF_ERROR(db.principals.insert(txn, key_id, as_bytes(p.SerializeAsString())));
    auto e = entry_for(c, "principal_add");
    add_ref(e, "principal", key_id);
    add_ref(e, "role", role);
    if (!req.agency().empty()) add_ref(e, "agency", req.agency());
    std::string detail = role + " registered";
    if (req.third_party()) {
      add_ref(e, "third_party_company", req.company());
      add_ref(e, "contract", req.contract());
      detail += "; third-party staff of " + req.company() + " under contract " + req.contract();
    }
    if (licensed) {
      std::string ds;
      for (const auto& d : req.datasets()) ds.append(ds.empty() ? "" : ",").append(d);
      add_ref(e, "datasets", ds);
      detail += "; licence until " + format_utc(req.valid_until_ms() * 1'000'000);
    }
    e.set_detail(detail);
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  *resp.mutable_principals()->add_principals() = info_of(key_id, p);
  return {};
}

Reply principal_list(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "list principals", {"operator", "officer"}); !r) return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto* out = resp.mutable_principals();
  auto cur = ctx.store.db().principals.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    stored::Principal p;
    if (!parse_value(e->value, p)) continue;
    *out->add_principals() = info_of(as_chars(e->key), p);
  }
  return {};
}

Reply principal_revoke(ApiContext& ctx, const Caller& c, const v1::PrincipalRevokeRequest& req,
                       v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "revoke principals", {"operator"}); !r) return r;
  // A key id is 16 hex characters; an empty one is no LMDB key at all.
  if (req.key_id().size() != 16)
    return refuse(v1::API_NOT_FOUND, "no principal with such a key id (16 hex characters)");
  stored::Principal p;
  // In force when this answers, or not made (ApiContext::update_principals).
  auto s = ctx.update_principals([&](store::WriteTxn& txn) -> Status {
    auto v = ctx.store.db().principals.get(txn, req.key_id());
    if (!v || !parse_value(*v, p))
      return fail(ErrorCode::kNotFound, "no principal " + req.key_id());
    if (p.revoked())
      return fail(ErrorCode::kAlreadyExists, "principal " + req.key_id() + " is already revoked");
    // The authority must never lock itself out: without an active operator nobody could
    // register, revoke or rotate anything again.
    if (p.role() == "operator" && active_operators(ctx, txn, req.key_id()) == 0)
      return fail(ErrorCode::kPermissionDenied,
                  "operator " + req.key_id() +
                      " is the last active operator; register another operator first "
                      "(gongshuctl principal add --role operator)");
    if (req.key_id() == c.key_id)
      return fail(ErrorCode::kPermissionDenied,
                  "an operator does not revoke its own key; ask another operator");
    p.set_revoked(true);
    p.set_revoked_at_ms(ctx.store.clock().now_ms());
    p.set_revoked_by(c.key_id);
    p.set_revoke_reason(req.reason().substr(0, 2000));
    GONGSHU_RETURN_IF_ERROR(
        ctx.store.db().principals.put(txn, req.key_id(), as_bytes(p.SerializeAsString())));
    auto e = entry_for(c, "principal_revoke");
    add_ref(e, "principal", req.key_id());
    add_ref(e, "role", p.role());
    if (!p.agency().empty()) add_ref(e, "agency", p.agency());
    e.set_detail("revoked" + (req.reason().empty() ? std::string() : ": " + p.revoke_reason()));
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    return {};
  });
  if (!s) {
    if (s.error().code() == ErrorCode::kPermissionDenied) {
      auto e = entry_for(c, "principal_revoke");
      e.set_decision(v1::DECISION_DENY);
      add_ref(e, "principal", req.key_id());
      e.set_detail(s.error().message());
      if (auto a = ctx.audit(std::move(e)); !a) return tl::unexpected(from_error(a.error()));
    }
    return tl::unexpected(from_error(s.error()));
  }
  *resp.mutable_principals()->add_principals() = info_of(req.key_id(), p);
  return {};
}

Reply agent_key_rotate(ApiContext& ctx, const Caller& c, const v1::AgentKeyRotateRequest& req,
                       v1::ApiResponse& resp) {
  // The old key is the connection's own. After the rotation the caller is no longer an agent
  // (its key is revoked, so it is seen as the public), but the directory still knows its key:
  // that is how a repeated request is recognised and answered "already".
  std::optional<Identity> old;
  if (c.role == "agent") {
    old = ctx.directory.by_key_id(c.key_id);
  } else if (c.is_public()) {
    auto raw = hex_decode(c.curve_hex);
    if (raw && raw->size() == sizeof(wire::CurveKey)) {
      wire::CurveKey curve;
      std::copy(raw->begin(), raw->end(), curve.begin());
      old = ctx.directory.by_curve(curve);
      if (old && (old->role != "agent" || !old->revoked)) old.reset();
    }
  }
  if (!old) {
    if (auto r = ctx.require(c, "rotate agent keys", {"agent"}); !r) return r;
    return refuse(v1::API_INTERNAL, "the calling agent is not in the directory");
  }
  auto deny = [&](v1::ApiErrorCode code, const std::string& why) -> Reply {
    auto e = entry_for(c, "agent_key_rotate");
    e.set_decision(v1::DECISION_DENY);
    add_ref(e, "agent", old->key_id);
    e.set_detail(why);
    if (auto a = ctx.audit(std::move(e)); !a) return tl::unexpected(from_error(a.error()));
    return refuse(code, why);
  };
  auto fresh = crypto::PublicKey::from_hex(req.new_public_key());
  if (!fresh) return deny(v1::API_BAD_REQUEST, "new public key: " + fresh.error().message());
  if (!wire::curve_key_of(*fresh))
    return deny(v1::API_BAD_REQUEST, "new public key is not a usable Ed25519 key");
  if (*fresh == old->key) return deny(v1::API_BAD_REQUEST, "the new key is the old key");
  if (!wire::verify_agent_key_rotation(old->key, *fresh, ctx.store.daemon_key().public_key(),
                                       as_bytes(req.signature()))) {
    return deny(v1::API_DENIED,
                "the signature does not prove possession of the new key (statement "
                "gongshu.agent-key-rotation.v1 over old key, new key, daemon key)");
  }
  const std::string new_id = fresh->key_id();
  const int64_t now = ctx.store.clock().now_ms();
  stored::Principal p1;
  bool already = false;
  auto s = ctx.update_principals([&](store::WriteTxn& txn) -> Status {
    already = false;
    const auto& db = ctx.store.db();
    auto v = db.principals.get(txn, old->key_id);
    if (!v || !parse_value(*v, p1) || p1.role() != "agent")
      return fail(ErrorCode::kNotFound, "no agent " + old->key_id);
    if (p1.revoked()) {
      if (p1.rotated_to() == new_id) {
        already = true;
        return {};
      }
      return fail(ErrorCode::kPermissionDenied,
                  "agent key " + old->key_id + " is revoked" +
                      (p1.revoke_reason().empty() ? "" : " (" + p1.revoke_reason() + ")"));
    }
    if (db.principals.get(txn, new_id))
      return fail(ErrorCode::kAlreadyExists, "key " + new_id + " is already registered");
    stored::Principal p2;
    p2.set_public_key(fresh->bytes().data(), fresh->bytes().size());
    p2.set_role("agent");
    p2.set_agency(p1.agency());
    p2.set_hostname(p1.hostname());
    p2.set_created_at_ms(now);
    p2.set_created_by("rotation:" + old->key_id);
    GONGSHU_RETURN_IF_ERROR(db.principals.insert(txn, new_id, as_bytes(p2.SerializeAsString())));
    p1.set_revoked(true);
    p1.set_revoked_at_ms(now);
    p1.set_revoked_by(old->key_id);
    p1.set_revoke_reason("rotated to " + new_id);
    p1.set_rotated_to(new_id);
    GONGSHU_RETURN_IF_ERROR(db.principals.put(txn, old->key_id, as_bytes(p1.SerializeAsString())));
    auto e = entry_for(c, "agent_key_rotate");
    add_ref(e, "agent", old->key_id);
    add_ref(e, "new_agent", new_id);
    add_ref(e, "agency", p1.agency());
    e.set_detail("agent key " + old->key_id + " rotated to " + new_id + " for agency " +
                 p1.agency() + "; the old key is refused from its next message");
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    return {};
  });
  if (!s) {
    Refusal r = from_error(s.error());
    if (r.code == v1::API_INTERNAL) return tl::unexpected(std::move(r));
    return deny(r.code, r.message);
  }
  auto* out = resp.mutable_agent_key_rotate();
  out->set_old_key_id(old->key_id);
  out->set_new_key_id(new_id);
  out->set_agency(p1.agency());
  out->set_already(already);
  return {};
}

}  // namespace gongshu::daemon
