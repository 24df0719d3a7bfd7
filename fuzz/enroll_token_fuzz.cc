// Enrollment tokens (core/wire/enroll_token.h): pasted by an operator into `gongshu-agent
// enroll`, and sent by anyone to the daemon's api socket. A token that parses formats to one
// that parses to the same content.
#include "core/wire/enroll_token.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto token = wire::parse_enroll_token(fuzz::text(data, size));
  if (!token) return 0;
  // Called for what it may do wrong, not for its answer: any outcome is fine.
  (void)wire::enroll_secret_hash(token->secret);
  auto again = wire::parse_enroll_token(wire::format_enroll_token(*token));
  GONGSHU_FUZZ_CHECK(again.has_value(), "a formatted token does not parse");
  GONGSHU_FUZZ_CHECK(again->daemon_key == token->daemon_key && again->secret == token->secret &&
                         again->api_endpoint == token->api_endpoint,
                     "a formatted token parses to another");
  return 0;
}
