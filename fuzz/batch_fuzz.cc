// batch::open_batch (core/batch/batch.h) against protobuf. The input is the plaintext of a
// SignedBatch; it is sealed to the fixed daemon key and opened as the daemon opens it. What
// opens must be what protobuf parses from the same plaintext (header, signature, records);
// what is refused as malformed protobuf must refuse too, and a batch refused for its record
// count must hold more records than the limit. Then verify_batch runs on what opened (seeds
// are signed by the fixed agent key, so the fuzzer also reaches the signature and hash checks).
#include <google/protobuf/arena.h>

#include "core/batch/batch.h"
#include "core/crypto/seal.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  batch::Limits limits;
  limits.max_records = 16;  // small, so the fuzzer meets the limit
  limits.max_record_bytes = 4096;
  limits.max_batch_bytes = 1 << 20;

  auto box = crypto::seal(fuzz::daemon_key().public_key(), ByteView(data, size));
  GONGSHU_CHECK(box.has_value());
  v1::SealedBatch sealed;
  sealed.set_batch_seq(1);
  sealed.set_sealed(box->data(), box->size());

  v1::SignedBatch parsed;
  const bool protobuf_reads = parsed.ParseFromArray(data, static_cast<int>(size));

  google::protobuf::Arena arena;
  auto opened = batch::open_batch(fuzz::daemon_key(), sealed, limits, arena);
  if (!opened) {
    const v1::BatchErrorCode code = opened.error().code;
    if (code == v1::BATCH_MALFORMED) {
      GONGSHU_FUZZ_CHECK(!protobuf_reads, "refused as malformed, read by protobuf");
    } else {
      GONGSHU_FUZZ_CHECK(code == v1::BATCH_TOO_LARGE, "refused for an unexpected reason");
      GONGSHU_FUZZ_CHECK(!protobuf_reads || size_t(parsed.records_size()) > limits.max_records,
                         "refused as too large within the record limit");
    }
    return 0;
  }
  GONGSHU_FUZZ_CHECK(protobuf_reads, "opened, refused by protobuf");
  GONGSHU_FUZZ_CHECK(as_chars(opened->plaintext) == fuzz::text(data, size),
                     "opened other bytes than were sealed");
  GONGSHU_FUZZ_CHECK(opened->header != nullptr, "opened without a header");
  GONGSHU_FUZZ_CHECK(opened->header->SerializeAsString() == parsed.header().SerializeAsString(),
                     "header differs from protobuf's");
  GONGSHU_FUZZ_CHECK(opened->signature == parsed.signature(), "signature differs from protobuf's");
  GONGSHU_FUZZ_CHECK(opened->records.size() == size_t(parsed.records_size()),
                     "record count differs from protobuf's");
  for (size_t i = 0; i < opened->records.size(); ++i) {
    GONGSHU_FUZZ_CHECK(opened->records[i] == parsed.records(int(i)),
                       "record differs from protobuf's");
  }

  auto hash =
      batch::verify_batch(*opened, opened->header->batch_seq(), fuzz::agent_key().public_key(),
                          fuzz::daemon_key().public_key(), limits);
  if (hash) {
    GONGSHU_FUZZ_CHECK(*hash == batch::batch_hash(*opened->header), "batch hash differs");
  }
  return 0;
}
