// Keyed hashing (BLAKE2b-256 with a 32-byte key, libsodium crypto_generichash): blind indexes
// of subject identifiers and stable masking tokens. Without the key the output reveals nothing
// about the identifier and cannot be recomputed by enumerating identifiers — which an unkeyed
// hash of an ID number would allow. Thread-safe.
#pragma once

#include "core/crypto/secret_bytes.h"
#include "core/crypto/sha256.h"
#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu::crypto {

// domain separates uses of one key (e.g. "subject-index" vs "mask-token").
Digest keyed_hash(const SecretBytes& key, std::string_view domain, ByteView data);

// Reads a file holding exactly `size` raw secret bytes (a storage master key, a systemd
// credential) into protected memory, with the same refusals as key files: symlinks, files
// readable by group or others, files owned by another user (unless owned by root, as systemd
// credentials are).
Result<SecretBytes> load_secret_file(const std::string& path, size_t size);

// Creates a new file with `size` random bytes, mode 0600; refuses to overwrite.
Status create_secret_file(const std::string& path, size_t size);

}  // namespace gongshu::crypto
