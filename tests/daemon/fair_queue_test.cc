#include "daemon/fair_queue.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

namespace gongshu::daemon {
namespace {

struct Item {
  std::string key;
  int n = 0;
  size_t records = 1;
  bool prepared = false;
  size_t weight() const { return records; }
};
using ItemPtr = std::shared_ptr<Item>;

ItemPtr item(std::string key, int n, size_t records = 1) {
  return std::make_shared<Item>(Item{std::move(key), n, records});
}

std::vector<std::string> names(const std::vector<ItemPtr>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i->key + std::to_string(i->n));
  return out;
}

// Prepares everything the workers can take, in the order they take it; returns that order.
std::vector<std::string> prepare_all(FairQueue<ItemPtr>& q) {
  std::vector<std::string> order;
  while (ItemPtr i = q.take_for_prepare()) {
    i->prepared = true;
    order.push_back(i->key + std::to_string(i->n));
  }
  return order;
}

TEST_CASE("a flooding lane cannot take the queue: its share is capped, the others still queue") {
  FairQueue<ItemPtr> q(/*max_total=*/100, /*max_per_lane=*/4);
  for (int i = 0; i < 4; ++i)
    REQUIRE(q.push("flood", item("f", i)) == FairQueue<ItemPtr>::Push::kQueued);
  CHECK(q.push("flood", item("f", 4)) == FairQueue<ItemPtr>::Push::kLaneFull);
  CHECK(q.push("other", item("o", 0)) == FairQueue<ItemPtr>::Push::kQueued);
  CHECK(q.size() == 5);
}

TEST_CASE("the whole queue has a bound too") {
  FairQueue<ItemPtr> q(3, 10);
  REQUIRE(q.push("a", item("a", 0)) == FairQueue<ItemPtr>::Push::kQueued);
  REQUIRE(q.push("b", item("b", 0)) == FairQueue<ItemPtr>::Push::kQueued);
  REQUIRE(q.push("c", item("c", 0)) == FairQueue<ItemPtr>::Push::kQueued);
  CHECK(q.push("d", item("d", 0)) == FairQueue<ItemPtr>::Push::kQueueFull);
}

TEST_CASE("workers take the lanes in turn; each lane in arrival order") {
  FairQueue<ItemPtr> q(100, 10);
  for (int i = 0; i < 3; ++i) q.push("a", item("a", i));
  q.push("b", item("b", 0));
  // Lane a, then b (its only item), then a's others: b's batch is not behind all of a's.
  CHECK(prepare_all(q) == std::vector<std::string>{"a0", "b0", "a1", "a2"});
  CHECK(q.unstarted() == 0);
  CHECK(q.prepared() == 4);
}

TEST_CASE("a group takes one item per lane per round, within its record budget") {
  FairQueue<ItemPtr> q(100, 10);
  for (int i = 0; i < 5; ++i) q.push("flood", item("f", i, 1000));
  q.push("other", item("o", 0, 10));
  prepare_all(q);
  SECTION("the other agency's batch is in the first group, not behind the flood") {
    auto group = q.take_group(64, 2000);
    CHECK(names(group) == std::vector<std::string>{"f0", "o0", "f1"});
    CHECK(q.size() == 3);
    CHECK(names(q.take_group(64, 2000)) == std::vector<std::string>{"f2", "f3"});
  }
  SECTION("at most max_items") { CHECK(q.take_group(2, 1 << 30).size() == 2); }
  SECTION("the first item is taken even over the budget") {
    CHECK(q.take_group(64, 1).size() == 1);
  }
}

TEST_CASE("a lane's items are committed only in arrival order: an unprepared head holds it") {
  FairQueue<ItemPtr> q(100, 10);
  q.push("a", item("a", 0));
  q.push("a", item("a", 1));
  ItemPtr first = q.take_for_prepare();
  ItemPtr second = q.take_for_prepare();
  second->prepared = true;  // prepared out of order
  CHECK_FALSE(q.group_ready());
  CHECK(q.take_group(64, 1 << 20).empty());
  first->prepared = true;
  CHECK(q.group_ready());
  CHECK(names(q.take_group(64, 1 << 20)) == std::vector<std::string>{"a0", "a1"});
  CHECK(q.size() == 0);
}

}  // namespace
}  // namespace gongshu::daemon
