#include "daemon/api_context.h"

namespace gongshu::daemon {

tl::unexpected<Refusal> refuse(v1::ApiErrorCode code, std::string message) {
  Refusal r;
  r.code = code;
  r.message = std::move(message);
  return tl::unexpected<Refusal>(std::move(r));
}

Refusal from_error(const Error& e) {
  Refusal r;
  r.message = e.message();
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
      r.code = v1::API_BAD_REQUEST;
      break;
    case ErrorCode::kNotFound:
      r.code = v1::API_NOT_FOUND;
      break;
    case ErrorCode::kAlreadyExists:
      r.code = v1::API_CONFLICT;
      break;
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnauthenticated:
      r.code = v1::API_DENIED;
      break;
    default:
      r.code = v1::API_INTERNAL;
  }
  return r;
}

v1::AuditEntry entry_for(const Caller& c, std::string action) {
  v1::AuditEntry e;
  e.mutable_principal()->set_key_id(c.key_id);
  e.mutable_principal()->set_role(c.role);
  e.mutable_principal()->set_agency(c.agency);
  e.set_action(std::move(action));
  if (c.is_public() && !c.curve_hex.empty()) add_ref(e, "curve_key", c.curve_hex);
  if (!c.revoked_key_id.empty()) add_ref(e, "revoked_key", c.revoked_key_id);
  return e;
}

void add_ref(v1::AuditEntry& e, std::string kind, std::string value) {
  auto* r = e.add_refs();
  r->set_kind(std::move(kind));
  r->set_value(std::move(value));
}

Status ApiContext::audit(v1::AuditEntry e) {
  return store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
}

Reply ApiContext::require(const Caller& c, std::string_view action,
                          std::initializer_list<std::string_view> roles) {
  std::string allowed;
  for (std::string_view r : roles) {
    if (c.role == r) return {};
    allowed.append(allowed.empty() ? "" : ", ").append(r);
  }
  // Denials are audited too: the first of each minute per caller and action, naming how many
  // were not audited since the one before (RateLimiter::deny).
  auto out = limiter.deny(c.rate_key(), action, store.clock().now_ms());
  if (out.audit) {
    auto e = entry_for(c, std::string(action));
    e.set_decision(v1::DECISION_DENY);
    e.set_policy_rule("role");
    std::string detail =
        "role " + c.role + " may not " + std::string(action) + " (roles: " + allowed + ")";
    if (out.unaudited) {
      detail += "; " + std::to_string(out.unaudited) +
                " earlier denials of this caller and action not audited one by one";
    }
    e.set_detail(std::move(detail));
    if (auto s = audit(std::move(e)); !s) return tl::unexpected(from_error(s.error()));
  }
  return refuse(v1::API_DENIED,
                "role '" + c.role + "' may not " + std::string(action) + "; it is for: " + allowed);
}

void ApiContext::reload_directory() {
  auto txn = store.env().begin_read();
  if (txn) (void)directory.reload(store, *txn);
}

}  // namespace gongshu::daemon
