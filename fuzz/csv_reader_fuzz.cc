// The agent's CSV (RFC 4180) reader (agent/csv_reader.cc, agent/record_reader.h): input files come
// from the agency's systems (fuzz/reader_fuzz.h).
#include "fuzz/reader_fuzz.h"

using namespace gongshu;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::read_rows(agent::InputFormat::kCsv, data, size);
}
