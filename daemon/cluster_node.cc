#include "daemon/cluster_node.h"

#include <algorithm>

#include "core/cluster/timing.h"
#include "core/util/i18n.h"

namespace gongshu::daemon {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kObserveEvery{250};
constexpr milliseconds kPublishEvery{1000};
// A counted sync member that has not fsynced, within [cluster] sync_timeout_ms, what was
// committed that long ago has fallen away (docs/replication.md §4).

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "-" : out;
}

std::string endpoint_of(const cluster::Endpoints& e, const char* what) {
  auto it = e.find(what);
  return it == e.end() ? std::string() : it->second;
}

}  // namespace

Result<std::unique_ptr<ClusterNode>> ClusterNode::create(const ClusterConfig& config,
                                                         ClusterEndpoints endpoints,
                                                         DaemonStore& store,
                                                         const sys::Logger* log) {
  cluster::LeaseTiming timing;
  timing.ttl = std::chrono::seconds(config.lease_ttl_s);
  timing.margin = milliseconds(config.margin_ms);
  // The etcd client's budget per call: a renewal that hangs for all of it, then the next one,
  // must both fit in ttl − margin (Leadership::create checks it). 2 s as measured for etcd's own
  // elections (docs/replication.md §5), less for a short test lease.
  const milliseconds window = milliseconds(config.lease_ttl_s * 1000) - timing.margin;
  etcd::Options eo;
  eo.request_timeout =
      std::min(milliseconds(2000), window - timing.renew_interval() - milliseconds(100));
  if (eo.request_timeout < milliseconds(300)) {
    return fail(ErrorCode::kInvalidArgument,
                trf("cluster: lease_ttl_s {} with margin_ms {} leaves etcd no time to answer a "
                    "renewal; raise lease_ttl_s",
                    config.lease_ttl_s, config.margin_ms));
  }
  eo.connect_timeout = std::min(milliseconds(500), eo.request_timeout / 2);
  GONGSHU_TRY(etcd::Client client,
              with_context(etcd::Client::create(config.etcd, eo), "cluster.etcd"));
  GONGSHU_TRY(etcd::Client admin,
              with_context(etcd::Client::create(config.etcd, eo), "cluster.etcd"));
  cluster::Config cc;
  cc.cluster = config.name;
  cc.node = config.node;
  cc.endpoints["ingest"] = endpoints.ingest;
  cc.endpoints["api"] = endpoints.api;
  if (!config.replication_endpoint.empty())
    cc.endpoints["replication"] = config.advertise_replication.empty()
                                      ? config.replication_endpoint
                                      : config.advertise_replication;
  cc.timing = timing;
  GONGSHU_TRY(
      cluster::Leadership leadership,
      with_context(cluster::Leadership::create(std::move(client), std::move(cc)), "[cluster]"));
  auto node =
      std::unique_ptr<ClusterNode>(new ClusterNode(std::move(leadership), config, store, log));
  node->admin_ = std::move(admin);
  return node;
}

ClusterNode::ClusterNode(cluster::Leadership leadership, ClusterConfig config, DaemonStore& store,
                         const sys::Logger* log)
    : leadership_(std::move(leadership)),
      config_(std::move(config)),
      store_(store),
      log_(log),
      sync_set_(config_.sync_count, milliseconds(config_.sync_timeout_ms)) {}

void ClusterNode::set_sync_probe(SyncProbe probe) { probe_ = std::move(probe); }

void ClusterNode::set_last_reseed(std::optional<cluster::ReseedRecord> reseed) {
  leadership_.set_reseed(std::move(reseed));
}

// The cluster_failover audit entry (machine text, never translated): the operator who asked is
// the principal; refs name the term, the promoted node's applied position and the loss accepted.
v1::AuditEntry ClusterNode::failover_entry(const cluster::FailoverValue& f, int64_t term) const {
  v1::AuditEntry fe;
  fe.mutable_principal()->set_key_id(f.requested_by);
  fe.mutable_principal()->set_role("operator");
  fe.set_action("cluster_failover");
  auto ref = [&](const char* kind, std::string value) {
    auto* r = fe.add_refs();
    r->set_kind(kind);
    r->set_value(std::move(value));
  };
  ref("cluster", config_.name);
  ref("node", config_.node);
  ref("term", std::to_string(term));
  ref("from_seq", std::to_string(f.from.seq));
  ref("from_term", std::to_string(f.from.term));
  ref("accept_loss", f.accept_loss ? "true" : "false");
  ref("sync_set", joined(f.sync_members));
  ref("sync_term", std::to_string(f.sync_term));
  ref("asked", f.asked);
  const std::string at = "operator failover to " + config_.node + " (term " +  // i18n-exempt
                         std::to_string(term) + ")";
  if (f.accept_loss) {
    fe.set_detail(at + " outside the synchronous set [" + joined(f.sync_members) +  // i18n-exempt
                  "] of term " + std::to_string(f.sync_term) +                      // i18n-exempt
                  ", loss accepted: write sets after seq " +                        // i18n-exempt
                  std::to_string(f.from.seq) + " (term " + std::to_string(f.from.term) +
                  ") that only that set held are given up");  // i18n-exempt
  } else {
    fe.set_detail(at + " from seq " + std::to_string(f.from.seq) + " (term " +  // i18n-exempt
                  std::to_string(f.from.term) +
                  "), a node that may stand: nothing given up");  // i18n-exempt
  }
  return fe;
}

uint64_t ClusterNode::quorum_seq() {
  if (!probe_.synced) return 0;
  return sync_set_.quorum_seq(probe_.synced);
}

void ClusterNode::maintain_sync_set(SteadyClock::time_point now) {
  if (!replication_ || !probe_.synced || audited_term_ == 0) return;
  std::vector<cluster::ReplicaSync> replicas;
  {
    std::lock_guard lock(mu);
    for (const auto& [id, m] : config_.members) {
      if (id == config_.node) continue;
      replicas.push_back(cluster::ReplicaSync{id, view_ && view_->member(id) != nullptr, 0});
    }
  }
  for (auto& r : replicas) r.synced = probe_.synced(r.node);
  const uint64_t last = probe_.last_seq ? probe_.last_seq() : 0;
  auto plan = sync_set_.plan(now, last, replicas);
  if (!plan.dropped.empty()) {
    note(sys::Level::kWarning,
         trf("sync member(s) {} fell away: their acks no longer count (acks wait for {} counted "
             "member(s))",
             joined(plan.dropped), config_.sync_count));
  }
  if (!plan.write) return;
  auto w = leadership_.set_sync(*plan.write, config_.sync_count);
  if (!w) {
    etcd_trouble(w.error());
    return;
  }
  if (w->kind != cluster::SyncOutcome::Kind::kWritten) return;  // the term is gone
  sync_set_.published(audited_term_, *plan.write);
  note(sys::Level::kNotice,
       trf("sync set written to etcd: {} (sync_count {}); their acks count now",
           joined(*plan.write), config_.sync_count));
  if (probe_.wake) probe_.wake();
}

ClusterNode::~ClusterNode() = default;

void ClusterNode::note(sys::Level level, const std::string& message) {
  const std::string term = std::to_string(leadership_.term().value_or(0));
  if (log_) {
    log_->log(level, trf("cluster {}: {}", config_.name, message),
              {{"GONGSHU_CLUSTER", config_.name},
               {"GONGSHU_CLUSTER_NODE", config_.node},
               {"GONGSHU_CLUSTER_TERM", term}});
  }
}

void ClusterNode::etcd_trouble(const Error& e) {
  std::lock_guard lock(mu);
  if (etcd_problem_.empty() && log_)
    log_->warning(trf("cluster {}: etcd: {}", config_.name, e.message()));
  etcd_problem_ = e.message();
}

void ClusterNode::etcd_ok() {
  std::lock_guard lock(mu);
  if (!etcd_problem_.empty() && log_)
    log_->notice(trf("cluster {}: etcd answers again", config_.name));
  etcd_problem_.clear();
}

cluster::Applied ClusterNode::applied() const {
  return replication_ ? replication_->applied() : cluster::Applied{};
}

void ClusterNode::tick() {
  auto now = SteadyClock::now();
  if (leadership_.renew_due()) {
    auto r = leadership_.renew();
    if (!r) {
      etcd_trouble(r.error());
    } else if (*r == cluster::RenewOutcome::kLeaseLost) {
      note(sys::Level::kWarning, tr("etcd says this node's lease expired; granting a new one"));
    }
    if (auto d = leadership_.ack_deadline(); d && leadership_.term())
      last_deadline_ns_.store(d->time_since_epoch().count());
  }
  if (now >= next_publish_) {
    next_publish_ = now + kPublishEvery;
    if (auto s = leadership_.publish_member(applied()); !s) etcd_trouble(s.error());
  }
  bool switchover = false;
  {
    std::lock_guard lock(mu);
    switchover = switchover_to_.has_value();
  }
  if (switchover) do_switchover();
  if (now >= next_observe_) {
    next_observe_ = now + kObserveEvery;
    observe_and_campaign(now);
  }
  transitions(SteadyClock::now());
  maintain_sync_set(SteadyClock::now());
}

void ClusterNode::observe_and_campaign(SteadyClock::time_point now) {
  auto view = leadership_.observe();
  if (!view) {
    etcd_trouble(view.error());
    return;
  }
  etcd_ok();
  {
    std::lock_guard lock(mu);
    view_ = *view;
    view_at_ = now;
    hint_ = LeaderHint{};
    if (view->leader) {
      hint_.node = view->leader->value.node;
      hint_.term = view->leader->term;
      hint_.ingest = endpoint_of(view->leader->value.endpoints, "ingest");
      hint_.api = endpoint_of(view->leader->value.endpoints, "api");
      hint_.replication = endpoint_of(view->leader->value.endpoints, "replication");
    }
  }
  if (view->leader || leadership_.term()) {
    absent_since_.reset();
    hold_until_.reset();
    return;
  }
  if (!view->may_stand(config_.node)) return;  // not in the sync set: never stands
  const cluster::FailoverView* failover = view->failover_for(config_.node);
  // An operator's failover to another node, asked under the current sync key: hold back.
  if (view->failover && !failover && view->failover_for(view->failover->value.to)) return;
  if (!absent_since_) {
    absent_since_ = now;
    // A planned switchover to another node: let it stand first.
    auto sw = leadership_.client().get(leadership_.keys().prefix() + "switchover");
    if (sw && sw->kv && sw->kv->value != config_.node)
      hold_until_ = now + std::chrono::seconds(config_.lease_ttl_s);
    else if (sw && sw->kv)
      hold_until_.reset();  // it names this node: stand now
  }
  if (!failover) {
    if (hold_until_ && now < *hold_until_) return;
    const auto delay = cluster::candidate_delay(view->behind(config_.node).value_or(1));
    if (now - *absent_since_ < delay) return;
  }
  auto won = leadership_.campaign(*view);
  if (!won) {
    etcd_trouble(won.error());
    return;
  }
  if (won->kind == cluster::CampaignOutcome::Kind::kWon) {
    leader_since_ns_.store(SteadyClock::now().time_since_epoch().count());
    absent_since_.reset();
    if (failover) won_failover_ = *failover;
  }
}

void ClusterNode::transitions(SteadyClock::time_point now) {
  const int64_t term = leadership_.term().value_or(0);
  if (term != 0 && term != audited_term_) {
    // Won. The data path first (a replicated store numbers every write under the term, this
    // node's own audit entry included), then the entry; only then may_write(). The sync set
    // starts empty: nothing is acknowledged until this term wrote its own (maintain_sync_set),
    // naming members that hold at least this node's head before the term.
    sync_set_.start_term(term, applied().seq);
    if (replication_) {
      if (auto s = replication_->lead(term); !s) {
        note(sys::Level::kError, trf("won term {} but the data path cannot lead, resigning: {}",
                                     term, s.error().message()));
        (void)leadership_.step_down();
        replication_->stop();
        sync_set_.end_term();
        return;
      }
    }
    v1::AuditEntry e;
    e.mutable_principal()->set_key_id(store_.daemon_key().public_key().key_id());
    e.mutable_principal()->set_role("daemon");
    e.set_action("cluster_leader");
    auto ref = [&](const char* kind, std::string value) {
      auto* r = e.add_refs();
      r->set_kind(kind);
      r->set_value(std::move(value));
    };
    ref("cluster", config_.name);
    ref("node", config_.node);
    ref("term", std::to_string(term));
    // i18n-exempt: the audit entry's detail (next two lines)
    e.set_detail("node " + config_.node + " leads cluster " + config_.name +       // i18n-exempt
                 " in term " + std::to_string(term) + " (elected through etcd)");  // i18n-exempt
    // Won under an operator's failover key: its entry goes in the same, first, transaction.
    std::optional<v1::AuditEntry> fe;
    if (won_failover_) fe = failover_entry(won_failover_->value, term);
    auto s = store_.env().update([&](store::WriteTxn& txn) -> Status {
      if (fe) GONGSHU_RETURN_IF_ERROR(store_.audit().append(txn, *fe));
      GONGSHU_RETURN_IF_ERROR(store_.audit().append(txn, e));
      return {};
    });
    if (!s) {
      note(sys::Level::kError,
           trf("won term {} but cannot audit it, resigning: {}", term, s.error().message()));
      (void)leadership_.step_down();
      if (replication_) replication_->stop();
      sync_set_.end_term();
      return;
    }
    audited_term_ = term;
    accepting_term_.store(term);
    next_publish_ = now;  // the member key says "primary" at the next tick
    acking_ = true;
    note(sys::Level::kNotice, trf("this node leads, term {}", term));
    if (won_failover_) {
      note(sys::Level::kWarning,
           trf("promoted by an operator's failover (accept loss: {}; from seq {})",
               won_failover_->value.accept_loss ? "yes" : "no", won_failover_->value.from.seq));
      // Served: a later election goes by the sync set this term writes.
      (void)leadership_.client().delete_key(leadership_.keys().failover());
      won_failover_.reset();
    }
    return;
  }
  if (term == 0) won_failover_.reset();
  if (audited_term_ != 0 && term != audited_term_) {
    sync_set_.end_term();
    note(sys::Level::kWarning,
         trf("this node no longer leads term {}; it acknowledges nothing and refuses writes",
             audited_term_));
    audited_term_ = 0;
    accepting_term_.store(0);
    acking_ = false;
    followed_term_ = -1;  // follow (or stop) at once, below
  }
  if (audited_term_ != 0) {
    if (auto d = leadership_.ack_deadline()) last_deadline_ns_.store(d->time_since_epoch().count());
    const bool acking = leadership_.may_acknowledge();
    if (acking != acking_) {
      note(acking ? sys::Level::kNotice : sys::Level::kWarning,
           acking ? tr("lease renewed again: acknowledging")
                  : tr("lease renewal overdue: acknowledging nothing until etcd renews the lease"));
      acking_ = acking;
    }
  }
  LeaderHint h = leader();
  if (h.node == config_.node) h = LeaderHint{};  // its own old term, not yet gone from the view
  if (term == 0 && h.term != followed_term_) {
    followed_term_ = h.term;
    if (h.node.empty()) {
      note(sys::Level::kNotice, tr("no leader: an election is under way"));
      if (replication_) replication_->stop();
    } else {
      note(sys::Level::kNotice, trf("following {} (term {}, ingest {})", h.node, h.term, h.ingest));
      if (replication_) {
        if (auto s = replication_->follow(h); !s)
          note(sys::Level::kError, trf("cannot follow {}: {}", h.node, s.error().message()));
      }
    }
  }
}

void ClusterNode::do_switchover() {
  std::string to;
  {
    std::lock_guard lock(mu);
    to = *switchover_to_;
    switchover_to_.reset();
  }
  if (!leadership_.term()) return;
  // The key that makes the others hold back lives on its own lease, so it goes by itself.
  auto lease = leadership_.client().grant_lease(config_.lease_ttl_s);
  if (lease) {
    auto put = leadership_.client().put(leadership_.keys().prefix() + "switchover", to, *lease);
    if (!put) etcd_trouble(put.error());
  } else {
    etcd_trouble(lease.error());
  }
  note(sys::Level::kNotice, trf("switchover to {}: resigning", to));
  if (auto s = leadership_.step_down(); !s) etcd_trouble(s.error());
  accepting_term_.store(0);
}

void ClusterNode::resign() {
  accepting_term_.store(0);
  if (!leadership_.term()) return;
  note(sys::Level::kNotice, tr("stopping: resigning the leadership"));
  if (auto s = leadership_.step_down(); !s) etcd_trouble(s.error());
}

bool ClusterNode::may_write() const {
  const auto term = leadership_.term();
  return term && accepting_term_.load() == *term && leadership_.may_acknowledge();
}

bool ClusterNode::may_acknowledge() const { return leadership_.may_acknowledge(); }

LeaderHint ClusterNode::leader() const {
  std::lock_guard lock(mu);
  // Named by its own last view but no longer acknowledging (a lease overdue: etcd out of reach):
  // it names no one, so an agent tries the next node instead of coming back here until the
  // lease runs out (small edit by F, issue 20's cut-off test).
  if (hint_.node == config_.node && !may_write()) return LeaderHint{};
  return hint_;
}

v1::ClusterStatus ClusterNode::status() const {
  v1::ClusterStatus out;
  out.set_cluster(config_.name);
  out.set_node(config_.node);
  out.set_lease_ttl_s(config_.lease_ttl_s);
  out.set_replication(replication_ ? "write sets" : "none");  // i18n-exempt: protocol value
  const auto now = SteadyClock::now();
  out.set_this_node_leads(may_write());
  if (auto d = leadership_.ack_deadline()) {
    out.set_lease_left_ms(std::chrono::duration_cast<milliseconds>(*d - now).count());
    out.set_ack_deadline_mono_ns(d->time_since_epoch().count());
  } else {
    out.set_ack_deadline_mono_ns(last_deadline_ns_.load());
  }
  out.set_leader_since_mono_ns(leader_since_ns_.load());
  std::lock_guard lock(mu);
  out.set_etcd_problem(etcd_problem_);
  out.set_leader(hint_.node);
  out.set_term(hint_.term);
  out.set_leader_ingest(hint_.ingest);
  out.set_leader_api(hint_.api);
  if (!view_) {
    out.set_observed_ms_ago(-1);
    return out;
  }
  out.set_observed_ms_ago(std::chrono::duration_cast<milliseconds>(now - view_at_).count());
  if (view_->sync) {
    for (const auto& m : view_->sync->value.members) out.add_sync_set(m);
    out.set_sync_term(view_->sync->value.term);
    out.set_sync_writer(view_->sync->value.leader);
  }
  out.set_sync_count(config_.sync_count);
  for (const auto& m : sync_set_.counted()) out.add_sync_counted(m);
  const cluster::Applied best = view_->best_applied();
  for (const auto& m : view_->members) {
    auto* pm = out.add_members();
    pm->set_node(m.node);
    pm->set_role(std::string(cluster::role_name(m.value.role)));
    pm->set_applied_seq(m.value.applied.seq);
    pm->set_applied_term(m.value.applied.term);
    pm->set_ingest(endpoint_of(m.value.endpoints, "ingest"));
    pm->set_api(endpoint_of(m.value.endpoints, "api"));
    pm->set_replication(endpoint_of(m.value.endpoints, "replication"));
    pm->set_lag_seq(best.seq > m.value.applied.seq ? best.seq - m.value.applied.seq : 0);
    pm->set_in_sync_set(view_->sync && view_->sync->value.contains(m.node));
    pm->set_may_stand(view_->may_stand(m.node));
    if (m.value.reseed) {
      pm->set_reseed_at_ms(m.value.reseed->at_ms);
      pm->set_reseed_reason(m.value.reseed->reason);
      pm->set_reseed_from_term(m.value.reseed->from_term);
      pm->set_reseed_from_seq(m.value.reseed->from_seq);
    }
  }
  return out;
}

Status ClusterNode::request_switchover(const std::string& to) {
  GONGSHU_RETURN_IF_ERROR(check_switchover(to));
  std::lock_guard lock(mu);
  switchover_to_ = to;
  return {};
}

// Its reasons reach the client in the api reply: protocol text, English (po/README.md).
Status ClusterNode::check_switchover(const std::string& to) const {
  if (!may_write())
    return fail(ErrorCode::kUnavailable, "this node does not lead: ask the leader");  // i18n-exempt
  if (to == config_.node)
    return fail(ErrorCode::kInvalidArgument,
                "switchover: " + to + " already leads");  // i18n-exempt
  std::lock_guard lock(mu);
  const cluster::MemberView* m = view_ ? view_->member(to) : nullptr;
  if (!m) {
    return fail(ErrorCode::kNotFound,
                "switchover: no live member " + to + " in etcd");  // i18n-exempt
  }
  if (!view_->may_stand(to))
    return fail(
        ErrorCode::kInvalidArgument,
        "switchover: " + to + " is not in the synchronous set and may not lead");  // i18n-exempt
  if (m->value.applied < view_->best_applied())
    return fail(ErrorCode::kInvalidArgument,
                "switchover: " + to + " is behind (applied seq " +  // i18n-exempt
                    std::to_string(m->value.applied.seq) +
                    "); try again once it caught up");  // i18n-exempt
  return {};
}

Result<FailoverPlan> ClusterNode::request_failover(const std::string& to, bool accept_loss,
                                                   const std::string& requested_by) {
  // Its refusals are protocol answers (English, like refuse()): the lines carry i18n-exempt.
  std::lock_guard admin_lock(admin_mu_);
  const cluster::Keys& keys = leadership_.keys();
  auto range = admin_->get_prefix(keys.prefix());
  if (!range) return tl::unexpected(std::move(range.error()).with_context("failover"));
  GONGSHU_TRY(cluster::ClusterView view, cluster::parse_view(keys, range->kvs, range->revision));
  if (view.leader) {
    std::string m = "failover: " + view.leader->value.node;
    m += " leads term " + std::to_string(view.leader->term);         // i18n-exempt
    m += "; a failover is for when no leader exists";                // i18n-exempt
    m += " (a planned handover is `cluster switchover --to NODE`)";  // i18n-exempt
    return fail(ErrorCode::kAlreadyExists, m);
  }
  FailoverPlan plan;
  if (view.sync) {
    plan.sync_set = view.sync->value.members;
    plan.sync_term = view.sync->value.term;
  }
  for (const auto& [n, a] : view.applied) plan.best = std::max(plan.best, a);
  // Who may stand by the sync set alone, among the live members.
  auto eligible = [&](const std::string& n) { return !view.sync || view.sync->value.eligible(n); };
  std::vector<std::string> live_eligible;
  for (const auto& m : view.members)
    if (eligible(m.node)) live_eligible.push_back(m.node);
  auto applied_of = [&](const std::string& n) {
    auto it = view.applied.find(n);
    return it == view.applied.end() ? cluster::Applied{} : it->second;
  };
  plan.to = to;
  if (plan.to.empty()) {
    // The most advanced live member, preferring one that may stand.
    std::vector<std::string> pool = live_eligible;
    if (pool.empty())
      for (const auto& m : view.members) pool.push_back(m.node);
    for (const auto& n : pool)
      if (plan.to.empty() || applied_of(n) > applied_of(plan.to)) plan.to = n;
    if (plan.to.empty())
      return fail(ErrorCode::kNotFound, "failover: no live member in etcd");  // i18n-exempt
  }
  if (!view.member(plan.to)) {
    std::string m = "failover: " + plan.to;
    m += " is not a live member in etcd";                 // i18n-exempt
    m += " (its gongshud is down or cannot reach etcd)";  // i18n-exempt
    return fail(ErrorCode::kNotFound, m);
  }
  plan.from = applied_of(plan.to);
  if (!eligible(plan.to)) {
    std::string m = "failover: " + plan.to;
    m += " is not in the synchronous set [" + joined(plan.sync_set);  // i18n-exempt
    m += "] of term " + std::to_string(plan.sync_term);               // i18n-exempt
    if (!live_eligible.empty()) {
      m += ", and " + joined(live_eligible);                                       // i18n-exempt
      m += ", which may stand and holds every acknowledged write set, is alive:";  // i18n-exempt
      m += " it is elected by itself (stop it first if it cannot serve)";          // i18n-exempt
      return fail(ErrorCode::kInvalidArgument, m);
    }
    if (!accept_loss) {
      m += " and no member of it is alive; promoting " + plan.to;  // i18n-exempt
      m += " gives up every write set after its applied seq ";     // i18n-exempt
      m += std::to_string(plan.from.seq) + " (term " + std::to_string(plan.from.term);
      m += "), acknowledged ones included;";      // i18n-exempt
      m += " pass --accept-loss to accept that";  // i18n-exempt
      return fail(ErrorCode::kInvalidArgument, m);
    }
    plan.accept_loss = true;
  }
  cluster::FailoverValue fv{
      plan.to,        plan.accept_loss, plan.from,    view.sync ? view.sync->mod_revision : 0,
      plan.sync_term, plan.sync_set,    requested_by, config_.node};
  // On a lease of its own: the target stands within one observe period; if it cannot, the key
  // goes by itself and the election proceeds by the sync set.
  GONGSHU_TRY(etcd::LeaseId lease,
              with_context(admin_->grant_lease(2 * config_.lease_ttl_s + 5), "failover"));
  etcd::Txn txn;
  txn.require_absent(keys.leader())
      .compare(etcd::Field::kModRevision, keys.sync(), etcd::Cmp::kEqual,
               view.sync ? view.sync->mod_revision : 0)
      .compare(etcd::Field::kModRevision, keys.failover(), etcd::Cmp::kEqual,
               view.failover ? view.failover->mod_revision : 0)
      .on_success(etcd::Op::put(keys.failover(), cluster::encode(fv), lease));
  auto r = admin_->txn(txn);
  if (!r) return tl::unexpected(std::move(r.error()).with_context("failover"));
  if (!r->succeeded) {
    (void)admin_->revoke_lease(lease);
    std::string m = "failover: the cluster changed while asking";  // i18n-exempt
    m +=
        " (a leader was elected, or the sync set or another failover was written);";  // i18n-exempt
    m += " look at `cluster status` and ask again";                                   // i18n-exempt
    return fail(ErrorCode::kAlreadyExists, m);
  }
  note(sys::Level::kWarning,
       trf("failover to {} requested by {} (accept loss: {}; from seq {})", plan.to, requested_by,
           plan.accept_loss ? "yes" : "no", plan.from.seq));
  return plan;
}

}  // namespace gongshu::daemon
