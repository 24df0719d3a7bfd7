#include "core/cluster/sync_set.h"

#include <algorithm>
#include <climits>

namespace gongshu::cluster {

void SyncSet::start_term(int64_t term, uint64_t head) {
  std::lock_guard lock(mu_);
  term_ = term;
  head_ = head;
  released_ = 0;
  written_.reset();
  counted_.clear();
  lag_.clear();
}

void SyncSet::end_term() { start_term(0, 0); }

SyncPlan SyncSet::plan(MonoTime now, uint64_t last_seq, const std::vector<ReplicaSync>& replicas) {
  std::lock_guard lock(mu_);
  SyncPlan out;
  if (term_ == 0) return out;
  if (sync_count_ == 0) {
    if (!written_) out.write = std::vector<std::string>{};  // declare: nothing is waited for
    return out;
  }
  // Stalled: it has not fsynced, within timeout_, what was committed timeout_ ago.
  std::map<std::string, bool> stalled;
  for (const auto& r : replicas) {
    auto it = lag_.find(r.node);
    if (r.synced >= last_seq) {
      if (it != lag_.end()) lag_.erase(it);
    } else if (it == lag_.end() || r.synced >= it->second.target) {
      lag_[r.node] = Lag{now, last_seq};
    }
    it = lag_.find(r.node);
    stalled[r.node] = it != lag_.end() && now - it->second.since >= timeout_;
  }
  auto healthy = [&](const std::string& node) {
    for (const auto& r : replicas)
      if (r.node == node) return r.live && !stalled[node];
    return false;
  };
  // Drop first (in effect at once, before any etcd write).
  std::vector<std::string> kept;
  for (const auto& m : counted_) {
    if (healthy(m))
      kept.push_back(m);
    else
      out.dropped.push_back(m);
  }
  counted_ = kept;
  // Fill up to sync_count with members that hold everything that may have been acknowledged.
  const uint64_t floor = std::max(head_, released_);
  std::vector<const ReplicaSync*> candidates;
  for (const auto& r : replicas) {
    if (std::find(kept.begin(), kept.end(), r.node) != kept.end()) continue;
    if (healthy(r.node) && r.synced >= floor) candidates.push_back(&r);
  }
  auto in_written = [&](const std::string& n) {
    return written_ && std::find(written_->begin(), written_->end(), n) != written_->end();
  };
  std::sort(candidates.begin(), candidates.end(), [&](const ReplicaSync* a, const ReplicaSync* b) {
    if (in_written(a->node) != in_written(b->node)) return in_written(a->node);
    if (a->synced != b->synced) return a->synced > b->synced;
    return a->node < b->node;
  });
  std::vector<std::string> desired = kept;
  for (const ReplicaSync* c : candidates) {
    if (desired.size() >= sync_count_) break;
    desired.push_back(c->node);
  }
  // Members already written in this term count again without a write; anyone else needs one.
  bool needs_write = false;
  for (const auto& n : desired)
    if (!in_written(n)) needs_write = true;
  if (needs_write) {
    std::sort(desired.begin(), desired.end());
    out.write = desired;
  } else {
    counted_ = desired;
  }
  return out;
}

void SyncSet::published(int64_t term, std::vector<std::string> members) {
  std::lock_guard lock(mu_);
  if (term != term_ || term_ == 0) return;
  written_ = members;
  counted_ = std::move(members);
}

uint64_t SyncSet::quorum_seq(const std::function<uint64_t(const std::string&)>& synced) {
  std::lock_guard lock(mu_);
  if (term_ == 0) return 0;
  if (sync_count_ == 0) return UINT64_MAX;
  if (counted_.size() < sync_count_) return 0;
  uint64_t low = UINT64_MAX;
  for (const auto& m : counted_) low = std::min(low, synced(m));
  released_ = std::max(released_, low);
  return low;
}

int64_t SyncSet::term() const {
  std::lock_guard lock(mu_);
  return term_;
}

std::vector<std::string> SyncSet::counted() const {
  std::lock_guard lock(mu_);
  return counted_;
}

std::optional<std::vector<std::string>> SyncSet::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

uint64_t SyncSet::floor() const {
  std::lock_guard lock(mu_);
  return std::max(head_, released_);
}

}  // namespace gongshu::cluster
