#include "core/replication/replicator.h"

#include <algorithm>
#include <cstdint>

namespace gongshu::replication {

Result<std::unique_ptr<Replicator>> Replicator::create(store::Env& env, AuditProbe probe,
                                                       const crypto::IdentityKey& node_key,
                                                       ReplicatorConfig config) {
  if (!config.members.count(config.node))
    return fail(ErrorCode::kInvalidArgument,
                "replication: this node (" + config.node + ") is not among the members");
  GONGSHU_TRY(auto changelog, Changelog::open(env, std::move(probe), config.changelog));
  auto r = std::unique_ptr<Replicator>(
      new Replicator(env, node_key, std::move(config), std::move(changelog)));
  Replicator* raw = r.get();
  r->changelog_->set_listener([raw](uint64_t seq) { raw->on_commit(seq); });
  env.set_commit_hook(r->changelog_.get());
  return r;
}

Replicator::~Replicator() {
  stop();
  env_.set_commit_hook(nullptr);
}

void Replicator::on_commit(uint64_t) {
  std::shared_ptr<Shipper> shipper;
  std::vector<std::string> sync;
  size_t quorum;
  {
    std::lock_guard lock(mu_);
    shipper = shipper_;
    sync = sync_;
    quorum = quorum_;
  }
  if (!shipper) return;
  shipper->notify();
  if (sync.empty()) return;
  if (quorum == 0 || quorum >= sync.size()) {
    changelog_->set_retain_from(shipper->min_acked(sync) + 1);
    return;
  }
  // The quorum-th most advanced member: what the acknowledged write sets' holders still need.
  const auto progress = shipper->replicas();
  std::vector<uint64_t> acked;
  for (const std::string& n : sync) {
    auto it = progress.find(n);
    acked.push_back(it == progress.end() ? 0 : it->second.acked_seq);
  }
  std::sort(acked.begin(), acked.end(), std::greater<>());
  changelog_->set_retain_from(acked[quorum - 1] + 1);
}

Status Replicator::lead(int64_t term) {
  std::unique_ptr<Applier> applier;
  {
    std::lock_guard lock(mu_);
    applier = std::move(applier_);
  }
  applier.reset();                 // joined: nothing is applied from here on
  changelog_->set_retain_from(0);  // nothing trimmed until the replicas' positions are known
  changelog_->set_term(term);
  std::lock_guard lock(mu_);
  if (!shipper_) {
    std::map<std::string, crypto::PublicKey> keys;
    for (const auto& [node, m] : config_.members)
      if (node != config_.node) keys.emplace(node, m.key);
    ShipperOptions so;
    so.bind = config_.bind;
    so.node = config_.node;
    so.heartbeat = config_.heartbeat;
    auto s = Shipper::start(env_, *changelog_, node_key_, std::move(keys), so);
    if (!s) {
      changelog_->set_term(0);
      role_ = ReplicatorStatus::Role::kNone;
      return tl::unexpected(s.error());
    }
    shipper_ = std::move(*s);
    if (ack_listener_) shipper_->set_ack_listener(ack_listener_);
  }
  role_ = ReplicatorStatus::Role::kLeading;
  term_ = term;
  leader_ = config_.node;
  return {};
}

Status Replicator::follow(const std::string& leader, int64_t term, const std::string& endpoint) {
  changelog_->set_term(0);  // the store refuses writes from now on
  auto it = config_.members.find(leader);
  if (it == config_.members.end() || leader == config_.node)
    return fail(ErrorCode::kInvalidArgument,
                "replication: cannot follow " + leader + ": not another member");
  detach(false);                            // the old roles end here, before the applier starts
  changelog_->set_retain_from(UINT64_MAX);  // a follower keeps its changelog within its bounds
  ApplierOptions o;
  o.node = config_.node;
  o.primary_node = leader;
  o.primary_endpoint = endpoint.empty() ? it->second.endpoint : endpoint;
  o.primary_key = it->second.key;
  o.hello_interval = config_.hello_interval;
  GONGSHU_TRY(auto a, Applier::start(env_, *changelog_, node_key_, o));
  a->observe_term(term);
  std::lock_guard lock(mu_);
  applier_ = std::move(a);
  role_ = ReplicatorStatus::Role::kFollowing;
  term_ = term;
  leader_ = leader;
  return {};
}

void Replicator::stop() {
  changelog_->set_term(0);
  detach(true);
}

Replicator::Detached Replicator::detach(bool forget_leader) {
  std::lock_guard lock(mu_);
  Detached d{std::move(shipper_), std::move(applier_)};
  role_ = ReplicatorStatus::Role::kNone;
  if (forget_leader) leader_.clear();
  return d;
}

bool Replicator::wait_synced(uint64_t seq, const std::vector<std::string>& sync,
                             std::chrono::steady_clock::time_point deadline) {
  std::shared_ptr<Shipper> shipper;
  {
    std::lock_guard lock(mu_);
    shipper = shipper_;
  }
  if (!shipper) return false;
  return shipper->wait_for_acks(seq, sync, deadline);
}

uint64_t Replicator::synced_seq(const std::vector<std::string>& sync) const {
  std::lock_guard lock(mu_);
  return shipper_ && !sync.empty() ? shipper_->min_acked(sync) : 0;
}

void Replicator::set_ack_listener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  ack_listener_ = std::move(listener);
  if (shipper_) shipper_->set_ack_listener(ack_listener_);
}

void Replicator::set_sync(std::vector<std::string> nodes, size_t quorum) {
  std::lock_guard lock(mu_);
  sync_ = std::move(nodes);
  quorum_ = quorum;
}

ChainHead Replicator::head() const {
  auto txn = env_.begin_read();
  if (!txn) return {};
  return changelog_->head(*txn);
}

ReplicatorStatus Replicator::status() const {
  ReplicatorStatus s;
  s.head = head();
  std::lock_guard lock(mu_);
  s.role = role_;
  s.term = term_;
  s.leader = leader_;
  if (applier_) {
    s.applier = applier_->state();
    s.applier_reason = applier_->reason();
    s.refusals = applier_->refusals();
    s.last_refusal = applier_->last_refusal();
    s.last_refusal_kind = applier_->last_refusal_kind();
    s.last_refused_seq = applier_->last_refused_seq();
    s.reseed_reason = applier_->reseed_reason();
    s.primary_head = applier_->primary_head();
    s.caught_up_ms = applier_->caught_up_ms();
  }
  if (shipper_) s.replicas = shipper_->replicas();
  return s;
}

const std::string& Replicator::shipper_endpoint() const {
  std::lock_guard lock(mu_);
  return shipper_ ? shipper_->endpoint() : empty_;
}

}  // namespace gongshu::replication
