#include "daemon/alerts.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "core/util/clock.h"
#include "core/util/failpoint.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "core/util/printable.h"
#include "daemon/objections.h"
#include "daemon/stored.pb.h"

extern char** environ;

namespace gongshu::daemon {
namespace {

constexpr size_t kMaxNote = 2000;
constexpr uint32_t kDefaultList = 200;
constexpr uint32_t kMaxList = 10'000;
// meta key: every alert up to this id was announced (daemon/alerts.h).
constexpr std::string_view kAnnouncedKey = "alerts_announced_up_to";

// Local minute of the day, weekday and date of t in the process's zone (settled by set_rules or
// run()), through the C library's reading of tzdata.
void local_time(int64_t ms, policy::AlertFact& f) {
  time_t t = time_t(ms / 1000);
  struct tm tm {};
  if (!::localtime_r(&t, &tm)) return;
  f.local_minute = tm.tm_hour * 60 + tm.tm_min;
  f.weekday = tm.tm_wday;
  f.local_date = CivilDate{tm.tm_year + 1900, unsigned(tm.tm_mon + 1), unsigned(tm.tm_mday)};
}

std::string_view ref_of(const v1::AuditEntry& e, std::string_view kind) {
  for (const auto& r : e.refs()) {
    if (r.kind() == kind) return r.value();
  }
  return {};
}

bool timer_kind(policy::AlertKind k) {
  return k == policy::AlertKind::kAgentSilent || k == policy::AlertKind::kCheckpointStalled ||
         k == policy::AlertKind::kSpoolBacklog || k == policy::AlertKind::kObjectionOverdue;
}

// Roles of people: only they can be third-party staff (agents enroll; the daemon is itself).
bool person_role(std::string_view role) {
  return role != "agent" && role != "daemon" && role != "public" && !role.empty();
}

void put_ms(JsonWriter& w, std::string_view key, int64_t ms) {
  w.key(key);
  if (ms) {
    w.value(format_utc(ms * 1'000'000));
  } else {
    w.null();
  }
}

}  // namespace

std::string alert_key(uint64_t id) {
  std::string s = std::to_string(id);
  return std::string(20 - std::min<size_t>(s.size(), 20), '0') + s;
}

std::string alert_json(const v1::Alert& a) {
  JsonWriter w;
  w.begin_object()
      .field("id", a.id())
      .field("rule", a.rule())
      .field("kind", a.kind())
      .field("severity", a.severity());
  put_ms(w, "raised_at", a.raised_at_ms());
  w.field("raised_at_ms", int64_t(a.raised_at_ms()))
      .field("principal", a.principal())
      .field("role", a.role())
      .field("agency", a.agency())
      .field("dataset", a.dataset())
      .field("company", a.company())
      .field("text", a.text())
      .field("measured", uint64_t(a.measured()))
      .field("threshold", uint64_t(a.threshold()))
      .field("about", a.about())
      .field("audit_seq", uint64_t(a.audit_seq()))
      .field("trigger_seq", uint64_t(a.trigger_seq()))
      .field("acknowledged", a.acknowledged());
  if (a.acknowledged()) {
    put_ms(w, "acknowledged_at", a.acknowledged_at_ms());
    w.field("acknowledged_by", a.acknowledged_by())
        .field("note", a.note())
        .field("ack_seq", uint64_t(a.ack_seq()));
  }
  w.end_object();
  return w.str();
}

AlertService::AlertService(DaemonStore& store, CatalogView& catalog, Options options,
                           store::Table<std::string_view> alerts,
                           store::Table<std::string_view> open)
    : store_(store),
      catalog_(catalog),
      options_(std::move(options)),
      alerts_(std::move(alerts)),
      open_(std::move(open)) {
  if (options_.log) {
    log_ = options_.log;
  } else {
    own_log_ = std::make_unique<sys::Logger>("gongshud", sys::Logger::Target::kLine, 2);
    log_ = own_log_.get();
  }
}

Result<std::unique_ptr<AlertService>> AlertService::start(DaemonStore& store, CatalogView& catalog,
                                                          Options options) {
  using S = store::Table<std::string_view>;
  GONGSHU_TRY(S alerts, S::open(store.env(), "alerts"));
  GONGSHU_TRY(S open, S::open(store.env(), "alerts_open"));
  std::unique_ptr<AlertService> s(
      new AlertService(store, catalog, std::move(options), std::move(alerts), std::move(open)));
  // What was raised before this start: announced already (or lost with the process that raised
  // it), and the timer rules' latest alerts, so a restart does not raise them again.
  uint64_t newest = 0;
  std::optional<uint64_t> announced;
  {
    GONGSHU_TRY(store::ReadTxn txn, store.env().begin_read());
    auto cur = s->alerts_.cursor(txn);
    for (auto e = cur.first(); e; e = cur.next()) {
      v1::Alert a;
      if (!parse_value(e->value, a)) continue;
      newest = std::max<uint64_t>(newest, std::stoull(a.id()));
      if (auto k = policy::parse_alert_kind(a.kind()); k && timer_kind(*k)) {
        auto& last = s->last_raised_[a.rule() + "\n" + a.about()];
        last = std::max<int64_t>(last, a.raised_at_ms());
      }
    }
    if (auto v = store.db().meta.get(txn, kAnnouncedKey); v && v->size() == 8) {
      announced = store::parse_u64_key(*v);
    }
  }
  if (!announced) {
    // A store from before durable announcement: what it holds was announced by the process that
    // raised it (or lost with it); from now on the key says.
    announced = newest;
    GONGSHU_RETURN_IF_ERROR(store.env().update([&](store::WriteTxn& txn) -> Status {
      const auto v = store::u64_key(newest);
      return store.db().meta.put(txn, kAnnouncedKey, ByteView(v.data(), v.size()));
    }));
  }
  // Alerts after it were committed but never announced: the timer thread announces them first.
  s->announced_up_to_ = *announced;
  s->crash_before_announce_ = failpoint_enabled("alert_before_announce");
  if (s->crash_before_announce_)
    s->log_->warning(
        std::string(tr("alerts: failpoint alert_before_announce is on (GONGSHU_FAILPOINTS): this "
                       "process kills itself after the next alert commits; for tests only")));
  store.audit().set_hook(s.get());
  return s;
}

AlertService::~AlertService() {
  store_.audit().set_hook(nullptr);
  {
    std::lock_guard lock(qmu_);
    stopping_ = true;
  }
  qcv_.notify_all();
  tcv_.notify_all();
  if (timer_.joinable()) timer_.join();
  if (notifier_.joinable()) notifier_.join();
}

namespace {
// TZ is process-wide and setenv is not thread-safe (a getenv in another thread may read it
// half-written), so the zone of working hours is settled once, before the service's threads
// and the daemon's sockets start; a later change of timezone waits for the next start.
void settle_zone(const std::string& zone) {
  ::setenv("TZ", (":" + zone).c_str(), 1);
  ::tzset();
}
}  // namespace

void AlertService::set_rules(std::shared_ptr<const policy::AlertRules> rules) {
  std::lock_guard lock(mu_);
  if (rules && rules->timezone != zone_) {
    if (!running_) {
      settle_zone(rules->timezone);
      zone_ = rules->timezone;
    } else {
      log_->warning(
          trf("alerts: timezone {} takes effect at the next start; working hours stay "
              "in {} until then",
              rules->timezone, zone_));
    }
  }
  rules_ = std::move(rules);
  evaluator_.reset(rules_.get());
}

void AlertService::run() {
  {
    std::lock_guard lock(mu_);
    if (running_) return;
    if (zone_.empty()) {  // no rules loaded at start: the default zone of alerts.toml
      zone_ = policy::AlertRules{}.timezone;
      settle_zone(zone_);
    }
    running_ = true;
  }
  timer_ = std::thread([this] { timer_loop(); });
  notifier_ = std::thread([this] { notify_loop(); });
}

void AlertService::set_agents(std::function<std::map<std::string, AgentActivity>()> agents) {
  std::lock_guard lock(mu_);
  agents_ = std::move(agents);
}

std::shared_ptr<const policy::AlertRules> AlertService::rules() const {
  std::lock_guard lock(mu_);
  return rules_;
}

Status AlertService::before(store::WriteTxn& txn, v1::AuditEntry& entry) {
  const auto& who = entry.principal();
  if (!person_role(who.role()) || who.key_id().size() != 16) return {};
  auto v = store_.db().principals.get(txn, who.key_id());
  stored::Principal p;
  if (!v || !parse_value(*v, p) || !p.third_party()) return {};
  if (ref_of(entry, "third_party").empty()) add_ref(entry, "third_party", p.company());
  return {};
}

Status AlertService::after(store::WriteTxn& txn, const v1::AuditEntry& e,
                           const audit::Appended& appended) {
  std::lock_guard lock(mu_);
  if (!rules_ || rules_->rules.empty()) return {};
  policy::AlertFact f;
  f.time_ms = e.time_ms();
  f.principal = e.principal().key_id();
  f.role = e.principal().role();
  f.action = e.action();
  f.dataset = e.dataset();
  f.denied = e.decision() == v1::DECISION_DENY;
  f.records = e.record_count();
  f.subject_token = ref_of(e, "subject_token");
  f.company = ref_of(e, "third_party");
  if (!e.dataset().empty()) {
    auto snap = catalog_.snapshot();
    if (auto it = snap->find(e.dataset()); it != snap->end())
      f.grade = policy::parse_grade(it->second.entry().grade());
  }
  local_time(f.time_ms, f);
  auto firings = evaluator_.observe(f);
  for (const auto& fire : firings) {
    GONGSHU_RETURN_IF_ERROR(raise(txn, fire, &e, appended.seq, "", e.principal().agency()));
  }
  if (!firings.empty()) tcv_.notify_all();
  return {};
}

Result<std::string> AlertService::raise(store::WriteTxn& txn, const policy::Firing& fire,
                                        const v1::AuditEntry* trigger, uint64_t trigger_seq,
                                        const std::string& about, const std::string& agency,
                                        const std::string& dataset) {
  uint64_t id = 1;
  {
    auto cur = alerts_.cursor(txn);
    if (auto last = cur.last()) id = std::stoull(std::string(as_chars(last->key))) + 1;
  }
  // An alert an action raised is raised at that action's time: its audit entry, in the same
  // transaction, carries the trigger's time rather than a second, later clock reading.
  const int64_t now = trigger ? trigger->time_ms() : store_.clock().now_ms();
  v1::Alert a;
  a.set_id(std::to_string(id));
  a.set_rule(fire.rule->name);
  a.set_kind(std::string(policy::alert_kind_name(fire.rule->kind)));
  a.set_severity(std::string(policy::severity_name(fire.rule->severity)));
  a.set_raised_at_ms(now);
  a.set_text(fire.text);
  a.set_measured(fire.measured);
  a.set_threshold(fire.threshold);
  a.set_trigger_seq(trigger_seq);
  a.set_agency(agency);
  a.set_about(about);
  v1::AuditEntry e;
  if (trigger) {
    *e.mutable_principal() = trigger->principal();
    a.set_principal(trigger->principal().key_id());
    a.set_role(trigger->principal().role());
    a.set_dataset(trigger->dataset());
    a.set_company(std::string(ref_of(*trigger, "third_party")));
    e.set_dataset(trigger->dataset());
  } else {
    e.mutable_principal()->set_key_id(store_.daemon_key().public_key().key_id());
    e.mutable_principal()->set_role("daemon");
    a.set_principal(e.principal().key_id());
    a.set_role("daemon");
    a.set_dataset(dataset);
    e.set_dataset(dataset);
  }
  e.set_time_ms(now);
  e.set_action("alert_raised");
  e.set_policy_rule(fire.rule->name);
  add_ref(e, "alert", a.id());
  if (trigger_seq) add_ref(e, "trigger_seq", std::to_string(trigger_seq));
  if (!about.empty()) {
    const bool objection = fire.rule->kind == policy::AlertKind::kObjectionOverdue;
    add_ref(e, objection ? "objection" : about.size() == 16 ? "agent" : "about", about);
  }
  e.set_detail("severity=" + a.severity() + " kind=" + a.kind() + "; " + fire.text);
  GONGSHU_TRY(audit::Appended ap, store_.audit().append(txn, e));
  a.set_audit_seq(ap.seq);
  const std::string key = alert_key(id);
  GONGSHU_RETURN_IF_ERROR(alerts_.put(txn, key, as_bytes(a.SerializeAsString())));
  GONGSHU_RETURN_IF_ERROR(open_.put(txn, key, {}));
  ++figures_.raised;
  return a.id();
}

Status AlertService::check_timers() {
  // One check at a time (the thread's and a caller's): sampling, deciding and raising together.
  std::lock_guard timers(timers_mu_);
  std::shared_ptr<const policy::AlertRules> rules = this->rules();
  if (!rules) return {};
  if (options_.gate && !options_.gate->may_write()) return {};
  bool any = false;
  for (const auto& r : rules->rules) any = any || timer_kind(r.kind);
  if (!any) return {};
  const int64_t now = store_.clock().now_ms();

  bool objections = false;
  for (const auto& r : rules->rules) objections |= r.kind == policy::AlertKind::kObjectionOverdue;

  // Samples, outside the write transaction.
  std::vector<policy::AgentSample> agents;
  std::vector<policy::ObjectionSample> overdue;  // open objections past their deadline
  audit::TreeHead head;
  {
    GONGSHU_TRY(store::ReadTxn txn, store_.env().begin_read());
    head = store_.audit().head(txn);
    if (objections) {
      auto snap = catalog_.snapshot();
      auto cur = store_.db().objections.cursor(txn);
      for (auto e = cur.first(); e; e = cur.next()) {
        // Ids, states, agencies and the deadline only: the requester's text stays sealed.
        v1::ObjectionInfo o;
        if (!parse_value(e->value, o)) continue;
        auto st = parse_objection_state(o.state());
        if (!st || !objection_open(*st) || !o.deadline_ms() || now < o.deadline_ms()) continue;
        policy::ObjectionSample x;
        x.id = o.id();
        x.dataset = o.dataset();
        x.assigned_agency = o.assigned_agency();
        x.open = true;
        x.deadline_ms = o.deadline_ms();
        if (auto it = snap->find(o.dataset()); it != snap->end())
          x.provider_agency = it->second.entry().provider_agency();
        overdue.push_back(std::move(x));
      }
    }
    std::function<std::map<std::string, AgentActivity>()> source;
    {
      std::lock_guard lock(mu_);
      source = agents_;
    }
    auto activity = source ? source() : std::map<std::string, AgentActivity>{};
    auto snap = catalog_.snapshot();
    std::map<std::string, int64_t> period;  // agency -> shortest update period
    for (const auto& [id, schema] : *snap) {
      const auto& entry = schema.entry();
      int64_t p = policy::update_period_ms(entry.update_frequency());
      if (!p) continue;
      auto& slot = period[entry.provider_agency()];
      slot = slot ? std::min(slot, p) : p;
    }
    auto cur = store_.db().principals.cursor(txn);
    for (auto e = cur.first(); e; e = cur.next()) {
      stored::Principal p;
      if (!parse_value(e->value, p) || p.role() != "agent" || p.revoked()) continue;
      policy::AgentSample s;
      s.key_id = std::string(as_chars(e->key));
      s.agency = p.agency();
      s.last_seen_ms = std::max(p.last_seen_ms(), p.created_at_ms());
      if (auto it = period.find(p.agency()); it != period.end()) s.expected_ms = it->second;
      if (auto it = activity.find(s.key_id); it != activity.end()) {
        s.last_seen_ms = std::max(s.last_seen_ms, it->second.last_seen_ms);
        s.backlog_reported = it->second.backlog_reported;
        s.backlog = it->second.reported_backlog;
      }
      agents.push_back(std::move(s));
    }
  }

  struct Pending {
    policy::Firing fire;
    std::string about, agency, memo, dataset;
  };
  std::vector<Pending> due;
  {
    std::lock_guard lock(mu_);
    for (const auto& r : rules->rules) {
      auto raised_after = [&](const std::string& memo, int64_t since) {
        auto it = last_raised_.find(memo);
        return it != last_raised_.end() && it->second >= since;
      };
      switch (r.kind) {
        case policy::AlertKind::kAgentSilent:
          for (const auto& a : agents) {
            auto f = policy::agent_silent(r, a, now);
            std::string memo = r.name + "\n" + a.key_id;
            // One alert per silence: none again until the agent has been heard from since.
            if (f && !raised_after(memo, a.last_seen_ms))
              due.push_back({std::move(*f), a.key_id, a.agency, memo, ""});
          }
          break;
        case policy::AlertKind::kSpoolBacklog:
          for (auto a : agents) {
            std::string memo = r.name + "\n" + a.key_id;
            auto prev = backlog_.find(memo);
            a.previous_backlog = prev == backlog_.end() ? a.backlog : prev->second;
            if (prev == backlog_.end() && backlog_.size() < 100'000) backlog_[memo] = a.backlog;
            if (prev != backlog_.end()) prev->second = a.backlog;
            auto f = policy::spool_backlog(r, a);
            // One alert per episode: again only after the backlog fell below the threshold.
            if (a.backlog <= r.max_backlog) last_raised_.erase(memo);
            if (f && !last_raised_.count(memo))
              due.push_back({std::move(*f), a.key_id, a.agency, memo, ""});
          }
          break;
        case policy::AlertKind::kCheckpointStalled: {
          // Measured on the steady clock from when entries were first seen waiting behind this
          // checkpoint: a checkpoint that moves, however slowly, is not stalled.
          const int64_t steady = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count();
          if (head.size <= head.checkpoint_size || head.checkpoint_size != checkpoint_seen_) {
            checkpoint_seen_ = head.checkpoint_size;
            checkpoint_waiting_since_ = head.size > head.checkpoint_size ? steady : 0;
          } else if (!checkpoint_waiting_since_) {
            checkpoint_waiting_since_ = steady;
          }
          auto f = policy::checkpoint_stalled(
              r, head.size, head.checkpoint_size,
              checkpoint_waiting_since_ ? steady - checkpoint_waiting_since_ : 0);
          // One alert per stalled checkpoint.
          std::string about = "checkpoint " + std::to_string(head.checkpoint_size);
          std::string memo = r.name + "\n" + about;
          if (f && !last_raised_.count(memo)) due.push_back({std::move(*f), about, "", memo, ""});
          break;
        }
        case policy::AlertKind::kObjectionOverdue:
          for (const auto& o : overdue) {
            // Once per objection, ever (the memo is rebuilt from the stored alerts at start).
            std::string memo = r.name + "\n" + o.id;
            if (last_raised_.count(memo)) continue;
            if (auto f = policy::objection_overdue(r, o, rules->calendar.get(), now))
              due.push_back({std::move(*f), o.id, o.assigned_agency, memo, o.dataset});
          }
          break;
        default:
          break;
      }
    }
  }
  if (due.empty()) return {};
  GONGSHU_RETURN_IF_ERROR(store_.env().update([&](store::WriteTxn& txn) -> Status {
    for (const auto& d : due) {
      GONGSHU_RETURN_IF_ERROR(raise(txn, d.fire, nullptr, 0, d.about, d.agency, d.dataset));
    }
    return {};
  }));
  std::lock_guard lock(mu_);
  for (const auto& d : due) last_raised_[d.memo] = now;
  return {};
}

uint64_t AlertService::open_count(const store::Txn& txn) const { return open_.count(txn); }

void AlertService::announce_new() {
  // A replica's alerts are the leader's (applied write sets): the leader announces them, and
  // the replica's store takes no mark of its own.
  if (options_.gate && !options_.gate->may_write()) return;
  std::vector<v1::Alert> fresh;
  {
    auto txn = store_.env().begin_read();
    if (!txn) return;
    auto cur = alerts_.cursor(*txn);
    for (auto e = cur.seek(as_bytes(alert_key(announced_up_to_ + 1)));
         e && fresh.size() <= kMaxQueued; e = cur.next()) {
      v1::Alert a;
      if (parse_value(e->value, a)) fresh.push_back(std::move(a));
    }
  }
  if (!fresh.empty() && crash_before_announce_) failpoint_crash("alert_before_announce");
  const bool notify = !options_.config.notify_command.empty();
  uint64_t journaled = 0;  // without notify_command: announced once journaled
  for (const auto& a : fresh) {
    const uint64_t id = std::stoull(a.id());
    if (notify) {
      // Room in the queue first: an alert that cannot be queued waits in the store for the next
      // round, unannounced, rather than being dropped.
      std::lock_guard lock(qmu_);
      if (queue_.size() >= kMaxQueued) {
        std::lock_guard flock(mu_);
        ++figures_.notify_deferred;
        break;
      }
    }
    announced_up_to_ = std::max<uint64_t>(announced_up_to_, id);
    const auto level = a.severity() == "critical" ? sys::Level::kError : sys::Level::kWarning;
    // The alert's text is stored as written (English); the frame is in the daemon's language.
    log_->log(level, trf("alert {} ({}, {}): {}", a.id(), a.rule(), a.severity(), a.text()),
              {{"GONGSHU_ALERT_ID", a.id()},
               {"GONGSHU_ALERT_RULE", a.rule()},
               {"GONGSHU_ALERT_KIND", a.kind()},
               {"GONGSHU_ALERT_SEVERITY", a.severity()},
               {"GONGSHU_PRINCIPAL", a.principal()},
               {"GONGSHU_DATASET", a.dataset()},
               {"GONGSHU_ALERT_ABOUT", a.about()},
               {"GONGSHU_AUDIT_SEQ", std::to_string(a.audit_seq())}});
    {
      std::lock_guard lock(mu_);
      ++figures_.announced;
    }
    if (!notify) {
      journaled = id;
      continue;
    }
    std::lock_guard lock(qmu_);
    queue_.push_back(Queued{id, alert_json(a)});
    qcv_.notify_one();
  }
  if (journaled) mark_announced(journaled);
}

void AlertService::mark_announced(uint64_t id) {
  if (options_.gate && !options_.gate->may_write()) return;  // the next leader marks it
  auto s = store_.env().update([&](store::WriteTxn& txn) -> Status {
    // Only forward: the notifier and the timer thread never disagree on order, but a stale
    // writer must not move it back.
    if (auto v = store_.db().meta.get(txn, kAnnouncedKey); v && v->size() == 8) {
      if (auto old = store::parse_u64_key(*v); old && *old >= id) return {};
    }
    const auto k = store::u64_key(id);
    return store_.db().meta.put(txn, kAnnouncedKey, ByteView(k.data(), k.size()));
  });
  // Not recorded: the alert is announced again after the next start (at least once).
  if (!s)
    log_->warning(
        trf("alerts: could not record alert {} as announced: {}", id, s.error().message()));
}

void AlertService::timer_loop() {
  auto next_timers = std::chrono::steady_clock::now();
  std::unique_lock lock(qmu_);
  while (!stopping_) {
    lock.unlock();
    auto now = std::chrono::steady_clock::now();
    if (now >= next_timers) {
      if (auto s = check_timers(); !s)
        log_->warning(trf("alerts: the timer rules could not be checked: {}", s.error().message()));
      next_timers = now + std::chrono::milliseconds(options_.tick_ms);
    }
    announce_new();
    lock.lock();
    // Woken early when an action raised an alert (it is announced once committed).
    tcv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(options_.tick_ms, 200)));
  }
}

void AlertService::notify_loop() {
  // Run, whatever its exit (a failure is logged and counted), an alert is announced; the mark is
  // written once the queue is drained or every kMarkEvery alerts, so a flood costs few commits.
  // A stop while the command ran leaves it unmarked, and the next start runs it again.
  constexpr int kMarkEvery = 16;
  uint64_t unmarked = 0;
  int since_mark = 0;
  std::unique_lock lock(qmu_);
  while (true) {
    qcv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    run_notify(q.json);
    lock.lock();
    if (stopping_) return;
    unmarked = q.id;
    if (queue_.empty() || ++since_mark >= kMarkEvery) {
      lock.unlock();
      mark_announced(unmarked);
      since_mark = 0;
      lock.lock();
    }
  }
}

void AlertService::run_notify(const std::string& json) {
  auto count = [&](uint64_t Figures::*field) {
    std::lock_guard lock(mu_);
    ++(figures_.*field);
  };
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    log_->warning(trf("alerts: notify_command: pipe: {}", std::strerror(errno)));
    count(&Figures::notify_failed);
    return;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout ends whatever the shell started too.
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  const std::string& cmd = options_.config.notify_command;
  char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"),
                  const_cast<char*>(cmd.c_str()), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  if (rc != 0) {
    ::close(in[1]);
    log_->warning(trf("alerts: notify_command could not start: {}", std::strerror(rc)));
    count(&Figures::notify_failed);
    return;
  }
  // The alert on its standard input, never blocking: a command that does not read gets what
  // the pipe holds (an alert is far smaller than a pipe's 64 KiB).
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  std::string body = json + "\n";
  (void)!::write(in[1], body.data(), body.size());
  ::close(in[1]);

  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(options_.config.notify_timeout_ms);
  int pidfd = int(::syscall(SYS_pidfd_open, pid, 0));
  int status = 0;
  bool done = false;
  while (!done) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) {
      done = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    bool stop;
    {
      std::lock_guard lock(qmu_);
      stop = stopping_;
    }
    if (left.count() <= 0 || stop) break;
    int wait_ms = int(std::min<int64_t>(left.count(), 100));
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, wait_ms);
    } else {
      ::poll(nullptr, 0, std::min(wait_ms, 10));
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  if (!done) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    log_->warning(trf("alerts: notify_command did not finish within {} ms and was killed",
                      options_.config.notify_timeout_ms));
    count(&Figures::notify_timed_out);
    return;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    count(&Figures::notified);
  } else {
    log_->warning(WIFEXITED(status)
                      ? trf("alerts: notify_command failed (exit {})", WEXITSTATUS(status))
                      : std::string(tr("alerts: notify_command failed (killed by a signal)")));
    count(&Figures::notify_failed);
  }
}

AlertService::Figures AlertService::figures() const {
  std::lock_guard lock(mu_);
  Figures f = figures_;
  f.tracked = evaluator_.tracked();
  f.tracked_subjects = evaluator_.tracked_subjects();
  return f;
}

Reply AlertService::list(ApiContext& ctx, const Caller& c, const v1::AlertListRequest& req,
                         v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "list alerts", {"operator", "officer"}); !r) return r;
  auto txn = store_.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  const uint32_t limit = req.limit() ? std::min(req.limit(), kMaxList) : kDefaultList;
  auto* out = resp.mutable_alerts();
  out->set_open(open_.count(*txn));
  auto cur = (req.open_only() ? open_ : alerts_).cursor(*txn);
  for (auto e = cur.last(); e && uint32_t(out->alerts_size()) < limit; e = cur.prev()) {
    auto v = alerts_.get(*txn, as_chars(e->key));
    v1::Alert a;
    if (v && parse_value(*v, a)) *out->add_alerts() = std::move(a);
  }
  return {};
}

Reply AlertService::show(ApiContext& ctx, const Caller& c, const v1::AlertShowRequest& req,
                         v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "read alerts", {"operator", "officer"}); !r) return r;
  auto txn = store_.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  const std::string& id = req.id();
  if (id.empty() || id.size() > 20 || id.find_first_not_of("0123456789") != std::string::npos)
    return refuse(v1::API_BAD_REQUEST, "an alert id is a number (gongshuctl alert list)");
  auto v = alerts_.get(*txn, alert_key(std::stoull(id)));
  v1::Alert a;
  if (!v || !parse_value(*v, a)) return refuse(v1::API_NOT_FOUND, "no alert " + id);
  auto* out = resp.mutable_alerts();
  out->set_open(open_.count(*txn));
  *out->add_alerts() = std::move(a);
  return {};
}

Reply AlertService::ack(ApiContext& ctx, const Caller& c, const v1::AlertAckRequest& req,
                        v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "acknowledge alerts", {"operator", "officer"}); !r) return r;
  const std::string& id = req.id();
  if (id.empty() || id.size() > 20 || id.find_first_not_of("0123456789") != std::string::npos)
    return refuse(v1::API_BAD_REQUEST, "an alert id is a number (gongshuctl alert list)");
  if (req.note().empty() || req.note().size() > kMaxNote || !is_printable(req.note()))
    return refuse(v1::API_BAD_REQUEST,
                  "an acknowledgement needs --note: what was found and done, 1..2000 bytes of "
                  "text without control characters");
  v1::Alert a;
  const std::string key = alert_key(std::stoull(id));
  auto s = store_.env().update([&](store::WriteTxn& txn) -> Status {
    auto v = alerts_.get(txn, key);
    // Refusals to the client are protocol text, English (po/README.md).
    if (!v || !parse_value(*v, a))
      return fail(ErrorCode::kNotFound, "no alert " + id);  // i18n-exempt
    if (a.acknowledged())
      return fail(ErrorCode::kAlreadyExists,
                  "alert " + id + " was acknowledged at " +  // i18n-exempt: protocol text
                      format_utc(a.acknowledged_at_ms() * 1'000'000) + " by " +
                      a.acknowledged_by() + ": " + a.note());
    auto e = entry_for(c, "alert_acknowledged");
    e.set_policy_rule(a.rule());
    add_ref(e, "alert", a.id());
    e.set_detail(req.note());
    GONGSHU_TRY(audit::Appended ap, store_.audit().append(txn, e));
    a.set_acknowledged(true);
    a.set_acknowledged_at_ms(e.time_ms());
    a.set_acknowledged_by(c.key_id);
    a.set_note(req.note());
    a.set_ack_seq(ap.seq);
    GONGSHU_RETURN_IF_ERROR(alerts_.put(txn, key, as_bytes(a.SerializeAsString())));
    GONGSHU_RETURN_IF_ERROR(open_.del(txn, key));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  auto txn = store_.env().begin_read();
  auto* out = resp.mutable_alerts();
  if (txn) out->set_open(open_.count(*txn));
  *out->add_alerts() = std::move(a);
  return {};
}

}  // namespace gongshu::daemon
