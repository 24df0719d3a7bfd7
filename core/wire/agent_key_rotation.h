// The proof of possession in an agent key rotation (docs/protocol.md, "Agent key rotation"): the
// new key K2 signs, under the domain "gongshu.agent-key-rotation.v1", the statement
//
//   K1 public key (32) || K2 public key (32) || daemon public key (32)
//
// so a signature made for one rotation cannot be replayed for another old key, another new key
// or another daemon. The agent makes it (it holds K2), the daemon checks it before it registers
// K2 in K1's place. Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "core/crypto/identity.h"
#include "core/util/bytes.h"

namespace gongshu::wire {

inline constexpr std::string_view kAgentKeyRotationDomain = "gongshu.agent-key-rotation.v1";

Bytes agent_key_rotation_statement(const crypto::PublicKey& old_key,
                                   const crypto::PublicKey& new_key,
                                   const crypto::PublicKey& daemon_key);

crypto::Signature sign_agent_key_rotation(const crypto::IdentityKey& new_key,
                                          const crypto::PublicKey& old_key,
                                          const crypto::PublicKey& daemon_key);

// True when sig is new_key's signature over the statement for (old_key, new_key, daemon_key).
bool verify_agent_key_rotation(const crypto::PublicKey& old_key, const crypto::PublicKey& new_key,
                               const crypto::PublicKey& daemon_key, ByteView sig);

}  // namespace gongshu::wire
