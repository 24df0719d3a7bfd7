// KeyShares: the secrets that travel beside the write sets on the replication channel but never
// in them (docs/replication.md §3a). gongshud keeps each dataset's key share in a file of its
// keyring, outside the LMDB store, so that a backup of the store never holds what decrypts it
// and deleting a share crypto-shreds the dataset, backups included (docs/security.md,
// daemon/daemon_store.h). Write sets — which live in the store's changelog — must therefore not
// carry shares; yet a replica promoted to primary must hold the share of every dataset its
// applied write sets reference.
//
// So the primary sends its keyring's current state in the stream messages themselves (only over
// the CURVE channel, only to members' node keys): with the first message after every hello, and
// again with the next message whenever generation() moved since the one a snapshot last went
// with. The replica installs every share in a message — written and fsynced — before it applies
// the write sets in it, and so before it acknowledges any of them; a share whose dataset was
// destroyed arrives as a tombstone (empty bytes) and is deleted there too.
//
// Why that is enough: a dataset's share file is created, then generation() bumped, then the
// transaction storing the dataset's wrapped key (write set W) commits. The shipper reads
// generation() (g0) before it opens the read transaction a message's write sets come from and
// again (g1) after, attaches a snapshot when g1 differs from the g0 recorded with the last
// snapshot this replica was sent, and records g0. If a message carries W, either an earlier
// message on the same connection recorded a g0 at or past W's bump — its snapshot, listing the
// keyring's files after that, held the share — or g1 differs and this very message holds it.
// snapshot() therefore lists the share FILES (a share of a transaction that aborted costs a
// replica 32 useless bytes), and takes tombstones only from committed state (txn).
//
// Threads: generation() from any thread; snapshot() on the shipper's thread; install() on the
// applier's thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/crypto/secret_bytes.h"
#include "core/store/txn.h"
#include "core/util/error.h"

namespace gongshu::replication {

struct KeyShare {
  std::string name;           // the dataset id
  crypto::SecretBytes share;  // empty: the dataset was destroyed; delete the share
};

// Overwrites a buffer that held a share (a serialized message, a parsed field) before it is freed.
inline void wipe_secret(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
}
inline void wipe_secret(std::vector<uint8_t>& b) {
  volatile uint8_t* p = b.data();
  for (size_t i = 0; i < b.size(); ++i) p[i] = 0;
}

class KeyShares {
 public:
  virtual ~KeyShares() = default;
  // Primary: moves whenever a share is created or deleted (before the transaction that needs it
  // commits).
  virtual uint64_t generation() const = 0;
  // Primary: every share file of the keyring, and a tombstone for each dataset txn shows
  // destroyed.
  virtual Result<std::vector<KeyShare>> snapshot(const store::Txn& txn) = 0;
  // Replica: makes every share durable (written, fsynced; unchanged ones left alone) and deletes
  // the tombstoned ones. An error stops the applier before it applies or acknowledges anything
  // more.
  virtual Status install(const std::vector<KeyShare>& shares) = 0;
};

}  // namespace gongshu::replication
