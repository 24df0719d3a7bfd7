// DaemonKeys: the daemon's Ed25519 identity key (also its CURVE server key) and its rotation
// with overlap (docs/protocol.md, "Operations: keys"; the statement format is
// core/audit/key_rotation.h).
//
//   rotate()   (`gongshuctl daemon-key rotate`) generates the next key into
//              <daemon.key>.next (0600) and a rotation statement signed by the current and the
//              next key; the statement is stored in the store's meta table and recorded in a
//              key_rotate audit entry in one transaction. From then on checkpoints carry both
//              keys' signatures, and agents fetch the statement (DaemonKeyStatus).
//   activate() at the next start of `gongshud run`: the current key file is kept as
//              <daemon.key>.old.<key id>, the next one becomes <daemon.key>, and a
//              key_activate audit entry (carrying the statement) is written before any socket
//              is bound. The replaced key stays loaded as previous(): ingest still opens batches
//              that agents sealed to it before they learnt the new key.
//
// The switch survives a crash at any point: the meta record "daemon_key.pending" names the
// rotation until the key_activate entry commits, and a next-key file with no pending statement
// (a rotation whose transaction never committed) is never activated.
//
// Threads: load() and activate() run at start-up on one thread; current() is stable after
// activate(); rotate() and status() may run on the api thread while others sign with current().
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/audit/key_rotation.h"
#include "core/crypto/identity.h"
#include "daemon/api_context.h"
#include "daemon/daemon_store.h"

namespace gongshu::daemon {

class DaemonKeys {
 public:
  // Loads the daemon key file (refusing a key that is not a daemon key) and, when present, the
  // next key beside it.
  static Result<std::unique_ptr<DaemonKeys>> load(const std::string& key_path);

  // The key in force. Open the store with it; activate() replaces the object's value in place,
  // so references taken before activate() see the new key afterwards.
  const crypto::IdentityKey& current() const { return current_; }
  const crypto::IdentityKey* previous() const { return previous_.get(); }

  // Completes a pending rotation (see above); returns the statement it activated, if any.
  // Call once, after the store is open and before any socket is bound.
  Result<std::optional<audit::RotationStatement>> activate(DaemonStore& store);

  // Starts a rotation on behalf of who; kAlreadyExists while one is pending.
  Result<audit::RotationStatement> rotate(DaemonStore& store, const Caller& who,
                                          uint64_t* audit_seq);

  // Current and next public keys and the latest statement (from the store).
  Result<v1::DaemonKeyStatus> status(DaemonStore& store) const;

 private:
  DaemonKeys(std::string path, crypto::IdentityKey current)
      : path_(std::move(path)), current_(std::move(current)) {}
  std::string next_path() const { return path_ + ".next"; }

  std::string path_;
  crypto::IdentityKey current_;
  std::unique_ptr<crypto::IdentityKey> previous_;
  mutable std::mutex mu_;                      // guards next_ after start-up
  std::unique_ptr<crypto::IdentityKey> next_;  // never replaced once announced
};

// Api handlers (operators rotate; anyone may read the status).
Reply daemon_key_rotate(ApiContext& ctx, DaemonKeys& keys, const Caller& c, v1::ApiResponse& resp);
Reply daemon_key_status(ApiContext& ctx, DaemonKeys& keys, v1::ApiResponse& resp);

}  // namespace gongshu::daemon
