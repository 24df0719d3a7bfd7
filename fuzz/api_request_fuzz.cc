// The api socket's decoder: a frame is decoded as an ApiRequest with the daemon's limit
// (core/wire/codec.h, daemon/api.cc), and the parsers the daemon applies to a request's fields
// run on what decoded: enrollment tokens and public keys, agent key rotation proofs, catalog
// entries. The same bytes are decoded as the answers the agent and gongshuctl read from the
// daemon (ApiResponse, BatchAck). A message that decodes encodes again to bytes that decode to
// the same message.
#include "core/catalog/dataset.h"
#include "core/wire/agent_key_rotation.h"
#include "core/wire/codec.h"
#include "core/wire/enroll_token.h"
#include "fuzz/fuzz_support.h"
#include "gongshu/v1/api.pb.h"

using namespace gongshu;

namespace {

template <typename M>
bool decodes_stably(ByteView bytes, size_t limit, M& message) {
  if (!wire::decode(bytes, limit, message)) {
    GONGSHU_FUZZ_CHECK(message.ByteSizeLong() == 0, "a refused frame left a message behind");
    return false;
  }
  auto encoded = wire::encode(message);
  GONGSHU_FUZZ_CHECK(encoded.has_value(), "a decoded message does not encode");
  auto again = wire::decode_as<M>(*encoded, encoded->size());
  GONGSHU_FUZZ_CHECK(again.has_value(), "an encoded message does not decode");
  GONGSHU_FUZZ_CHECK(again->SerializeAsString() == message.SerializeAsString(),
                     "decode(encode(m)) differs from m");
  return true;
}

void fields(const v1::ApiRequest& req) {
  switch (req.body_case()) {
    case v1::ApiRequest::kEnroll:
      if (auto token = wire::parse_enroll_token(req.enroll().token())) {
        GONGSHU_FUZZ_CHECK(wire::parse_enroll_token(wire::format_enroll_token(*token)).has_value(),
                           "a formatted token does not parse");
      }
      // Called for what it may do wrong, not for its answer: any outcome is fine.
      (void)crypto::PublicKey::from_hex(req.enroll().agent_public_key());
      break;
    case v1::ApiRequest::kAgentKeyRotate:
      if (auto fresh = crypto::PublicKey::from_hex(req.agent_key_rotate().new_public_key())) {
        (void)wire::verify_agent_key_rotation(fuzz::agent_key().public_key(), *fresh,
                                              fuzz::daemon_key().public_key(),
                                              as_bytes(req.agent_key_rotate().signature()));
      }
      break;
    case v1::ApiRequest::kCatalogAdd:
      if (catalog::validate_dataset(req.catalog_add().entry())) {
        catalog::DatasetSchema schema(req.catalog_add().entry());
        (void)schema.personal();
      }
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView bytes(data, size);
  v1::ApiRequest req;
  if (decodes_stably(bytes, size_t{1} << 20, req)) fields(req);
  v1::ApiResponse resp;
  (void)decodes_stably(bytes, size_t{64} << 20, resp);
  v1::BatchAck ack;
  (void)decodes_stably(bytes, size_t{1} << 20, ack);
  return 0;
}
