#include "core/wire/agent_key_rotation.h"

#include <algorithm>

namespace gongshu::wire {

Bytes agent_key_rotation_statement(const crypto::PublicKey& old_key,
                                   const crypto::PublicKey& new_key,
                                   const crypto::PublicKey& daemon_key) {
  Bytes out;
  out.reserve(3 * crypto::kPublicKeySize);
  for (const auto* k : {&old_key, &new_key, &daemon_key}) {
    out.insert(out.end(), k->bytes().begin(), k->bytes().end());
  }
  return out;
}

crypto::Signature sign_agent_key_rotation(const crypto::IdentityKey& new_key,
                                          const crypto::PublicKey& old_key,
                                          const crypto::PublicKey& daemon_key) {
  Bytes statement = agent_key_rotation_statement(old_key, new_key.public_key(), daemon_key);
  return new_key.sign(kAgentKeyRotationDomain, statement);
}

bool verify_agent_key_rotation(const crypto::PublicKey& old_key, const crypto::PublicKey& new_key,
                               const crypto::PublicKey& daemon_key, ByteView sig) {
  if (sig.size() != crypto::kSignatureSize) return false;
  crypto::Signature s;
  std::copy(sig.begin(), sig.end(), s.begin());
  Bytes statement = agent_key_rotation_statement(old_key, new_key, daemon_key);
  return crypto::verify(new_key, kAgentKeyRotationDomain, statement, s);
}

}  // namespace gongshu::wire
