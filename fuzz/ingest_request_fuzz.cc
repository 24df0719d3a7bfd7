// The ingest socket's decoder: a frame from an agent is decoded as a SealedBatch with the
// daemon's size limit (core/wire/codec.h, daemon/ingest.cc), then opened with the fixed daemon
// key. A message that decodes encodes again to bytes that decode to the same message.
#include <google/protobuf/arena.h>

#include "core/batch/batch.h"
#include "core/wire/codec.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  batch::Limits limits;  // the daemon's defaults
  limits.max_batch_bytes = 64 * 1024;
  v1::SealedBatch sealed;
  if (!wire::decode(ByteView(data, size), limits.max_batch_bytes + 4096, sealed)) {
    GONGSHU_FUZZ_CHECK(sealed.ByteSizeLong() == 0, "a refused frame left a message behind");
    return 0;
  }
  auto encoded = wire::encode(sealed);
  GONGSHU_FUZZ_CHECK(encoded.has_value(), "a decoded message does not encode");
  auto again = wire::decode_as<v1::SealedBatch>(*encoded, encoded->size());
  GONGSHU_FUZZ_CHECK(again.has_value(), "an encoded message does not decode");
  GONGSHU_FUZZ_CHECK(again->SerializeAsString() == sealed.SerializeAsString(),
                     "decode(encode(m)) differs from m");

  google::protobuf::Arena arena;
  auto opened = batch::open_batch(fuzz::daemon_key(), sealed, limits, arena);
  if (opened) {
    // Called for what it may do wrong, not for its answer: any outcome is fine.
    (void)batch::verify_batch(*opened, sealed.batch_seq(), fuzz::agent_key().public_key(),
                              fuzz::daemon_key().public_key(), limits);
  }
  return 0;
}
