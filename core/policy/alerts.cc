#include "core/policy/alerts.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/policy/toml_reader.h"
#include "core/util/fd.h"

namespace gongshu::policy {
namespace {

constexpr std::array<std::string_view, 9> kKindNames = {
    "bulk_read",          "denials",        "off_hours",
    "third_party",        "sensitive_read", "agent_silent",
    "checkpoint_stalled", "spool_backlog",  "objection_overdue"};

constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

// The audit actions each kind counts unless the rule lists its own. Reads are the actions whose
// entries carry rows (daemon/access.cc); third parties are watched on every copy, export,
// download, desensitisation and destruction.
const std::vector<std::string>& default_actions(AlertKind k) {
  static const std::vector<std::string> kReads = {"read", "query_subject", "lookup", "download",
                                                  "export"};
  static const std::vector<std::string> kData = {"read",     "query_subject", "lookup",
                                                 "download", "export",        "aggregate"};
  static const std::vector<std::string> kThird = {"read",
                                                  "query_subject",
                                                  "lookup",
                                                  "download",
                                                  "export",
                                                  "aggregate",
                                                  "desensitise",
                                                  "dataset_destroy_requested",
                                                  "dataset_destroyed"};
  static const std::vector<std::string> kNone;
  switch (k) {
    case AlertKind::kBulkRead:
    case AlertKind::kSensitiveRead:
      return kReads;
    case AlertKind::kOffHours:
      return kData;
    case AlertKind::kThirdParty:
      return kThird;
    default:
      return kNone;
  }
}

bool is_rule_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

// "08:30-18:00" -> minutes.
bool parse_hours(std::string_view s, uint16_t* from, uint16_t* to) {
  auto hm = [](std::string_view t, uint16_t* out) {
    if (t.size() != 5 || t[2] != ':') return false;
    for (int i : {0, 1, 3, 4}) {
      if (t[i] < '0' || t[i] > '9') return false;
    }
    int h = (t[0] - '0') * 10 + (t[1] - '0');
    int m = (t[3] - '0') * 10 + (t[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0)) return false;
    *out = uint16_t(h * 60 + m);
    return true;
  };
  auto dash = s.find('-');
  if (dash == std::string_view::npos) return false;
  return hm(s.substr(0, dash), from) && hm(s.substr(dash + 1), to) && *from < *to;
}

std::string hm_text(int minute) {
  const unsigned m = unsigned(minute) % 1440;
  return {char('0' + m / 600), char('0' + m / 60 % 10), ':', char('0' + m % 60 / 10),
          char('0' + m % 10)};
}

std::string date_text(CivilDate d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year % 10000, d.month % 100, d.day % 100);
  return buf;
}

// The time zone must be one the C library can load from tzdata (/usr/share/zoneinfo).
bool known_zone(const std::string& tz) {
  if (tz.empty() || tz.find("..") != std::string::npos || tz.front() == '/') return false;
  std::error_code ec;
  return std::filesystem::is_regular_file("/usr/share/zoneinfo/" + tz, ec);
}

}  // namespace

std::string_view alert_kind_name(AlertKind k) { return kKindNames[size_t(k)]; }

std::optional<AlertKind> parse_alert_kind(std::string_view s) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == s) return AlertKind(i);
  }
  return std::nullopt;
}

std::string_view severity_name(Severity s) {
  return s == Severity::kCritical ? "critical" : "warning";
}

bool AlertRule::counts_action(std::string_view action) const {
  const auto& list = actions.empty() ? default_actions(kind) : actions;
  return std::find(list.begin(), list.end(), action) != list.end();
}

Result<AlertRules> parse_alert_rules(std::string_view text, const std::string& file) {
  std::vector<std::string> errors;
  detail::TomlReader rd(file, &errors);
  AlertRules out;
  out.file = file;
  auto root = detail::parse_toml(text, file, &errors);
  if (root) {
    rd.check_keys(*root, {"alerts", "alert"}, "alerts.toml");
    if (const toml::node* a = root->get("alerts")) {
      if (const toml::table* t = a->as_table()) {
        rd.check_keys(*t, {"timezone", "max_tracked"}, "[alerts]");
        if (auto tz = rd.string(*t, "timezone")) {
          if (!known_zone(*tz)) {
            rd.error(*t->get("timezone"), "timezone '" + *tz +
                                              "' is not a zone in /usr/share/zoneinfo (tzdata), "
                                              "e.g. Asia/Shanghai");
          } else {
            out.timezone = *tz;
          }
        }
        if (auto n = rd.integer(*t, "max_tracked", 16, 1'000'000)) out.max_tracked = size_t(*n);
      } else {
        rd.error(*a, "[alerts] must be a table");
      }
    }
    std::set<std::string> names;
    if (const toml::node* list = root->get("alert")) {
      const toml::array* arr = list->as_array();
      if (!arr) rd.error(*list, "alert must be an array of tables ([[alert]])");
      for (size_t i = 0; arr && i < arr->size(); ++i) {
        const toml::table* t = (*arr)[i].as_table();
        if (!t) {
          rd.error((*arr)[i], "[[alert]] must be a table");
          continue;
        }
        rd.check_keys(
            *t, {"name",          "kind",        "severity",      "description",        "roles",
                 "grades",        "min_grade",   "actions",       "window_s",           "max_rows",
                 "max_subjects",  "max_denials", "working_hours", "working_days",       "factor",
                 "max_silence_s", "stall_s",     "max_backlog",   "grace_working_days", "calendar"},
            "[[alert]]");
        AlertRule r;
        r.file = file;
        r.line = detail::TomlReader::line_of(*t);
        auto name = rd.string(*t, "name", true);
        auto kind = rd.string(*t, "kind", true);
        if (!name || !kind) continue;
        if (!is_rule_name(*name)) {
          rd.error(*t->get("name"), "name '" + *name + "' must be 1..64 of [a-z0-9_-]");
        } else if (!names.insert(*name).second) {
          rd.error(*t->get("name"), "alert '" + *name + "' is defined twice");
        }
        r.name = *name;
        auto k = parse_alert_kind(*kind);
        if (!k) {
          rd.error(*t->get("kind"),
                   "kind '" + *kind +
                       "' is not bulk_read, denials, off_hours, third_party, sensitive_read, "
                       "agent_silent, checkpoint_stalled, spool_backlog or objection_overdue");
          continue;
        }
        r.kind = *k;
        if (auto s = rd.string(*t, "severity")) {
          if (*s == "critical") {
            r.severity = Severity::kCritical;
          } else if (*s != "warning") {
            rd.error(*t->get("severity"), "severity '" + *s + "' is not warning or critical");
          }
        }
        if (auto d = rd.string(*t, "description")) r.description = *d;
        if (auto roles = rd.strings(*t, "roles")) {
          for (const auto& v : *roles) {
            if (auto role = parse_role(v.value)) {
              r.roles |= bit(*role);
            } else {
              rd.error(v.line, "unknown role '" + v.value + "'");
            }
          }
        }
        if (auto grades = rd.strings(*t, "grades")) {
          for (const auto& v : *grades) {
            if (auto g = parse_grade(v.value)) {
              r.grades |= bit(*g);
            } else {
              rd.error(v.line, "unknown grade '" + v.value + "'");
            }
          }
        }
        if (auto mg = rd.string(*t, "min_grade")) {
          if (r.grades) rd.error(*t->get("min_grade"), "give grades or min_grade, not both");
          if (auto g = parse_grade(*mg)) {
            for (int gi = int(*g); gi < kGradeCount; ++gi) r.grades |= bit(GradeLevel(gi));
          } else {
            rd.error(*t->get("min_grade"), "unknown grade '" + *mg + "'");
          }
        }
        if (auto acts = rd.strings(*t, "actions")) {
          for (const auto& v : *acts) {
            if (!is_rule_name(v.value)) {
              rd.error(v.line, "action '" + v.value + "' is not an audit action name");
            } else {
              r.actions.push_back(v.value);
            }
          }
        }
        if (auto n = rd.integer(*t, "window_s", 10, 7 * 86400)) r.window_s = *n;
        if (auto n = rd.integer(*t, "max_rows", 1, int64_t(1) << 40)) r.max_rows = uint64_t(*n);
        if (auto n = rd.integer(*t, "max_subjects", 1, 100'000)) r.max_subjects = uint64_t(*n);
        if (auto n = rd.integer(*t, "max_denials", 1, 1'000'000)) r.max_denials = uint64_t(*n);
        if (auto n = rd.integer(*t, "max_silence_s", 1, 366 * 86400)) r.max_silence_s = *n;
        if (auto n = rd.integer(*t, "stall_s", 1, 86400)) r.stall_s = *n;
        if (auto n = rd.integer(*t, "max_backlog", 1, int64_t(1) << 40))
          r.max_backlog = uint64_t(*n);
        if (auto n = rd.integer(*t, "grace_working_days", 0, 250))
          r.grace_working_days = uint32_t(*n);
        if (auto b = rd.boolean(*t, "calendar")) r.use_calendar = *b;
        if (const toml::node* f = t->get("factor")) {
          auto v = f->value<double>();
          if (!v || !(*v >= 0.1 && *v <= 100.0)) {
            rd.error(*f, "factor must be a number from 0.1 to 100");
          } else {
            r.factor = *v;
          }
        }
        if (auto h = rd.string(*t, "working_hours")) {
          if (!parse_hours(*h, &r.work_from_minute, &r.work_to_minute))
            rd.error(*t->get("working_hours"),
                     "working_hours must read like \"08:30-18:00\" (local time, from before to)");
        }
        if (auto days = rd.strings(*t, "working_days")) {
          r.work_days = 0;
          for (const auto& v : *days) {
            auto it = std::find(kDayNames.begin(), kDayNames.end(), v.value);
            if (it == kDayNames.end()) {
              rd.error(v.line, "working day '" + v.value + "' is not mon..sun");
            } else {
              r.work_days |= uint8_t(1u << (it - kDayNames.begin()));
            }
          }
        }
        // What each kind needs to mean anything.
        auto need = [&](bool ok, std::string_view what) {
          if (!ok) {
            rd.error(r.line, "alert '" + r.name + "' (" + *kind + ") needs " + std::string(what));
          }
        };
        switch (r.kind) {
          case AlertKind::kBulkRead:
            need(r.max_rows || r.max_subjects, "max_rows or max_subjects");
            break;
          case AlertKind::kDenials:
            need(r.max_denials > 0, "max_denials");
            break;
          case AlertKind::kSensitiveRead:
            need(r.grades != 0, "grades or min_grade");
            break;
          default:
            break;
        }
        out.rules.push_back(std::move(r));
      }
    }
  }
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg.append(msg.empty() ? "" : "\n").append(e);
    return fail(ErrorCode::kInvalidArgument, msg);
  }
  return out;
}

Result<AlertRules> load_alert_rules(const std::string& dir) {
  const std::string path = dir + "/alerts.toml";
  std::error_code ec;
  AlertRules out;
  if (std::filesystem::exists(path, ec)) {
    GONGSHU_TRY(Bytes text, read_file(path, 1 << 20));
    GONGSHU_TRY(out, parse_alert_rules(as_chars(text), path));
  }
  if (std::filesystem::exists(dir + "/" + std::string(kCalendarFile), ec)) {
    GONGSHU_TRY(WorkCalendar cal, WorkCalendar::load_dir(dir));
    out.calendar = std::make_shared<const WorkCalendar>(std::move(cal));
  } else {
    GONGSHU_TRY(WorkCalendar cal, WorkCalendar::parse("(no calendar.toml)", "[calendar]\n"));
    out.calendar = std::make_shared<const WorkCalendar>(std::move(cal));
  }
  return out;
}

void AlertEvaluator::reset(const AlertRules* rules) {
  rules_ = rules;
  state_.clear();
  state_.resize(rules ? rules->rules.size() : 0);
}

size_t AlertEvaluator::tracked() const {
  size_t n = 0;
  for (const auto& s : state_) n += s.by_principal.size();
  return n;
}

size_t AlertEvaluator::tracked_subjects() const {
  size_t n = 0;
  for (const auto& s : state_) {
    for (const auto& [k, w] : s.by_principal) n += w.subjects.size();
  }
  return n;
}

AlertEvaluator::Window& AlertEvaluator::window_for(RuleState& st, std::string_view principal,
                                                   int64_t now_ms) {
  auto it = st.by_principal.find(std::string(principal));
  if (it != st.by_principal.end()) return it->second;
  // At the bound, the principal idle longest makes room: a flood of principals costs a
  // forgotten window, never memory.
  if (st.by_principal.size() >= rules_->max_tracked) {
    auto oldest = st.by_principal.begin();
    for (auto i = st.by_principal.begin(); i != st.by_principal.end(); ++i) {
      if (i->second.last_ms < oldest->second.last_ms) oldest = i;
    }
    st.by_principal.erase(oldest);
  }
  Window& w = st.by_principal[std::string(principal)];
  w.last_ms = now_ms;
  return w;
}

uint64_t AlertEvaluator::add_to(Window& w, const AlertRule& r, int64_t now_ms, uint64_t n) {
  const int64_t bucket_ms = std::max<int64_t>(r.window_s * 1000 / Window::kBuckets, 1);
  const int64_t b = now_ms / bucket_ms;
  if (b - w.last_bucket >= Window::kBuckets) {
    w.rows.fill(0);
  } else {
    for (int64_t i = w.last_bucket + 1; i <= b; ++i) w.rows[size_t(i % Window::kBuckets)] = 0;
  }
  if (b > w.last_bucket) w.last_bucket = b;
  w.rows[size_t(w.last_bucket % Window::kBuckets)] += n;
  uint64_t sum = 0;
  for (uint64_t v : w.rows) sum += v;
  return sum;
}

std::vector<Firing> AlertEvaluator::observe(const AlertFact& f) {
  std::vector<Firing> out;
  if (!rules_) return out;
  const auto role = parse_role(f.role);
  for (size_t i = 0; i < rules_->rules.size(); ++i) {
    const AlertRule& r = rules_->rules[i];
    if (r.roles && (!role || !(r.roles & bit(*role)))) continue;
    const bool grade_ok = !r.grades || (f.grade && (r.grades & bit(*f.grade)));
    auto fire = [&](uint64_t measured, uint64_t threshold, std::string text) {
      out.push_back(Firing{&r, measured, threshold, std::move(text)});
    };
    const std::string who = std::string(f.role) + " " + std::string(f.principal);
    const std::string on = f.dataset.empty() ? "" : " on " + std::string(f.dataset);
    switch (r.kind) {
      case AlertKind::kBulkRead: {
        if (f.denied || !grade_ok || !r.counts_action(f.action)) break;
        Window& w = window_for(state_[i], f.principal, f.time_ms);
        w.last_ms = f.time_ms;
        const uint64_t rows = add_to(w, r, f.time_ms, f.records);
        uint64_t subjects = 0;
        if (r.max_subjects && !f.subject_token.empty()) {
          // Tokens seen within the window; at most max_subjects + 1 are ever held.
          const int64_t horizon = f.time_ms - r.window_s * 1000;
          for (auto s = w.subjects.begin(); s != w.subjects.end();) {
            s = s->second < horizon ? w.subjects.erase(s) : std::next(s);
          }
          w.subjects[std::string(f.subject_token)] = f.time_ms;
          subjects = w.subjects.size();
        }
        const std::string window = " within " + std::to_string(r.window_s) + " s";
        if (r.max_rows && rows > r.max_rows) {
          fire(rows, r.max_rows,
               who + " read " + std::to_string(rows) + " rows" + window + " (threshold " +
                   std::to_string(r.max_rows) + ")" + on);
          state_[i].by_principal.erase(std::string(f.principal));
        } else if (r.max_subjects && subjects > r.max_subjects) {
          fire(subjects, r.max_subjects,
               who + " read records of " + std::to_string(subjects) + " distinct subjects" +
                   window + " (threshold " + std::to_string(r.max_subjects) + ")" + on);
          state_[i].by_principal.erase(std::string(f.principal));
        }
        break;
      }
      case AlertKind::kDenials: {
        if (!f.denied || !grade_ok) break;
        if (!r.actions.empty() && !r.counts_action(f.action)) break;
        Window& w = window_for(state_[i], f.principal, f.time_ms);
        w.last_ms = f.time_ms;
        const uint64_t n = add_to(w, r, f.time_ms, 1);
        if (n > r.max_denials) {
          fire(n, r.max_denials,
               who + " was denied " + std::to_string(n) + " times within " +
                   std::to_string(r.window_s) + " s (threshold " + std::to_string(r.max_denials) +
                   "); last: " + std::string(f.action) + on);
          state_[i].by_principal.erase(std::string(f.principal));
        }
        break;
      }
      case AlertKind::kOffHours: {
        if (f.denied || !grade_ok || !r.counts_action(f.action)) break;
        bool work_day = (r.work_days >> f.weekday) & 1;
        // The calendar's days: a public holiday is off whatever its weekday, and an adjusted
        // working day (调休, a weekend day worked) is a working day.
        std::string day_note;
        if (r.use_calendar && rules_->calendar) {
          if (rules_->calendar->is_adjusted_workday(f.local_date)) {
            work_day = true;
          } else if (rules_->calendar->is_holiday(f.local_date)) {
            work_day = false;
            day_note = ", a public holiday";
          }
        }
        const bool in_hours =
            f.local_minute >= r.work_from_minute && f.local_minute < r.work_to_minute;
        if (work_day && in_hours) break;
        fire(uint64_t(f.local_minute), 0,
             who + " " + std::string(f.action) + on + " at " + hm_text(f.local_minute) + " " +
                 std::string(kDayNames[size_t(f.weekday) % 7]) + " local time (" +
                 date_text(f.local_date) + day_note + "), outside " + hm_text(r.work_from_minute) +
                 "-" + hm_text(r.work_to_minute) + " on working days");
        break;
      }
      case AlertKind::kThirdParty: {
        if (f.company.empty() || !grade_ok || !r.counts_action(f.action)) break;
        fire(f.records, 0,
             "third party " + who + " of " + std::string(f.company) + ": " + std::string(f.action) +
                 on + (f.denied ? " (denied)" : "") + ", " + std::to_string(f.records) +
                 " records");
        break;
      }
      case AlertKind::kSensitiveRead: {
        if (f.denied || !grade_ok || !f.grade || !r.counts_action(f.action)) break;
        fire(f.records, 0,
             who + " " + std::string(f.action) + " " + std::to_string(f.records) + " records of " +
                 std::string(grade_name(*f.grade)) + "-grade data" + on);
        break;
      }
      default:
        break;  // timer rules
    }
  }
  return out;
}

int64_t update_period_ms(std::string_view frequency) {
  constexpr int64_t kDay = 86'400'000;
  if (frequency == "realtime") return 10 * 60'000;
  if (frequency == "daily") return kDay;
  if (frequency == "weekly") return 7 * kDay;
  if (frequency == "monthly") return 31 * kDay;
  if (frequency == "quarterly") return 92 * kDay;
  if (frequency == "yearly") return 366 * kDay;
  return 0;
}

std::optional<Firing> agent_silent(const AlertRule& r, const AgentSample& a, int64_t now_ms) {
  int64_t allowed = a.expected_ms ? int64_t(double(a.expected_ms) * r.factor) : 0;
  if (r.max_silence_s && (!allowed || allowed > r.max_silence_s * 1000))
    allowed = r.max_silence_s * 1000;
  if (!allowed || now_ms - a.last_seen_ms <= allowed) return std::nullopt;
  const int64_t silent_s = (now_ms - a.last_seen_ms) / 1000;
  return Firing{&r, uint64_t(silent_s), uint64_t(allowed / 1000),
                "agent " + a.key_id + " of " + a.agency + " silent for " +
                    std::to_string(silent_s) + " s (allowed " + std::to_string(allowed / 1000) +
                    " s by its datasets' update frequency)"};
}

std::optional<Firing> spool_backlog(const AlertRule& r, const AgentSample& a) {
  if (!a.backlog_reported || a.backlog <= r.max_backlog || a.backlog <= a.previous_backlog)
    return std::nullopt;
  return Firing{&r, a.backlog, r.max_backlog,
                "agent " + a.key_id + " of " + a.agency + " reports " + std::to_string(a.backlog) +
                    " records spooled and growing (was " + std::to_string(a.previous_backlog) +
                    "; threshold " + std::to_string(r.max_backlog) + ")"};
}

std::optional<Firing> objection_overdue(const AlertRule& r, const ObjectionSample& o,
                                        const WorkCalendar* cal, int64_t now_ms) {
  if (!o.open || o.deadline_ms <= 0 || now_ms < o.deadline_ms) return std::nullopt;
  constexpr int64_t kDayMs = 86'400'000;
  // The last day allowed is the local day before the (exclusive) deadline instant.
  const int64_t last_allowed_ms = o.deadline_ms - 1;
  uint64_t overdue = 0;
  if (cal) {
    if (r.grace_working_days && now_ms < cal->deadline_after(last_allowed_ms, r.grace_working_days))
      return std::nullopt;
    overdue = cal->working_days_between(last_allowed_ms, now_ms);
  } else {
    overdue = uint64_t((now_ms - o.deadline_ms) / kDayMs + 1);
    if (overdue <= r.grace_working_days) return std::nullopt;
  }
  const CivilDate due = WorkCalendar::local_day(last_allowed_ms);
  std::string text =
      "objection " + o.id + " on dataset " + o.dataset + ", assigned to " + o.assigned_agency;
  if (!o.provider_agency.empty() && o.provider_agency != o.assigned_agency)
    text += " (provider " + o.provider_agency + ")";
  text += ", is still open past its deadline (end of " + date_text(due) +
          " Asia/Shanghai): " + std::to_string(overdue) + " working day" +
          (overdue == 1 ? "" : "s") + " overdue";
  if (r.grace_working_days) text += " (grace " + std::to_string(r.grace_working_days) + ")";
  return Firing{&r, overdue, r.grace_working_days, std::move(text)};
}

std::optional<Firing> checkpoint_stalled(const AlertRule& r, uint64_t tree_size,
                                         uint64_t checkpoint_size, int64_t stalled_ms) {
  if (tree_size <= checkpoint_size) return std::nullopt;
  const int64_t age_s = stalled_ms / 1000;
  if (age_s < r.stall_s) return std::nullopt;
  return Firing{&r, uint64_t(age_s), uint64_t(r.stall_s),
                "the audit checkpoint has not advanced for " + std::to_string(age_s) +
                    " s: " + std::to_string(tree_size - checkpoint_size) +
                    " entries are not covered by a signed checkpoint (checkpoint at " +
                    std::to_string(checkpoint_size) + ", log at " + std::to_string(tree_size) +
                    ")"};
}

}  // namespace gongshu::policy
