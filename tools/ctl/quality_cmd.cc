// gongshuctl quality report: the data quality report (R-12 数据质量; daemon/quality_report.h,
// docs/quality.md). Per dataset and the agencies delivering to it: staleness against the
// catalog's update frequency, rejection and invalidation rates, field completeness, open and
// overdue objections, a status per dataset, and findings that name where each comes from
// (agency, agent, batch, versions, objection ids). A table for people (times in local time,
// text through tr()), --json for scripts.

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using nlohmann::json;

std::string percent(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", r * 100.0);
  return buf;
}

json delivery_json(const v1::AgencyDelivery& d) {
  json j = {{"agency", d.agency()}, {"counted", d.counted()}};
  if (!d.counted()) return j;
  json fields = json::array();
  for (const auto& f : d.fields()) {
    fields.push_back({{"field", f.field()},
                      {"required", f.required()},
                      {"present", f.present()},
                      {"ratio", f.ratio()}});
  }
  json classes = json::object();
  for (const auto& [k, n] : d.rejected_by_class()) classes[k] = n;
  j.update(
      {{"from_start", d.from_start()},
       {"since", time_text(d.since_ms())},
       {"since_ms", d.since_ms()},
       {"batches", d.batches()},
       {"accepted", d.accepted()},
       {"upserts", d.upserts()},
       {"invalidations", d.invalidations()},
       {"rejected", d.rejected()},
       {"rejected_by_class", classes},
       {"rejection_rate", d.rejection_rate()},
       {"invalidation_rate", d.invalidation_rate()},
       {"fields", fields},
       {"last_delivery", time_text(d.last_delivery_ms())},
       {"last_delivery_ms", d.last_delivery_ms()},
       {"last_agent", d.last_agent()},
       {"last_batch_seq", d.last_batch_seq()},
       {"last_versions", d.last_first_version() ? std::to_string(d.last_first_version()) + "-" +
                                                      std::to_string(d.last_last_version())
                                                : std::string()}});
  if (d.last_rejected_ms()) {
    j["last_rejected"] = {
        {"at", time_text(d.last_rejected_ms())},   {"at_ms", d.last_rejected_ms()},
        {"agent", d.last_rejected_agent()},        {"batch_seq", d.last_rejected_batch_seq()},
        {"record_index", d.last_rejected_index()}, {"reason_class", d.last_rejected_class()},
        {"field", d.last_rejected_field()}};
  }
  return j;
}

json finding_json(const v1::QualityFinding& f) {
  json j = {{"kind", f.kind()}, {"severity", f.severity()}};
  if (!f.agency().empty()) j["agency"] = f.agency();
  if (!f.agent().empty()) j["agent"] = f.agent();
  if (f.batch_seq()) j["batch_seq"] = f.batch_seq();
  if (!f.versions().empty()) j["versions"] = f.versions();
  if (!f.field().empty()) j["field"] = f.field();
  if (f.kind() == "rejections" || f.kind() == "invalidations" || f.kind() == "completeness")
    j["rate"] = f.rate();
  if (f.count()) j["count"] = f.count();
  if (!f.reason_class().empty()) {
    j["reason_class"] = f.reason_class();
    j["record_index"] = f.record_index();
  }
  if (f.objections_size())
    j["objections"] = std::vector<std::string>(f.objections().begin(), f.objections().end());
  return j;
}

json dataset_json(const v1::DatasetQuality& q) {
  json agencies = json::array(), findings = json::array();
  for (const auto& d : q.agencies()) agencies.push_back(delivery_json(d));
  for (const auto& f : q.findings()) findings.push_back(finding_json(f));
  return {{"dataset", q.dataset()},
          {"name", q.name()},
          {"provider", q.provider()},
          {"catalog_state", q.catalog_state()},
          {"update_frequency", q.update_frequency()},
          {"status", q.status()},
          {"staleness", q.staleness()},
          {"last_delivery", time_text(q.last_delivery_ms())},
          {"last_delivery_ms", q.last_delivery_ms()},
          {"due", time_text(q.due_ms())},
          {"due_ms", q.due_ms()},
          {"records", q.records()},
          {"invalidated_records", q.invalidated_records()},
          {"open_objections",
           std::vector<std::string>(q.open_objections().begin(), q.open_objections().end())},
          {"overdue_objections",
           std::vector<std::string>(q.overdue_objections().begin(), q.overdue_objections().end())},
          {"agencies", agencies},
          {"findings", findings}};
}

// Local time without the zone's name (the report's first line names it once).
std::string local_short(int64_t ms) {
  std::string t = local_time_text(ms);
  if (auto p = t.find(" ("); p != std::string::npos) t.erase(p);
  return t;
}

// A status or staleness word for people.
std::string word(const std::string& w) {
  if (w == "ok") return tr("ok");
  if (w == "attention") return tr("attention");
  if (w == "problem") return tr("problem");
  if (w == "due") return tr("due");
  if (w == "stale") return tr("stale");
  if (w == "never") return tr("never delivered");
  if (w == "unknown") return tr("unknown");
  if (w == "retired") return tr("retired");
  return shown(w);
}

// Where a finding comes from: agency, agent, batch, versions.
std::string trace(const v1::QualityFinding& f) {
  std::string t;
  if (!f.agency().empty()) t += trf("agency {}", shown(f.agency()));
  if (!f.agent().empty()) t += (t.empty() ? "" : ", ") + trf("agent {}", shown(f.agent()));
  if (f.batch_seq()) t += (t.empty() ? "" : ", ") + trf("batch {}", f.batch_seq());
  if (!f.versions().empty()) t += (t.empty() ? "" : ", ") + trf("versions {}", shown(f.versions()));
  return t.empty() ? t : " [" + t + "]";
}

std::string ids(const v1::QualityFinding& f) {
  std::string s;
  for (const auto& id : f.objections()) s += (s.empty() ? "" : ", ") + shown(id);
  return s;
}

std::string finding_text(const v1::DatasetQuality& q, const v1::QualityFinding& f) {
  const std::string& k = f.kind();
  if (k == "stale" || k == "due")
    return trf("{}: last delivery {}, due {}", word(k), local_short(q.last_delivery_ms()),
               local_short(q.due_ms())) +
           trace(f);
  if (k == "never") return tr("nothing delivered yet") + trace(f);
  if (k == "uncounted")
    return trf("{} records were stored before delivery counting began: last delivery unknown",
               f.count());
  if (k == "rejections")
    return trf("rejections: {} of records refused ({} records); last: record #{} ({}{})",
               percent(f.rate()), f.count(), f.record_index(), shown(f.reason_class()),
               f.field().empty() ? std::string() : ", " + trf("field {}", shown(f.field()))) +
           trace(f);
  if (k == "invalidations")
    return trf("invalidations: {} of records stored ({} records)", percent(f.rate()), f.count()) +
           trace(f);
  if (k == "completeness")
    return trf("completeness: field {} given in {} of records ({})", shown(f.field()),
               percent(f.rate()), f.count()) +
           trace(f);
  if (k == "overdue_objections") return trf("overdue objections: {}", ids(f));
  if (k == "open_objections") return trf("open objections: {}", ids(f));
  return shown(k) + trace(f);
}

void print_report(const v1::QualityReport& r) {
  std::cout << tr("Data quality report") << " — " << local_time_text(r.now_ms()) << "\n\n";
  if (r.datasets().empty()) {
    std::cout << tr("no datasets to report") << "\n";
    return;
  }
  Table t({tr("DATASET"), tr("PROVIDER"), tr("FREQUENCY"), tr("LAST DELIVERY"), tr("FRESHNESS"),
           tr("REJECTED"), tr("INVALIDATED"), tr("OBJECTIONS"), tr("STATUS")});
  for (const auto& q : r.datasets()) {
    uint64_t rejected = 0, offered = 0, invalidations = 0, accepted = 0;
    for (const auto& d : q.agencies()) {
      rejected += d.rejected();
      offered += d.rejected() + d.accepted();
      invalidations += d.invalidations();
      accepted += d.accepted();
    }
    const bool counted = offered > 0;
    t.add({q.dataset(), q.provider(), q.update_frequency(),  // print() escapes (table.h)
           local_short(q.last_delivery_ms()), word(q.staleness()),
           counted ? percent(double(rejected) / double(offered)) : "-",
           accepted ? percent(double(invalidations) / double(accepted)) : "-",
           std::to_string(q.open_objections_size()) +
               (q.overdue_objections_size()
                    ? " (" + trf("{} overdue", q.overdue_objections_size()) + ")"
                    : ""),
           word(q.status())});
  }
  t.print(std::cout);
  for (const auto& q : r.datasets()) {
    std::cout << "\n"
              << shown(q.dataset()) << " " << shown(q.name()) << ": " << word(q.status()) << "\n";
    for (const auto& d : q.agencies()) {
      if (!d.counted()) {
        std::cout << "  " << trf("agency {}: no deliveries counted", shown(d.agency())) << "\n";
        continue;
      }
      std::cout << "  "
                << (d.from_start()
                        ? trf("agency {}: {} batches, {} stored, {} invalidations, {} refused",
                              shown(d.agency()), d.batches(), d.accepted(), d.invalidations(),
                              d.rejected())
                        : trf("agency {}: {} batches, {} stored, {} invalidations, {} refused "
                              "(counted since {})",
                              shown(d.agency()), d.batches(), d.accepted(), d.invalidations(),
                              d.rejected(), local_short(d.since_ms())))
                << "\n";
      std::string fields;
      for (const auto& f : d.fields())
        fields += (fields.empty() ? "" : ", ") + shown(f.field()) + " " + percent(f.ratio());
      if (d.upserts()) std::cout << "    " << tr("completeness:") << " " << fields << "\n";
    }
    for (const auto& f : q.findings())
      std::cout << "  - " << word(f.severity()) << ": " << finding_text(q, f) << "\n";
  }
}

}  // namespace

void add_quality_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "quality", tr("Data quality (数据质量, R-12): the quality report (docs/quality.md)"));
  group->require_subcommand(1);
  struct Opts {
    std::string dataset, agency;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "report",
      tr("Per dataset and delivering agency: freshness against the catalog's update frequency\n"
         "(ok, due, stale, never), rejection and invalidation rates, field completeness, open\n"
         "and overdue objections, and a status (ok, attention, problem). Each finding names the\n"
         "agency, agent, batch and versions it comes from. Operators and officers see every\n"
         "dataset; an agency its own. The read is audited."));
  cmd->add_option("--dataset", o->dataset, tr("Only this dataset"));
  cmd->add_option("--agency", o->agency, tr("Only the datasets this agency provides"));
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_quality_report()->set_dataset(o->dataset);
    req.mutable_quality_report()->set_agency(o->agency);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& report = r->quality_report();
    if (o->json) {
      json a = json::array();
      for (const auto& q : report.datasets()) a.push_back(dataset_json(q));
      std::cout << json_dump_terminal_safe(json{{"now", time_text(report.now_ms())},
                                                {"now_ms", report.now_ms()},
                                                {"datasets", a}})
                << "\n";
      return 0;
    }
    print_report(report);
    return 0;
  });
}

}  // namespace gongshu::ctl
