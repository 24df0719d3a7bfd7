// The daemon key an agent trusts, across a rotation of the daemon's key (docs/protocol.md,
// "Operations: keys"). The trusted key is the enrollment's daemon_public_key (config [daemon]
// public_key overrides it and is then the operator's to update). A rotation statement
// (core/audit/key_rotation.h) is accepted only when its old key is the trusted key and both of
// its signatures verify; it is kept in the spool's meta under kDaemonKeyNext. The forwarder
// tries the next key when a handshake with the trusted one fails, and adopts it (enrollment
// updated, statement dropped) once a handshake with it succeeds: only the daemon holding the
// next key's secret can complete that handshake.
//
// Statements reach the agent from the daemon's DaemonKeyStatus (fetched with every catalog
// refresh of the running service) or from a file (`gongshu-agent trust-daemon-key FILE`).
// Functions are thread-compatible; spool transactions are the caller's where one is passed.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>

#include "agent/api_client.h"
#include "agent/spool.h"
#include "core/audit/key_rotation.h"
#include "core/crypto/identity.h"
#include "core/wire/context.h"

namespace gongshu::agent {

inline constexpr std::string_view kDaemonKeyNext = "daemon_key.next";  // statement text

// What accepting a statement did.
enum class StatementOutcome {
  kStored,          // a new next key is kept
  kAlreadyKnown,    // the same statement was kept before
  kAlreadyTrusted,  // its new key is the trusted key already
};

// Verifies text (kCorrupt: malformed; kUnauthenticated: a signature fails or it does not hand
// over from trusted) and keeps it. statement receives the parsed statement when not null.
Result<StatementOutcome> accept_daemon_key_statement(const Spool& spool, store::WriteTxn& txn,
                                                     const crypto::PublicKey& trusted,
                                                     std::string_view text,
                                                     audit::RotationStatement* statement = nullptr);

// The key to try after a failed handshake with `current`: the kept statement's new key when
// current is its old key; none otherwise.
std::optional<crypto::PublicKey> next_daemon_key(const Spool& spool, const store::Txn& txn,
                                                 const crypto::PublicKey& current);

// After a successful handshake with key: when key is the kept statement's new key, makes it the
// trusted key (the enrollment's daemon_public_key) and drops the statement; returns whether it
// did.
Result<bool> adopt_daemon_key_if_next(const Spool& spool, store::WriteTxn& txn,
                                      const crypto::PublicKey& key);

// Asks the daemon at target for its key status and accepts a statement that hands over from
// target.key. Returns what happened (nullopt: the daemon has no statement for this key).
Result<std::optional<StatementOutcome>> fetch_daemon_key_statement(
    wire::Context& context, const crypto::IdentityKey& identity, const DaemonTarget& target,
    Spool& spool, std::chrono::milliseconds timeout, const std::atomic<bool>* cancel = nullptr);

}  // namespace gongshu::agent
