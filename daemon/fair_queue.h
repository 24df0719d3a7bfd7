// FairQueue: the ingest pipeline's queue, one lane per agent key, served round robin.
//
// One agent's batches are committed in the order it sent them (a lane is FIFO), but no agent's
// flood can take the queue whole: a lane holds at most `max_per_lane` items (push refuses the
// rest, and the daemon answers "busy" naming the batch), the workers take the next unprepared
// item of each lane in turn, and a group commit takes the prepared prefix of each lane in turn,
// one item per lane per round, until it has `max_items` items or `max_weight` weight (records).
// So another agency's batch waits behind at most one item of each other lane at each stage,
// instead of behind everything a flooding agent sent before it.
//
// T is a pointer-like handle (std::shared_ptr<Job>) to an object with a `bool prepared` that the
// caller sets once a worker has prepared it, and a `size_t weight() const` (its records) read
// once it is prepared. Not thread-safe: the ingest pipeline calls it under its mutex.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gongshu::daemon {

template <class T>
class FairQueue {
 public:
  FairQueue(size_t max_total, size_t max_per_lane)
      : max_total_(max_total), max_per_lane_(max_per_lane) {}

  enum class Push { kQueued, kLaneFull, kQueueFull };
  // Appends item to the lane of key, unless that lane or the whole queue is full.
  Push push(std::string_view key, T item) {
    if (size_ >= max_total_) return Push::kQueueFull;
    auto it = lanes_.find(key);
    if (it == lanes_.end()) it = lanes_.emplace(std::string(key), Lane{}).first;
    if (it->second.items.size() >= max_per_lane_) return Push::kLaneFull;
    it->second.items.push_back(std::move(item));
    ++size_;
    ++unstarted_;
    return Push::kQueued;
  }

  size_t size() const { return size_; }
  // Items no worker has taken yet.
  size_t unstarted() const { return unstarted_; }
  // Items prepared and waiting for the writer.
  size_t prepared() const {
    size_t n = 0;
    for (const auto& [key, lane] : lanes_)
      for (size_t i = 0; i < lane.started; ++i) n += lane.items[i]->prepared ? 1 : 0;
    return n;
  }

  // The next item no worker has taken, from the lane after the one served last; null T if none.
  T take_for_prepare() {
    if (unstarted_ == 0) return T();
    auto it = after(prepare_cursor_);
    for (size_t n = 0; n < lanes_.size(); ++n, it = next(it)) {
      Lane& lane = it->second;
      if (lane.started < lane.items.size()) {
        prepare_cursor_ = it->first;
        --unstarted_;
        return lane.items[lane.started++];
      }
    }
    return T();
  }

  // Whether a group could start now: some lane's first item is prepared.
  bool group_ready() const {
    for (const auto& [key, lane] : lanes_)
      if (!lane.items.empty() && lane.items.front()->prepared) return true;
    return false;
  }

  // Takes the prepared prefixes of the lanes round robin, one item per lane per round, while the
  // group has fewer than max_items items and less than max_weight weight (the first item is
  // always taken). Empty lanes are forgotten.
  std::vector<T> take_group(size_t max_items, size_t max_weight) {
    std::vector<T> group;
    size_t weight = 0;
    bool took = true;
    while (took && group.size() < max_items && (group.empty() || weight < max_weight)) {
      took = false;
      auto it = after(commit_cursor_);
      for (size_t n = lanes_.size();
           n > 0 && group.size() < max_items && (group.empty() || weight < max_weight);
           --n, it = next(it)) {
        Lane& lane = it->second;
        if (lane.items.empty() || !lane.items.front()->prepared) continue;
        weight += lane.items.front()->weight();
        group.push_back(std::move(lane.items.front()));
        lane.items.pop_front();
        --lane.started;
        --size_;
        commit_cursor_ = it->first;
        took = true;
      }
    }
    for (auto it = lanes_.begin(); it != lanes_.end();) {
      it = it->second.items.empty() ? lanes_.erase(it) : std::next(it);
    }
    return group;
  }

 private:
  struct Lane {
    std::deque<T> items;  // arrival order
    size_t started = 0;   // items[0, started) have been taken by a worker
  };
  using Lanes = std::map<std::string, Lane, std::less<>>;

  // The lane after `key` in key order, wrapping around (the first lane if key is gone).
  typename Lanes::iterator after(const std::string& key) {
    auto it = lanes_.upper_bound(key);
    return it == lanes_.end() ? lanes_.begin() : it;
  }
  typename Lanes::iterator next(typename Lanes::iterator it) {
    ++it;
    return it == lanes_.end() ? lanes_.begin() : it;
  }

  size_t max_total_;
  size_t max_per_lane_;
  size_t size_ = 0;
  size_t unstarted_ = 0;
  Lanes lanes_;
  std::string prepare_cursor_, commit_cursor_;
};

}  // namespace gongshu::daemon
