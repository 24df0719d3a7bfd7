// Receipts in their text form (core/audit/receipt.h): what an agency hands an officer to be
// held against an export. Parsed, verified against the fixed daemon keys, and formatted and
// parsed again to the same receipt.
#include "core/audit/receipt.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto receipt = audit::parse_receipt_text(fuzz::text(data, size));
  if (!receipt) return 0;
  auto again = audit::parse_receipt_text(audit::format_receipt_text(*receipt));
  GONGSHU_FUZZ_CHECK(again.has_value(), "a formatted receipt does not parse");
  GONGSHU_FUZZ_CHECK(again->SerializeAsString() == receipt->SerializeAsString(),
                     "a formatted receipt parses to another");
  // Called for what it may do wrong, not for its answer: any outcome is fine.
  (void)audit::receipt_signed_bytes(*receipt);
  const crypto::PublicKey keys[] = {fuzz::daemon_key().public_key(),
                                    fuzz::next_daemon_key().public_key()};
  (void)audit::verify_receipt(*receipt, keys);
  return 0;
}
