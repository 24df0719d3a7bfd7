// The officers' report as JSON: the figures of report.h, keys in English, times in UTC.

#include "core/util/json.h"
#include "tools/audit/common.h"
#include "tools/audit/report_render.h"

namespace gongshu::audit_cli {
namespace {

void counts(JsonWriter& w, std::string_view name, const std::map<std::string, uint64_t>& m) {
  w.key(name).begin_object();
  for (const auto& [k, n] : m) w.field(k, n);
  w.end_object();
}

void series(JsonWriter& w, std::string_view name, const DaySeries& s, size_t days) {
  w.key(name).begin_array();
  for (uint64_t n : s.dense(days)) w.value(n);
  w.end_array();
}

void breakdown(JsonWriter& w, std::string_view name, const Breakdown& b, size_t days) {
  w.key(name).begin_array();
  for (const auto& [k, row] : ranked(b)) {
    w.begin_object()
        .field("key", k)
        .field("allowed", row->allowed)
        .field("denied", row->denied)
        .field("records", row->records);
    series(w, "per_day", row->per_day, days);
    w.end_object();
  }
  w.end_array();
}

void optional_time(JsonWriter& w, std::string_view name, const std::optional<int64_t>& ms) {
  w.key(name);
  if (ms) {
    w.value(format_time_ms(*ms));
  } else {
    w.null();
  }
}

void optional_int(JsonWriter& w, std::string_view name, const std::optional<int64_t>& v) {
  w.key(name);
  if (v) {
    w.value(*v);
  } else {
    w.null();
  }
}

void event(JsonWriter& w, const Event& e) {
  w.begin_object()
      .field("seq", e.seq)
      .field("time", format_time_ms(e.time_ms))
      .field("action", e.action);
  w.key("principal")
      .begin_object()
      .field("key_id", e.key_id)
      .field("role", e.role)
      .field("agency", e.agency)
      .end_object();
  w.field("dataset", e.dataset)
      .field("decision", e.decision)
      .field("records", e.records)
      .field("detail", e.detail)
      .end_object();
}

void strings(JsonWriter& w, std::string_view name, const std::set<std::string>& s) {
  w.key(name).begin_array();
  for (const auto& v : s) w.value(v);
  w.end_array();
}

}  // namespace

std::string report_json(const ReportFigures& f, int64_t generated_ms) {
  const size_t days = f.period.days();
  JsonWriter w;
  w.begin_object()
      .field("report", "gongshu officers' report (R-27)")
      .field("generated", format_time_ms(generated_ms));
  w.key("period")
      .begin_object()
      .field("from", date_text(f.period.from))
      .field("to", date_text(f.period.to))
      .field("time_zone", "Asia/Shanghai (UTC+08:00)")
      .field("begin", format_time_ms(f.period.begin_ms))
      .field("end", format_time_ms(f.period.end_ms))
      .field("days", uint64_t{days});
  w.key("dates").begin_array();
  for (size_t d = 0; d < days; ++d)
    w.value(date_text(civil_from_days(f.period.first_day + int64_t(d))));
  w.end_array().end_object();

  const ExportFacts& s = f.source;
  w.key("export")
      .begin_object()
      .field("path", s.path)
      .field("verified", true)
      .field("origin", s.origin)
      .field("first_seq", s.first_seq)
      .field("last_seq", s.last_seq)
      .field("checkpoints", s.checkpoints)
      .field("signed_through", s.signed_through)
      .field("full", s.full);
  w.key("root");
  if (s.full) {
    w.value(s.root_hex);
  } else {
    w.null();
  }
  w.key("daemon_key_ids").begin_array();
  for (const auto& k : s.key_ids) w.value(k);
  w.end_array().end_object();

  w.key("entries")
      .begin_object()
      .field("signed", f.entries_read)
      .field("unsigned_tail_left_out", f.unsigned_tail)
      .field("undecodable", f.undecodable);
  w.key("undecodable_seqs").begin_array();
  for (uint64_t q : f.undecodable_seqs) w.value(q);
  w.end_array();
  w.field("in_period", f.in_period);
  optional_time(w, "first", f.first_ms);
  optional_time(w, "last", f.last_ms);
  w.end_object();
  counts(w, "actions", f.actions);

  w.key("access")
      .begin_object()
      .field("allowed", f.access_allowed)
      .field("denied", f.access_denied)
      .field("records", f.access_records)
      .field("withheld_reads", f.withheld_reads)
      .field("withheld_records", f.withheld_records);
  w.key("per_day").begin_object();
  series(w, "allowed", f.day_allowed, days);
  series(w, "denied", f.day_denied, days);
  series(w, "records", f.day_records, days);
  w.end_object();
  breakdown(w, "by_dataset", f.by_dataset, days);
  breakdown(w, "by_agency", f.by_agency, days);
  breakdown(w, "by_role", f.by_role, days);
  breakdown(w, "by_purpose", f.by_purpose, days);
  breakdown(w, "by_action", f.by_action, days);
  breakdown(w, "by_mask", f.by_mask, days);
  w.end_object();

  w.key("sharing").begin_object();
  w.key("agreements").begin_array();
  for (const auto& [id, a] : f.agreements) {
    w.begin_object()
        .field("id", id)
        .field("kind", a.kind)
        .field("accesses", a.accesses)
        .field("denied", a.denied)
        .field("records", a.records)
        .field("quota_refusals", a.quota_refusals);
    w.key("row_quota").null();  // not in the audit log: gongshuctl agreement show has it
    strings(w, "datasets", a.datasets);
    strings(w, "users", a.users);
    series(w, "records_per_day", a.per_day, days);
    w.key("workflow").begin_array();
    for (const auto& e : a.workflow) event(w, e);
    w.end_array().end_object();
  }
  w.end_array();
  breakdown(w, "open_unconditional", f.open_unconditional, days);
  w.end_object();

  w.key("denials").begin_object().field("total", f.denials);
  series(w, "per_day", f.day_denials, days);
  w.key("by_rule").begin_array();
  for (const auto& [rule, d] : f.denials_by_rule) {
    w.begin_object().field("rule", rule).field("count", d.count);
    counts(w, "actions", d.actions);
    counts(w, "roles", d.roles);
    series(w, "per_day", d.per_day, days);
    w.key("last");
    event(w, d.last);
    w.end_object();
  }
  w.end_array().end_object();

  const AlertSummary as = summarize_alerts(f.alerts);
  w.key("alerts")
      .begin_object()
      .field("raised", as.raised)
      .field("acknowledged", as.acknowledged)
      .field("open", as.open)
      .field("acks_of_earlier_alerts", f.acks_of_earlier_alerts);
  optional_int(w, "median_ack_delay_ms", as.median_delay_ms);
  optional_int(w, "max_ack_delay_ms", as.max_delay_ms);
  counts(w, "by_rule", as.by_rule);
  counts(w, "by_severity", as.by_severity);
  w.key("items").begin_array();
  for (const Alert& a : f.alerts) {
    w.begin_object()
        .field("id", a.id)
        .field("rule", a.rule)
        .field("severity", a.severity)
        .field("kind", a.kind)
        .field("text", a.text)
        .field("principal", a.principal)
        .field("seq", a.seq)
        .field("raised", format_time_ms(a.raised_ms));
    optional_time(w, "acknowledged", a.acked_ms);
    optional_int(w, "ack_delay_ms", a.ack_delay_ms());
    w.field("acknowledged_by", a.acked_by).field("note", a.note).end_object();
  }
  w.end_array().end_object();

  w.key("third_parties").begin_array();
  for (const auto& [name, c] : f.third_parties) {
    w.begin_object()
        .field("company", name)
        .field("entries", c.entries)
        .field("records", c.records)
        .field("denied", c.denied);
    counts(w, "actions", c.actions);
    strings(w, "principals", c.principals);
    w.key("sessions").begin_array();
    for (const auto& [k, ss] : c.sessions) {
      w.begin_object()
          .field("key_id", ss.key_id)
          .field("role", ss.role)
          .field("agency", ss.agency)
          .field("date", date_text(civil_from_days(k.second)))
          .field("first", format_time_ms(ss.first_ms))
          .field("last", format_time_ms(ss.last_ms))
          .field("entries", ss.entries)
          .field("records", ss.records)
          .field("denied", ss.denied);
      counts(w, "actions", ss.actions);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();

  w.key("destruction").begin_array();
  for (const auto& e : f.destruction) event(w, e);
  w.end_array();

  w.key("quality").begin_object().field("recorded", !f.quality.empty());
  w.key("ingest").begin_array();
  for (const auto& [agency, by_dataset] : f.quality) {
    for (const auto& [dataset, q] : by_dataset) {
      w.begin_object()
          .field("agency", agency)
          .field("dataset", dataset)
          .field("batches", q.batches)
          .field("accepted", q.accepted)
          .field("rejected", q.rejected)
          .field("refused_batches", q.refused)
          .field("duplicate_batches", q.duplicates)
          .end_object();
    }
  }
  w.end_array().end_object();

  const ObjectionSummary os = summarize_objections(f);
  w.key("objections")
      .begin_object()
      .field("recorded", !f.objection_actions.empty())
      .field("filed", os.filed)
      .field("answered", os.answered)
      .field("open", os.open)
      .field("open_past_deadline", os.open_past_deadline);
  optional_int(w, "median_answer_ms", os.median_answer_ms);
  optional_int(w, "max_answer_ms", os.max_answer_ms);
  counts(w, "answers_in_period", f.objection_answers);
  w.field("answers_in_period_overdue", f.objection_answers_overdue);
  counts(w, "actions", f.objection_actions);
  w.key("items").begin_array();
  for (const Objection& o : f.objections) {
    w.begin_object()
        .field("id", o.id)
        .field("dataset", o.dataset)
        .field("assigned_agency", o.assigned_agency)
        .field("filed_by", o.filed_by)
        .field("seq", o.seq)
        .field("filed", format_time_ms(o.filed_ms))
        .field("records", o.records);
    optional_time(w, "deadline", o.deadline_ms);
    w.field("answer", o.answer);
    optional_time(w, "answered", o.answered_ms);
    optional_int(w, "answer_delay_ms", o.answer_delay_ms());
    w.field("answered_overdue", o.answered_overdue).end_object();
  }
  w.end_array().end_object();
  counts(w, "consent", f.consent_actions);

  w.end_object();
  return w.str();
}

}  // namespace gongshu::audit_cli
