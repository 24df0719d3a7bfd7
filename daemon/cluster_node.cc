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
  cluster::Config cc;
  cc.cluster = config.name;
  cc.node = config.node;
  cc.endpoints["ingest"] = endpoints.ingest;
  cc.endpoints["api"] = endpoints.api;
  if (!config.replication_endpoint.empty())
    cc.endpoints["replication"] = config.replication_endpoint;
  cc.timing = timing;
  GONGSHU_TRY(
      cluster::Leadership leadership,
      with_context(cluster::Leadership::create(std::move(client), std::move(cc)), "[cluster]"));
  return std::unique_ptr<ClusterNode>(new ClusterNode(std::move(leadership), config, store, log));
}

ClusterNode::ClusterNode(cluster::Leadership leadership, ClusterConfig config, DaemonStore& store,
                         const sys::Logger* log)
    : leadership_(std::move(leadership)), config_(std::move(config)), store_(store), log_(log) {}

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
  if (!absent_since_) {
    absent_since_ = now;
    // A planned switchover to another node: let it stand first.
    auto sw = leadership_.client().get(leadership_.keys().prefix() + "switchover");
    if (sw && sw->kv && sw->kv->value != config_.node)
      hold_until_ = now + std::chrono::seconds(config_.lease_ttl_s);
    else if (sw && sw->kv)
      hold_until_.reset();  // it names this node: stand now
  }
  if (hold_until_ && now < *hold_until_) return;
  const auto delay = cluster::candidate_delay(view->behind(config_.node).value_or(1));
  if (now - *absent_since_ < delay) return;
  auto won = leadership_.campaign(*view);
  if (!won) {
    etcd_trouble(won.error());
    return;
  }
  if (won->kind == cluster::CampaignOutcome::Kind::kWon) {
    leader_since_ns_.store(SteadyClock::now().time_since_epoch().count());
    absent_since_.reset();
  }
}

void ClusterNode::transitions(SteadyClock::time_point now) {
  const int64_t term = leadership_.term().value_or(0);
  if (term != 0 && term != audited_term_) {
    // Won. The data path first (a replicated store numbers every write under the term, this
    // node's own audit entry included), then the entry; only then may_write().
    if (replication_) {
      if (auto s = replication_->lead(term); !s) {
        note(sys::Level::kError, trf("won term {} but the data path cannot lead, resigning: {}",
                                     term, s.error().message()));
        (void)leadership_.step_down();
        replication_->stop();
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
    auto s = store_.env().update([&](store::WriteTxn& txn) -> Status {
      GONGSHU_RETURN_IF_ERROR(store_.audit().append(txn, e));
      return {};
    });
    if (!s) {
      note(sys::Level::kError,
           trf("won term {} but cannot audit it, resigning: {}", term, s.error().message()));
      (void)leadership_.step_down();
      if (replication_) replication_->stop();
      return;
    }
    audited_term_ = term;
    accepting_term_.store(term);
    next_publish_ = now;  // the member key says "primary" at the next tick
    acking_ = true;
    note(sys::Level::kNotice, trf("this node leads, term {}", term));
    return;
  }
  if (audited_term_ != 0 && term != audited_term_) {
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
  }
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

}  // namespace gongshu::daemon
