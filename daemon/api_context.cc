#include "daemon/api_context.h"

#include <arpa/inet.h>

#include <cstdio>

#include "core/util/i18n.h"
#include "core/util/printable.h"
#include "daemon/access.h"

namespace gongshu::daemon {

namespace {

// What a request of a caller the daemon does not know is refused as, audited together.
constexpr std::string_view kUnknownRate = "exceed the api's request rate for unknown keys";

}  // namespace

Status checked_text(const std::string& what, const std::string& s, size_t max, bool required) {
  if ((required && s.empty()) || s.size() > max || !is_printable(s)) {
    return fail(ErrorCode::kInvalidArgument,
                what + (required ? " is required: 1.." : ": at most ") + std::to_string(max) +
                    " bytes of UTF-8 text without control characters");
  }
  return {};
}

std::string source_address_class(std::string_view peer) {
  if (peer.empty()) return "local";
  const std::string text(peer);
  in6_addr a6{};
  if (peer.find(':') != std::string_view::npos && ::inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
    const uint8_t* b = a6.s6_addr;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char out[64];
    if (std::equal(b, b + 12, kMapped)) {
      std::snprintf(out, sizeof out, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    } else {
      std::snprintf(out, sizeof out, "%x:%x:%x:%x::/64", b[0] << 8 | b[1], b[2] << 8 | b[3],
                    b[4] << 8 | b[5], b[6] << 8 | b[7]);
    }
    return out;
  }
  return text;
}

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

Status ApiContext::audit_in_place(v1::AuditEntry& e) {
  if (on_replica) return record_on_leader({e}, {});
  return store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
}

Status ApiContext::record_on_leader(const std::vector<v1::AuditEntry>& entries,
                                    const std::vector<std::pair<std::string, uint64_t>>& quota) {
  // One refusal on every path (access.h kNotAudited), protocol text in English.
  auto failed = [&](const std::string& why) -> Status {
    leader_failed = true;
    return fail(ErrorCode::kUnavailable, english(kNotAudited, why));
  };
  if (!options.record_on_leader)
    return failed(english("this replica cannot record accesses on the leader"));
  // Review A8(a): with [cluster] sync_count = 0 the leader confirms an access record once its own
  // commit has it, before any other node does; lost with that leader, the entries would be gone
  // while the data was out. So a replica serves no audited read then (docs/replication.md §6).
  if (!options.repl_synced_seq)
    return failed(english(
        "with [cluster] sync_count = 0 no replica confirms the entry before it is relied on, so "
        "replicas do not serve audited reads; ask the leader"));
  v1::AccessRecordRequest req;
  v1::AccessRecordRequest& into = defer_record ? deferred : req;
  for (const auto& e : entries) into.add_entries(e.SerializeAsString());
  for (const auto& [agreement, rows] : quota) {
    auto* q = into.add_quota();
    q->set_agreement_id(agreement);
    q->set_rows(rows);
  }
  if (defer_record) return {};  // sent, and the answer held, by api.cc
  auto r = options.record_on_leader(req);
  if (!r) return failed(r.error().message());
  return {};
}

Status ApiContext::audit_refusal(std::string_view refusal_key, std::string_view what,
                                 v1::AuditEntry e) {
  auto out = limiter.deny(refusal_key, what, store.clock().now_ms());
  if (!out.audit) return {};
  if (out.unaudited) {
    e.set_detail(e.detail() + "; " + std::to_string(out.unaudited) +
                 " earlier refusals like this one (" + std::string(refusal_key) +
                 ") not audited one by one");
  }
  return audit(std::move(e));
}

Reply ApiContext::require(const Caller& c, std::string_view action,
                          std::initializer_list<std::string_view> roles) {
  std::string allowed;
  for (std::string_view r : roles) {
    if (c.role == r) return {};
    allowed.append(allowed.empty() ? "" : ", ").append(r);
  }
  // Denials are audited too: the first of each minute per caller (every unknown key together)
  // and action, naming how many were not audited since the one before.
  auto e = entry_for(c, std::string(action));
  e.set_decision(v1::DECISION_DENY);
  e.set_policy_rule("role");
  e.set_detail("role " + c.role + " may not " + std::string(action) + " (roles: " + allowed + ")");
  if (auto s = audit_refusal(c.refusal_key(), action, std::move(e)); !s)
    return tl::unexpected(from_error(s.error()));
  return refuse(v1::API_DENIED,
                "role '" + c.role + "' may not " + std::string(action) + "; it is for: " + allowed);
}

Reply ApiContext::admit(const Caller& c) {
  if (!c.is_public()) return {};
  const int64_t now = store.clock().now_ms();
  // Ids with a space: no policy's rate class (names of [a-z0-9_-]) shares their buckets.
  const policy::RateClass per_address{"unknown keys by address",
                                      options.limits.unknown_keys_per_address_per_minute,
                                      options.limits.unknown_keys_per_address_per_minute, ""};
  const policy::RateClass all{"unknown keys", options.limits.unknown_keys_per_minute,
                              options.limits.unknown_keys_per_minute, ""};
  // The address first: one address flooding does not use up what the others share.
  auto out = limiter.take(c.address, per_address, now);
  std::string why;
  if (!out.allowed) {
    why = "source address " + c.address + " made more than " +
          std::to_string(per_address.requests_per_minute) +
          " requests a minute with keys the daemon does not know";
  } else {
    out = limiter.take("", all, now);
    if (!out.allowed)
      why = "keys the daemon does not know made more than " +
            std::to_string(all.requests_per_minute) + " requests a minute together";
  }
  if (out.allowed) return {};
  // Audited once a minute for all unknown keys and addresses together, with the count: many
  // addresses must not mean many entries either.
  auto e = entry_for(c, "api_request");
  e.set_decision(v1::DECISION_DENY);
  e.set_policy_rule("rate:unknown-keys");
  add_ref(e, "address", c.address);
  e.set_detail("rate limited: " + why);
  if (auto s = audit_refusal(Caller::kUnknownKeys, kUnknownRate, std::move(e)); !s)
    return tl::unexpected(from_error(s.error()));
  Refusal r;
  r.code = v1::API_RATE_LIMITED;
  r.message = "rate limited: " + why + "; retry in " + std::to_string(out.retry_after_ms) + " ms";
  r.rule = "rate:unknown-keys";
  r.retry_after_ms = out.retry_after_ms;
  return tl::unexpected(std::move(r));
}

Status ApiContext::update_principals(const std::function<Status(store::WriteTxn&)>& change) {
  std::optional<Directory::Contents> next;
  GONGSHU_RETURN_IF_ERROR(store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(change(txn));
    GONGSHU_TRY(next, Directory::read(store, txn));
    return {};
  }));
  directory.install(std::move(*next));
  return {};
}

}  // namespace gongshu::daemon
