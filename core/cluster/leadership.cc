#include "core/cluster/leadership.h"

#include <climits>
#include <utility>

namespace gongshu::cluster {
namespace {

using std::chrono::seconds;

template <typename T>
Result<T> with_context(Error e, std::string_view context) {
  return tl::unexpected(std::move(e).with_context(context));
}

// etcd refused a put because the lease it names is gone (expired or revoked).
bool lease_not_found(const Error& e) { return e.code() == ErrorCode::kNotFound; }

Result<std::optional<LeaderView>> leader_from(const std::vector<etcd::KeyValue>& kvs,
                                              const Keys& keys) {
  if (kvs.empty()) return std::optional<LeaderView>();
  auto v = decode_leader(kvs.front().value);
  if (!v)
    return with_context<std::optional<LeaderView>>(v.error(), "cluster: key " + keys.leader());
  return std::optional<LeaderView>(
      LeaderView{std::move(*v), kvs.front().create_revision, kvs.front().lease});
}

Result<std::optional<SyncView>> sync_from(const std::vector<etcd::KeyValue>& kvs,
                                          const Keys& keys) {
  if (kvs.empty()) return std::optional<SyncView>();
  auto v = decode_sync(kvs.front().value);
  if (!v) return with_context<std::optional<SyncView>>(v.error(), "cluster: key " + keys.sync());
  return std::optional<SyncView>(SyncView{std::move(*v), kvs.front().mod_revision});
}

}  // namespace

Result<Leadership> Leadership::create(etcd::Client client, Config config, const MonoClock& clock) {
  GONGSHU_RETURN_IF_ERROR(check_name("node id", config.node));
  GONGSHU_RETURN_IF_ERROR(config.timing.check());
  // A renewal that hangs for the client's whole budget, then the next one: both must fit in
  // the acknowledgement window, or one slow etcd call ends the leadership.
  const auto window = std::chrono::milliseconds(config.timing.ttl) - config.timing.margin;
  const auto worst = config.timing.renew_interval() + client.options().request_timeout;
  if (worst >= window) {
    return fail(ErrorCode::kInvalidArgument,
                "cluster: renew interval " +
                    std::to_string(config.timing.renew_interval().count()) +
                    " ms + etcd request timeout " +
                    std::to_string(client.options().request_timeout.count()) +
                    " ms must stay below ttl - margin (" + std::to_string(window.count()) + " ms)");
  }
  GONGSHU_TRY(Keys keys, Keys::create(config.cluster));
  return Leadership(std::move(client), std::move(config), std::move(keys), clock);
}

void Leadership::publish_deadline() {
  auto deadline = timer_.ack_deadline();
  shared_->deadline_ns.store(deadline ? deadline->time_since_epoch().count() : INT64_MIN,
                             std::memory_order_release);
}

void Leadership::lose_leadership() { shared_->term.store(0, std::memory_order_release); }

void Leadership::lease_gone() {
  lose_leadership();
  lease_.reset();
  timer_.lost();
  publish_deadline();
}

bool Leadership::may_acknowledge(MonoTime now) const {
  if (shared_->term.load(std::memory_order_acquire) == 0) return false;
  return now.time_since_epoch().count() < shared_->deadline_ns.load(std::memory_order_acquire);
}

std::optional<MonoTime> Leadership::ack_deadline() const {
  if (shared_->term.load(std::memory_order_acquire) == 0) return std::nullopt;
  return MonoTime(MonoTime::duration(shared_->deadline_ns.load(std::memory_order_acquire)));
}

std::optional<int64_t> Leadership::term() const {
  int64_t t = shared_->term.load(std::memory_order_acquire);
  if (t == 0) return std::nullopt;
  return t;
}

Status Leadership::ensure_lease() {
  if (lease_) return {};
  const MonoTime sent = clock_->now();
  auto lease = client_.grant_lease(config_.timing.ttl.count());
  if (!lease) return with_context<void>(std::move(lease.error()), "cluster: granting a lease");
  lease_ = *lease;
  timer_.succeeded(sent, config_.timing.ttl);
  timer_.attempted(sent);
  publish_deadline();
  return {};
}

Status Leadership::publish_member(Applied applied) {
  const MemberValue value{applied, term() ? Role::kPrimary : Role::kReplica, config_.endpoints,
                          reseed_};
  for (int attempt = 0;; ++attempt) {
    GONGSHU_RETURN_IF_ERROR(ensure_lease());
    etcd::Txn txn;
    txn.on_success(etcd::Op::put(keys_.member(config_.node), encode(value), *lease_))
        .on_success(etcd::Op::put(keys_.applied(config_.node), encode_applied(applied), *lease_));
    auto put = client_.txn(txn);
    if (put) {
      published_ = applied;
      return {};
    }
    if (attempt == 0 && lease_not_found(put.error())) {
      lease_gone();  // expired in etcd while this node was not renewing: take a new one
      continue;
    }
    return with_context<void>(std::move(put.error()), "cluster: publishing member " + config_.node);
  }
}

Result<ClusterView> Leadership::observe() {
  auto range = client_.get_prefix(keys_.prefix());
  if (!range) return with_context<ClusterView>(std::move(range.error()), "cluster: observe");
  GONGSHU_TRY(ClusterView view, parse_view(keys_, range->kvs, range->revision));
  if (auto held = term()) {
    if (!view.leader || view.leader->term != *held || !lease_ ||
        view.leader->lease != lease_->value) {
      lose_leadership();
    }
  }
  return view;
}

Result<CampaignOutcome> Leadership::campaign() {
  GONGSHU_TRY(ClusterView view, observe());
  return campaign(view);
}

Result<CampaignOutcome> Leadership::campaign(const ClusterView& seen) {
  CampaignOutcome out;
  out.leader = seen.leader;
  out.sync = seen.sync;
  if (auto held = term()) {
    out.kind = CampaignOutcome::Kind::kWon;
    out.term = *held;
    return out;
  }
  if (seen.leader && lease_ && seen.leader->lease == lease_->value &&
      seen.leader->value.node == config_.node) {
    // The key is on this node's live lease: an earlier campaign won without hearing so.
    out.kind = CampaignOutcome::Kind::kWon;
    out.term = seen.leader->term;
    shared_->term.store(out.term, std::memory_order_release);
    return out;
  }
  if (!seen.may_stand(config_.node)) {
    out.kind = CampaignOutcome::Kind::kNotEligible;
    return out;
  }
  if (seen.leader) {
    out.kind = CampaignOutcome::Kind::kLeaderExists;
    return out;
  }
  if (auto rival = seen.ahead_of(config_.node, published_)) {
    out.kind = CampaignOutcome::Kind::kBehind;
    out.rival = *rival;
    return out;
  }
  return try_campaign(seen);
}

Result<CampaignOutcome> Leadership::try_campaign(const ClusterView& seen) {
  const std::string leader_key = keys_.leader();
  const std::string value = encode(LeaderValue{config_.node, config_.endpoints});
  for (int attempt = 0;; ++attempt) {
    GONGSHU_RETURN_IF_ERROR(ensure_lease());
    etcd::Txn txn;
    txn.require_absent(leader_key)
        .compare(etcd::Field::kModRevision, keys_.sync(), etcd::Cmp::kEqual,
                 seen.sync ? seen.sync->mod_revision : 0);
    if (const FailoverView* f = seen.failover_for(config_.node)) {
      txn.compare(etcd::Field::kModRevision, keys_.failover(), etcd::Cmp::kEqual, f->mod_revision);
    } else {
      // No rival ahead of me at the transaction's revision (see the file comment).
      const std::string mine = encode_applied(published_) + "~";
      for (const auto& r : seen.rivals(config_.node)) {
        if (seen.applied.count(r))
          txn.compare_value(keys_.applied(r), etcd::Cmp::kLess, mine);
        else
          txn.require_absent(keys_.applied(r));
      }
      if (seen.all_rivals(config_.node)) {
        txn.compare_prefix(etcd::Field::kCreateRevision, keys_.applied_prefix(), etcd::Cmp::kLess,
                           seen.revision + 1);
      }
    }
    txn.on_success(etcd::Op::put(leader_key, value, *lease_))
        .on_failure(etcd::Op::get(leader_key))
        .on_failure(etcd::Op::get(keys_.sync()));
    auto r = client_.txn(txn);
    if (!r) {
      if (attempt == 0 && lease_not_found(r.error())) {
        lease_gone();
        continue;
      }
      // The transaction may have been applied: read the leader key back.
      auto back = client_.get(leader_key);
      if (back && back->kv && lease_ && back->kv->lease == lease_->value) {
        auto v = decode_leader(back->kv->value);
        if (v && v->node == config_.node) {
          CampaignOutcome out;
          out.kind = CampaignOutcome::Kind::kWon;
          out.term = back->kv->create_revision;
          out.leader = LeaderView{std::move(*v), back->kv->create_revision, back->kv->lease};
          out.sync = seen.sync;
          shared_->term.store(out.term, std::memory_order_release);
          return out;
        }
      }
      return with_context<CampaignOutcome>(std::move(r.error()),
                                           "cluster: campaign of " + config_.node);
    }
    CampaignOutcome out;
    if (r->succeeded) {
      out.kind = CampaignOutcome::Kind::kWon;
      out.term = r->revision;  // one transaction, one revision: the key's create_revision
      out.leader =
          LeaderView{LeaderValue{config_.node, config_.endpoints}, r->revision, lease_->value};
      out.sync = seen.sync;
      shared_->term.store(out.term, std::memory_order_release);
      return out;
    }
    if (r->results.size() != 2) {
      return fail(ErrorCode::kCorrupt, "cluster: campaign: etcd returned " +
                                           std::to_string(r->results.size()) +
                                           " results for 2 failure ops");
    }
    GONGSHU_TRY(out.leader, leader_from(r->results[0].kvs, keys_));
    GONGSHU_TRY(out.sync, sync_from(r->results[1].kvs, keys_));
    if (out.leader) {
      out.kind = CampaignOutcome::Kind::kLeaderExists;
    } else if (out.sync && !out.sync->value.eligible(config_.node) &&
               !seen.failover_for(config_.node)) {
      out.kind = CampaignOutcome::Kind::kNotEligible;
    } else {
      out.kind = CampaignOutcome::Kind::kSyncChanged;
    }
    return out;
  }
}

Result<RenewOutcome> Leadership::renew() {
  const MonoTime sent = clock_->now();
  timer_.attempted(sent);
  if (!lease_) return RenewOutcome::kNoLease;
  auto left = client_.keep_alive_once(*lease_);
  if (!left) return with_context<RenewOutcome>(std::move(left.error()), "cluster: renewing lease");
  if (*left <= 0) {
    lease_gone();
    return RenewOutcome::kLeaseLost;
  }
  timer_.succeeded(sent, seconds(*left));
  publish_deadline();
  return RenewOutcome::kRenewed;
}

Result<SyncOutcome> Leadership::set_sync(std::vector<std::string> members,
                                         std::optional<uint32_t> sync_count) {
  for (const auto& m : members) GONGSHU_RETURN_IF_ERROR(check_name("sync member", m));
  SyncOutcome out;
  auto held = term();
  if (!held) return out;  // kNotLeader, nothing asked
  SyncValue v{*held, std::move(members), config_.node, 0};
  v.sync_count = sync_count.value_or(static_cast<uint32_t>(v.members.size()));
  etcd::Txn txn;
  txn.compare(etcd::Field::kCreateRevision, keys_.leader(), etcd::Cmp::kEqual, *held)
      .on_success(etcd::Op::put(keys_.sync(), encode(v)))
      .on_failure(etcd::Op::get(keys_.leader()));
  auto r = client_.txn(txn);
  if (!r) return with_context<SyncOutcome>(std::move(r.error()), "cluster: set_sync");
  if (r->succeeded) {
    out.kind = SyncOutcome::Kind::kWritten;
    out.mod_revision = r->revision;
    return out;
  }
  lose_leadership();  // etcd holds another term (or none): this node leads no more
  if (r->results.size() == 1) {
    auto leader = leader_from(r->results[0].kvs, keys_);
    if (leader) out.leader = std::move(*leader);
  }
  return out;
}

Status Leadership::step_down() {
  lose_leadership();  // first: nothing is acknowledged from here on
  auto lease = lease_;
  lease_gone();
  if (!lease) return {};
  auto revoked = client_.revoke_lease(*lease);
  if (!revoked) {
    return with_context<void>(std::move(revoked.error()),
                              "cluster: step_down (the lease expires by itself within its ttl)");
  }
  return {};
}

}  // namespace gongshu::cluster
