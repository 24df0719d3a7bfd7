// Identity key files (DESIGN §4). A key file is a small TOML document:
//
//   # gongshu identity key ...
//   format = "gongshu-key-v1"
//   kind = "agent"
//   public_key = "<64 hex>"
//   key_id = "<16 hex>"
//   secret_seed = "<64 hex>"
//
// It is read with a strict parser of exactly this subset of TOML (one `name = "value"` per line,
// comments, blank lines) that works inside sodium_malloc memory, so the secret never passes
// through a std::string or a general-purpose parser's heap. Loading refuses a symlink, a file
// that is not regular, a file group or others may read, and a file owned by another user; it
// checks that the public key and key id match the secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/crypto/identity.h"
#include "core/util/error.h"

namespace gongshu::crypto {

// Whose key it is. The kind is a label for people and tools (a daemon refuses to start with a
// key that is not a daemon key); what a key may do is decided by the daemon's principal
// registry, never by the file. kPublic: a key for the open platform that nobody registers.
enum class KeyKind {
  kDaemon,
  kAgent,
  kOperator,
  kOfficer,
  kAgency,
  kApplicant,
  kLicensed,
  kPublic,
  kReviewer,  // a catalog reviewer (审核人) of the data authority, county or city
};

std::string_view key_kind_name(KeyKind kind);
std::optional<KeyKind> parse_key_kind(std::string_view name);

struct KeyFile {
  KeyKind kind;
  IdentityKey key;
};

// Writes a new key file with mode 0600. Refuses to overwrite an existing file.
Status save_key_file(const std::string& path, KeyKind kind, const IdentityKey& key);
// Writes or replaces a key file atomically, mode 0600 (write_file_atomic: PATH.tmp written and
// synced, renamed over path, the directory synced): path is never seen empty or half written.
// PATH.tmp, which holds the secret, is removed when any step fails.
Status save_key_file_atomic(const std::string& path, KeyKind kind, const IdentityKey& key);

Result<KeyFile> load_key_file(const std::string& path);

}  // namespace gongshu::crypto
