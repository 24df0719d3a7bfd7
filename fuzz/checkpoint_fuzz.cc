// Checkpoint notes (core/audit/checkpoint.h): the signed-note text an export, a proof file or a
// trusted-checkpoint file hands the verifier. Parsed unverified, verified against the fixed
// daemon keys, and, where a body parses, formatted and parsed again to the same body.
#include "core/audit/checkpoint.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view note = fuzz::text(data, size);
  auto unverified = audit::parse_checkpoint_note_unverified(note);

  const crypto::PublicKey keys[] = {fuzz::daemon_key().public_key(),
                                    fuzz::next_daemon_key().public_key()};
  crypto::PublicKey signer;
  if (auto verified = audit::verify_checkpoint(note, keys, &signer)) {
    GONGSHU_FUZZ_CHECK(unverified.has_value() && *unverified == *verified,
                       "a verified note does not parse unverified to the same body");
    GONGSHU_FUZZ_CHECK(signer == keys[0] || signer == keys[1], "verified by an unknown key");
  }

  if (auto body = audit::parse_checkpoint_body(note)) {
    auto again = audit::parse_checkpoint_body(audit::format_checkpoint_body(*body));
    GONGSHU_FUZZ_CHECK(again.has_value() && *again == *body,
                       "a formatted body does not parse to itself");
  }
  return 0;
}
