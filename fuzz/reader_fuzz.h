// The body both agent reader targets share (csv_reader_fuzz.cc, jsonl_reader_fuzz.cc): the input
// is read from an in-memory file, row by row, against the fuzz dataset; every row that reads is
// normalised and validated as intake does, and a row that passes must encode to a record
// protobuf parses back (what the agent spools, the daemon reads).
#pragma once

#include "agent/record_reader.h"
#include "core/catalog/validate.h"
#include "fuzz/fuzz_support.h"

namespace gongshu::fuzz {

inline int read_rows(agent::InputFormat format, const uint8_t* data, size_t size) {
  agent::ReaderLimits limits;
  limits.max_row_bytes = 4096;  // small, so the fuzzer meets the limits
  limits.max_columns = 16;
  auto input = agent::InputFile::from_fd(memory_file(text(data, size)), "fuzz");
  auto reader = agent::make_reader(format, std::move(input), schema(), limits);
  if (!reader) return 0;
  agent::ParsedRow row;
  for (int rows = 0; rows < 100'000; ++rows) {
    auto more = (*reader)->next(row);
    if (!more || !*more) break;
    if (!row.ok) {
      GONGSHU_FUZZ_CHECK(!row.reason.empty(), "a row refused without a reason");
      continue;
    }
    catalog::normalize_record(schema(), row.record, clock());
    if (!catalog::validate_record(schema(), row.record, clock()).ok()) continue;
    std::string bytes;
    GONGSHU_FUZZ_CHECK(row.record.SerializeToString(&bytes), "an accepted row does not encode");
    v1::Record back;
    GONGSHU_FUZZ_CHECK(back.ParseFromString(bytes), "an accepted row's record does not parse");
  }
  return 0;
}

}  // namespace gongshu::fuzz
