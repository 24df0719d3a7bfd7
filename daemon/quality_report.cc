#include "daemon/quality_report.h"

#include <algorithm>
#include <map>

#include "core/catalog/quality_status.h"
#include "core/util/encoding.h"
#include "core/util/printable.h"
#include "daemon/delivery_stats.h"
#include "daemon/objections.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

using catalog::Severity;

double ratio(uint64_t n, uint64_t of) { return of == 0 ? 0.0 : double(n) / double(of); }

void fill_delivery(const v1::DatasetEntry& entry, const stored::DeliveryStats& st,
                   v1::AgencyDelivery& d) {
  d.set_counted(true);
  d.set_from_start(st.from_start());
  d.set_since_ms(st.since_ms());
  d.set_batches(st.batches());
  d.set_accepted(st.accepted());
  d.set_invalidations(st.invalidations());
  d.set_upserts(st.upserts());
  d.set_rejected(st.rejected());
  for (const auto& [k, n] : st.rejected_by_class()) (*d.mutable_rejected_by_class())[k] = n;
  d.set_rejection_rate(ratio(st.rejected(), st.accepted() + st.rejected()));
  d.set_invalidation_rate(ratio(st.invalidations(), st.accepted()));
  for (const v1::FieldSpec& f : entry.fields()) {
    auto* fc = d.add_fields();
    fc->set_field(f.name());
    fc->set_required(f.required());
    auto it = st.field_present().find(f.name());
    fc->set_present(it == st.field_present().end() ? 0 : it->second);
    fc->set_ratio(ratio(fc->present(), st.upserts()));
  }
  d.set_last_delivery_ms(st.last_delivery_ms());
  d.set_last_agent(st.last_agent());
  d.set_last_batch_seq(st.last_batch_seq());
  d.set_last_first_version(st.last_first_version());
  d.set_last_last_version(st.last_last_version());
  d.set_last_rejected_ms(st.last_rejected_ms());
  d.set_last_rejected_agent(st.last_rejected_agent());
  d.set_last_rejected_batch_seq(st.last_rejected_batch_seq());
  d.set_last_rejected_index(st.last_rejected_index());
  d.set_last_rejected_class(st.last_rejected_class());
  d.set_last_rejected_field(st.last_rejected_field());
}

v1::QualityFinding& add_finding(v1::DatasetQuality& q, Severity& worst, std::string kind,
                                Severity s) {
  worst = std::max(worst, s);
  auto* f = q.add_findings();
  f->set_kind(std::move(kind));
  f->set_severity(std::string(catalog::severity_name(s)));
  return *f;
}

std::string versions_of(uint64_t first, uint64_t last) {
  return first == 0 ? std::string() : std::to_string(first) + "-" + std::to_string(last);
}

// The judgement of one dataset: staleness from the latest delivery of its provider, then each
// agency's rates and the objections. `own`: false when an agency sees only its own deliveries to
// another's dataset — then only those are judged, not the dataset's freshness.
void judge(v1::DatasetQuality& q, const v1::DatasetEntry& entry, int64_t now, bool own) {
  Severity worst = Severity::kOk;
  const v1::AgencyDelivery* provider = nullptr;
  for (const auto& d : q.agencies()) {
    if (d.agency() == entry.provider_agency()) provider = &d;
  }
  int64_t last = provider ? provider->last_delivery_ms() : 0;
  q.set_last_delivery_ms(last);
  const auto period = catalog::update_period_ms(entry.update_frequency());
  if (!own) {
    q.set_staleness("");  // not this caller's to see
  } else if (entry.status() == "retired") {
    q.set_staleness("retired");
  } else if (last == 0 && q.records() > 0) {
    // Records stored before the counts began: when is not known.
    q.set_staleness("unknown");
    add_finding(q, worst, "uncounted", Severity::kAttention).set_count(q.records());
  } else if (period) {
    const catalog::Staleness s = catalog::staleness_of(*period, last, now);
    q.set_staleness(std::string(catalog::staleness_name(s)));
    if (last) q.set_due_ms(last + *period);
    if (s != catalog::Staleness::kOk) {
      auto& f =
          add_finding(q, worst, q.staleness(),
                      s == catalog::Staleness::kDue ? Severity::kAttention : Severity::kProblem);
      f.set_agency(entry.provider_agency());
      if (provider) {
        f.set_agent(provider->last_agent());
        f.set_batch_seq(provider->last_batch_seq());
        f.set_versions(versions_of(provider->last_first_version(), provider->last_last_version()));
      }
    }
  }
  for (const auto& d : q.agencies()) {
    if (!d.counted()) continue;
    if (const Severity s = catalog::rejection_severity(d.rejection_rate()); s != Severity::kOk) {
      auto& f = add_finding(q, worst, "rejections", s);
      f.set_agency(d.agency());
      f.set_rate(d.rejection_rate());
      f.set_count(d.rejected());
      f.set_agent(d.last_rejected_agent());
      f.set_batch_seq(d.last_rejected_batch_seq());
      f.set_reason_class(d.last_rejected_class());
      f.set_field(d.last_rejected_field());
      f.set_record_index(d.last_rejected_index());
    }
    if (d.accepted() > 0 && d.invalidation_rate() >= catalog::kInvalidationAttention) {
      auto& f = add_finding(q, worst, "invalidations", Severity::kAttention);
      f.set_agency(d.agency());
      f.set_rate(d.invalidation_rate());
      f.set_count(d.invalidations());
    }
    if (d.upserts() == 0) continue;
    for (const auto& fc : d.fields()) {
      if (fc.required() || fc.ratio() >= catalog::kCompletenessAttention) continue;
      auto& f = add_finding(q, worst, "completeness", Severity::kAttention);
      f.set_agency(d.agency());
      f.set_field(fc.field());
      f.set_rate(fc.ratio());
      f.set_count(fc.present());
    }
  }
  if (q.overdue_objections_size() > 0) {
    auto& f = add_finding(q, worst, "overdue_objections", Severity::kProblem);
    f.set_count(uint64_t(q.overdue_objections_size()));
    *f.mutable_objections() = q.overdue_objections();
  }
  if (q.open_objections_size() > q.overdue_objections_size()) {
    auto& f = add_finding(q, worst, "open_objections", Severity::kAttention);
    f.set_count(uint64_t(q.open_objections_size()));
    *f.mutable_objections() = q.open_objections();
  }
  q.set_status(std::string(catalog::severity_name(worst)));
}

// Reads the catalog, the delivery counts and the objections in one read transaction.
Reply build(ApiContext& ctx, const Caller& c, const v1::QualityReportRequest& req, bool all,
            int64_t now, v1::QualityReport& report, bool& found) {
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  const auto& db = ctx.store.db();
  v1::QualityReport* out = &report;
  // Objections by dataset: open ones, and which of those are past their deadline.
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> objections;
  {
    auto cur = db.objections.cursor(*txn);
    for (auto e = cur.first(); e; e = cur.next()) {
      v1::ObjectionInfo o;
      if (!parse_value(e->value, o))
        return refuse(v1::API_INTERNAL,
                      "objection " + printable(as_chars(e->key)) + " does not parse");
      auto state = parse_objection_state(o.state());
      if (!state || !objection_open(*state)) continue;
      auto& [open, overdue] = objections[o.dataset()];
      open.push_back(o.id());
      if (now >= o.deadline_ms()) overdue.push_back(o.id());
    }
  }

  auto cur = db.catalog.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::DatasetEntry entry;
    if (!parse_value(e->value, entry))
      return refuse(v1::API_INTERNAL,
                    "catalog entry " + printable(as_chars(e->key)) + " does not parse");
    if (!req.dataset().empty() && entry.id() != req.dataset()) continue;
    if (entry.status() != "approved" && entry.status() != "retired") continue;
    found = true;
    if (!req.agency().empty() && entry.provider_agency() != req.agency()) continue;
    const bool own = all || entry.provider_agency() == c.agency;

    v1::DatasetQuality q;
    q.set_dataset(entry.id());
    q.set_name(entry.name());
    q.set_provider(entry.provider_agency());
    q.set_catalog_state(entry.status());
    q.set_update_frequency(entry.update_frequency());
    if (auto v = own ? db.datasets.get(*txn, entry.id()) : std::nullopt) {
      stored::DatasetState ds;
      if (ds.ParseFromArray(v->data(), static_cast<int>(v->size()))) {
        q.set_records(ds.records());
        q.set_invalidated_records(ds.invalidated());
      }
    }
    // Every agency counted for the dataset; the provider first, listed even when uncounted.
    bool provider_seen = false;
    const std::string prefix = delivery_stats_key(entry.id(), "");
    auto sc = db.delivery_stats.cursor(*txn);
    std::vector<v1::AgencyDelivery> rows;
    for (auto s = sc.seek(as_bytes(prefix)); s; s = sc.next()) {
      std::string_view k = as_chars(s->key);
      if (!k.starts_with(prefix)) break;
      v1::AgencyDelivery d;
      d.set_agency(std::string(k.substr(prefix.size())));
      // An agency sees the others' deliveries only to its own datasets.
      if (!own && d.agency() != c.agency) continue;
      stored::DeliveryStats st;
      if (!st.ParseFromArray(s->value.data(), static_cast<int>(s->value.size())))
        return refuse(v1::API_INTERNAL, "delivery counts of " + entry.id() + " do not parse");
      fill_delivery(entry, st, d);
      provider_seen = provider_seen || d.agency() == entry.provider_agency();
      rows.push_back(std::move(d));
    }
    if (!own && rows.empty()) continue;  // neither its dataset nor its deliveries
    if (own && !provider_seen) {
      v1::AgencyDelivery d;
      d.set_agency(entry.provider_agency());
      rows.insert(rows.begin(), std::move(d));
    }
    std::stable_partition(rows.begin(), rows.end(), [&](const v1::AgencyDelivery& d) {
      return d.agency() == entry.provider_agency();
    });
    for (auto& d : rows) *q.add_agencies() = std::move(d);
    if (own) {
      if (auto it = objections.find(entry.id()); it != objections.end()) {
        for (const auto& id : it->second.first) q.add_open_objections(id);
        for (const auto& id : it->second.second) q.add_overdue_objections(id);
      }
    }
    judge(q, entry, now, own);
    *out->add_datasets() = std::move(q);
  }
  return {};
}

Reply audit_read(ApiContext& ctx, const Caller& c, const v1::QualityReportRequest& req,
                 v1::ApiResponse& resp) {
  const v1::QualityReport* out = &resp.quality_report();
  auto e = entry_for(c, "quality_report");
  e.set_decision(v1::DECISION_ALLOW);
  e.set_purpose("data quality oversight (R-12)");
  if (!req.dataset().empty()) e.set_dataset(req.dataset());
  if (!req.agency().empty()) add_ref(e, "agency", req.agency());
  e.set_record_count(uint64_t(out->datasets_size()));
  std::string statuses;
  for (const auto& q : out->datasets()) {
    if (q.status() == "ok") continue;
    statuses += (statuses.empty() ? "" : ", ") + q.dataset() + " " + q.status();
  }
  e.set_detail(std::to_string(out->datasets_size()) + " dataset(s) reported" +
               (statuses.empty() ? "" : "; " + statuses));
  if (auto s = ctx.audit(std::move(e)); !s) {
    resp.clear_body();
    return tl::unexpected(from_error(s.error()));
  }
  return {};
}

}  // namespace

Reply quality_report(ApiContext& ctx, const Caller& c, const v1::QualityReportRequest& req,
                     v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "quality_report", {"operator", "officer", "agency"}); !r) return r;
  const bool all = c.role != "agency";
  auto deny = [&](const std::string& why) -> Reply {
    auto e = entry_for(c, "quality_report");
    e.set_decision(v1::DECISION_DENY);
    e.set_dataset(req.dataset());
    e.set_detail(why);
    if (auto a = ctx.audit_refusal(c.refusal_key(), "quality_report", std::move(e)); !a)
      return tl::unexpected(from_error(a.error()));
    return refuse(v1::API_DENIED, why);
  };
  if (!all && !req.agency().empty() && req.agency() != c.agency)
    return deny("agency " + c.agency + " may see the quality report of its own datasets only");

  const int64_t now = ctx.store.clock().now_ms();
  auto* out = resp.mutable_quality_report();
  out->set_now_ms(now);
  bool found = false;
  if (auto r = build(ctx, c, req, all, now, *out, found); !r) {
    resp.clear_body();
    return r;
  }
  if (!req.dataset().empty() && !found) {
    resp.clear_body();
    return refuse(v1::API_NOT_FOUND,
                  "no approved or retired dataset " + printable(req.dataset()) + " in the catalog");
  }
  if (!all && !req.dataset().empty() && out->datasets_size() == 0) {
    resp.clear_body();
    return deny("dataset " + printable(req.dataset()) + " is provided by another agency than " +
                c.agency);
  }
  return audit_read(ctx, c, req, resp);
}

}  // namespace gongshu::daemon
