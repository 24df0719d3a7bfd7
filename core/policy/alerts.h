// Alert rules (R-24, docs/monitoring.md): the anomaly rules of `alerts.toml` in the policy
// directory, and their pure evaluation over the facts an audit entry records. The daemon
// (daemon/alerts.h) feeds every audit entry to an AlertEvaluator as it is appended, and asks the
// timer rules (agent silence, checkpoint, spool backlog) about the figures it samples; this file
// does no I/O beyond reading the rules file.
//
//   [alerts]
//   timezone = "Asia/Shanghai"          # of working hours (a zoneinfo name, tzdata)
//   max_tracked = 4096                  # principals tracked per windowed rule (memory bound)
//
//   [[alert]]
//   name = "bulk-read"                  # [a-z0-9_-], unique: the audit entries' policy_rule
//   kind = "bulk_read"                  # see AlertKind
//   severity = "warning"                # warning | critical
//   description = "..."
//   roles = ["agency", "applicant"]     # whose actions count (default: every role)
//   grades = ["important", "core"]      # datasets of these grades (or min_grade = "...")
//   actions = ["read", "download"]      # audit actions that count (each kind has a default)
//   window_s = 3600                     # bulk_read, denials: the sliding window
//   max_rows = 10000                    # bulk_read: rows per principal per window
//   max_subjects = 200                  # bulk_read: distinct subjects per principal per window
//   max_denials = 10                    # denials: denied requests per principal per window
//   working_hours = "08:30-18:00"       # off_hours: local time, [from, to)
//   working_days = ["mon", ..., "fri"]  # off_hours
//   calendar = true                     # off_hours: public holidays are off, 调休 days worked
//                                       # (calendar.toml of the same directory)
//   factor = 2.0                        # agent_silent: silent for factor x update frequency
//   max_silence_s = 0                   # agent_silent: and never longer than this (0: no cap)
//   stall_s = 60                        # checkpoint_stalled: uncovered entries this old
//   max_backlog = 100000                # spool_backlog: reported records, and still growing
//   grace_working_days = 0              # objection_overdue: working days past the deadline
//                                       # before it fires (0: as soon as the deadline passes)
//
// Errors are "file:line: reason", all of them at once, like the policy files.
//
// AlertEvaluator keeps, per windowed rule, at most max_tracked principals, each with a fixed
// ring of 60 buckets (rows, denials) and at most max_subjects + 1 subject tokens: its memory
// is bounded whatever the traffic. When a principal's count crosses a threshold the rule fires
// once and that principal's window starts again. Not thread-safe: the daemon serialises calls.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/policy/calendar.h"
#include "core/policy/vocab.h"
#include "core/util/error.h"

namespace gongshu::policy {

enum class AlertKind : uint8_t {
  kBulkRead,           // rows or distinct subjects read per principal per window over a threshold
  kDenials,            // denied requests per principal per window over a threshold
  kOffHours,           // an action outside working hours
  kThirdParty,         // any copy, export, download, desensitisation, destruction by a third party
  kSensitiveRead,      // data of a grade at least min_grade read
  kAgentSilent,        // an agent silent past its datasets' update frequency (timer)
  kCheckpointStalled,  // the audit checkpoint stopped advancing (timer)
  kSpoolBacklog,       // an agent's reported spool backlog over a threshold and growing (timer)
  kObjectionOverdue,   // an objection still open past its deadline (timer; once per objection)
};
std::string_view alert_kind_name(AlertKind k);
std::optional<AlertKind> parse_alert_kind(std::string_view s);

enum class Severity : uint8_t { kWarning, kCritical };
std::string_view severity_name(Severity s);

struct AlertRule {
  std::string name;
  AlertKind kind = AlertKind::kBulkRead;
  Severity severity = Severity::kWarning;
  std::string description;
  std::string file;
  int line = 0;

  uint32_t roles = 0;                // bit(Role); 0: every role
  uint32_t grades = 0;               // bit(GradeLevel); 0: any dataset, or none
  std::vector<std::string> actions;  // audit action names; empty: the kind's default
  int64_t window_s = 3600;
  uint64_t max_rows = 0;  // 0: not checked
  uint64_t max_subjects = 0;
  uint64_t max_denials = 0;
  uint16_t work_from_minute = 8 * 60 + 30;
  uint16_t work_to_minute = 18 * 60;
  uint8_t work_days = 0x3e;  // bit(tm_wday): Monday..Friday
  double factor = 2.0;
  int64_t max_silence_s = 0;
  int64_t stall_s = 60;
  uint64_t max_backlog = 100'000;
  uint32_t grace_working_days = 0;
  bool use_calendar = true;  // off_hours: holidays and adjusted working days of the calendar

  bool counts_action(std::string_view action) const;
};

struct AlertRules {
  std::string file;  // where they were read; empty: no alerts.toml
  std::string timezone = "Asia/Shanghai";
  size_t max_tracked = 4096;
  std::vector<AlertRule> rules;
  // The working-day calendar of the same directory (calendar.toml, core/policy/calendar.h),
  // read with the rules: off_hours counts its holidays as days off and its adjusted working days
  // (调休) as days worked; objection_overdue counts working days with it. Without the file:
  // Monday to Friday.
  std::shared_ptr<const WorkCalendar> calendar;
};

// Parses an alerts.toml text; every problem reported as "file:line: reason", one per line.
Result<AlertRules> parse_alert_rules(std::string_view text, const std::string& file);
// Reads <dir>/alerts.toml (at most 1 MiB) and <dir>/calendar.toml. No alerts.toml: no rules (an
// empty AlertRules); no calendar.toml: a calendar of Mondays to Fridays. A calendar.toml that
// does not parse is an error here too ("file:line: reason").
Result<AlertRules> load_alert_rules(const std::string& dir);

// The facts of one audit entry a rule looks at. Views must outlive the observe() call.
struct AlertFact {
  int64_t time_ms = 0;
  std::string_view principal;  // key id
  std::string_view role;       // audit principal role
  std::string_view action;
  std::string_view dataset;
  std::optional<GradeLevel> grade;  // the dataset's grade, when it has one
  bool denied = false;
  uint64_t records = 0;
  std::string_view subject_token;  // hex, for reads by subject
  std::string_view company;        // non-empty: a third-party principal
  // Local time of time_ms in the rules' time zone (the daemon computes it with the C library).
  int local_minute = 0;              // 0..1439
  int weekday = 1;                   // 0 = Sunday .. 6 = Saturday (struct tm's tm_wday)
  CivilDate local_date{1970, 1, 1};  // the local day, for the calendar's holidays
};

// A rule that fired on a fact or on sampled figures.
struct Firing {
  const AlertRule* rule = nullptr;
  uint64_t measured = 0;
  uint64_t threshold = 0;
  std::string text;  // for people: names principals by key id and datasets by id, no data
};

class AlertEvaluator {
 public:
  // rules must outlive the evaluator, or be replaced with reset() first.
  explicit AlertEvaluator(const AlertRules* rules) { reset(rules); }
  // New rules (a policy reload): every window starts again.
  void reset(const AlertRules* rules);

  // The rules the fact fires (windows updated as it is counted).
  std::vector<Firing> observe(const AlertFact& fact);

  // Principals tracked across all windowed rules (the memory bound is max_tracked per rule).
  size_t tracked() const;
  // Subject tokens held across all windows.
  size_t tracked_subjects() const;

 private:
  struct Window {
    static constexpr int kBuckets = 60;
    std::array<uint64_t, kBuckets> rows{};
    int64_t last_bucket = 0;  // absolute bucket number of the newest write
    std::map<std::string, int64_t, std::less<>> subjects;  // token -> last seen ms
    int64_t last_ms = 0;
  };
  struct RuleState {
    std::unordered_map<std::string, Window> by_principal;
  };
  Window& window_for(RuleState& st, std::string_view principal, int64_t now_ms);
  static uint64_t add_to(Window& w, const AlertRule& r, int64_t now_ms, uint64_t n);

  const AlertRules* rules_ = nullptr;
  std::vector<RuleState> state_;  // parallel to rules_->rules
};

// Timer rules: the figures the daemon samples, and what fires.
struct AgentSample {
  std::string key_id;
  std::string agency;
  int64_t last_seen_ms = 0;  // last batch (or enrollment when it never sent one)
  int64_t expected_ms = 0;   // the shortest update period of its agency's datasets; 0: none
  bool backlog_reported = false;
  uint64_t backlog = 0;
  uint64_t previous_backlog = 0;  // at the sample before
};
std::optional<Firing> agent_silent(const AlertRule& r, const AgentSample& a, int64_t now_ms);
std::optional<Firing> spool_backlog(const AlertRule& r, const AgentSample& a);
// stalled_ms: how long the checkpoint has stayed at checkpoint_size while entries after it
// waited (the daemon measures it on its steady clock).
std::optional<Firing> checkpoint_stalled(const AlertRule& r, uint64_t tree_size,
                                         uint64_t checkpoint_size, int64_t stalled_ms);

// objection_overdue: what the daemon reads of an objection (never its reason or contact, which
// are sealed, nor the requester's identifier).
struct ObjectionSample {
  std::string id;  // YY-2026-0001
  std::string dataset;
  std::string provider_agency;  // the dataset's provider (the catalog's)
  std::string assigned_agency;  // who must answer (the provider, or an authoritative source)
  bool open = false;            // filed or verifying
  int64_t deadline_ms = 0;      // exclusive end of the last working day allowed
};
// Fires when the objection is open at now_ms and its deadline, plus grace_working_days of cal,
// has passed; measured is the working days overdue (the current one counted), threshold the
// grace. cal may be null: Monday to Friday.
std::optional<Firing> objection_overdue(const AlertRule& r, const ObjectionSample& o,
                                        const WorkCalendar* cal, int64_t now_ms);

// The period a catalog update_frequency promises, in ms ("realtime": 10 minutes; 0 for an
// unknown name).
int64_t update_period_ms(std::string_view frequency);

}  // namespace gongshu::policy
