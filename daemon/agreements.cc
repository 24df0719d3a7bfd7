#include "daemon/agreements.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/crypto/sha256.h"
#include "core/util/clock.h"
#include "core/util/encoding.h"
#include "core/util/printable.h"
#include "core/wire/curve_key.h"
#include "daemon/access.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr size_t kMaxScope = 64;
constexpr size_t kMaxPurposes = 16;
constexpr size_t kMaxText = 2000;
constexpr size_t kMaxName = 200;
// Ids are issued as KF-2026-0001; a longer one names nothing (and LMDB keys are bounded).
constexpr size_t kMaxId = 64;
constexpr int64_t kMaxTermMs = int64_t(5) * 366 * 24 * 3600 * 1000;

std::string when(int64_t ms) { return ms ? format_utc(ms * 1'000'000) : "-"; }

// Free text from a request as it may appear in the commitment and the audit log: one line.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  }
  return out;
}

bool printable(std::string_view s) { return is_printable(s); }

bool pending(const v1::AgreementInfo& a) { return a.status().starts_with("pending_"); }

std::string holder_key(std::string_view holder, std::string_view id) {
  std::string k(holder);
  k.push_back('\0');
  k.append(id);
  return k;
}

// The providing agencies of the agreement's datasets, as the catalog says now.
std::set<std::string> providers_of(const CatalogView::Snapshot& snap, const v1::AgreementInfo& a) {
  std::set<std::string> out;
  for (const auto& s : a.scope()) {
    if (auto it = snap.find(s.dataset()); it != snap.end())
      out.insert(it->second.entry().provider_agency());
  }
  return out;
}

// What list and show report: an active agreement past its term is expired.
v1::AgreementInfo presented(const v1::AgreementInfo& in, int64_t now_ms) {
  v1::AgreementInfo a = in;
  if (a.status() == "active" && now_ms >= a.valid_to_ms()) a.set_status("expired");
  if (a.status() == "pending_signature" || a.status() == "active" || a.status() == "expired" ||
      (a.status() == "revoked" && a.signed_at_ms() != 0))
    a.set_commitment(commitment_text(in));
  return a;
}

policy::Agreement to_policy(const v1::AgreementInfo& a) {
  policy::Agreement p;
  p.id = a.id();
  p.kind = policy::parse_agreement_kind(a.kind()).value_or(policy::AgreementKind::kOpen);
  if (a.status() == "active") {
    p.status = policy::AgreementStatus::kActive;
  } else if (a.status() == "revoked" || a.status() == "rejected") {
    p.status = policy::AgreementStatus::kRevoked;
  } else {
    p.status = policy::AgreementStatus::kPending;
  }
  p.holder = a.holder();
  for (const auto& s : a.scope()) {
    policy::AgreementScope sc;
    sc.dataset = s.dataset();
    if (s.fields().empty()) {
      sc.fields.push_back("*");
    } else {
      sc.fields.assign(s.fields().begin(), s.fields().end());
    }
    p.scope.push_back(std::move(sc));
  }
  p.purposes.assign(a.purposes().begin(), a.purposes().end());
  p.valid_from_ms = a.valid_from_ms();
  p.valid_to_ms = a.valid_to_ms();
  if (a.row_quota() > 0)
    p.rows_remaining = a.row_quota() > a.rows_used() ? a.row_quota() - a.rows_used() : 0;
  return p;
}

Result<stored::Agreement> load(ApiContext& ctx, const store::Txn& txn, const std::string& id) {
  if (id.empty() || id.size() > kMaxId || !printable(id))
    return fail(ErrorCode::kNotFound, "no agreement with such an id (ids are like KF-2026-0001)");
  auto v = ctx.store.db().agreements.get(txn, id);
  stored::Agreement a;
  if (!v) return fail(ErrorCode::kNotFound, "no agreement " + id);
  if (!parse_value(*v, a)) return fail(ErrorCode::kCorrupt, "agreement " + id + " does not parse");
  return a;
}

Status save(ApiContext& ctx, store::WriteTxn& txn, const stored::Agreement& a) {
  return ctx.store.db().agreements.put(txn, a.info().id(), as_bytes(a.SerializeAsString()));
}

// The first violation recorded against subject (a key id or an agency), if any.
std::optional<stored::Violation> violation_of(ApiContext& ctx, const store::Txn& txn,
                                              const std::string& subject) {
  if (subject.empty()) return std::nullopt;
  const std::string prefix = holder_key(subject, "");
  auto cur = ctx.store.db().violations.cursor(txn);
  auto e = cur.seek(as_bytes(prefix));
  if (!e || as_chars(e->key).substr(0, prefix.size()) != prefix) return std::nullopt;
  stored::Violation v;
  if (!parse_value(e->value, v))
    v.set_agreement_id(std::string(as_chars(e->key).substr(prefix.size())));
  return v;
}

v1::AuditEntry agreement_entry(const Caller& c, std::string action, const v1::AgreementInfo& a) {
  auto e = entry_for(c, std::move(action));
  add_ref(e, "agreement", a.id());
  if (a.scope_size() == 1) {
    e.set_dataset(a.scope(0).dataset());
  } else if (a.scope_size() > 1) {
    e.set_dataset("*");
    std::string ds;
    for (const auto& s : a.scope()) ds.append(ds.empty() ? "" : ",").append(s.dataset());
    add_ref(e, "datasets", ds);
  }
  std::string purposes;
  for (const auto& p : a.purposes()) purposes.append(purposes.empty() ? "" : ",").append(p);
  e.set_purpose(purposes);
  e.set_decision(v1::DECISION_ALLOW);
  return e;
}

// Audits a refused workflow step and answers it.
Reply refused(ApiContext& ctx, const Caller& c, std::string action, const std::string& id,
              v1::ApiErrorCode code, std::string why) {
  auto e = entry_for(c, std::move(action));
  if (!id.empty()) add_ref(e, "agreement", id);
  e.set_decision(v1::DECISION_DENY);
  e.set_detail(why);
  if (auto s = ctx.audit(std::move(e)); !s) return tl::unexpected(from_error(s.error()));
  return refuse(code, std::move(why));
}

// The same for refusals a caller can repeat at will (an application over a cap, the public's
// refusals): audited on the RateLimiter's terms (ApiContext::audit_refusal), per key, and for
// unknown keys all together.
Reply refused_summarised(ApiContext& ctx, const Caller& c, std::string action,
                         v1::ApiErrorCode code, std::string why) {
  auto e = entry_for(c, action);
  e.set_decision(v1::DECISION_DENY);
  e.set_detail(why);
  if (auto s = ctx.audit_refusal(c.refusal_key(), action, std::move(e)); !s)
    return tl::unexpected(from_error(s.error()));
  return refuse(code, std::move(why));
}

// Runs change on agreement id in a write transaction that also appends the entry it returns;
// answers with the agreement as it is afterwards. change fails with kPermissionDenied for a
// refusal the caller should see as a denial (it is audited), other codes as they are.
Reply update(
    ApiContext& ctx, const Caller& c, const std::string& action, const std::string& id,
    const std::function<Result<v1::AuditEntry>(store::WriteTxn&, stored::Agreement&)>& change,
    v1::ApiResponse& resp, bool reload_directory = false) {
  stored::Agreement after;
  auto apply = [&](store::WriteTxn& txn) -> Status {
    GONGSHU_TRY(stored::Agreement a, load(ctx, txn, id));
    GONGSHU_TRY(v1::AuditEntry e, change(txn, a));
    GONGSHU_RETURN_IF_ERROR(save(ctx, txn, a));
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    after = std::move(a);
    return {};
  };
  // A change that registers a key is in force when it answers (ApiContext::update_principals).
  auto s = reload_directory ? ctx.update_principals(apply) : ctx.store.env().update(apply);
  if (!s) {
    if (s.error().code() == ErrorCode::kPermissionDenied ||
        s.error().code() == ErrorCode::kAlreadyExists ||
        s.error().code() == ErrorCode::kInvalidArgument) {
      return refused(ctx, c, action, id, from_error(s.error()).code, s.error().message());
    }
    return tl::unexpected(from_error(s.error()));
  }
  *resp.mutable_agreements()->add_agreements() =
      presented(after.info(), ctx.store.clock().now_ms());
  return {};
}

bool may_see(const Caller& c, const stored::Agreement& a, const CatalogView::Snapshot& snap) {
  const v1::AgreementInfo& info = a.info();
  if (c.role == "operator" || c.role == "officer") return true;
  if (c.is_public()) {
    auto pub = crypto::PublicKey::from_bytes(as_bytes(a.applicant_public_key()));
    auto curve =
        pub ? wire::curve_key_of(*pub) : Result<wire::CurveKey>(tl::unexpected(pub.error()));
    return curve && wire::curve_key_hex(*curve) == c.curve_hex;
  }
  if (info.applicant() == c.key_id) return true;
  if (c.role == "agency" && !c.agency.empty()) {
    if (info.holder() == c.agency) return true;
    return providers_of(snap, info).count(c.agency) > 0;
  }
  return false;
}

}  // namespace

std::string commitment_text(const v1::AgreementInfo& a) {
  std::string t = "gongshu security commitment v1\n";
  t += "agreement: " + a.id() + "\n";
  t += "kind: " + a.kind() + "\n";
  t += "applicant: " + a.applicant() + " (" + a.applicant_name() + ")\n";
  t += "holder: " + a.holder() + "\n";
  for (const auto& s : a.scope()) {
    std::string fields;
    for (const auto& f : s.fields()) fields.append(fields.empty() ? "" : ", ").append(f);
    t += "dataset: " + s.dataset() + " (" + (fields.empty() ? "all fields" : "fields: " + fields) +
         ")\n";
  }
  for (const auto& p : a.purposes()) t += "purpose: " + p + "\n";
  t += "valid from: " + when(a.valid_from_ms()) + "\n";
  t += "valid to: " + when(a.valid_to_ms()) + " (exclusive)\n";
  t += "row quota: " + (a.row_quota() ? std::to_string(a.row_quota()) : std::string("none")) + "\n";
  t += "security measures: " + a.security_measures() + "\n";
  t += "approved by: " + a.decided_by() + " at " + when(a.decided_at_ms()) + "\n";
  t += "commitment: the applicant uses the data above only for the purposes above, within the "
       "period above and as the platform masks it; protects it with the security measures above; "
       "makes no attempt to identify any person; passes none of it to a third party; and accepts "
       "that a violation is recorded, ends this agreement and blocks further applications "
       "(石家庄市公共数据管理规定 第二十五条).\n";
  return t;
}

Result<std::vector<policy::Agreement>> caller_agreements(ApiContext& ctx, const store::Txn& txn,
                                                         const Caller& c) {
  std::vector<policy::Agreement> out;
  if (c.is_public()) return out;
  const auto& db = ctx.store.db();
  for (const std::string& holder : {c.key_id, c.agency}) {
    if (holder.empty()) continue;
    const std::string prefix = holder_key(holder, "");
    auto cur = db.agreement_holders.cursor(txn);
    for (auto e = cur.seek(as_bytes(prefix)); e; e = cur.next()) {
      std::string_view k = as_chars(e->key);
      if (k.substr(0, prefix.size()) != prefix) break;
      GONGSHU_TRY(stored::Agreement a, load(ctx, txn, std::string(k.substr(prefix.size()))));
      out.push_back(to_policy(a.info()));
    }
  }
  if (c.role == "licensed") {
    // The licence is the licensed operator's principal record.
    auto v = db.principals.get(txn, c.key_id);
    stored::Principal p;
    if (v && parse_value(*v, p)) {
      policy::Agreement l;
      l.id = "licence:" + c.key_id;
      l.kind = policy::AgreementKind::kLicence;
      l.status = p.revoked() ? policy::AgreementStatus::kRevoked : policy::AgreementStatus::kActive;
      l.holder = c.key_id;
      for (const auto& d : p.datasets()) l.scope.push_back({d, {"*"}});
      l.purposes.assign(p.purposes().begin(), p.purposes().end());
      l.valid_from_ms = p.created_at_ms();
      l.valid_to_ms = p.valid_until_ms();
      out.push_back(std::move(l));
    }
  }
  return out;
}

Status use_rows(ApiContext& ctx, store::WriteTxn& txn, const policy::Agreement* a, uint64_t rows,
                bool* over_quota) {
  if (!a || rows == 0 || !a->rows_remaining) return {};
  GONGSHU_TRY(stored::Agreement s, load(ctx, txn, a->id));
  auto* info = s.mutable_info();
  if (info->row_quota() == 0) return {};
  if (info->rows_used() + rows > info->row_quota()) {
    if (over_quota) *over_quota = true;
    return fail(ErrorCode::kResourceExhausted,
                "agreement " + a->id + ": the answer would exceed its row quota");
  }
  info->set_rows_used(info->rows_used() + rows);
  return save(ctx, txn, s);
}

Status return_rows(ApiContext& ctx, store::WriteTxn& txn, const std::string& id, uint64_t rows) {
  if (rows == 0) return {};
  auto s = load(ctx, txn, id);
  if (!s) return {};  // gone since, or no longer readable: nothing to give back to
  auto* info = s->mutable_info();
  if (info->row_quota() == 0) return {};
  info->set_rows_used(info->rows_used() - std::min<uint64_t>(info->rows_used(), rows));
  return save(ctx, txn, *s);
}

Reply agreement_apply(ApiContext& ctx, const Caller& c, const v1::AgreementApplyRequest& req,
                      v1::ApiResponse& resp) {
  // Each application is a durable commit: the public applies at the public default rate.
  if (auto r = rate_check(ctx, c, nullptr, "agreement_apply", ""); !r) return r;
  const std::string& kind = req.kind();
  if (kind != "open" && kind != "share")
    return refuse(v1::API_BAD_REQUEST, "agreement kind '" + kind + "' is not open or share");
  if (kind == "open") {
    if (auto r = ctx.require(c, "apply for open-use agreements (R-18)", {"applicant", "public"});
        !r)
      return r;
  } else {
    if (auto r = ctx.require(c, "apply for sharing (R-13)", {"agency"}); !r) return r;
  }
  const int64_t now = ctx.store.clock().now_ms();
  // Who applies: a registered principal, or a public key that proves it is the connection's.
  std::string applicant = c.key_id;
  std::string applicant_role = c.role;
  crypto::PublicKey applicant_key;
  if (c.is_public()) {
    auto pub = crypto::PublicKey::from_hex(req.applicant_public_key());
    if (!pub)
      return refuse(
          v1::API_BAD_REQUEST,
          "a public applicant gives applicant_public_key (64 hex): " + pub.error().message());
    auto curve = wire::curve_key_of(*pub);
    if (!curve || wire::curve_key_hex(*curve) != c.curve_hex) {
      return refused_summarised(ctx, c, "agreement_apply", v1::API_DENIED,
                                "apply from a connection made with the key in "
                                "applicant_public_key");
    }
    applicant_key = *pub;
    applicant = pub->key_id();
  } else if (auto id = ctx.directory.by_key_id(c.key_id)) {
    applicant_key = id->key;
  }
  // Check the application itself.
  if (req.scope().empty() || size_t(req.scope_size()) > kMaxScope)
    return refuse(v1::API_BAD_REQUEST, "name 1.." + std::to_string(kMaxScope) + " datasets");
  if (req.purposes().empty() || size_t(req.purposes_size()) > kMaxPurposes)
    return refuse(v1::API_BAD_REQUEST, "state 1.." + std::to_string(kMaxPurposes) + " purposes");
  for (const auto& p : req.purposes()) {
    if (p.empty() || p.size() > kMaxName || !printable(p))
      return refuse(v1::API_BAD_REQUEST,
                    "a purpose is 1.." + std::to_string(kMaxName) + " printable characters");
  }
  if (req.security_measures().empty() || req.security_measures().size() > kMaxText) {
    return refuse(v1::API_BAD_REQUEST, "describe the security measures (1.." +
                                           std::to_string(kMaxText) +
                                           " bytes): the applicant commits to them (R-18)");
  }
  if (req.applicant_name().size() > kMaxName)
    return refuse(v1::API_BAD_REQUEST, "applicant name is too long");
  const int64_t from = req.valid_from_ms() ? req.valid_from_ms() : now;
  // Bounding the start first keeps valid_to - from from overflowing.
  if (from < 0 || from > now + kMaxTermMs)
    return refuse(v1::API_BAD_REQUEST, "the period must start within five years from now");
  if (req.valid_to_ms() <= from || req.valid_to_ms() <= now)
    return refuse(v1::API_BAD_REQUEST, "the period must end after it starts, in the future");
  if (req.valid_to_ms() - from > kMaxTermMs)
    return refuse(v1::API_BAD_REQUEST, "an agreement lasts at most five years");
  auto snap = ctx.catalog.snapshot();
  std::set<std::string> seen;
  for (const auto& s : req.scope()) {
    auto it = snap->find(s.dataset());
    if (it == snap->end() || it->second.entry().status() != "approved")
      return refuse(v1::API_NOT_FOUND, "no approved dataset '" + s.dataset() + "'");
    if (!seen.insert(s.dataset()).second)
      return refuse(v1::API_BAD_REQUEST, "dataset " + s.dataset() + " is named twice");
    const v1::DatasetEntry& e = it->second.entry();
    if (s.fields_size() > e.fields_size() + 1)
      return refuse(v1::API_BAD_REQUEST, "dataset " + e.id() + " is given more fields than it has");
    for (const auto& f : s.fields()) {
      if (f != "*" && !it->second.field(f))
        return refuse(v1::API_BAD_REQUEST, "dataset " + e.id() + " has no field '" + f + "'");
    }
    if (kind == "open" && e.open_attribute() != "conditional") {
      return refuse(v1::API_BAD_REQUEST,
                    "dataset " + e.id() + " is " + e.open_attribute() +
                        " open data: open-use agreements cover conditionally open datasets only (" +
                        (e.open_attribute() == "closed" ? "closed data is never opened, R-15)"
                                                        : "unconditional data needs none, R-17)"));
    }
    if (kind == "share") {
      if (e.share_attribute() == "none")
        return refuse(v1::API_BAD_REQUEST,
                      "dataset " + e.id() + " is not shared (share attribute none, R-13)");
      if (e.provider_agency() == c.agency)
        return refuse(v1::API_BAD_REQUEST,
                      "dataset " + e.id() + " is your agency's own: no sharing request is needed");
    }
  }

  v1::AgreementInfo info;
  info.set_kind(kind);
  info.set_status("pending_review");
  info.set_applicant(applicant);
  std::string name = one_line(req.applicant_name());
  if (name.empty()) {
    auto txn = ctx.store.env().begin_read();
    stored::Principal p;
    if (txn) {
      if (auto v = ctx.store.db().principals.get(*txn, c.key_id); v && parse_value(*v, p))
        name = p.name();
    }
  }
  info.set_applicant_name(name);
  info.set_holder(kind == "share" ? c.agency : applicant);
  *info.mutable_scope() = req.scope();
  for (auto& s : *info.mutable_scope()) {
    if (s.fields_size() == 1 && s.fields(0) == "*") s.clear_fields();
  }
  *info.mutable_purposes() = req.purposes();
  info.set_valid_from_ms(from);
  info.set_valid_to_ms(req.valid_to_ms());
  info.set_security_measures(one_line(req.security_measures()));
  info.set_row_quota(req.row_quota());
  info.set_applied_at_ms(now);
  for (const auto& p : providers_of(*snap, info)) info.add_reviews_pending(p);

  std::string blocked;
  std::string capped;
  v1::ApiErrorCode capped_code = v1::API_CONFLICT;
  const ApiLimits& limits = ctx.options.limits;
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    // A recorded violation blocks the applicant's (and for sharing its agency's) applications.
    for (const std::string& who : {applicant, kind == "share" ? c.agency : std::string()}) {
      if (auto v = violation_of(ctx, txn, who)) {
        blocked = who + " has a recorded violation (agreement " + v->agreement_id() + ", " +
                  when(v->at_ms()) + "): new applications are refused (R-18)";
        return {};
      }
    }
    if (c.is_public()) {
      if (auto v = ctx.store.db().principals.get(txn, applicant)) {
        blocked = "key " + applicant + " was registered and revoked; it may not apply";
        return {};
      }
    }
    // Pending applications are capped per applicant and in all, so keys that cost nothing to
    // make cannot grow the store (and the reviewers' queue) without bound. Past the total, only
    // keys the daemon does not know are refused: registered applicants and agencies are held
    // by their own cap and cannot be crowded out by strangers.
    uint64_t mine = 0, all = 0;
    auto cur = ctx.store.db().agreements.cursor(txn);
    for (auto e = cur.first(); e; e = cur.next()) {
      stored::Agreement a;
      if (!parse_value(e->value, a) || !pending(a.info())) continue;
      ++all;
      if (a.info().applicant() == applicant) ++mine;
    }
    if (mine >= limits.max_pending_applications_per_applicant) {
      capped = applicant + " has " + std::to_string(mine) +
               " applications awaiting a decision, the most one applicant may have (" +
               std::to_string(limits.max_pending_applications_per_applicant) + ")";
      return {};
    }
    if (c.is_public() && all >= limits.max_pending_applications) {
      capped = std::to_string(all) + " applications await a decision, the most the platform " +
               "takes from unregistered keys (" + std::to_string(limits.max_pending_applications) +
               "); try again later";
      capped_code = v1::API_UNAVAILABLE;
      return {};
    }
    GONGSHU_TRY(std::string id,
                ctx.store.next_yearly_id(txn, "agreement", kind == "open" ? "KF" : "GX", now));
    info.set_id(id);
    stored::Agreement a;
    *a.mutable_info() = info;
    a.set_applicant_public_key(applicant_key.bytes().data(), applicant_key.bytes().size());
    a.set_applicant_role(applicant_role);
    GONGSHU_RETURN_IF_ERROR(
        ctx.store.db().agreements.insert(txn, info.id(), as_bytes(a.SerializeAsString())));
    GONGSHU_RETURN_IF_ERROR(
        ctx.store.db().agreement_holders.put(txn, holder_key(info.holder(), info.id()), {}));
    auto e = agreement_entry(c, "agreement_apply", info);
    add_ref(e, "kind", kind);
    add_ref(e, "applicant", applicant);
    e.set_detail("applied for " + std::to_string(info.scope_size()) + " dataset(s) until " +
                 when(info.valid_to_ms()) + "; awaiting review by " +
                 std::to_string(info.reviews_pending_size()) + " providing agency(ies)");
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  if (!capped.empty()) return refused_summarised(ctx, c, "agreement_apply", capped_code, capped);
  if (!blocked.empty()) {
    if (c.is_public())
      return refused_summarised(ctx, c, "agreement_apply", v1::API_DENIED, blocked);
    return refused(ctx, c, "agreement_apply", "", v1::API_DENIED, blocked);
  }
  *resp.mutable_agreements()->add_agreements() = presented(info, now);
  return {};
}

Reply agreement_review(ApiContext& ctx, const Caller& c, const v1::AgreementReviewRequest& req,
                       v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "review agreements for its datasets", {"agency"}); !r) return r;
  const int64_t now = ctx.store.clock().now_ms();
  return update(
      ctx, c, "agreement_review", req.id(),
      [&](store::WriteTxn&, stored::Agreement& a) -> Result<v1::AuditEntry> {
        auto* info = a.mutable_info();
        if (info->status() != "pending_review")
          return fail(ErrorCode::kAlreadyExists,
                      "agreement " + info->id() + " is " + info->status() + ", not pending review");
        auto* pending = info->mutable_reviews_pending();
        auto it = std::find(pending->begin(), pending->end(), c.agency);
        if (it == pending->end()) {
          return fail(ErrorCode::kPermissionDenied,
                      "agency " + c.agency + " provides none of the datasets of agreement " +
                          info->id() + " still awaiting review");
        }
        pending->erase(it);
        auto* rv = info->add_reviews();
        rv->set_agency(c.agency);
        rv->set_reviewer(c.key_id);
        rv->set_approved(req.approve());
        rv->set_note(one_line(req.note().substr(0, kMaxText)));
        rv->set_at_ms(now);
        if (!req.approve()) {
          info->set_status("rejected");
        } else if (pending->empty()) {
          info->set_status("pending_approval");
        }
        auto e = agreement_entry(c, "agreement_review", *info);
        e.set_decision(req.approve() ? v1::DECISION_ALLOW : v1::DECISION_DENY);
        e.set_detail(std::string(req.approve() ? "approved" : "rejected") +
                     " by providing agency " + c.agency + "; now " + info->status());
        return e;
      },
      resp);
}

Reply agreement_approve(ApiContext& ctx, const Caller& c, const v1::AgreementApproveRequest& req,
                        v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "approve agreements", {"operator"}); !r) return r;
  const int64_t now = ctx.store.clock().now_ms();
  return update(
      ctx, c, "agreement_approve", req.id(),
      [&](store::WriteTxn& txn, stored::Agreement& a) -> Result<v1::AuditEntry> {
        auto* info = a.mutable_info();
        if (info->status() != "pending_approval") {
          return fail(ErrorCode::kAlreadyExists, "agreement " + info->id() + " is " +
                                                     info->status() + ", not pending approval");
        }
        info->set_decided_by(c.key_id);
        info->set_decided_at_ms(now);
        info->set_decision_note(one_line(req.note().substr(0, kMaxText)));
        info->set_status(req.approve() ? "pending_signature" : "rejected");
        if (req.approve() && a.applicant_role() == "public" &&
            !ctx.store.db().principals.get(txn, info->applicant())) {
          // A public applicant becomes an applicant principal, audited as a principal change.
          stored::Principal p;
          p.set_public_key(a.applicant_public_key());
          p.set_role("applicant");
          p.set_name(info->applicant_name());
          p.set_created_at_ms(now);
          p.set_created_by(c.key_id);
          GONGSHU_RETURN_IF_ERROR(ctx.store.db().principals.insert(
              txn, info->applicant(), as_bytes(p.SerializeAsString())));
          auto pe = entry_for(c, "principal_add");
          add_ref(pe, "principal", info->applicant());
          add_ref(pe, "role", "applicant");
          add_ref(pe, "agreement", info->id());
          pe.set_detail("public applicant registered on approval of agreement " + info->id());
          GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, pe));
        }
        auto e = agreement_entry(c, "agreement_approve", *info);
        e.set_decision(req.approve() ? v1::DECISION_ALLOW : v1::DECISION_DENY);
        e.set_detail(req.approve() ? "approved by the authority; awaiting the applicant's signed "
                                     "security commitment"
                                   : "rejected by the authority");
        return e;
      },
      resp, /*reload_directory=*/true);
}

Reply agreement_sign(ApiContext& ctx, const Caller& c, const v1::AgreementSignRequest& req,
                     v1::ApiResponse& resp) {
  // Refusals are audited: the public signs at the public default rate.
  if (auto r = rate_check(ctx, c, nullptr, "agreement_sign", ""); !r) return r;
  const int64_t now = ctx.store.clock().now_ms();
  return update(
      ctx, c, "agreement_sign", req.id(),
      [&](store::WriteTxn&, stored::Agreement& a) -> Result<v1::AuditEntry> {
        auto* info = a.mutable_info();
        if (info->applicant() != c.key_id)
          return fail(ErrorCode::kPermissionDenied,
                      "only the applicant " + info->applicant() + " signs agreement " + info->id());
        if (info->status() != "pending_signature") {
          return fail(ErrorCode::kAlreadyExists, "agreement " + info->id() + " is " +
                                                     info->status() + ", not awaiting signature");
        }
        if (now >= info->valid_to_ms())
          return fail(ErrorCode::kPermissionDenied,
                      "agreement " + info->id() + " ended before it was signed");
        const std::string text = commitment_text(*info);
        auto pub = crypto::PublicKey::from_bytes(as_bytes(a.applicant_public_key()));
        crypto::Signature sig{};
        if (!pub || req.signature().size() != sig.size()) {
          return fail(ErrorCode::kInvalidArgument,
                      "the signature must be 64 bytes of Ed25519 over the commitment");
        }
        std::copy(req.signature().begin(), req.signature().end(), sig.begin());
        if (!crypto::verify(*pub, kCommitmentDomain, as_bytes(text), sig)) {
          return fail(ErrorCode::kPermissionDenied,
                      "the signature does not verify over the commitment of " + info->id() +
                          " with the applicant's key");
        }
        a.set_commitment_signature(req.signature());
        info->set_signed_at_ms(now);
        info->set_status("active");
        auto e = agreement_entry(c, "agreement_sign", *info);
        add_ref(e, "commitment_sha256", hex_encode(crypto::sha256(as_bytes(text))));
        add_ref(e, "signature", hex_encode(as_bytes(req.signature())));
        e.set_detail("security commitment signed; active until " + when(info->valid_to_ms()));
        return e;
      },
      resp);
}

Reply agreement_revoke(ApiContext& ctx, const Caller& c, const v1::AgreementRevokeRequest& req,
                       v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "revoke agreements", {"operator"}); !r) return r;
  const int64_t now = ctx.store.clock().now_ms();
  return update(
      ctx, c, "agreement_revoke", req.id(),
      [&](store::WriteTxn&, stored::Agreement& a) -> Result<v1::AuditEntry> {
        auto* info = a.mutable_info();
        if (info->status() == "revoked" || info->status() == "rejected")
          return fail(ErrorCode::kAlreadyExists,
                      "agreement " + info->id() + " is already " + info->status());
        info->set_status("revoked");
        info->set_revoked_by(c.key_id);
        info->set_revoked_at_ms(now);
        info->set_revoke_reason(one_line(req.reason().substr(0, kMaxText)));
        auto e = agreement_entry(c, "agreement_revoke", *info);
        e.set_detail("revoked: " + info->revoke_reason());
        return e;
      },
      resp);
}

Reply agreement_violation(ApiContext& ctx, const Caller& c,
                          const v1::AgreementViolationRequest& req, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "record violations", {"operator"}); !r) return r;
  if (req.note().empty())
    return refuse(v1::API_BAD_REQUEST, "describe the violation (note): it is kept for good");
  const int64_t now = ctx.store.clock().now_ms();
  return update(
      ctx, c, "agreement_violation", req.id(),
      [&](store::WriteTxn& txn, stored::Agreement& a) -> Result<v1::AuditEntry> {
        auto* info = a.mutable_info();
        stored::Violation v;
        v.set_agreement_id(info->id());
        v.set_note(one_line(req.note().substr(0, kMaxText)));
        v.set_recorded_by(c.key_id);
        v.set_at_ms(now);
        std::set<std::string> subjects{info->applicant()};
        if (info->kind() == "share") subjects.insert(info->holder());
        for (const auto& who : subjects) {
          GONGSHU_RETURN_IF_ERROR(ctx.store.db().violations.put(txn, holder_key(who, info->id()),
                                                                as_bytes(v.SerializeAsString())));
        }
        if (info->status() != "revoked") {
          info->set_status("revoked");
          info->set_revoked_by(c.key_id);
          info->set_revoked_at_ms(now);
          info->set_revoke_reason("violation: " + v.note());
        }
        info->set_violation(true);
        auto e = agreement_entry(c, "agreement_violation", *info);
        e.set_decision(v1::DECISION_DENY);
        std::string who;
        for (const auto& s : subjects) who.append(who.empty() ? "" : ", ").append(s);
        e.set_detail("violation recorded against " + who +
                     "; agreement revoked and further applications refused: " + v.note());
        return e;
      },
      resp);
}

Reply agreement_list(ApiContext& ctx, const Caller& c, const std::string& id,
                     v1::ApiResponse& resp) {
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto snap = ctx.catalog.snapshot();
  const int64_t now = ctx.store.clock().now_ms();
  auto* out = resp.mutable_agreements();
  if (!id.empty()) {
    auto a = load(ctx, *txn, id);
    if (!a) return refuse(v1::API_NOT_FOUND, a.error().message());
    if (!may_see(c, *a, *snap)) return refuse(v1::API_NOT_FOUND, "no agreement " + id);
    *out->add_agreements() = presented(a->info(), now);
    return {};
  }
  if (c.is_public())
    return refuse(v1::API_DENIED, "public callers show their application by id (agreement show)");
  auto cur = ctx.store.db().agreements.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    stored::Agreement a;
    if (!parse_value(e->value, a) || !may_see(c, a, *snap)) continue;
    *out->add_agreements() = presented(a.info(), now);
  }
  return {};
}

}  // namespace gongshu::daemon
