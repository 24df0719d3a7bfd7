#include "daemon/catalog_workflow.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include "core/catalog/dataset.h"
#include "core/catalog/lifecycle.h"
#include "core/catalog/overlap.h"
#include "core/util/check.h"
#include "core/util/printable.h"
#include "daemon/catalog_authority.h"

namespace gongshu::daemon {
namespace {

using catalog::Actor;
using catalog::State;
using catalog::Step;

constexpr size_t kMaxNote = 1000;

std::string version_key(std::string_view id, uint64_t version) {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(version));
  std::string k(id);
  k.push_back('\0');
  k.append(digits);
  return k;
}

State state_of(const v1::CatalogVersion& v) {
  return catalog::parse_state(v.entry().status()).value_or(State::kNone);
}

// A county entry: its provider's region is not the city's (DaemonConfig::city_region).
bool county_entry(const ApiContext& ctx, const v1::CatalogVersion& v) {
  return v.region() != ctx.options.city_region;
}

// Every version of dataset id as txn sees it, oldest first.
Result<std::vector<v1::CatalogVersion>> read_versions(const DaemonStore& store,
                                                      const store::Txn& txn, std::string_view id) {
  std::vector<v1::CatalogVersion> out;
  std::string prefix(id);
  prefix.push_back('\0');
  auto cur = store.db().catalog_versions.cursor(txn);
  for (auto e = cur.seek(as_bytes(prefix)); e; e = cur.next()) {
    std::string_view k = as_chars(e->key);
    if (!k.starts_with(prefix)) break;
    v1::CatalogVersion v;
    if (!parse_value(e->value, v))
      return fail(ErrorCode::kCorrupt, "catalog version " + printable(k) + " does not parse");
    out.push_back(std::move(v));
  }
  return out;
}

Status write_version(const DaemonStore& store, store::WriteTxn& txn, const v1::CatalogVersion& v) {
  return store.db().catalog_versions.put(txn, version_key(v.entry().id(), v.entry().version()),
                                         as_bytes(v.SerializeAsString()));
}

std::string awaiting_text(State s, const std::string& region, const std::string& city) {
  auto a = catalog::awaiting(s, region != city);
  if (!a) return "";
  if (*a == Actor::kCountyReviewer) return "county reviewer " + region;
  return "city reviewer";
}

void add_step(const ApiContext& ctx, v1::CatalogVersion& v, const Caller& c, Step step, State from,
              State to, const std::string& region, int64_t now_ms, const std::string& note) {
  v.mutable_entry()->set_status(std::string(catalog::state_name(to)));
  v.set_awaiting(awaiting_text(to, v.region(), ctx.options.city_region));
  auto* s = v.add_steps();
  s->set_step(std::string(catalog::step_name(step)));
  s->set_from_state(std::string(catalog::state_name(from)));
  s->set_to_state(std::string(catalog::state_name(to)));
  if (step != Step::kSupersede) {
    s->set_key_id(c.key_id);
    s->set_role(c.role);
    s->set_agency(c.agency);
    s->set_region(region);
  }
  s->set_at_ms(now_ms);
  s->set_note(note);
}

// The attributes a step changes, old → new, for its audit entry (R-16: open and share
// attributes are reviewed and audited).
std::string attributes(const v1::DatasetEntry* before, const v1::DatasetEntry& after) {
  auto one = [&](const char* name, const std::string& b, const std::string& a) {
    std::string s = std::string(name) + " ";
    if (before && b != a) return s + b + " -> " + a;
    return s + a;
  };
  const v1::DatasetEntry empty;
  const v1::DatasetEntry& b = before ? *before : empty;
  std::string out = one("name", b.name(), after.name());
  out += "; " + one("grade", b.grade(), after.grade());
  out += "; " + one("open", b.open_attribute(), after.open_attribute());
  out += "; " + one("share", b.share_attribute(), after.share_attribute());
  out += "; " + one("subject", b.subject_kind(), after.subject_kind());
  out += "; " + one("fields", std::to_string(b.fields_size()), std::to_string(after.fields_size()));
  return out;
}

std::string overlaps_text(const v1::CatalogVersion& v) {
  std::string out;
  for (const auto& o : v.overlaps()) {
    out += out.empty() ? "; overlaps (R-07): " : ", ";
    out += o.dataset() + " " + std::to_string(o.score_permille()) + "/1000";
    for (const auto& item : o.authorities()) out += " authoritative for " + item;
    if (!o.acknowledged_by().empty()) out += " acknowledged: " + o.reason();
  }
  return out;
}

v1::AuditEntry step_entry(const Caller& c, Step step, const v1::CatalogVersion& v, State from,
                          State to, const v1::DatasetEntry* before, const std::string& note) {
  auto e = entry_for(c, "catalog_" + std::string(catalog::step_name(step)));
  e.set_dataset(v.entry().id());
  add_ref(e, "catalog_version", std::to_string(v.entry().version()));
  add_ref(e, "catalog_state", std::string(catalog::state_name(to)));
  std::string detail = "v" + std::to_string(v.entry().version()) + " " +
                       std::string(catalog::state_name(from)) + " -> " +
                       std::string(catalog::state_name(to)) + "; " + attributes(before, v.entry());
  detail += overlaps_text(v);
  if (!note.empty()) detail += "; note: " + note;
  e.set_detail(detail);
  return e;
}

// The version in force (approved) among vs, if any.
v1::CatalogVersion* in_force(std::vector<v1::CatalogVersion>& vs) {
  for (auto it = vs.rbegin(); it != vs.rend(); ++it) {
    if (state_of(*it) == State::kApproved) return &*it;
  }
  return nullptr;
}

v1::CatalogVersion* open_version(std::vector<v1::CatalogVersion>& vs) {
  for (auto& v : vs) {
    if (catalog::is_open(state_of(v))) return &v;
  }
  return nullptr;
}

uint64_t next_version(const DaemonStore& store, const store::Txn& txn, const std::string& id,
                      const std::vector<v1::CatalogVersion>& vs) {
  uint64_t last = vs.empty() ? 0 : vs.back().entry().version();
  // Entries added before the workflow have no version records.
  if (auto v = store.db().catalog.get(txn, id)) {
    v1::DatasetEntry old;
    if (parse_value(*v, old)) last = std::max(last, old.version());
  }
  return last + 1;
}

Result<std::string> region_of(const DaemonStore& store, const store::Txn& txn,
                              const std::string& agency) {
  auto v = store.db().agencies.get(txn, agency);
  v1::Agency a;
  if (!v || !parse_value(*v, a))
    return fail(ErrorCode::kNotFound, "agency '" + agency + "' is not registered");
  return a.region_code();
}

Result<std::string> checked_note(const std::string& note) {
  if (note.empty() || note.size() > kMaxNote || !is_printable(note))
    return fail(ErrorCode::kInvalidArgument,
                "a note is required: 1..1000 bytes of UTF-8 text without control characters");
  return note;
}

// Flags the approved datasets of other agencies whose data items v's entry duplicates,
// and the authoritative sources of the items it collects again.
Status flag_overlaps(const DaemonStore& store, const store::Txn& txn, v1::CatalogVersion& v) {
  v.clear_overlaps();
  auto cur = store.db().catalog.cursor(txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::DatasetEntry other;
    if (!parse_value(e->value, other))
      return fail(ErrorCode::kCorrupt,
                  "catalog entry " + printable(as_chars(e->key)) + " does not parse");
    if (other.status() != "approved" || other.id() == v.entry().id() ||
        other.provider_agency() == v.entry().provider_agency())
      continue;
    auto o = catalog::overlap(v.entry(), other);
    if (o.score_permille < catalog::kOverlapFlagPermille) continue;
    auto* flag = v.add_overlaps();
    flag->set_dataset(other.id());
    flag->set_provider(other.provider_agency());
    flag->set_score_permille(o.score_permille);
    for (auto& f : o.shared) flag->add_shared(std::move(f));
  }
  // The named authoritative sources: collecting an item again is flagged with the
  // dataset it is sourced from, whoever provides it; one flag per dataset, naming its items.
  GONGSHU_TRY(auto authorities, read_authorities(store, txn));
  for (const auto& a : authorities) {
    if (a.dataset() == v.entry().id()) continue;
    v1::DatasetEntry source;
    auto sv = store.db().catalog.get(txn, a.dataset());
    if (!sv || !parse_value(*sv, source) || source.subject_kind() != v.entry().subject_kind())
      continue;
    auto o = catalog::item_overlap(v.entry(), data_item(a));
    if (o.score_permille < catalog::kOverlapFlagPermille) continue;
    v1::CatalogOverlap* flag = nullptr;
    for (auto& f : *v.mutable_overlaps()) {
      if (f.dataset() == a.dataset()) flag = &f;
    }
    if (!flag) {
      flag = v.add_overlaps();
      flag->set_dataset(a.dataset());
      flag->set_provider(a.provider());
    }
    flag->set_score_permille(std::max(flag->score_permille(), o.score_permille));
    for (auto& f : o.shared) {
      if (std::find(flag->shared().begin(), flag->shared().end(), f) == flag->shared().end())
        flag->add_shared(std::move(f));
    }
    flag->add_authorities(a.item());
  }
  return {};
}

// With no version approved or retired in the catalog table, it shows entry, so ingest's
// refusal names the state entry is in (submitted, rejected, ...).
Status show_unless_in_force(const DaemonStore& store, store::WriteTxn& txn,
                            const v1::DatasetEntry& entry) {
  if (auto cur = store.db().catalog.get(txn, entry.id())) {
    v1::DatasetEntry shown;
    if (!parse_value(*cur, shown))
      return fail(ErrorCode::kCorrupt, "catalog entry " + entry.id() + " does not parse");
    if (shown.status() == "approved" || shown.status() == "retired") return {};
  }
  return store.db().catalog.put(txn, entry.id(), as_bytes(entry.SerializeAsString()));
}

// Answers with every version of id (history).
Reply answer_versions(ApiContext& ctx, const std::string& id, v1::ApiResponse& resp,
                      uint64_t only = 0) {
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto vs = read_versions(ctx.store, *txn, id);
  if (!vs) return tl::unexpected(from_error(vs.error()));
  auto* out = resp.mutable_catalog_versions();
  for (auto& v : *vs) {
    if (only == 0 || v.entry().version() == only) *out->add_versions() = std::move(v);
  }
  return {};
}

}  // namespace

Reply catalog_change(ApiContext& ctx, const Caller& c, const std::string& action,
                     const std::string& id, const std::function<Status(store::WriteTxn&)>& change) {
  auto s = ctx.store.env().update(change);
  if (!s) {
    if (s.error().code() == ErrorCode::kPermissionDenied) {
      auto e = entry_for(c, action);
      e.set_dataset(id);
      e.set_decision(v1::DECISION_DENY);
      e.set_detail(s.error().message());
      if (auto a = ctx.audit_refusal(c.refusal_key(), action, std::move(e)); !a)
        return tl::unexpected(from_error(a.error()));
    }
    return tl::unexpected(from_error(s.error()));
  }
  auto txn = ctx.store.env().begin_read();
  Status reloaded = txn ? ctx.catalog.reload(ctx.store, *txn) : Status(tl::unexpected(txn.error()));
  if (!reloaded) {
    return refuse(v1::API_INTERNAL, "catalog entry " + id +
                                        " is changed, but the catalog in force could not be "
                                        "reloaded: " +
                                        reloaded.error().message());
  }
  return {};
}

Reply catalog_submit(ApiContext& ctx, const Caller& c, const v1::CatalogSubmitRequest& req,
                     v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "submit catalog entries", {"agency"}); !r) return r;
  v1::DatasetEntry entry = req.entry();
  if (auto s = catalog::validate_dataset(entry); !s)
    return refuse(v1::API_BAD_REQUEST, s.error().message());
  const std::string id = entry.id();
  const Step step = req.draft() ? Step::kSaveDraft : Step::kSubmit;
  uint64_t version = 0;
  auto r = catalog_change(
      ctx, c, "catalog_" + std::string(catalog::step_name(step)), id,
      [&](store::WriteTxn& txn) -> Status {
        DaemonStore& store = ctx.store;
        if (entry.provider_agency() != c.agency) {
          return fail(ErrorCode::kPermissionDenied,
                      "agency " + c.agency + " submits its own entries only; " + id +
                          " is provided by " + entry.provider_agency());
        }
        GONGSHU_TRY(std::string region, region_of(store, txn, c.agency));
        GONGSHU_TRY(auto vs, read_versions(store, txn, id));
        // A dataset already in the catalog belongs to its provider for good.
        if (auto cur = store.db().catalog.get(txn, id)) {
          v1::DatasetEntry old;
          if (parse_value(*cur, old) && old.provider_agency() != c.agency) {
            return fail(ErrorCode::kPermissionDenied,
                        "dataset " + id + " is provided by " + old.provider_agency());
          }
        }
        v1::CatalogVersion* open = open_version(vs);
        State from = State::kNone;
        v1::CatalogVersion v;
        if (open) {
          from = state_of(*open);
          if (from != State::kDraft) {
            return fail(ErrorCode::kAlreadyExists,
                        "version " + std::to_string(open->entry().version()) + " of " + id +
                            " is " + std::string(catalog::state_name(from)) + " and awaits the " +
                            open->awaiting() + "; a new version can be submitted after its review");
          }
          v = *open;
          version = v.entry().version();
        } else {
          version = next_version(store, txn, id, vs);
          v.set_region(region);
        }
        v1::CatalogVersion* force = in_force(vs);
        const v1::DatasetEntry* before = force ? &force->entry() : nullptr;
        auto to = catalog::next_state(from, step, Actor::kProviderAgency,
                                      region != ctx.options.city_region);
        GONGSHU_CHECK(to.has_value());  // none and draft both move on both steps
        entry.set_version(version);
        *v.mutable_entry() = entry;
        v.set_region(region);
        add_step(ctx, v, c, step, from, *to, region, store.clock().now_ms(), "");
        GONGSHU_RETURN_IF_ERROR(flag_overlaps(store, txn, v));
        GONGSHU_RETURN_IF_ERROR(write_version(store, txn, v));
        GONGSHU_RETURN_IF_ERROR(show_unless_in_force(store, txn, v.entry()));
        auto e = step_entry(c, step, v, from, *to, before, "");
        GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
        return {};
      });
  if (!r) return r;
  return answer_versions(ctx, id, resp, version);
}

Reply catalog_pending(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "list pending catalog entries",
                           {"reviewer", "operator", "officer", "agency"});
      !r)
    return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  std::string region;
  if (c.role == "reviewer") {
    auto rg = region_of(ctx.store, *txn, c.agency);
    if (!rg) return tl::unexpected(from_error(rg.error()));
    region = *rg;
  }
  auto* out = resp.mutable_catalog_versions();
  auto cur = ctx.store.db().catalog_versions.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::CatalogVersion v;
    if (!parse_value(e->value, v)) continue;
    const State s = state_of(v);
    if (!catalog::is_open(s)) continue;
    auto who = catalog::awaiting(s, county_entry(ctx, v));
    bool shown = false;
    if (c.role == "agency") {
      shown = v.entry().provider_agency() == c.agency;
    } else if (c.role == "reviewer") {
      if (who == Actor::kCountyReviewer) shown = v.region() == region;
      if (who == Actor::kCityReviewer) shown = region == ctx.options.city_region;
      if (v.entry().provider_agency() == c.agency) shown = false;
    } else {
      shown = who.has_value();
    }
    if (shown) *out->add_versions() = std::move(v);
  }
  return {};
}

Reply catalog_review(ApiContext& ctx, const Caller& c, const v1::CatalogReviewRequest& req,
                     v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "review catalog entries", {"reviewer"}); !r) return r;
  auto note = checked_note(req.note());
  if (!note) return tl::unexpected(from_error(note.error()));
  const std::string& id = req.id();
  const Step step = req.approve() ? Step::kApprove : Step::kReject;
  uint64_t version = 0;
  auto r = catalog_change(
      ctx, c, "catalog_" + std::string(catalog::step_name(step)), id,
      [&](store::WriteTxn& txn) -> Status {
        DaemonStore& store = ctx.store;
        GONGSHU_TRY(std::string region, region_of(store, txn, c.agency));
        GONGSHU_TRY(auto vs, read_versions(store, txn, id));
        v1::CatalogVersion* v = nullptr;
        for (auto& x : vs) {
          if (req.version() ? x.entry().version() == req.version() : catalog::is_open(state_of(x)))
            v = &x;
        }
        if (!v) {
          return fail(ErrorCode::kNotFound,
                      req.version() ? "no version " + std::to_string(req.version()) + " of " + id
                                    : "no version of " + id + " awaits review");
        }
        version = v->entry().version();
        const State from = state_of(*v);
        const bool county = county_entry(ctx, *v);
        if (!catalog::awaiting(from, county)) {
          return fail(ErrorCode::kAlreadyExists,
                      "version " + std::to_string(version) + " of " + id + " is " +
                          std::string(catalog::state_name(from)) + ", not awaiting review");
        }
        if (v->entry().provider_agency() == c.agency) {
          return fail(ErrorCode::kPermissionDenied,
                      "a reviewer does not decide on its own agency's entry (" + c.agency +
                          " provides " + id + ")");
        }
        const Actor actor =
            region == ctx.options.city_region ? Actor::kCityReviewer : Actor::kCountyReviewer;
        auto to = catalog::next_state(from, step, actor, county);
        if (!to || (actor == Actor::kCountyReviewer && region != v->region())) {
          return fail(ErrorCode::kPermissionDenied,
                      "version " + std::to_string(version) + " of " + id + " is " +
                          std::string(catalog::state_name(from)) + " and awaits the " +
                          v->awaiting() + ", not a reviewer of region " + region);
        }
        // each flag is acknowledged, with a reason, before the version is approved.
        for (const auto& ack : req.acknowledge()) {
          v1::CatalogOverlap* flag = nullptr;
          for (auto& o : *v->mutable_overlaps()) {
            if (o.dataset() == ack.dataset()) flag = &o;
          }
          if (!flag)
            return fail(ErrorCode::kInvalidArgument, "version " + std::to_string(version) + " of " +
                                                         id + " has no overlap flag for " +
                                                         ack.dataset());
          GONGSHU_TRY(std::string reason, checked_note(ack.reason()));
          flag->set_acknowledged_by(c.key_id);
          flag->set_reason(reason);
        }
        if (step == Step::kApprove) {
          std::string open_flags;
          for (const auto& o : v->overlaps()) {
            if (o.acknowledged_by().empty())
              open_flags += (open_flags.empty() ? "" : ", ") + o.dataset() + " (" +
                            std::to_string(o.score_permille()) + "/1000)";
          }
          if (!open_flags.empty())
            return fail(ErrorCode::kInvalidArgument,
                        "version " + std::to_string(version) + " of " + id +
                            " duplicates data items of " + open_flags +
                            " (R-07): acknowledge each with a reason to approve");
        }
        const int64_t now = store.clock().now_ms();
        v1::CatalogVersion* force = in_force(vs);
        const v1::DatasetEntry before = force ? force->entry() : v1::DatasetEntry(v->entry());
        std::string detail_note = *note;
        if (*to == State::kApproved && force) {
          add_step(ctx, *force, c, Step::kSupersede, State::kApproved, State::kSuperseded, "", now,
                   "by version " + std::to_string(version));
          GONGSHU_RETURN_IF_ERROR(write_version(store, txn, *force));
          detail_note += "; supersedes v" + std::to_string(force->entry().version());
        }
        add_step(ctx, *v, c, step, from, *to, region, now, *note);
        GONGSHU_RETURN_IF_ERROR(write_version(store, txn, *v));
        if (*to == State::kApproved) {
          GONGSHU_RETURN_IF_ERROR(
              store.db().catalog.put(txn, id, as_bytes(v->entry().SerializeAsString())));
          GONGSHU_RETURN_IF_ERROR(store.create_data_key(txn, id));
        } else {
          GONGSHU_RETURN_IF_ERROR(show_unless_in_force(store, txn, v->entry()));
        }
        auto e = step_entry(c, step, *v, from, *to, force ? &before : nullptr, detail_note);
        GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
        return {};
      });
  if (!r) return r;
  return answer_versions(ctx, id, resp, version);
}

Reply catalog_retire(ApiContext& ctx, const Caller& c, const v1::CatalogRetireRequest& req,
                     v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "retire catalog entries", {"agency", "reviewer", "operator"}); !r)
    return r;
  auto note = checked_note(req.note());
  if (!note) return tl::unexpected(from_error(note.error()));
  const std::string& id = req.id();
  uint64_t version = 0;
  auto r = catalog_change(ctx, c, "catalog_retire", id, [&](store::WriteTxn& txn) -> Status {
    DaemonStore& store = ctx.store;
    GONGSHU_TRY(auto vs, read_versions(store, txn, id));
    v1::CatalogVersion* v = in_force(vs);
    if (!v) return fail(ErrorCode::kNotFound, "no approved version of " + id + " to retire");
    version = v->entry().version();
    std::string region;
    Actor actor = Actor::kOperator;
    if (c.role == "agency") {
      actor = Actor::kProviderAgency;
      if (v->entry().provider_agency() != c.agency)
        return fail(ErrorCode::kPermissionDenied,
                    "agency " + c.agency + " retires its own entries only; " + id +
                        " is provided by " + v->entry().provider_agency());
    } else if (c.role == "reviewer") {
      GONGSHU_TRY(region, region_of(store, txn, c.agency));
      actor = region == ctx.options.city_region ? Actor::kCityReviewer : Actor::kCountyReviewer;
    }
    auto to = catalog::next_state(State::kApproved, Step::kRetire, actor, county_entry(ctx, *v));
    if (!to) {
      return fail(ErrorCode::kPermissionDenied,
                  "a " + std::string(catalog::actor_name(actor)) + " does not retire entries");
    }
    if (auto* open = open_version(vs)) {
      return fail(ErrorCode::kAlreadyExists, "version " + std::to_string(open->entry().version()) +
                                                 " of " + id + " is " + open->entry().status() +
                                                 "; decide on it before retiring " + id);
    }
    const v1::DatasetEntry before = v->entry();
    add_step(ctx, *v, c, Step::kRetire, State::kApproved, *to, region, store.clock().now_ms(),
             *note);
    GONGSHU_RETURN_IF_ERROR(write_version(store, txn, *v));
    GONGSHU_RETURN_IF_ERROR(
        store.db().catalog.put(txn, id, as_bytes(v->entry().SerializeAsString())));
    auto e = step_entry(c, Step::kRetire, *v, State::kApproved, *to, &before, *note);
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!r) return r;
  return answer_versions(ctx, id, resp, version);
}

Reply catalog_history(ApiContext& ctx, const Caller& c, const std::string& id,
                      v1::ApiResponse& resp) {
  if (auto r =
          ctx.require(c, "show catalog history", {"operator", "officer", "reviewer", "agency"});
      !r)
    return r;
  if (auto r = answer_versions(ctx, id, resp); !r) return r;
  const auto& vs = resp.catalog_versions().versions();
  if (vs.empty()) return refuse(v1::API_NOT_FOUND, "no catalog versions of " + id);
  if (c.role == "agency" && vs.rbegin()->entry().provider_agency() != c.agency) {
    resp.clear_body();
    auto e = entry_for(c, "catalog_history");
    e.set_dataset(id);
    e.set_decision(v1::DECISION_DENY);
    std::string why = "agency " + c.agency + " sees the history of its own entries only";
    e.set_detail(why);
    if (auto s = ctx.audit_refusal(c.refusal_key(), "catalog_history", std::move(e)); !s)
      return tl::unexpected(from_error(s.error()));
    return refuse(v1::API_DENIED, why);
  }
  return {};
}

Reply catalog_overlaps(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "list catalog overlaps", {"operator", "officer", "reviewer"}); !r)
    return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto* out = resp.mutable_catalog_versions();
  auto cur = ctx.store.db().catalog.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::CatalogVersion v;
    if (!parse_value(e->value, *v.mutable_entry()))
      return refuse(v1::API_INTERNAL,
                    "catalog entry " + printable(as_chars(e->key)) + " does not parse");
    if (v.entry().status() != "approved") continue;
    if (auto s = flag_overlaps(ctx.store, *txn, v); !s)
      return tl::unexpected(from_error(s.error()));
    if (v.overlaps_size() > 0) *out->add_versions() = std::move(v);
  }
  return {};
}

Result<uint64_t> record_direct_add(ApiContext& ctx, const Caller& c, store::WriteTxn& txn,
                                   const v1::DatasetEntry& entry) {
  DaemonStore& store = ctx.store;
  GONGSHU_TRY(std::string region, region_of(store, txn, entry.provider_agency()));
  GONGSHU_TRY(auto vs, read_versions(store, txn, entry.id()));
  const int64_t now = store.clock().now_ms();
  const uint64_t version = next_version(store, txn, entry.id(), vs);
  if (auto* force = in_force(vs)) {
    add_step(ctx, *force, c, Step::kSupersede, State::kApproved, State::kSuperseded, "", now,
             "by version " + std::to_string(version));
    GONGSHU_RETURN_IF_ERROR(write_version(store, txn, *force));
  }
  v1::CatalogVersion v;
  *v.mutable_entry() = entry;
  v.mutable_entry()->set_version(version);
  v.set_region(region);
  add_step(ctx, v, c, Step::kAdd, State::kNone, State::kApproved, "", now,
           "the authority's direct path (catalog add)");
  GONGSHU_RETURN_IF_ERROR(write_version(store, txn, v));
  return version;
}

}  // namespace gongshu::daemon
