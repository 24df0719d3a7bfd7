// The officers' report: figures over a period of Beijing calendar days, computed from the
// entries of an audit export. ReportBuilder is pure: it is fed entries in sequence order and the
// tree sizes of the checkpoints that follow them (audit::VerifyOptions::on_entry/on_checkpoint),
// and counts an entry only once a checkpoint covers it, so a report holds signed entries alone;
// the caller uses the figures only if the export verified. Rendering is in report_html.h; the
// command in report_cmd.cc. Not thread-safe.
//
// Time: --from/--to are dates read in Asia/Shanghai, which is UTC+8 all year (China has kept no
// daylight saving time since 1991), so no time-zone database is needed. An entry is in the
// period when from 00:00 Beijing time <= time < the day after to, 00:00 Beijing time.
//
// What is counted (the action names gongshud writes, docs/reports.md lists them all):
//   data access   read, query_subject, download, export, aggregate; per dataset, agency, role,
//                 purpose and mask profile, allowed and denied, per day;
//   agreements    accesses naming an agreement (refs kind "agreement") and the agreement_*
//                 workflow entries; rows delivered under each; the kind (share, open) from its
//                 agreement_apply entry anywhere in the export;
//   open data     allowed accesses by the public role (no agreement: unconditional open data);
//   denials       every entry whose decision is deny, per policy rule and action, per day;
//   alerts        alert_raised (policy_rule = rule, refs alert = id, detail "severity=S kind=K;
//                 text") and alert_acknowledged (refs alert = id, detail = note), matched by id
//                 anywhere later in the export;
//   third parties entries with refs kind "third_party" (value: the company), with sessions: one
//                 principal's entries on one Beijing day;
//   destruction   every action beginning dataset_destroy (requested, destroyed, cancelled, and
//                 the refused forms);
//   quality       ingest ("N accepted, M rejected"), ingest_refused, ingest_duplicate per agency
//                 and dataset;
//   objections    objection_filed (refs objection = id, assigned_agency; "deadline <UTC>" in the
//                 detail) followed to its answer (objection_upheld, _corrected, _transferred;
//                 "overdue" in the detail) anywhere later in the export; consent_* counted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/clock.h"
#include "core/util/error.h"
#include "core/util/i18n.h"
#include "gongshu/v1/audit.pb.h"

namespace gongshu::audit_cli {

// Asia/Shanghai's offset from UTC, all year.
inline constexpr int64_t kBeijingOffsetMs = 8 * 3'600'000LL;
inline constexpr int64_t kDayMs = 86'400'000LL;
// The longest period one report covers (its per-day series are this long at most).
inline constexpr int64_t kMaxReportDays = 366;

// The key a breakdown shows for an empty field.
inline constexpr std::string_view kNone = "(none)";

struct ReportPeriod {
  CivilDate from{};
  CivilDate to{};         // inclusive
  int64_t begin_ms = 0;   // from, 00:00 Beijing time, in ms since the epoch (UTC)
  int64_t end_ms = 0;     // the day after to, 00:00 Beijing time (exclusive)
  int64_t first_day = 0;  // days_from_civil(from)

  size_t days() const { return static_cast<size_t>((end_ms - begin_ms) / kDayMs); }
  bool contains(int64_t ms) const { return ms >= begin_ms && ms < end_ms; }
  // The index of ms's Beijing day in the period; ms must be inside it.
  size_t day_index(int64_t ms) const;
};

// "YYYY-MM-DD" twice; the error names the option and says why (not a date, to before from,
// longer than kMaxReportDays), in English.
Result<ReportPeriod> parse_period(std::string_view from, std::string_view to);
// A reason in two forms: English, for --json (machine output does not change with the
// language), and in the reader's language (core/util/i18n.h), for people.
struct Reason {
  std::string english;
  std::string text;
};
// A reason from elsewhere (a core library's Error, the verifier): the same text both ways.
inline Reason as_is(const std::string& text) { return {text, text}; }
// msgid marked with tr_noop(); each {} takes the next of args, as in trf(). --json carries
// .english, so it never changes with the language (issue 18); people read .text.
inline Reason reason(const char* msgid, std::initializer_list<std::string> args = {}) {
  return {i18n::format(msgid, args), i18n::format(tr(msgid), args)};
}
// parse_period, with the reason in both forms when the period is refused.
std::optional<ReportPeriod> parse_period(std::string_view from, std::string_view to, Reason* why);
// The Beijing calendar day of ms.
CivilDate beijing_date(int64_t ms);
// "2026-03-02" and "2026-03-02 12:00:05" (Beijing time; the reader names the zone).
std::string date_text(CivilDate d);
std::string beijing_time_text(int64_t ms);

// A per-day series kept sparse: (day index, count) pairs in day order, so a breakdown with many
// rows and few days each stays small.
class DaySeries {
 public:
  void add(size_t day, uint64_t n);
  uint64_t at(size_t day) const;
  // Every day of a period of `days` days, zeros included.
  std::vector<uint64_t> dense(size_t days) const;

 private:
  std::vector<std::pair<uint32_t, uint64_t>> points_;
};

// One row of a breakdown of data access.
struct AccessRow {
  uint64_t allowed = 0;
  uint64_t denied = 0;
  uint64_t records = 0;  // records delivered by the allowed accesses
  DaySeries per_day;     // accesses (allowed and denied) per day
  uint64_t total() const { return allowed + denied; }
};
using Breakdown = std::map<std::string, AccessRow>;
// The rows by total accesses, most first (ties by key).
std::vector<std::pair<std::string, const AccessRow*>> ranked(const Breakdown& b);

struct Event {  // one entry, as listed in a section
  uint64_t seq = 0;
  int64_t time_ms = 0;
  std::string action;
  std::string key_id;
  std::string role;
  std::string agency;
  std::string dataset;
  std::string decision;  // "allow", "deny", "none"
  uint64_t records = 0;
  std::string detail;
};

struct AgreementRow {
  std::string kind;  // "share" or "open" from its agreement_apply entry; empty if not in the export
  uint64_t accesses = 0;        // allowed data accesses under it
  uint64_t denied = 0;          // denied data accesses naming it (e.g. over its row quota)
  uint64_t records = 0;         // rows delivered under it
  uint64_t quota_refusals = 0;  // denials whose reason names its row quota
  std::set<std::string> datasets;
  std::set<std::string> users;  // agency, or role/key id when there is none
  DaySeries per_day;            // rows delivered per day
  std::vector<Event> workflow;  // agreement_* entries naming it in the period
};

struct DenialRow {
  uint64_t count = 0;
  std::map<std::string, uint64_t> actions;
  std::map<std::string, uint64_t> roles;
  DaySeries per_day;
  Event last;  // the latest denial under this rule
};

struct Alert {
  std::string id;
  std::string rule;
  std::string severity;  // warning, critical (as written; empty if the detail has none)
  std::string kind;
  std::string text;
  std::string principal;  // whose action raised it: key id (role), agency
  uint64_t seq = 0;
  int64_t raised_ms = 0;
  std::optional<int64_t> acked_ms;  // the first acknowledgement in the export
  uint64_t acked_seq = 0;
  std::string acked_by;  // key id (role)
  std::string note;
  std::optional<int64_t> ack_delay_ms() const {
    if (!acked_ms) return std::nullopt;
    return *acked_ms - raised_ms;
  }
};

struct Session {  // one third-party principal's entries on one Beijing day
  std::string key_id;
  std::string role;
  std::string agency;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  uint64_t entries = 0;
  uint64_t records = 0;
  uint64_t denied = 0;
  std::map<std::string, uint64_t> actions;
};

struct Company {
  uint64_t entries = 0;
  uint64_t records = 0;
  uint64_t denied = 0;
  std::map<std::string, uint64_t> actions;
  std::set<std::string> principals;                             // key ids
  std::map<std::pair<std::string, int64_t>, Session> sessions;  // (key id, Beijing day number)
};

// Data quality as ingest shows it: one agency's deliveries of one dataset.
struct QualityRow {
  uint64_t batches = 0;     // stored batches (ingest)
  uint64_t accepted = 0;    // records stored
  uint64_t rejected = 0;    // records rejected alone ("N accepted, M rejected")
  uint64_t refused = 0;     // whole batches refused (ingest_refused)
  uint64_t duplicates = 0;  // batches sent again (ingest_duplicate)
};

// An objection (docs/objections.md) filed in the period, followed through the export.
struct Objection {
  std::string id;
  std::string dataset;
  std::string assigned_agency;
  std::string filed_by;  // key id (role), agency
  uint64_t seq = 0;
  int64_t filed_ms = 0;
  uint64_t records = 0;                // records disputed
  std::optional<int64_t> deadline_ms;  // from the entry's "deadline <UTC>"
  std::string answer;                  // objection_upheld / _corrected / _transferred
  std::optional<int64_t> answered_ms;
  bool answered_overdue = false;
  std::optional<int64_t> answer_delay_ms() const {
    if (!answered_ms) return std::nullopt;
    return *answered_ms - filed_ms;
  }
};

// Facts about the export itself, filled in by the command from the verifier's report.
struct ExportFacts {
  std::string path;
  std::string origin;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t checkpoints = 0;
  uint64_t signed_through = 0;  // the last checkpoint's tree size
  bool full = false;
  std::string root_hex;              // full exports only
  std::vector<std::string> key_ids;  // the daemon keys trusted, initial and learnt
};

struct ReportFigures {
  ReportPeriod period;
  ExportFacts source;

  uint64_t entries_read = 0;   // signed entries in the export
  uint64_t unsigned_tail = 0;  // entries after the last checkpoint: left out
  uint64_t undecodable = 0;    // signed entries that do not decode (left out, seqs below)
  std::vector<uint64_t> undecodable_seqs;    // the first 100
  uint64_t in_period = 0;                    // entries within the period
  std::optional<int64_t> first_ms, last_ms;  // of the entries in the period
  std::map<std::string, uint64_t> actions;   // every action in the period

  // Data access.
  uint64_t access_allowed = 0;
  uint64_t access_denied = 0;
  uint64_t access_records = 0;  // delivered: the withheld reads' records taken out
  // Allowed accesses whose answer was withheld (a read_withheld entry names them: docs/audit-
  // format.md), and their records, which were never delivered.
  uint64_t withheld_reads = 0;
  uint64_t withheld_records = 0;
  DaySeries day_allowed, day_denied, day_records;
  Breakdown by_dataset, by_agency, by_role, by_purpose, by_mask, by_action;

  // Sharing and open data.
  std::map<std::string, AgreementRow> agreements;
  Breakdown open_unconditional;  // allowed accesses by the public role, per dataset

  // Denials (every entry whose decision is deny).
  uint64_t denials = 0;
  std::map<std::string, DenialRow> denials_by_rule;
  DaySeries day_denials;

  // Alerts raised in the period; acknowledgements of earlier alerts counted apart.
  std::vector<Alert> alerts;
  uint64_t acks_of_earlier_alerts = 0;

  std::map<std::string, Company> third_parties;
  std::vector<Event> destruction;
  // Quality: agency -> dataset -> deliveries (a refused batch names no dataset).
  std::map<std::string, std::map<std::string, QualityRow>> quality;
  // Objections filed in the period; answers in the period by action and whether overdue.
  std::vector<Objection> objections;
  std::map<std::string, uint64_t> objection_answers;  // answer action -> count, in the period
  uint64_t objection_answers_overdue = 0;
  std::map<std::string, uint64_t> objection_actions;  // every objection_* action in the period
  std::map<std::string, uint64_t> consent_actions;    // every consent_* action in the period
  int64_t export_last_ms = 0;  // time of the last signed entry: "now" for open objections
};

class ReportBuilder {
 public:
  explicit ReportBuilder(ReportPeriod period);

  // An entry whose chain has been checked, in sequence order; counted once a checkpoint covers
  // it. nullopt is an entry whose bytes do not decode.
  void add(uint64_t seq, std::optional<v1::AuditEntry> entry);
  // A verified checkpoint at tree_size: the entries up to it are signed.
  void checkpoint(uint64_t tree_size);
  // The figures; the entries never covered by a checkpoint are counted as the unsigned tail.
  ReportFigures finish(ExportFacts source) &&;

 private:
  void count(uint64_t seq, const v1::AuditEntry& e);
  void count_alert_ack(const v1::AuditEntry& e);
  void count_objection_answer(const v1::AuditEntry& e);
  // A read_withheld entry: the records each of its withheld_entry refs counted as delivered are
  // taken out (take_back: one entry's, counted on `day`), and the read counted once.
  void give_back(const v1::AuditEntry& withheld);
  void take_back(const v1::AuditEntry& delivered, size_t day);

  ReportFigures f_;
  std::vector<std::pair<uint64_t, std::optional<v1::AuditEntry>>> pending_;
  std::map<std::string, size_t> alert_index_;          // alert id -> index in f_.alerts
  std::map<std::string, std::string> agreement_kind_;  // from agreement_apply, whole export
  std::map<std::string, size_t> objection_index_;      // objection id -> index in objections
  // The allowed data accesses of the period that delivered records, by seq, for the last
  // kWithheldWithin of the log: a read_withheld entry follows its read within the leader's
  // api_sync_wait_ms (at most 25 s), so older ones are dropped to keep memory bounded.
  struct Delivery {
    v1::AuditEntry entry;
    size_t day = 0;
  };
  std::map<uint64_t, Delivery> recent_deliveries_;
};

// Alerts of a report in figures, the same for the HTML and the JSON. The delays are those of the
// acknowledged alerts; the median of an even count is the mean of the two middle delays.
struct AlertSummary {
  uint64_t raised = 0;
  uint64_t acknowledged = 0;
  uint64_t open = 0;  // not acknowledged anywhere in the export
  std::optional<int64_t> median_delay_ms, max_delay_ms;
  std::map<std::string, uint64_t> by_rule, by_severity;
};
AlertSummary summarize_alerts(const std::vector<Alert>& alerts);

// Objections of a report in figures, the same for the HTML and the JSON.
struct ObjectionSummary {
  uint64_t filed = 0;
  uint64_t answered = 0;  // of those filed in the period, anywhere in the export
  uint64_t open = 0;
  uint64_t open_past_deadline = 0;  // open, deadline before the export's last entry
  std::optional<int64_t> median_answer_ms, max_answer_ms;
};
ObjectionSummary summarize_objections(const ReportFigures& f);

// Whether an action is a data access (read, query_subject, download, export, aggregate).
bool is_data_access(std::string_view action);
// The value of the first reference of this kind, or empty.
std::string ref_value(const v1::AuditEntry& e, std::string_view kind);

}  // namespace gongshu::audit_cli
