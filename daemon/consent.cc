#include "daemon/consent.h"

#include <algorithm>
#include <cstdio>

#include "core/ids/citizen_id.h"
#include "core/ids/credit_code.h"
#include "core/policy/calendar.h"
#include "core/util/encoding.h"
#include "core/util/printable.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr size_t kMaxPurpose = 200;
constexpr size_t kMaxText = 1000;
constexpr size_t kMaxDatasets = 64;
constexpr size_t kMaxId = 32;

std::string index_key(std::string_view token_hex, std::string_view applicant, std::string_view id) {
  std::string k(token_hex);
  k.push_back('\0');
  k.append(applicant);
  k.push_back('\0');
  k.append(id);
  return k;
}

std::string status_at(const v1::ConsentInfo& c, int64_t now_ms) {
  if (c.revoked()) return "revoked";
  if (now_ms < c.valid_from_ms()) return "pending";
  if (now_ms >= c.valid_to_ms()) return "expired";
  return "active";
}

Result<v1::ConsentInfo> read_consent(const DaemonStore& store, const store::Txn& txn,
                                     const std::string& id) {
  if (id.empty() || id.size() > kMaxId)
    return fail(ErrorCode::kNotFound, "no consent with such an id (ids are like TY-2026-0001)");
  auto v = store.db().consents.get(txn, id);
  if (!v) return fail(ErrorCode::kNotFound, "no consent " + printable(id));
  v1::ConsentInfo c;
  if (!parse_value(*v, c)) return fail(ErrorCode::kCorrupt, "consent " + id + " does not parse");
  return c;
}

// A citizen ID number or a credit code, canonical; kind says which.
Result<std::string> subject_of(const ApiContext& ctx, const std::string& raw, std::string* kind) {
  const ids::IdCheck person = ids::check_citizen_id(raw, ctx.store.clock());
  if (person.valid) {
    *kind = "citizen_id";
    return person.normalized;
  }
  const ids::IdCheck org = ids::check_credit_code(raw);
  if (org.valid) {
    *kind = "credit_code";
    return org.normalized;
  }
  return fail(ErrorCode::kInvalidArgument,
              "the subject is neither a valid citizen ID number (" + person.reason +
                  ") nor a valid unified social credit code (" + org.reason + ")");
}

v1::AuditEntry consent_entry(const Caller& c, const std::string& action, const v1::ConsentInfo& k,
                             const std::string& detail) {
  auto e = entry_for(c, action);
  add_ref(e, "consent", k.id());
  add_ref(e, "subject_token", k.subject_token());
  add_ref(e, "applicant", k.applicant());
  e.set_purpose(k.purpose());
  e.set_detail(detail);
  return e;
}

std::string period_text(const v1::ConsentInfo& k) {
  return format_utc(k.valid_from_ms() * 1'000'000) + " .. " +
         format_utc(k.valid_to_ms() * 1'000'000);
}

bool may_see(const Caller& c, const v1::ConsentInfo& k) {
  if (c.role == "operator" || c.role == "officer") return true;
  if (c.role == "agency") return k.agency() == c.agency;
  if (c.role == "applicant") return k.applicant() == c.key_id;
  return false;
}

Reply run(ApiContext& ctx, const Caller& c, const std::string& action, const std::string& what,
          const std::function<Status(store::WriteTxn&)>& change) {
  auto s = ctx.store.env().update(change);
  if (!s) {
    if (s.error().code() == ErrorCode::kPermissionDenied) {
      auto e = entry_for(c, action);
      if (!what.empty()) add_ref(e, "consent", what);
      e.set_decision(v1::DECISION_DENY);
      e.set_detail(s.error().message());
      if (auto a = ctx.audit_refusal(c.refusal_key(), action, std::move(e)); !a)
        return tl::unexpected(from_error(a.error()));
    }
    return tl::unexpected(from_error(s.error()));
  }
  return {};
}

Reply answer_one(ApiContext& ctx, const std::string& id, v1::ApiResponse& resp) {
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto k = read_consent(ctx.store, *txn, id);
  if (!k) return tl::unexpected(from_error(k.error()));
  k->set_status(status_at(*k, ctx.store.clock().now_ms()));
  *resp.mutable_consents()->add_consents() = std::move(*k);
  return {};
}

// Why consent c does not let `applicant` query its subject in `dataset` for `purpose` at now_ms
// (empty: it does). The one rule of consent_in_force and consent_not_in_force.
std::string not_in_force(const v1::ConsentInfo& c, std::string_view applicant,
                         std::string_view dataset, std::string_view purpose, int64_t now_ms) {
  const std::string id = printable(c.id());
  if (c.applicant() != applicant)
    return "consent " + id + " was not given to " + printable(applicant);
  if (const std::string status = status_at(c, now_ms); status != "active")
    return "consent " + id + " is " + status;
  if (c.purpose() != purpose)
    return "consent " + id + " is not for the purpose " + printable(purpose);
  if (c.datasets_size() > 0 &&
      std::find(c.datasets().begin(), c.datasets().end(), dataset) == c.datasets().end())
    return "consent " + id + " does not cover dataset " + printable(dataset);
  return "";
}

}  // namespace

std::string consent_not_in_force(const DaemonStore& store, const store::Txn& txn,
                                 const std::string& id, std::string_view applicant,
                                 std::string_view dataset, std::string_view purpose,
                                 int64_t now_ms) {
  auto c = read_consent(store, txn, id);
  if (!c) return "consent " + printable(id) + " is not known to the leader";
  return not_in_force(*c, applicant, dataset, purpose, now_ms);
}

std::optional<std::string> consent_in_force(const DaemonStore& store, const store::Txn& txn,
                                            const crypto::Digest& subject_token,
                                            std::string_view applicant, std::string_view dataset,
                                            std::string_view purpose, int64_t now_ms) {
  if (applicant.empty()) return std::nullopt;
  const std::string prefix = index_key(hex_encode(subject_token), applicant, "");
  auto cur = store.db().consent_index.cursor(txn);
  for (auto e = cur.seek(as_bytes(prefix)); e; e = cur.next()) {
    std::string_view k = as_chars(e->key);
    if (!k.starts_with(prefix)) break;
    auto v = store.db().consents.get(txn, k.substr(prefix.size()));
    v1::ConsentInfo c;
    if (!v || !parse_value(*v, c)) continue;
    if (!not_in_force(c, applicant, dataset, purpose, now_ms).empty()) continue;
    return c.id();
  }
  return std::nullopt;
}

Reply consent_grant(ApiContext& ctx, const Caller& c, const v1::ConsentGrantRequest& req,
                    v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "consent_grant", {"agency"}); !r) return r;
  std::string kind;
  auto subject = subject_of(ctx, req.subject_id(), &kind);
  if (!subject) return tl::unexpected(from_error(subject.error()));
  if (auto s = checked_text("a purpose", req.purpose(), kMaxPurpose); !s)
    return tl::unexpected(from_error(s.error()));
  if (auto s = checked_text("an evidence reference (the signed consent form the desk keeps)",
                            req.evidence(), kMaxText);
      !s)
    return tl::unexpected(from_error(s.error()));
  if (req.datasets_size() > int(kMaxDatasets))
    return refuse(v1::API_BAD_REQUEST, "at most " + std::to_string(kMaxDatasets) + " datasets");
  auto snap = ctx.catalog.snapshot();
  for (const auto& d : req.datasets()) {
    if (!snap->count(d))
      return refuse(v1::API_NOT_FOUND, "no dataset " + printable(d) + " in the catalog");
  }
  const int64_t now = ctx.store.clock().now_ms();
  const int64_t from = req.valid_from_ms() ? req.valid_from_ms() : now;
  if (req.valid_to_ms() <= from)
    return refuse(v1::API_BAD_REQUEST, "the consent's period must end after it begins (--until)");
  std::string id;
  auto r = run(ctx, c, "consent_grant", "", [&](store::WriteTxn& txn) -> Status {
    DaemonStore& store = ctx.store;
    auto p = store.db().principals.get(txn, req.applicant());
    stored::Principal applicant;
    if (req.applicant().empty() || !p || !parse_value(*p, applicant) ||
        applicant.role() != "applicant" || applicant.revoked()) {
      return fail(ErrorCode::kNotFound, "no applicant principal with key id '" +
                                            printable(req.applicant()) +
                                            "' (gongshuctl principal list)");
    }
    v1::ConsentInfo k;
    GONGSHU_TRY(id, store.next_yearly_id(txn, "consent", "TY", now));  // 同意
    k.set_id(id);
    k.set_subject_token(hex_encode(store.subject_token(*subject)));
    k.set_subject_kind(kind);
    k.set_applicant(req.applicant());
    *k.mutable_datasets() = req.datasets();
    k.set_purpose(req.purpose());
    k.set_valid_from_ms(from);
    k.set_valid_to_ms(req.valid_to_ms());
    k.set_evidence(req.evidence());
    k.set_agency(c.agency);
    k.set_granted_by(c.key_id);
    k.set_granted_at_ms(now);
    GONGSHU_RETURN_IF_ERROR(store.db().consents.put(txn, id, as_bytes(k.SerializeAsString())));
    GONGSHU_RETURN_IF_ERROR(store.db().consent_index.put(
        txn, index_key(k.subject_token(), k.applicant(), id), ByteView()));
    std::string ds;
    for (const auto& d : k.datasets()) ds.append(ds.empty() ? "" : ",").append(d);
    auto e = consent_entry(c, "consent_granted", k,
                           "granted; collected by " + c.agency + "; datasets " +
                               (ds.empty() ? "every dataset about the subject" : ds) + "; period " +
                               period_text(k) + "; evidence recorded");
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!r) return r;
  return answer_one(ctx, id, resp);
}

Reply consent_revoke(ApiContext& ctx, const Caller& c, const v1::ConsentRevokeRequest& req,
                     v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "consent_revoke", {"agency", "operator"}); !r) return r;
  if (auto s = checked_text("a reason", req.reason(), kMaxText); !s)
    return tl::unexpected(from_error(s.error()));
  auto r = run(ctx, c, "consent_revoke", req.id(), [&](store::WriteTxn& txn) -> Status {
    DaemonStore& store = ctx.store;
    GONGSHU_TRY(v1::ConsentInfo k, read_consent(store, txn, req.id()));
    if (c.role == "agency" && k.agency() != c.agency) {
      return fail(ErrorCode::kPermissionDenied, "consent " + k.id() + " was collected by " +
                                                    k.agency() + ", not agency " + c.agency);
    }
    if (k.revoked())
      return fail(ErrorCode::kAlreadyExists, "consent " + k.id() + " is already revoked");
    const int64_t now = store.clock().now_ms();
    k.set_revoked(true);
    k.set_revoked_by(c.key_id);
    k.set_revoked_at_ms(now);
    k.set_revoke_reason(req.reason());
    GONGSHU_RETURN_IF_ERROR(store.db().consents.put(txn, k.id(), as_bytes(k.SerializeAsString())));
    auto e = consent_entry(c, "consent_revoked", k,
                           "revoked; in force from the next request; period was " + period_text(k));
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!r) return r;
  return answer_one(ctx, req.id(), resp);
}

Reply consent_list(ApiContext& ctx, const Caller& c, const v1::ConsentListRequest& req,
                   v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "consent_list", {"agency", "operator", "officer", "applicant"}); !r)
    return r;
  std::string token_hex;
  if (!req.subject_id().empty()) {
    std::string kind;
    auto subject = subject_of(ctx, req.subject_id(), &kind);
    if (!subject) return tl::unexpected(from_error(subject.error()));
    token_hex = hex_encode(ctx.store.subject_token(*subject));
  }
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  const int64_t now = ctx.store.clock().now_ms();
  auto* out = resp.mutable_consents();
  auto cur = ctx.store.db().consents.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::ConsentInfo k;
    if (!parse_value(e->value, k)) {
      resp.clear_body();
      return refuse(v1::API_INTERNAL, "consent " + printable(as_chars(e->key)) + " does not parse");
    }
    if (!may_see(c, k)) continue;
    if (!token_hex.empty() && k.subject_token() != token_hex) continue;
    if (!req.applicant().empty() && k.applicant() != req.applicant()) continue;
    k.set_status(status_at(k, now));
    *out->add_consents() = std::move(k);
  }
  return {};
}

}  // namespace gongshu::daemon
