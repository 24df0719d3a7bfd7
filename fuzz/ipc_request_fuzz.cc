// The agent's local socket (agent/ipc_server.h): a message from any application on the
// agency's machine is decoded into its request and record, which is normalised and validated
// against the fuzz dataset as intake does; a record that passes must encode to one protobuf
// parses back.
#include "agent/ipc_server.h"
#include "core/catalog/validate.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agent::IpcRequest req = agent::decode_ipc_request(fuzz::text(data, size), size);
  if (!req.error.empty()) {
    GONGSHU_FUZZ_CHECK(req.raw.size() <= 256, "a rejection keeps more than 256 bytes");
    return 0;
  }
  GONGSHU_FUZZ_CHECK(size <= agent::kMaxIpcMessage, "a message past the limit decoded");
  catalog::normalize_record(fuzz::schema(), req.record, fuzz::clock());
  if (!catalog::validate_record(fuzz::schema(), req.record, fuzz::clock()).ok()) return 0;
  std::string bytes;
  GONGSHU_FUZZ_CHECK(req.record.SerializeToString(&bytes), "an accepted record does not encode");
  v1::Record back;
  GONGSHU_FUZZ_CHECK(back.ParseFromString(bytes), "an accepted record does not parse back");
  return 0;
}
