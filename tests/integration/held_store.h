// A cluster node's store with its LMDB writer lock taken by the test process: the node's applier
// cannot commit while a HeldStore lives, and its api still answers (its reads run on snapshots).
// Used where a replica must serve reads while it applies nothing (test_cluster_reads,
// test_cluster_leader_reads).
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <optional>

#include "core/store/env.h"
#include "core/store/txn.h"
#include "tests/integration/cluster_platform.h"

namespace gongshu::testing {

class HeldStore {
 public:
  explicit HeldStore(const Node& n) {
    store::EnvOptions eo;
    eo.map_size = 0;  // the store's own
    auto env = store::Env::open(n.state + "/store", eo);
    REQUIRE(env);
    env_ = std::move(*env);
    auto t = env_->begin_write_unrecorded();
    REQUIRE(t);
    txn_.emplace(std::move(*t));
  }
  ~HeldStore() { txn_.reset(); }  // aborted: nothing written

 private:
  std::unique_ptr<store::Env> env_;
  std::optional<store::WriteTxn> txn_;
};

}  // namespace gongshu::testing
