#include "daemon/principals.h"

#include <algorithm>
#include <set>

#include "core/util/clock.h"
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
  return out;
}

bool printable(std::string_view s) {
  for (unsigned char ch : s) {
    if (ch < 0x20 || ch == 0x7f) return false;
  }
  return true;
}

}  // namespace

Reply principal_add(ApiContext& ctx, const Caller& c, const v1::PrincipalAddRequest& req,
                    v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "add principals", {"operator"}); !r) return r;
  static const std::set<std::string> kRoles = {"agency", "operator", "officer", "applicant",
                                               "licensed"};
  const std::string& role = req.role();
  if (role == "agent")
    return refuse(
        v1::API_BAD_REQUEST,
        "agents enroll themselves with a one-time token (gongshuctl enroll-token create)");
  if (!kRoles.count(role)) {
    return refuse(v1::API_BAD_REQUEST,
                  "role '" + role + "' is not agency, operator, officer, applicant or licensed");
  }
  auto pub = crypto::PublicKey::from_hex(req.public_key());
  if (!pub) return refuse(v1::API_BAD_REQUEST, "public key: " + pub.error().message());
  if (!wire::curve_key_of(*pub))
    return refuse(v1::API_BAD_REQUEST, "public key is not a usable Ed25519 key");
  if (req.name().size() > kMaxName || !printable(req.name()))
    return refuse(v1::API_BAD_REQUEST, "name is at most 200 printable characters");
  if (role == "agency" && req.agency().empty())
    return refuse(v1::API_BAD_REQUEST, "an agency user needs --agency (a registered agency id)");
  if (role != "agency" && !req.agency().empty())
    return refuse(v1::API_BAD_REQUEST, "only agency users belong to an agency");
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
      if (p.empty() || p.size() > kMaxName || !printable(p))
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
  stored::Principal p;
  p.set_public_key(pub->bytes().data(), pub->bytes().size());
  p.set_role(role);
  p.set_agency(req.agency());
  p.set_name(req.name());
  p.set_created_at_ms(now);
  p.set_created_by(c.key_id);
  p.set_valid_until_ms(req.valid_until_ms());
  *p.mutable_datasets() = req.datasets();
  *p.mutable_purposes() = req.purposes();
  const std::string key_id = pub->key_id();
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    const auto& db = ctx.store.db();
    if (role == "agency" && !db.agencies.get(txn, req.agency()))
      return fail(ErrorCode::kNotFound, "no agency " + req.agency());
    if (auto v = db.principals.get(txn, key_id)) {
      stored::Principal old;
      (void)parse_value(*v, old);
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
  ctx.reload_directory();
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
  if (req.key_id() == c.key_id)
    return refuse(v1::API_BAD_REQUEST, "an operator does not revoke its own key; ask another");
  stored::Principal p;
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    auto v = ctx.store.db().principals.get(txn, req.key_id());
    if (!v || !parse_value(*v, p))
      return fail(ErrorCode::kNotFound, "no principal " + req.key_id());
    if (p.revoked())
      return fail(ErrorCode::kAlreadyExists, "principal " + req.key_id() + " is already revoked");
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
  if (!s) return tl::unexpected(from_error(s.error()));
  ctx.reload_directory();
  *resp.mutable_principals()->add_principals() = info_of(req.key_id(), p);
  return {};
}

}  // namespace gongshu::daemon
