#include "tools/audit/report.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "tools/audit/common.h"

namespace gongshu::audit_cli {
namespace {

// How far back (entry time) a read_withheld entry's withheld_entry is looked for: the leader
// appends it when it withholds the answer, within api_sync_wait_ms (at most 25 s) of the read.
constexpr int64_t kWithheldWithinMs = 10 * 60'000;

// Parses "YYYY-MM-DD" strictly (digits only, a real calendar day).
std::optional<CivilDate> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lens[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (size_t j = starts[i]; j < starts[i] + lens[i]; ++j) {
      if (s[j] < '0' || s[j] > '9') return std::nullopt;
      parts[i] = parts[i] * 10 + (s[j] - '0');
    }
  }
  if (!is_valid_civil_date(parts[0], unsigned(parts[1]), unsigned(parts[2]))) return std::nullopt;
  return CivilDate{parts[0], unsigned(parts[1]), unsigned(parts[2])};
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string or_none(const std::string& s) { return s.empty() ? std::string(kNone) : s; }

Event event_of(uint64_t seq, const v1::AuditEntry& e) {
  Event ev;
  ev.seq = seq;
  ev.time_ms = e.time_ms();
  ev.action = e.action();
  ev.key_id = e.principal().key_id();
  ev.role = e.principal().role();
  ev.agency = e.principal().agency();
  ev.dataset = e.dataset();
  ev.decision = decision_text(e.decision());
  ev.records = e.record_count();
  ev.detail = e.detail();
  return ev;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "severity=critical kind=bulk_read; text": the leading key=value words up to the first ';'.
void parse_alert_detail(const std::string& detail, Alert& a) {
  std::string_view d = detail;
  size_t semi = d.find(';');
  std::string_view head = d.substr(0, semi);
  a.text = semi == std::string_view::npos ? std::string() : std::string(d.substr(semi + 1));
  while (!a.text.empty() && a.text.front() == ' ') a.text.erase(a.text.begin());
  bool any = false;
  while (!head.empty()) {
    size_t sp = head.find(' ');
    std::string_view word = head.substr(0, sp);
    head.remove_prefix(sp == std::string_view::npos ? head.size() : sp + 1);
    size_t eq = word.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = word.substr(0, eq), v = word.substr(eq + 1);
    if (k == "severity") {
      a.severity = std::string(v);
      any = true;
    } else if (k == "kind") {
      a.kind = std::string(v);
      any = true;
    }
  }
  if (!any) a.text = detail;  // not the agreed form: keep it all as text
}

bool is_objection_answer(std::string_view action) {
  return action == "objection_upheld" || action == "objection_corrected" ||
         action == "objection_transferred";
}

// M of an ingest entry's "N accepted, M rejected"; 0 when the detail does not say.
uint64_t rejected_count(std::string_view detail) {
  size_t at = detail.find(" rejected");
  if (at == std::string_view::npos) return 0;
  size_t start = at;
  while (start > 0 && detail[start - 1] >= '0' && detail[start - 1] <= '9') --start;
  if (start == at || at - start > 18) return 0;
  uint64_t n = 0;
  for (size_t i = start; i < at; ++i) n = n * 10 + uint64_t(detail[i] - '0');
  return n;
}

// The time of "deadline 2026-11-27T03:02:30Z" in a detail, if it is there and well formed.
std::optional<int64_t> deadline_in(std::string_view detail) {
  constexpr std::string_view kWord = "deadline ";
  size_t at = detail.find(kWord);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view t = detail.substr(at + kWord.size());
  if (t.size() < 20 || t[10] != 'T' || t[19] != 'Z' || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  auto date = parse_date(t.substr(0, 10));
  if (!date) return std::nullopt;
  int hms[3];
  for (int i = 0; i < 3; ++i) {
    char a = t[11 + 3 * i], b = t[12 + 3 * i];
    if (a < '0' || a > '9' || b < '0' || b > '9') return std::nullopt;
    hms[i] = (a - '0') * 10 + (b - '0');
  }
  if (hms[0] > 23 || hms[1] > 59 || hms[2] > 60) return std::nullopt;
  return days_from_civil(*date) * kDayMs + (hms[0] * 3600 + hms[1] * 60 + hms[2]) * 1000LL;
}

}  // namespace

size_t ReportPeriod::day_index(int64_t ms) const {
  return static_cast<size_t>((ms - begin_ms) / kDayMs);
}

std::optional<ReportPeriod> parse_period(std::string_view from, std::string_view to, Reason* why) {
  // The caller marks msgid with tr_noop(); reason() (report.h) gives it in both languages.
  auto refuse = [why](const char* msgid, std::initializer_list<std::string> args) {
    *why = reason(msgid, args);
    return std::nullopt;
  };
  auto f = parse_date(from);
  if (!f) {
    return refuse(tr_noop("--from '{}': not a date (YYYY-MM-DD, e.g. 2026-03-01)"),
                  {printable(from)});
  }
  auto t = parse_date(to);
  if (!t) {
    return refuse(tr_noop("--to '{}': not a date (YYYY-MM-DD, e.g. 2026-03-31)"), {printable(to)});
  }
  ReportPeriod p;
  p.from = *f;
  p.to = *t;
  p.first_day = days_from_civil(*f);
  const int64_t last_day = days_from_civil(*t);
  if (last_day < p.first_day) {
    return refuse(tr_noop("--to {} is before --from {}"), {std::string(to), std::string(from)});
  }
  if (last_day - p.first_day + 1 > kMaxReportDays) {
    return refuse(
        tr_noop("the period {} .. {} is longer than {} days: make one report per year or less"),
        {std::string(from), std::string(to), std::to_string(kMaxReportDays)});
  }
  p.begin_ms = p.first_day * kDayMs - kBeijingOffsetMs;
  p.end_ms = (last_day + 1) * kDayMs - kBeijingOffsetMs;
  return p;
}

Result<ReportPeriod> parse_period(std::string_view from, std::string_view to) {
  Reason why;
  auto p = parse_period(from, to, &why);
  if (!p) return fail(ErrorCode::kInvalidArgument, why.english);
  return *p;
}

CivilDate beijing_date(int64_t ms) {
  return civil_from_days(floor_div(ms + kBeijingOffsetMs, kDayMs));
}

std::string date_text(CivilDate d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string beijing_time_text(int64_t ms) {
  const int64_t local = ms + kBeijingOffsetMs;
  const int64_t secs = floor_div(local, 1000);
  const int64_t rem = secs - floor_div(secs, 86400) * 86400;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s %02d:%02d:%02d", date_text(beijing_date(ms)).c_str(),
                int(rem / 3600), int(rem / 60 % 60), int(rem % 60));
  return buf;
}

void DaySeries::add(size_t day, uint64_t n) {
  const auto d = static_cast<uint32_t>(day);
  if (!points_.empty() && points_.back().first == d) {
    points_.back().second += n;
    return;
  }
  if (points_.empty() || points_.back().first < d) {
    points_.emplace_back(d, n);
    return;
  }
  auto it = std::lower_bound(points_.begin(), points_.end(), std::make_pair(d, uint64_t{0}));
  if (it != points_.end() && it->first == d) {
    it->second += n;
  } else {
    points_.insert(it, {d, n});
  }
}

uint64_t DaySeries::at(size_t day) const {
  auto it = std::lower_bound(points_.begin(), points_.end(),
                             std::make_pair(static_cast<uint32_t>(day), uint64_t{0}));
  return it != points_.end() && it->first == day ? it->second : 0;
}

std::vector<uint64_t> DaySeries::dense(size_t days) const {
  std::vector<uint64_t> out(days, 0);
  for (const auto& [d, n] : points_)
    if (d < days) out[d] += n;
  return out;
}

std::vector<std::pair<std::string, const AccessRow*>> ranked(const Breakdown& b) {
  std::vector<std::pair<std::string, const AccessRow*>> out;
  out.reserve(b.size());
  for (const auto& [k, row] : b) out.emplace_back(k, &row);
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    return x.second->total() > y.second->total();
  });
  return out;
}

bool is_data_access(std::string_view action) {
  return action == "read" || action == "query_subject" || action == "download" ||
         action == "export" || action == "aggregate";
}

std::string ref_value(const v1::AuditEntry& e, std::string_view kind) {
  for (const auto& r : e.refs())
    if (r.kind() == kind) return r.value();
  return {};
}

AlertSummary summarize_alerts(const std::vector<Alert>& alerts) {
  AlertSummary s;
  std::vector<int64_t> delays;
  for (const Alert& a : alerts) {
    s.raised++;
    s.by_rule[or_none(a.rule)]++;
    s.by_severity[or_none(a.severity)]++;
    if (auto d = a.ack_delay_ms()) {
      s.acknowledged++;
      delays.push_back(*d);
    } else {
      s.open++;
    }
  }
  if (!delays.empty()) {
    std::sort(delays.begin(), delays.end());
    const size_t n = delays.size();
    s.median_delay_ms = n % 2 ? delays[n / 2] : (delays[n / 2 - 1] + delays[n / 2]) / 2;
    s.max_delay_ms = delays.back();
  }
  return s;
}

ObjectionSummary summarize_objections(const ReportFigures& f) {
  ObjectionSummary s;
  std::vector<int64_t> delays;
  for (const Objection& o : f.objections) {
    s.filed++;
    if (auto d = o.answer_delay_ms()) {
      s.answered++;
      delays.push_back(*d);
    } else {
      s.open++;
      if (o.deadline_ms && *o.deadline_ms < f.export_last_ms) s.open_past_deadline++;
    }
  }
  if (!delays.empty()) {
    std::sort(delays.begin(), delays.end());
    const size_t n = delays.size();
    s.median_answer_ms = n % 2 ? delays[n / 2] : (delays[n / 2 - 1] + delays[n / 2]) / 2;
    s.max_answer_ms = delays.back();
  }
  return s;
}

ReportBuilder::ReportBuilder(ReportPeriod period) { f_.period = period; }

void ReportBuilder::add(uint64_t seq, std::optional<v1::AuditEntry> entry) {
  pending_.emplace_back(seq, std::move(entry));
}

void ReportBuilder::checkpoint(uint64_t tree_size) {
  size_t n = 0;
  for (; n < pending_.size() && pending_[n].first <= tree_size; ++n) {
    auto& [seq, e] = pending_[n];
    f_.entries_read++;
    if (!e) {
      f_.undecodable++;
      if (f_.undecodable_seqs.size() < 100) f_.undecodable_seqs.push_back(seq);
      continue;
    }
    count(seq, *e);
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
}

ReportFigures ReportBuilder::finish(ExportFacts source) && {
  f_.unsigned_tail = pending_.size();
  pending_.clear();
  for (auto& [id, row] : f_.agreements) {
    auto k = agreement_kind_.find(id);
    if (k != agreement_kind_.end()) row.kind = k->second;
  }
  f_.source = std::move(source);
  return std::move(f_);
}

void ReportBuilder::count_alert_ack(const v1::AuditEntry& e) {
  const std::string id = ref_value(e, "alert");
  auto it = alert_index_.find(id);
  if (it == alert_index_.end()) {
    // An alert raised before the period (or before the export): acknowledged in the period.
    if (f_.period.contains(e.time_ms())) f_.acks_of_earlier_alerts++;
    return;
  }
  Alert& a = f_.alerts[it->second];
  if (a.acked_ms) return;  // the first acknowledgement counts
  a.acked_ms = e.time_ms();
  a.acked_seq = e.seq();
  a.acked_by = e.principal().key_id() + " (" + e.principal().role() + ")";
  a.note = e.detail();
}

void ReportBuilder::count(uint64_t seq, const v1::AuditEntry& e) {
  const std::string& action = e.action();
  if (action == "agreement_apply") {
    const std::string id = ref_value(e, "agreement");
    const std::string kind = ref_value(e, "kind");
    if (!id.empty() && !kind.empty()) agreement_kind_[id] = kind;
  }
  // Acknowledgements and answers are matched to alerts and objections of the period wherever
  // they fall in the export.
  if (action == "alert_acknowledged") count_alert_ack(e);
  if (is_objection_answer(action)) count_objection_answer(e);
  if (action == "read_withheld") give_back(e);
  f_.export_last_ms = std::max(f_.export_last_ms, e.time_ms());
  const int64_t t = e.time_ms();
  if (!f_.period.contains(t)) return;
  const size_t day = f_.period.day_index(t);
  f_.in_period++;
  if (!f_.first_ms || t < *f_.first_ms) f_.first_ms = t;
  if (!f_.last_ms || t > *f_.last_ms) f_.last_ms = t;
  f_.actions[action]++;

  const bool denied = e.decision() == v1::DECISION_DENY;
  const uint64_t records = denied ? 0 : e.record_count();
  const std::string agreement = ref_value(e, "agreement");
  const std::string& role = e.principal().role();

  if (is_data_access(action)) {
    auto add_row = [&](Breakdown& b, const std::string& key) {
      AccessRow& r = b[or_none(key)];
      (denied ? r.denied : r.allowed)++;
      r.records += records;
      r.per_day.add(day, 1);
    };
    (denied ? f_.access_denied : f_.access_allowed)++;
    f_.access_records += records;
    if (records > 0) {
      while (!recent_deliveries_.empty() &&
             recent_deliveries_.begin()->second.entry.time_ms() < t - kWithheldWithinMs)
        recent_deliveries_.erase(recent_deliveries_.begin());
      recent_deliveries_[seq] = Delivery{e, day};
    }
    (denied ? f_.day_denied : f_.day_allowed).add(day, 1);
    f_.day_records.add(day, records);
    add_row(f_.by_dataset, e.dataset());
    add_row(f_.by_agency, e.principal().agency());
    add_row(f_.by_role, role);
    add_row(f_.by_purpose, e.purpose());
    add_row(f_.by_action, action);
    if (!denied) add_row(f_.by_mask, ref_value(e, "mask"));
    if (!denied && agreement.empty() && role == "public")
      add_row(f_.open_unconditional, e.dataset());
    if (!agreement.empty()) {
      AgreementRow& a = f_.agreements[agreement];
      if (denied) {
        a.denied++;
        // The daemon's refusal text in the entry's detail: protocol words, matched, not shown.
        constexpr std::string_view kQuota = "row quota";  // i18n-exempt: matched, not shown
        if (e.detail().find(kQuota) != std::string::npos) a.quota_refusals++;
      } else {
        a.accesses++;
        a.records += records;
        a.per_day.add(day, records);
      }
      if (!e.dataset().empty()) a.datasets.insert(e.dataset());
      a.users.insert(!e.principal().agency().empty() ? e.principal().agency()
                                                     : role + "/" + e.principal().key_id());
    }
  } else if (starts_with(action, "agreement_") && !agreement.empty()) {
    f_.agreements[agreement].workflow.push_back(event_of(seq, e));
  }

  if (denied) {
    f_.denials++;
    f_.day_denials.add(day, 1);
    DenialRow& d = f_.denials_by_rule[or_none(e.policy_rule())];
    d.count++;
    d.actions[action]++;
    d.roles[or_none(role)]++;
    d.per_day.add(day, 1);
    if (d.last.seq == 0 || t >= d.last.time_ms) d.last = event_of(seq, e);
  }

  if (action == "alert_raised") {
    Alert a;
    a.id = ref_value(e, "alert");
    a.rule = e.policy_rule();
    a.principal = e.principal().key_id() + " (" + role + ")" +
                  (e.principal().agency().empty() ? "" : ", " + e.principal().agency());
    a.seq = seq;
    a.raised_ms = t;
    parse_alert_detail(e.detail(), a);
    if (!a.id.empty()) alert_index_.emplace(a.id, f_.alerts.size());
    f_.alerts.push_back(std::move(a));
  }

  const std::string company = ref_value(e, "third_party");
  if (!company.empty()) {
    Company& c = f_.third_parties[company];
    c.entries++;
    c.records += records;
    if (denied) c.denied++;
    c.actions[action]++;
    c.principals.insert(e.principal().key_id());
    const int64_t bj_day = floor_div(t + kBeijingOffsetMs, kDayMs);
    Session& s = c.sessions[{e.principal().key_id(), bj_day}];
    if (s.entries == 0) {
      s.key_id = e.principal().key_id();
      s.role = role;
      s.agency = e.principal().agency();
      s.first_ms = s.last_ms = t;
    }
    s.first_ms = std::min(s.first_ms, t);
    s.last_ms = std::max(s.last_ms, t);
    s.entries++;
    s.records += records;
    if (denied) s.denied++;
    s.actions[action]++;
  }

  if (starts_with(action, "dataset_destroy")) f_.destruction.push_back(event_of(seq, e));

  if (action == "ingest" || action == "ingest_refused" || action == "ingest_duplicate") {
    QualityRow& q = f_.quality[or_none(e.principal().agency())][or_none(e.dataset())];
    if (action == "ingest_refused") {
      q.refused++;
    } else if (action == "ingest_duplicate") {
      q.duplicates++;
    } else {
      q.batches++;
      q.accepted += e.record_count();
      q.rejected += rejected_count(e.detail());
    }
  }
  if (starts_with(action, "objection_")) {
    f_.objection_actions[action]++;
    if (is_objection_answer(action)) {
      f_.objection_answers[action]++;
      if (e.detail().find("(overdue)") != std::string::npos) f_.objection_answers_overdue++;
    }
  }
  if (starts_with(action, "consent_")) f_.consent_actions[action]++;
  if (action == "objection_filed") {
    Objection o;
    o.id = ref_value(e, "objection");
    o.dataset = e.dataset();
    o.assigned_agency = ref_value(e, "assigned_agency");
    o.filed_by = e.principal().key_id() + " (" + role + ")" +
                 (e.principal().agency().empty() ? "" : ", " + e.principal().agency());
    o.seq = seq;
    o.filed_ms = t;
    o.records = e.record_count();
    o.deadline_ms = deadline_in(e.detail());
    if (!o.id.empty()) objection_index_.emplace(o.id, f_.objections.size());
    f_.objections.push_back(std::move(o));
  }
}

void ReportBuilder::give_back(const v1::AuditEntry& w) {
  // One ref per entry of the withheld read (a lookup makes one per dataset): each entry's
  // records come out; the read counts once.
  bool any = false;
  for (const auto& r : w.refs()) {
    if (r.kind() != "withheld_entry") continue;
    uint64_t seq = 0;
    const std::string& named = r.value();
    if (std::from_chars(named.data(), named.data() + named.size(), seq).ec != std::errc{}) continue;
    auto it = recent_deliveries_.find(seq);
    if (it == recent_deliveries_.end()) continue;  // not counted as delivered in this report
    take_back(it->second.entry, it->second.day);
    recent_deliveries_.erase(it);  // a second read_withheld naming it takes nothing more
    any = true;
  }
  if (any) f_.withheld_reads++;
}

void ReportBuilder::take_back(const v1::AuditEntry& e, size_t day) {
  const uint64_t n = e.record_count();
  auto take = [n](uint64_t& v) { v -= std::min(v, n); };
  const uint64_t minus = uint64_t{0} - n;  // DaySeries sums modulo 2^64: a day's n taken out
  f_.withheld_records += n;
  take(f_.access_records);
  f_.day_records.add(day, minus);
  take(f_.by_dataset[or_none(e.dataset())].records);
  take(f_.by_agency[or_none(e.principal().agency())].records);
  take(f_.by_role[or_none(e.principal().role())].records);
  take(f_.by_purpose[or_none(e.purpose())].records);
  take(f_.by_action[or_none(e.action())].records);
  take(f_.by_mask[or_none(ref_value(e, "mask"))].records);
  const std::string agreement = ref_value(e, "agreement");
  if (!agreement.empty()) {
    AgreementRow& a = f_.agreements[agreement];
    take(a.records);
    a.per_day.add(day, minus);
  }
  const std::string company = ref_value(e, "third_party");
  if (!company.empty()) {
    Company& c = f_.third_parties[company];
    take(c.records);
    const int64_t bj_day = floor_div(e.time_ms() + kBeijingOffsetMs, kDayMs);
    auto s = c.sessions.find({e.principal().key_id(), bj_day});
    if (s != c.sessions.end()) take(s->second.records);
  }
}

void ReportBuilder::count_objection_answer(const v1::AuditEntry& e) {
  auto it = objection_index_.find(ref_value(e, "objection"));
  if (it == objection_index_.end()) return;
  Objection& o = f_.objections[it->second];
  if (o.answered_ms) return;
  o.answer = e.action();
  o.answered_ms = e.time_ms();
  o.answered_overdue = e.detail().find("(overdue)") != std::string::npos;
}

}  // namespace gongshu::audit_cli
