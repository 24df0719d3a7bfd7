// A node's store for the replication tests: a real LMDB env in a temp dir with the real audit
// log (its tree is what every write set states and every replica checks) and the changelog; a
// workload that writes through every recorded kind of write (put, append_reserve, insert,
// delete, clear, cursor puts) plus an audit entry per transaction; and a byte-for-byte
// comparison of two stores.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/audit/log.h"
#include "core/crypto/identity.h"
#include "core/replication/changelog.h"
#include "core/store/env.h"
#include "core/util/clock.h"

namespace gongshu::replication::testing {

crypto::IdentityKey test_key(uint8_t seed_byte);

struct Node {
  // with_changelog false: the caller brings its own (a Replicator).
  explicit Node(const std::string& dir, ChangelogOptions options = {}, bool with_changelog = true);
  AuditProbe probe();
  ~Node();
  std::unique_ptr<store::Env> env;
  SystemClock clock;
  crypto::IdentityKey signer;  // the cluster's audit signing key (shared by every node)
  std::unique_ptr<audit::AuditLog> audit;
  std::unique_ptr<Changelog> changelog;
  store::Db records, latest, scratch, cache;

  // Makes this node the primary of `term`: the changelog numbers every write from now on.
  void lead(int64_t term);
  // One transaction of the workload (i from 1); returns the seq it got.
  uint64_t write(uint64_t i);
};

// Every table the workload, the audit log and the changelog write → its entries.
std::map<std::string, std::map<std::string, std::string>> dump(store::Env& env);

}  // namespace gongshu::replication::testing
