// Daemon key rotation statements in their text form (core/audit/key_rotation.h): carried in
// audit entries and in the file an agent is given. A statement that parses has both signatures
// checked; formatted and parsed again it is the same statement.
#include "core/audit/key_rotation.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto st = audit::parse_rotation_text(fuzz::text(data, size));
  if (!st) return 0;
  GONGSHU_FUZZ_CHECK(audit::check_rotation_signatures(*st).has_value(),
                     "a parsed statement's signatures do not verify");
  auto again = audit::parse_rotation_text(audit::format_rotation_text(*st));
  GONGSHU_FUZZ_CHECK(again.has_value(), "a formatted statement does not parse");
  GONGSHU_FUZZ_CHECK(again->origin == st->origin && again->old_key == st->old_key &&
                         again->new_key == st->new_key && again->time_ms == st->time_ms &&
                         again->old_signature == st->old_signature &&
                         again->new_signature == st->new_signature,
                     "a formatted statement parses to another");
  return 0;
}
