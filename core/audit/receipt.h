// Receipts: the daemon's signed statement that an event (for example a batch, named by the hash
// of its header) is recorded in the audit log as entry seq, whose entry hash is entry_hash, in a
// tree of tree_size entries with Merkle root root. The holder can check the signature offline and
// later hold the daemon to it: `gongshu-audit verify --receipts DIR` proves that an export
// contains that entry under that root (no truncation, no fork).
//
// Signed bytes: "gongshu.receipt.v1\0" || event_hash (32) || seq (u64 BE) || entry_hash (32) ||
// tree_size (u64 BE) || root (32) || issued_at_ms (i64 BE) || daemon_key_id (16 ASCII).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/audit/merkle.h"
#include "core/crypto/identity.h"
#include "core/util/error.h"
#include "gongshu/v1/batch.pb.h"

namespace gongshu::audit {

inline constexpr std::string_view kReceiptDomain = "gongshu.receipt.v1";

v1::Receipt make_receipt(const crypto::IdentityKey& daemon, const Hash& event_hash, uint64_t seq,
                         const Hash& entry_hash, uint64_t tree_size, const Hash& root,
                         int64_t issued_at_ms);

// The bytes the signature covers, without the domain prefix; kCorrupt if a field has the wrong
// size.
Result<Bytes> receipt_signed_bytes(const v1::Receipt& r);

// Checks field sizes, the key id and the signature.
Status verify_receipt(const v1::Receipt& r, const crypto::PublicKey& daemon_key);
// As above with the key among keys whose key id the receipt names (a receipt issued before a
// daemon key rotation names the old key, one issued after it the new key).
Status verify_receipt(const v1::Receipt& r, std::span<const crypto::PublicKey> keys);

// A small text form for people and files ("gongshu receipt v1", one field per line).
std::string format_receipt_text(const v1::Receipt& r);
Result<v1::Receipt> parse_receipt_text(std::string_view text);

}  // namespace gongshu::audit
