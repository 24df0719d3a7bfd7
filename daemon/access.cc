#include "daemon/access.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "core/catalog/lifecycle.h"
#include "core/catalog/validate.h"
#include "core/crypto/aead.h"
#include "core/ids/citizen_id.h"
#include "core/ids/credit_code.h"
#include "core/policy/decide.h"
#include "core/policy/mask_profile.h"
#include "core/util/check.h"
#include "core/util/encoding.h"
#include "daemon/agreements.h"
#include "daemon/consent.h"
#include "daemon/objections.h"
#include "daemon/read_on_replica.h"
#include "daemon/record_reader.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr uint32_t kDefaultPage = 100;
constexpr uint32_t kMaxPage = 1000;
constexpr uint32_t kDefaultChunk = 500;
constexpr uint32_t kMaxChunk = 5000;
constexpr int kMaxFields = 256;
constexpr size_t kMaxPurpose = 200;
constexpr std::string_view kMaskTokenDomain = "gongshu.mask-token.v1";
constexpr std::string_view kCursorDomain = "gongshu.cursor.v1";
constexpr std::string_view kNoPolicyRule = "no-policy";

// Public callers' requests that no rule rate-limits (denials above all) are limited by this
// class, so that unknown keys cannot turn requests into durable audit commits without bound.
const policy::RateClass kPublicDefaultRate{"public-default", 60, 20,
                                           "public requests no rule limits"};

using policy::Action;

// One decision and everything it points into; the agreements it may point into are the
// caller's, owned by the handler for the whole request.
struct Decided {
  std::shared_ptr<const policy::Policy> policy;
  const catalog::DatasetSchema* schema = nullptr;
  policy::DatasetAttrs attrs;
  policy::Decision decision;
  std::string why;  // a denial: the rule and the reasons

  bool allowed() const { return policy && decision.allowed(); }
  std::string rule() const {
    return policy ? std::string(decision.rule_id) : std::string(kNoPolicyRule);
  }
  std::string version() const { return policy ? policy->version() : std::string(); }
};

std::string denial_reason(const policy::Policy& p, const policy::Request& r,
                          const policy::Decision& d) {
  std::string head = "role " + std::string(policy::role_name(r.role)) + " may not " +
                     std::string(policy::action_name(r.action)) + " dataset " + r.dataset->id;
  if (d.rule) {
    return head + ": rule " + d.rule->id + " denies it (policy " + p.version() +
           (d.rule->description.empty() ? "" : "; " + d.rule->description) + ")";
  }
  std::string out = head + ": no rule allows it (default-deny, policy " + p.version() + ")";
  // Why each rule that could have allowed it did not.
  auto ex = policy::explain(p, r);
  for (const auto& v : ex.rules) {
    const policy::Rule& rule = *v.rule;
    if (rule.effect != policy::Effect::kAllow || !(rule.roles & policy::bit(r.role)) ||
        !(rule.actions & policy::bit(r.action)))
      continue;
    out += "; rule " + rule.id + ": " + v.reason;
  }
  return out;
}

Decided decide_for(ApiContext& ctx, const std::shared_ptr<const policy::Policy>& pol,
                   const Caller& c, std::span<const policy::Agreement> agreements,
                   const catalog::DatasetSchema& schema, Action action, std::string_view purpose,
                   std::span<const std::string_view> fields, bool subject_consent = false) {
  Decided d;
  d.policy = pol;
  d.schema = &schema;
  if (!pol) {
    d.why = "no access policy is in force (" + ctx.policy.missing_reason() +
            "); every access is denied until one loads";
    return d;
  }
  auto attrs = policy::DatasetAttrs::from_entry(schema.entry());
  if (!attrs) {
    d.why = "dataset " + schema.id() + ": " + attrs.error().message();
    return d;
  }
  d.attrs = std::move(*attrs);
  policy::Request r;
  r.role = c.policy_role;
  r.principal = c.key_id;
  r.agency = c.agency;
  r.action = action;
  r.dataset = &d.attrs;
  r.purpose = purpose;
  r.fields = fields;
  r.agreements = agreements;
  r.now_ms = ctx.store.clock().now_ms();
  r.subject_consent = subject_consent;
  d.decision = policy::decide(*pol, r);
  if (!d.decision.allowed()) d.why = denial_reason(*pol, r, d.decision);
  return d;
}

v1::AuditEntry decision_entry(const Caller& c, std::string_view action, const std::string& dataset,
                              std::string_view purpose, const Decided& d, uint64_t count) {
  auto e = entry_for(c, std::string(action));
  e.set_dataset(dataset);
  e.set_purpose(std::string(purpose));
  e.set_policy_rule(d.rule());
  e.set_policy_version(d.version());
  e.set_decision(d.allowed() ? v1::DECISION_ALLOW : v1::DECISION_DENY);
  e.set_record_count(count);
  if (d.allowed()) {
    if (d.decision.agreement) add_ref(e, "agreement", d.decision.agreement->id);
    if (d.decision.mask) add_ref(e, "mask", d.decision.mask->id());
  }
  return e;
}

Refusal denied(const Decided& d, std::string message) {
  Refusal r;
  r.code = v1::API_DENIED;
  r.message = std::move(message);
  r.rule = d.rule();
  r.policy_version = d.version();
  return r;
}

}  // namespace

// Declared in access.h.
Reply rate_check(ApiContext& ctx, const Caller& c, const policy::RateClass* rate,
                 std::string_view action, const std::string& dataset) {
  if (!rate && c.is_public()) rate = &kPublicDefaultRate;
  if (!rate) return {};
  auto out = ctx.limiter.take(c.rate_key(), *rate, ctx.store.clock().now_ms());
  if (out.allowed) return {};
  std::string why = "rate class '" + rate->id + "' allows " +
                    std::to_string(rate->requests_per_minute) + " requests a minute (burst " +
                    std::to_string(rate->burst ? rate->burst : rate->requests_per_minute) + ")";
  if (out.audit) {
    auto e = entry_for(c, std::string(action));
    e.set_dataset(dataset);
    e.set_decision(v1::DECISION_DENY);
    e.set_policy_rule("rate:" + rate->id);
    e.set_detail("rate limited: " + why +
                 (out.unaudited ? "; " + std::to_string(out.unaudited) +
                                      " earlier refusals of this caller not audited one by one"
                                : std::string()));
    if (auto s = ctx.audit(std::move(e)); !s) return tl::unexpected(from_error(s.error()));
  }
  Refusal r;
  r.code = v1::API_RATE_LIMITED;
  r.message = "rate limited: " + why + "; retry in " + std::to_string(out.retry_after_ms) + " ms";
  r.rule = "rate:" + rate->id;
  r.retry_after_ms = out.retry_after_ms;
  return tl::unexpected(std::move(r));
}

namespace {

// Audits a denial and answers it. A policy denial of a public caller counts against the public
// default rate, so unknown keys cannot turn denials into audit commits without bound.
Reply deny(ApiContext& ctx, const Caller& c, std::string_view action, const std::string& dataset,
           std::string_view purpose, const Decided& d, std::string why = {}) {
  if (why.empty()) {
    why = d.why;
    if (c.is_public()) {
      if (auto r = rate_check(ctx, c, nullptr, action, dataset); !r) return r;
    }
  }
  auto e = decision_entry(c, action, dataset, purpose, d, 0);
  e.set_decision(v1::DECISION_DENY);
  e.set_detail(why);
  if (auto s = ctx.audit(std::move(e)); !s) return tl::unexpected(from_error(s.error()));
  return tl::unexpected(denied(d, "denied: " + why));
}

Reply check_purpose(std::string_view purpose) {
  if (purpose.size() > kMaxPurpose)
    return refuse(v1::API_BAD_REQUEST, "purpose is longer than " + std::to_string(kMaxPurpose));
  for (unsigned char ch : purpose) {
    if (ch < 0x20 || ch == 0x7f)
      return refuse(v1::API_BAD_REQUEST, "purpose has control characters");
  }
  return {};
}

// The requested fields, checked against the catalog entry.
Reply check_fields(const catalog::DatasetSchema& schema,
                   const google::protobuf::RepeatedPtrField<std::string>& fields,
                   std::vector<std::string_view>& out) {
  if (fields.size() > kMaxFields) return refuse(v1::API_BAD_REQUEST, "too many fields");
  for (const std::string& f : fields) {
    if (!schema.field(f)) {
      std::string known;
      for (const auto& spec : schema.entry().fields())
        known.append(known.empty() ? "" : ", ").append(spec.name());
      return refuse(v1::API_BAD_REQUEST,
                    "dataset " + schema.id() + " has no field '" + f + "' (fields: " + known + ")");
    }
    out.push_back(f);
  }
  return {};
}

// The fields an answer carries: the requested ones (or every one), less those the profile drops.
std::vector<std::string> columns_of(const catalog::DatasetSchema& schema,
                                    const policy::RecordMasker& masker,
                                    std::span<const std::string_view> requested) {
  std::vector<std::string> out;
  for (const auto& spec : schema.entry().fields()) {
    if (!requested.empty() &&
        std::find(requested.begin(), requested.end(), spec.name()) == requested.end())
      continue;
    if (masker.field_op(spec.name()).first.kind == policy::MaskKind::kDrop) continue;
    out.push_back(spec.name());
  }
  return out;
}

// A requested field the profile drops is refused by name rather than silently left out.
std::optional<std::string> dropped_field(const policy::RecordMasker& masker, const Decided& d,
                                         std::span<const std::string_view> requested) {
  for (std::string_view f : requested) {
    if (masker.field_op(f).first.kind == policy::MaskKind::kDrop) {
      return "field '" + std::string(f) + "' of " + d.schema->id() +
             " is dropped by mask profile '" + d.decision.mask->id() + "' (rule " +
             std::string(d.decision.rule_id) + ", policy " + d.version() + ")";
    }
  }
  return std::nullopt;
}

crypto::SecretBytes token_key(ApiContext& ctx, const Decided& d) {
  // One key per agreement stops linkage of tokens between applicants; one per deployment else.
  return ctx.store.derived_key(kMaskTokenDomain,
                               d.decision.agreement ? d.decision.agreement->id : std::string());
}

// Whether a field list names a field holding the subject's identifier (the citizen ID of a
// person, the credit code of an organisation). The record's subject id is that identifier, so
// with a field list it comes back only then: a decision (an agreement's field scope above all)
// covers the fields asked for, not the ones left out.
bool subject_requested(const catalog::DatasetSchema& schema,
                       std::span<const std::string_view> fields) {
  const std::string& kind = schema.entry().subject_kind();
  const v1::PiiKind id_kind = kind == "person"         ? v1::PII_CITIZEN_ID
                              : kind == "organisation" ? v1::PII_CREDIT_CODE
                                                       : v1::PII_NONE;
  if (id_kind == v1::PII_NONE) return true;
  for (std::string_view f : fields) {
    const v1::FieldSpec* spec = schema.field(f);
    if (spec && spec->pii() == id_kind) return true;
  }
  return false;
}

// Masks a stored record into an answer row, keeping only the fields `only` names (all when it is
// empty; the subject id as subject_requested says). Outside roles do not get internal metadata
// (version numbers, observation times), which could link anonymised rows.
void to_row(CurrentRecord&& r, const policy::RecordMasker& masker, const crypto::SecretBytes& key,
            std::span<const std::string_view> only, bool keep_subject, bool outside, v1::Row* row) {
  masker.mask(r.record, key);
  if (!keep_subject) r.record.clear_subject_id();
  if (!only.empty()) {
    auto* fields = r.record.mutable_fields();
    for (int i = fields->size() - 1; i >= 0; --i) {
      if (std::find(only.begin(), only.end(), fields->Get(i).name()) == only.end())
        fields->DeleteSubrange(i, 1);
    }
  }
  if (outside) r.record.clear_observed_at_ms();
  row->set_invalidated(!r.valid);
  if (!outside) row->set_version(r.version);
  row->mutable_record()->Swap(&r.record);
}

// a record an open objection disputes says so in every answer that returns it (outside
// roles are not told the objections' ids): an objection to it, or an open objection about its
// subject (a record delivered after the filing included). `subject_id`: the record's, as stored.
void mark_disputed(const ApiContext& ctx, const store::Txn& txn,
                   const catalog::DatasetSchema& schema, const std::string& record_key,
                   std::string_view subject_id, bool outside, v1::Row* row) {
  auto ids = disputes_of_record(ctx.store, txn, schema, record_key, subject_id);
  if (ids.empty()) return;
  row->set_disputed(true);
  if (!outside) {
    for (auto& id : ids) row->add_objections(std::move(id));
  }
}

// R-15 (三): the consent in force by the subject of a query_subject to this caller, for the
// dataset and purpose (only applicants hold consents).
std::optional<std::string> consent_for(const ApiContext& ctx, const store::Txn& txn,
                                       const Caller& c, const crypto::Digest& token,
                                       const std::string& dataset, std::string_view purpose) {
  if (c.policy_role != policy::Role::kApplicant) return std::nullopt;
  return consent_in_force(ctx.store, txn, token, c.key_id, dataset, purpose,
                          ctx.store.clock().now_ms());
}

void describe(const Decided& d, uint64_t rows_used, v1::AccessDecision* out) {
  out->set_rule(d.rule());
  out->set_policy_version(d.version());
  if (d.decision.mask) out->set_mask_profile(d.decision.mask->id());
  if (d.decision.limits.max_rows) out->set_max_rows(*d.decision.limits.max_rows);
  out->set_k_threshold(d.decision.limits.k_threshold);
  if (const policy::Agreement* a = d.decision.agreement) {
    out->set_agreement_id(a->id);
    if (a->rows_remaining) {
      out->set_has_quota(true);
      out->set_rows_remaining(*a->rows_remaining > rows_used ? *a->rows_remaining - rows_used : 0);
    }
  }
}

// Commits the audit entries of what an answer reveals, with the rows it takes from agreements'
// quotas, in one write transaction. Nothing may be sent unless this succeeds: on failure the
// body of resp is cleared.
Reply commit_reveal(ApiContext& ctx, std::vector<v1::AuditEntry>& entries,
                    const std::vector<std::pair<const policy::Agreement*, uint64_t>>& quota_use,
                    v1::ApiResponse& resp) {
  // A replica's read: the leader writes the entries and the quota rows (read_on_replica.h).
  auto on_leader = [&]() -> Status {
    std::vector<std::pair<std::string, uint64_t>> quota;
    for (const auto& [a, rows] : quota_use) {
      if (a && rows && a->rows_remaining) quota.emplace_back(a->id, rows);
    }
    return ctx.record_on_leader(entries, quota);
  };
  bool over_quota = false;  // use_rows refused: the stored quota has not the rows left
  auto here = [&](store::WriteTxn& txn) -> Status {
    over_quota = false;
    for (const auto& [a, rows] : quota_use)
      GONGSHU_RETURN_IF_ERROR(use_rows(ctx, txn, a, rows, &over_quota));
    for (auto& e : entries) GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    return {};
  };
  auto s = ctx.on_replica ? on_leader() : ctx.store.env().update(here);
  if (!s) {
    resp.clear_body();  // what the response would have revealed is not sent
    if (over_quota) {
      // A denial by the quota as stored: audited as one in a transaction of its own (review A9).
      if (auto a = audit_quota_refusal(ctx, entries, s.error().message()); !a) {
        Refusal r = from_error(a.error());
        r.message = english(kNotAudited, r.message);
        return tl::unexpected(std::move(r));
      }
      Refusal r;
      r.code = v1::API_DENIED;
      r.rule = "quota";
      r.message = english("{}; nothing was sent", s.error().message());
      return tl::unexpected(std::move(r));
    }
    Refusal r = from_error(s.error());
    // A replica's refusal already says it (ApiContext::record_on_leader); one text on every path.
    if (!ctx.on_replica) r.message = english(kNotAudited, r.message);
    return tl::unexpected(std::move(r));
  }
  // A leader's read held for the synchronous set (api.cc): if its answer is withheld after all,
  // the log says so and the rows go back to the quota (review M3, read_on_replica.h).
  if (!ctx.on_replica && ctx.options.repl_synced_seq) {
    std::vector<std::pair<std::string, uint64_t>> quota;
    for (const auto& [a, rows] : quota_use)
      if (a && rows && a->rows_remaining) quota.emplace_back(a->id, rows);
    ctx.settle.push_back(on_withheld(ctx, entries, std::move(quota)));
  }
  return {};
}

}  // namespace

Status audit_quota_refusal(ApiContext& ctx, const std::vector<v1::AuditEntry>& entries,
                           std::string_view why) {
  if (entries.empty()) return {};
  // One refusal per read (all its entries in one transaction), summarised per principal and
  // minute as every refusal: the first of each minute is appended naming how many were not.
  const std::string& key = entries.front().principal().key_id();
  const std::string_view refusal_key =
      key.empty() || key == "public" ? Caller::kUnknownKeys : std::string_view(key);
  auto out =
      ctx.limiter.deny(refusal_key, "exceed an agreement's row quota", ctx.store.clock().now_ms());
  if (!out.audit) return {};
  return ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    for (const v1::AuditEntry& allowed : entries) {
      v1::AuditEntry e = allowed;
      e.set_decision(v1::DECISION_DENY);
      e.set_policy_rule("quota");
      e.set_record_count(0);
      e.set_detail("refused, nothing sent: " + std::string(why));
      if (out.unaudited)
        e.set_detail(e.detail() + "; " + std::to_string(out.unaudited) +
                     " earlier refusals like this one (" + std::string(refusal_key) +
                     ") not audited one by one");
      e.clear_time_ms();  // the time of the refusal, stamped by the log
      GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    }
    return {};
  });
}

namespace {

// Opaque page cursors: the record key to continue after, encrypted under a key derived from the
// master key and bound to the dataset, so a cursor reveals no record key (which a profile may
// tokenise) and cannot be forged.
std::string seal_cursor(ApiContext& ctx, const std::string& dataset, std::string_view after) {
  auto key = crypto::DataKey::from_secret(ctx.store.derived_key(kCursorDomain));
  GONGSHU_CHECK(key.has_value());
  return hex_encode(crypto::aead_encrypt(*key, as_bytes(dataset), as_bytes(after)));
}

Result<std::string> open_cursor(ApiContext& ctx, const std::string& dataset,
                                std::string_view cursor) {
  if (cursor.empty()) return std::string();
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "cursor is not one this daemon issued for dataset " + dataset);
  };
  if (cursor.size() > 4096) return bad();
  auto box = hex_decode(cursor);
  if (!box) return bad();
  auto key = crypto::DataKey::from_secret(ctx.store.derived_key(kCursorDomain));
  GONGSHU_CHECK(key.has_value());
  auto plain = crypto::aead_decrypt(*key, as_bytes(dataset), *box);
  if (!plain) return bad();
  return std::string(as_chars(*plain));
}

// The normalised identifier of a subject of this dataset's kind, as ingest indexed it.
std::string normalised_subject(const catalog::DatasetSchema& schema, const std::string& id,
                               const Clock& clock) {
  const std::string& kind = schema.entry().subject_kind();
  ids::IdCheck c = kind == "person" ? ids::check_citizen_id(id, clock) : ids::check_credit_code(id);
  return c.valid ? c.normalized : id;
}

uint64_t current_records(ApiContext& ctx, const store::Txn& txn, const std::string& dataset) {
  auto v = ctx.store.db().datasets.get(txn, dataset);
  stored::DatasetState st;
  if (!v || !parse_value(*v, st)) return 0;
  return st.records() >= st.invalidated() ? st.records() - st.invalidated() : 0;
}

const catalog::DatasetSchema* find_dataset(const CatalogView::Snapshot& snap,
                                           const std::string& id) {
  auto it = snap.find(id);
  // A retired dataset's records stay readable under the policy: nothing new is accepted.
  return it == snap.end() || !catalog::records_readable(it->second.entry().status()) ? nullptr
                                                                                     : &it->second;
}

Reply no_dataset(const std::string& id) {
  return refuse(v1::API_NOT_FOUND, "no approved or retired dataset '" + id + "' in the catalog");
}

uint32_t capped(uint32_t asked, uint32_t dflt, uint32_t most, const Decided& d) {
  uint64_t n = asked ? std::min(asked, most) : dflt;
  if (d.decision.limits.max_rows) n = std::min<uint64_t>(n, *d.decision.limits.max_rows);
  return uint32_t(n);
}

}  // namespace

Reply catalog_list(ApiContext& ctx, const Caller& c, const v1::CatalogRequest& req,
                   v1::ApiResponse& resp) {
  if (auto r = check_purpose(req.purpose()); !r) return r;
  auto snap = ctx.catalog.snapshot();
  auto* out = resp.mutable_catalog();
  auto wanted = [&](const std::string& id) {
    return req.dataset_ids().empty() ||
           std::find(req.dataset_ids().begin(), req.dataset_ids().end(), id) !=
               req.dataset_ids().end();
  };
  auto e = entry_for(c, "catalog_read");
  e.set_purpose(req.purpose());
  // Agents see the datasets their agency provides (what they may deliver, R-10) and staff the
  // whole catalog, whatever the policy: ingest and operations do not wait for a policy.
  if (c.role == "agent" || c.role == "operator" || c.role == "officer") {
    for (const auto& [id, schema] : *snap) {
      if (!wanted(id)) continue;
      if (c.role == "agent" && schema.entry().provider_agency() != c.agency) continue;
      *out->add_datasets() = schema.entry();
    }
    e.set_policy_rule(c.role == "agent" ? "role:agent-own" : "role:staff");
  } else {
    auto pol = ctx.policy.current();
    auto txn = ctx.store.env().begin_read();
    if (!txn) return tl::unexpected(from_error(txn.error()));
    auto agreements = caller_agreements(ctx, *txn, c);
    if (!agreements) return tl::unexpected(from_error(agreements.error()));
    std::set<std::string> rules;
    const policy::RateClass* rate = nullptr;
    for (const auto& [id, schema] : *snap) {
      if (!wanted(id) || schema.entry().status() != "approved") continue;
      Decided d = decide_for(ctx, pol, c, *agreements, schema, Action::kCatalog, req.purpose(), {});
      if (!d.allowed()) continue;
      if (!rate) rate = d.decision.limits.rate;
      rules.insert(d.rule());
      *out->add_datasets() = schema.entry();
    }
    if (auto r = rate_check(ctx, c, rate, "catalog_read", ""); !r) {
      resp.clear_body();
      return r;
    }
    std::string joined;
    for (const auto& r : rules) joined.append(joined.empty() ? "" : ",").append(r);
    e.set_policy_rule(joined.empty() ? "default-deny" : joined);
    e.set_policy_version(pol ? pol->version() : "");
    e.set_decision(out->datasets_size() ? v1::DECISION_ALLOW : v1::DECISION_DENY);
  }
  e.set_record_count(uint64_t(out->datasets_size()));
  if (auto s = ctx.audit(std::move(e)); !s) {
    resp.clear_body();
    return tl::unexpected(from_error(s.error()));
  }
  return {};
}

Reply open_catalog(ApiContext& ctx, const Caller& c, const v1::OpenCatalogRequest& req,
                   v1::ApiResponse& resp) {
  if (auto r = check_purpose(req.purpose()); !r) return r;
  auto pol = ctx.policy.current();
  auto snap = ctx.catalog.snapshot();
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto agreements = caller_agreements(ctx, *txn, c);
  if (!agreements) return tl::unexpected(from_error(agreements.error()));
  auto* out = resp.mutable_open_catalog();
  std::set<std::string> rules;
  const policy::RateClass* rate = nullptr;
  size_t withheld = 0;
  for (const auto& [id, schema] : *snap) {
    if (schema.entry().status() != "approved") continue;
    Decided d = decide_for(ctx, pol, c, *agreements, schema, Action::kCatalog, req.purpose(), {});
    if (!d.allowed()) {
      ++withheld;
      continue;
    }
    if (!rate) rate = d.decision.limits.rate;
    rules.insert(d.rule());
    const v1::DatasetEntry& entry = schema.entry();
    auto* o = out->add_datasets();
    o->set_id(entry.id());
    o->set_name(entry.name());
    o->set_provider(entry.provider_agency());
    v1::Agency agency;
    if (auto v = ctx.store.db().agencies.get(*txn, entry.provider_agency());
        v && parse_value(*v, agency))
      o->set_provider_name(agency.name());
    o->set_open_attribute(entry.open_attribute());
    o->set_update_frequency(entry.update_frequency());
    o->set_category(entry.category());
    o->set_subject_kind(entry.subject_kind());
    o->set_grade(entry.grade());
    *o->mutable_fields() = entry.fields();
    o->set_records(current_records(ctx, *txn, entry.id()));
  }
  if (auto r = rate_check(ctx, c, rate, "open_catalog", ""); !r) {
    resp.clear_body();
    return r;
  }
  out->set_policy_version(pol ? pol->version() : "");
  auto e = entry_for(c, "open_catalog");
  e.set_purpose(req.purpose());
  std::string joined;
  for (const auto& r : rules) joined.append(joined.empty() ? "" : ",").append(r);
  e.set_policy_rule(joined.empty() ? (pol ? "default-deny" : std::string(kNoPolicyRule)) : joined);
  e.set_policy_version(pol ? pol->version() : "");
  e.set_decision(out->datasets_size() ? v1::DECISION_ALLOW : v1::DECISION_DENY);
  e.set_record_count(uint64_t(out->datasets_size()));
  e.set_detail(std::to_string(out->datasets_size()) + " datasets listed, " +
               std::to_string(withheld) + " withheld by policy");
  std::vector<v1::AuditEntry> entries{std::move(e)};
  return commit_reveal(ctx, entries, {}, resp);
}

Reply query(ApiContext& ctx, const Caller& c, const v1::QueryRequest& req, v1::ApiResponse& resp) {
  if (auto r = check_purpose(req.purpose()); !r) return r;
  auto snap = ctx.catalog.snapshot();
  const catalog::DatasetSchema* schema = find_dataset(*snap, req.dataset());
  if (!schema) return no_dataset(req.dataset());
  if (!req.record_key().empty() && !req.subject_id().empty())
    return refuse(v1::API_BAD_REQUEST, "give a record key or a subject, not both");
  // Ingest accepts no longer key, and LMDB none much longer.
  if (req.record_key().size() > catalog::kMaxRecordKey)
    return refuse(v1::API_BAD_REQUEST,
                  "a record key is at most " + std::to_string(catalog::kMaxRecordKey) + " bytes");
  std::vector<std::string_view> fields;
  if (auto r = check_fields(*schema, req.fields(), fields); !r) return r;
  const bool by_subject = !req.subject_id().empty();
  const Action action = by_subject ? Action::kQuerySubject : Action::kRead;
  const std::string action_name(policy::action_name(action));
  std::string subject;
  if (by_subject) {
    const std::string& kind = schema->entry().subject_kind();
    if (kind != "person" && kind != "organisation")
      return refuse(v1::API_BAD_REQUEST, "dataset " + schema->id() + " has no subjects");
    const ids::IdCheck check = kind == "person"
                                   ? ids::check_citizen_id(req.subject_id(), ctx.store.clock())
                                   : ids::check_credit_code(req.subject_id());
    if (!check.valid) {
      return refuse(v1::API_BAD_REQUEST,
                    std::string(kind == "person" ? "citizen ID number" : "credit code") +
                        " is not valid: " + check.reason);
    }
    subject = check.normalized;
  }
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto agreements = caller_agreements(ctx, *txn, c);
  if (!agreements) return tl::unexpected(from_error(agreements.error()));
  const auto consent = by_subject ? consent_for(ctx, *txn, c, ctx.store.subject_token(subject),
                                                schema->id(), req.purpose())
                                  : std::nullopt;
  Decided d = decide_for(ctx, ctx.policy.current(), c, *agreements, *schema, action, req.purpose(),
                         fields, consent.has_value());
  if (!d.allowed()) return deny(ctx, c, action_name, schema->id(), req.purpose(), d);
  if (auto r = rate_check(ctx, c, d.decision.limits.rate, action_name, schema->id()); !r) return r;
  policy::RecordMasker masker(*d.decision.mask, *schema);
  if (auto why = dropped_field(masker, d, fields))
    return deny(ctx, c, action_name, schema->id(), req.purpose(), d, *why);
  auto after = open_cursor(ctx, schema->id(), req.cursor());
  if (!after) return tl::unexpected(from_error(after.error()));

  const uint32_t limit = capped(req.limit(), kDefaultPage, kMaxPage, d);
  const bool outside = policy::is_outside_role(c.policy_role);
  const bool keep_subject = fields.empty() || subject_requested(*schema, fields);
  auto key = token_key(ctx, d);
  auto* out = resp.mutable_query();
  out->set_dataset(schema->id());
  RecordReader reader(ctx.store, *txn);
  std::string last_key;
  bool more = false;
  auto visit = [&](CurrentRecord&& r) {
    if (by_subject &&
        normalised_subject(*schema, r.record.subject_id(), ctx.store.clock()) != subject)
      return true;  // the index remembers a subject the record no longer has
    if (uint32_t(out->rows_size()) >= limit) {
      more = true;
      return false;
    }
    last_key = r.record_key;
    const std::string subject_id = r.record.subject_id();
    v1::Row* row = out->add_rows();
    to_row(std::move(r), masker, key, fields, keep_subject, outside, row);
    mark_disputed(ctx, *txn, *schema, last_key, subject_id, outside, row);
    return true;
  };
  Status read;
  if (!req.record_key().empty()) {
    auto one = reader.get(schema->id(), req.record_key());
    if (!one) {
      read = tl::unexpected(std::move(one.error()));
    } else if (*one && limit > 0 && ((*one)->valid || req.include_invalidated())) {
      visit(std::move(**one));
    }
  } else if (by_subject) {
    read = reader.scan_subject(ctx.store.subject_token(subject), schema->id(), *after,
                               req.include_invalidated(), visit);
  } else {
    read = reader.scan(schema->id(), *after, req.include_invalidated(), visit);
  }
  if (!read) {
    resp.clear_body();
    return tl::unexpected(from_error(read.error()));
  }
  if (more) out->set_next_cursor(seal_cursor(ctx, schema->id(), last_key));
  for (auto& col : columns_of(*schema, masker, fields)) out->add_columns(std::move(col));
  const uint64_t n = uint64_t(out->rows_size());
  describe(d, n, out->mutable_decision());

  auto e = decision_entry(c, action_name, schema->id(), req.purpose(), d, n);
  if (!req.record_key().empty()) add_ref(e, "record", req.record_key());
  if (by_subject) add_ref(e, "subject_token", hex_encode(ctx.store.subject_token(subject)));
  if (consent && d.decision.rule && d.decision.rule->consent) add_ref(e, "consent", *consent);
  if (!fields.empty()) {
    std::string f;
    for (auto v : fields) f.append(f.empty() ? "" : ",").append(v);
    add_ref(e, "fields", f);
  }
  std::vector<v1::AuditEntry> entries{std::move(e)};
  return commit_reveal(ctx, entries, {{d.decision.agreement, n}}, resp);
}

Reply lookup(ApiContext& ctx, const Caller& c, const v1::LookupRequest& req,
             v1::ApiResponse& resp) {
  if (auto r = check_purpose(req.purpose()); !r) return r;
  const ids::IdCheck person = ids::check_citizen_id(req.subject_id(), ctx.store.clock());
  const ids::IdCheck org = person.valid ? ids::IdCheck{} : ids::check_credit_code(req.subject_id());
  if (!person.valid && !org.valid) {
    return refuse(v1::API_BAD_REQUEST,
                  "the subject is neither a valid citizen ID number (" + person.reason +
                      ") nor a valid unified social credit code (" + org.reason + ")");
  }
  const std::string kind = person.valid ? "person" : "organisation";
  const std::string subject = person.valid ? person.normalized : org.normalized;
  const crypto::Digest token = ctx.store.subject_token(subject);
  auto pol = ctx.policy.current();
  auto snap = ctx.catalog.snapshot();
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto agreements = caller_agreements(ctx, *txn, c);
  if (!agreements) return tl::unexpected(from_error(agreements.error()));

  // Decide every dataset about this kind of subject first, so the rate limit and the denials
  // do not depend on where the subject has rows.
  std::vector<Decided> decided;
  std::map<std::string, std::string> consents;  // dataset -> consent in force
  const policy::RateClass* rate = nullptr;
  for (const auto& [id, schema] : *snap) {
    if (!catalog::records_readable(schema.entry().status()) ||
        schema.entry().subject_kind() != kind)
      continue;
    auto consent = consent_for(ctx, *txn, c, token, schema.id(), req.purpose());
    if (consent) consents[schema.id()] = *consent;
    decided.push_back(decide_for(ctx, pol, c, *agreements, schema, Action::kQuerySubject,
                                 req.purpose(), {}, consent.has_value()));
    if (decided.back().allowed() && !rate) rate = decided.back().decision.limits.rate;
  }
  if (auto r = rate_check(ctx, c, rate, "lookup", ""); !r) return r;

  auto* out = resp.mutable_lookup();
  out->set_subject_kind(person.valid ? "citizen_id" : "credit_code");
  const bool outside = policy::is_outside_role(c.policy_role);
  const std::string token_hex = hex_encode(token);
  std::vector<v1::AuditEntry> entries;
  std::vector<std::pair<const policy::Agreement*, uint64_t>> quota;
  std::map<std::string, uint64_t> taken;  // rows per agreement so far
  RecordReader reader(ctx.store, *txn);
  for (const Decided& d : decided) {
    const catalog::DatasetSchema& schema = *d.schema;
    if (!d.allowed()) {
      auto* den = out->add_denied();
      den->set_dataset(schema.id());
      den->set_rule(d.rule());
      den->set_reason(d.why);
      auto e = decision_entry(c, "query_subject", schema.id(), req.purpose(), d, 0);
      add_ref(e, "subject_token", token_hex);
      add_ref(e, "via", "lookup");
      e.set_detail(d.why);
      entries.push_back(std::move(e));
      continue;
    }
    policy::RecordMasker masker(*d.decision.mask, schema);
    auto key = token_key(ctx, d);
    uint32_t limit = capped(0, kMaxPage, kMaxPage, d);
    // Several datasets may draw on one agreement's quota in one lookup.
    const policy::Agreement* agreement = d.decision.agreement;
    if (agreement && agreement->rows_remaining) {
      const uint64_t left =
          *agreement->rows_remaining - std::min(*agreement->rows_remaining, taken[agreement->id]);
      limit = uint32_t(std::min<uint64_t>(limit, left));
    }
    v1::LookupDataset ds;
    bool truncated = false;
    auto read = reader.scan_subject(
        token, schema.id(), "", req.include_invalidated(), [&](CurrentRecord&& r) {
          if (normalised_subject(schema, r.record.subject_id(), ctx.store.clock()) != subject)
            return true;
          if (uint32_t(ds.rows_size()) >= limit) {
            truncated = true;
            return false;
          }
          const std::string record_key = r.record_key;
          const std::string subject_id = r.record.subject_id();
          v1::Row* row = ds.add_rows();
          to_row(std::move(r), masker, key, {}, true, outside, row);
          mark_disputed(ctx, *txn, schema, record_key, subject_id, outside, row);
          return true;
        });
    if (!read) {
      resp.clear_body();
      return tl::unexpected(from_error(read.error()));
    }
    const uint64_t n = uint64_t(ds.rows_size());
    auto e = decision_entry(c, "query_subject", schema.id(), req.purpose(), d, n);
    add_ref(e, "subject_token", token_hex);
    add_ref(e, "via", "lookup");
    if (d.decision.rule && d.decision.rule->consent && consents.count(schema.id()))
      add_ref(e, "consent", consents[schema.id()]);
    entries.push_back(std::move(e));
    quota.emplace_back(d.decision.agreement, n);
    if (agreement) taken[agreement->id] += n;
    if (n == 0) continue;
    ds.set_dataset(schema.id());
    ds.set_name(schema.entry().name());
    ds.set_provider(schema.entry().provider_agency());
    ds.set_truncated(truncated);
    for (auto& col : columns_of(schema, masker, {})) ds.add_columns(std::move(col));
    describe(d, agreement ? taken[agreement->id] : n, ds.mutable_decision());
    *out->add_datasets() = std::move(ds);
  }
  return commit_reveal(ctx, entries, quota, resp);
}

Reply download(ApiContext& ctx, const Caller& c, const v1::DownloadRequest& req,
               v1::ApiResponse& resp) {
  if (auto r = check_purpose(req.purpose()); !r) return r;
  auto snap = ctx.catalog.snapshot();
  const catalog::DatasetSchema* schema = find_dataset(*snap, req.dataset());
  if (!schema) return no_dataset(req.dataset());
  const Action action = req.export_() ? Action::kExport : Action::kDownload;
  const std::string action_name(policy::action_name(action));
  std::string download_id = req.download_id();
  if (download_id.empty()) {
    download_id = hex_encode(crypto::SecretBytes::random(8).view());
  } else if (download_id.size() != 16 ||
             download_id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return refuse(v1::API_BAD_REQUEST,
                  "download_id must be the 16 hex characters of the first chunk");
  }
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto agreements = caller_agreements(ctx, *txn, c);
  if (!agreements) return tl::unexpected(from_error(agreements.error()));
  Decided d =
      decide_for(ctx, ctx.policy.current(), c, *agreements, *schema, action, req.purpose(), {});
  if (!d.allowed()) return deny(ctx, c, action_name, schema->id(), req.purpose(), d);
  if (auto r = rate_check(ctx, c, d.decision.limits.rate, action_name, schema->id()); !r) return r;
  auto after = open_cursor(ctx, schema->id(), req.cursor());
  if (!after) return tl::unexpected(from_error(after.error()));

  policy::RecordMasker masker(*d.decision.mask, *schema);
  const uint32_t chunk = capped(req.chunk_rows(), kDefaultChunk, kMaxChunk, d);
  const bool outside = policy::is_outside_role(c.policy_role);
  auto key = token_key(ctx, d);
  auto* out = resp.mutable_download();
  out->set_dataset(schema->id());
  out->set_download_id(download_id);
  std::string last_key;
  bool more = false;
  RecordReader reader(ctx.store, *txn);
  auto read = reader.scan(schema->id(), *after, false, [&](CurrentRecord&& r) {
    if (uint32_t(out->rows_size()) >= chunk) {
      more = true;
      return false;
    }
    last_key = r.record_key;
    const std::string subject_id = r.record.subject_id();
    v1::Row* row = out->add_rows();
    to_row(std::move(r), masker, key, {}, true, outside, row);
    mark_disputed(ctx, *txn, *schema, last_key, subject_id, outside, row);
    return true;
  });
  if (!read) {
    resp.clear_body();
    return tl::unexpected(from_error(read.error()));
  }
  if (more) out->set_next_cursor(seal_cursor(ctx, schema->id(), last_key));
  out->set_last(!more);
  out->set_total_rows(current_records(ctx, *txn, schema->id()));
  for (auto& col : columns_of(*schema, masker, {})) out->add_columns(std::move(col));
  const uint64_t n = uint64_t(out->rows_size());
  describe(d, n, out->mutable_decision());

  // One entry per chunk, in the transaction before the chunk leaves (R-23: every copy with its
  // actor, scope and count); the download id ties the chunks of one download together.
  auto e = decision_entry(c, action_name, schema->id(), req.purpose(), d, n);
  add_ref(e, "download", download_id);
  std::string cols;
  for (const auto& col : out->columns()) cols.append(cols.empty() ? "" : ",").append(col);
  add_ref(e, "fields", cols);
  e.set_detail(std::string(req.cursor().empty() ? "first" : "next") + " chunk of " +
               std::to_string(n) + " rows of " + std::to_string(out->total_rows()) +
               (more ? "" : "; last chunk"));
  std::vector<v1::AuditEntry> entries{std::move(e)};
  return commit_reveal(ctx, entries, {{d.decision.agreement, n}}, resp);
}

Reply aggregate(ApiContext& ctx, const Caller& c, const v1::AggregateRequest& req,
                v1::ApiResponse& resp) {
  if (auto r = check_purpose(req.purpose()); !r) return r;
  auto snap = ctx.catalog.snapshot();
  const catalog::DatasetSchema* schema = find_dataset(*snap, req.dataset());
  if (!schema) return no_dataset(req.dataset());
  std::vector<std::string_view> group_by, sums, fields;
  if (auto r = check_fields(*schema, req.group_by(), group_by); !r) return r;
  if (auto r = check_fields(*schema, req.sum(), sums); !r) return r;
  for (std::string_view f : sums) {
    const v1::FieldType t = schema->field(f)->type();
    if (t != v1::FIELD_TYPE_INTEGER && t != v1::FIELD_TYPE_REAL) {
      return refuse(v1::API_BAD_REQUEST, "field '" + std::string(f) + "' of " + schema->id() +
                                             " is " + std::string(catalog::field_type_name(t)) +
                                             "; only integer and real fields can be summed");
    }
  }
  fields = group_by;
  for (std::string_view f : sums) {
    if (std::find(fields.begin(), fields.end(), f) == fields.end()) fields.push_back(f);
  }
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto agreements = caller_agreements(ctx, *txn, c);
  if (!agreements) return tl::unexpected(from_error(agreements.error()));
  Decided d = decide_for(ctx, ctx.policy.current(), c, *agreements, *schema, Action::kAggregate,
                         req.purpose(), fields);
  if (!d.allowed()) return deny(ctx, c, "aggregate", schema->id(), req.purpose(), d);
  if (auto r = rate_check(ctx, c, d.decision.limits.rate, "aggregate", schema->id()); !r) return r;
  policy::RecordMasker masker(*d.decision.mask, *schema);
  // Group keys are masked like any value that leaves; a sum is only over values the profile
  // keeps, since a sum of masked values would be meaningless or leak them.
  struct Group {
    std::vector<v1::FieldValue> key;
    uint64_t count = 0;
    std::vector<double> sums;
  };
  std::vector<std::pair<policy::MaskOp, v1::PiiKind>> group_ops;
  for (std::string_view f : group_by) {
    auto op = masker.field_op(f);
    if (op.first.kind == policy::MaskKind::kDrop) {
      return deny(ctx, c, "aggregate", schema->id(), req.purpose(), d,
                  "cannot group by field '" + std::string(f) + "' of " + schema->id() +
                      ": mask profile '" + d.decision.mask->id() + "' drops it (rule " + d.rule() +
                      ")");
    }
    group_ops.push_back(op);
  }
  for (std::string_view f : sums) {
    auto op = masker.field_op(f);
    if (op.first.kind != policy::MaskKind::kKeep) {
      return deny(ctx, c, "aggregate", schema->id(), req.purpose(), d,
                  "cannot sum field '" + std::string(f) + "' of " + schema->id() +
                      ": mask profile '" + d.decision.mask->id() + "' masks it (" +
                      policy::mask_op_text(op.first) + ", rule " + d.rule() + ")");
    }
  }
  auto key = token_key(ctx, d);
  std::map<std::string, Group> groups;
  uint64_t rows = 0;
  bool too_many_groups = false;
  RecordReader reader(ctx.store, *txn);
  auto read = reader.scan(schema->id(), "", false, [&](CurrentRecord&& r) {
    ++rows;
    std::vector<v1::FieldValue> k(group_by.size());
    std::vector<double> s(sums.size(), 0.0);
    for (const v1::Field& f : r.record.fields()) {
      for (size_t i = 0; i < group_by.size(); ++i) {
        if (f.name() != group_by[i]) continue;
        auto masked = policy::apply_mask(group_ops[i].first, group_ops[i].second, f.value(), key);
        if (masked) k[i] = std::move(*masked);
      }
      for (size_t i = 0; i < sums.size(); ++i) {
        if (f.name() != sums[i]) continue;
        if (f.value().has_integer()) s[i] = double(f.value().integer());
        if (f.value().has_real()) s[i] = f.value().real();
      }
    }
    std::string id;
    for (const auto& v : k) {
      std::string b = v.SerializeAsString();
      id.append(std::to_string(b.size())).push_back(':');
      id.append(b);
    }
    auto [it, fresh] = groups.try_emplace(std::move(id));
    if (fresh && groups.size() > ctx.options.max_aggregate_groups) {
      too_many_groups = true;
      return false;
    }
    Group& g = it->second;
    if (g.count == 0) {
      g.key = std::move(k);
      g.sums.assign(sums.size(), 0.0);
    }
    ++g.count;
    for (size_t i = 0; i < sums.size(); ++i) g.sums[i] += s[i];
    return true;
  });
  if (!read) return tl::unexpected(from_error(read.error()));
  if (too_many_groups) {
    std::string by;
    for (auto f : group_by) by.append(by.empty() ? "" : ", ").append(f);
    return deny(ctx, c, "aggregate", schema->id(), req.purpose(), d,
                "grouping " + schema->id() + " by " + by + " makes more than " +
                    std::to_string(ctx.options.max_aggregate_groups) +
                    " groups (limits.max_aggregate_groups); group by fewer or coarser fields");
  }

  auto* out = resp.mutable_aggregate();
  out->set_dataset(schema->id());
  for (auto f : group_by) out->add_group_by(std::string(f));
  for (auto f : sums) out->add_sum(std::string(f));
  const uint32_t k = d.decision.limits.k_threshold;
  uint64_t suppressed = 0;
  std::vector<const Group*> shown;
  for (const auto& [id, g] : groups) {
    if (k > 0 && g.count < k) {
      ++suppressed;
      continue;
    }
    shown.push_back(&g);
  }
  // Largest groups first; the cap on rows per answer caps groups here.
  std::stable_sort(shown.begin(), shown.end(),
                   [](const Group* a, const Group* b) { return a->count > b->count; });
  if (d.decision.limits.max_rows && shown.size() > *d.decision.limits.max_rows)
    shown.resize(size_t(*d.decision.limits.max_rows));
  for (const Group* g : shown) {
    auto* o = out->add_groups();
    for (const auto& v : g->key) *o->add_key() = v;
    o->set_count(g->count);
    for (double v : g->sums) o->add_sums(v);
  }
  out->set_suppressed_groups(suppressed);
  describe(d, 0, out->mutable_decision());

  auto e = decision_entry(c, "aggregate", schema->id(), req.purpose(), d, rows);
  std::string by;
  for (auto f : group_by) by.append(by.empty() ? "" : ",").append(f);
  std::string summed;
  for (auto f : sums) summed.append(summed.empty() ? "" : ",").append(f);
  add_ref(e, "group_by", by);
  if (!summed.empty()) add_ref(e, "sum", summed);
  e.set_detail(std::to_string(out->groups_size()) + " groups returned, " +
               std::to_string(suppressed) + " suppressed below k=" + std::to_string(k) + ", over " +
               std::to_string(rows) + " records");
  std::vector<v1::AuditEntry> entries{std::move(e)};
  return commit_reveal(ctx, entries, {}, resp);
}

}  // namespace gongshu::daemon
