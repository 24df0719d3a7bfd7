// Audit entries: the canonical prefix the verifier chains by, and the protobuf parse people
// read, must never disagree about an entry.
#include "core/audit/entry.h"

#include <catch2/catch.hpp>

namespace gongshu::audit {
namespace {

std::string entry_bytes(uint64_t seq, const Hash& prev) {
  v1::AuditEntry e;
  e.set_action("ingest");
  e.set_detail("entry " + std::to_string(seq));
  std::string out;
  encode_entry(seq, prev, e, &out);
  return out;
}

TEST_CASE("an entry decodes with the seq and prev_hash of its canonical prefix") {
  Hash prev{};
  prev[0] = 7;
  const std::string bytes = entry_bytes(5, prev);
  auto prefix = parse_entry_prefix(as_bytes(bytes));
  REQUIRE(prefix);
  CHECK(prefix->seq == 5);
  auto entry = decode_entry(as_bytes(bytes));
  REQUIRE(entry);
  CHECK(entry->seq() == 5);
  CHECK(entry->prev_hash() == as_chars(prev));
}

// Found by fuzz/export_verify_fuzz: protobuf keeps the last of a repeated singular field, so an
// entry that gives seq (or prev_hash) again after its prefix was chained by the verifier as
// entry 5 and shown by decode_entry (gongshu-audit show, proof files) as entry 7.
TEST_CASE("an entry that gives seq or prev_hash again after its prefix is refused") {
  const std::string bytes = entry_bytes(5, Hash{});
  REQUIRE(parse_entry_prefix(as_bytes(bytes))->seq == 5);
  const std::string seq_again = bytes + std::string("\x08\x07", 2);
  CHECK(parse_entry_prefix(as_bytes(seq_again))->seq == 5);
  auto decoded = decode_entry(as_bytes(seq_again));
  REQUIRE(!decoded);
  CHECK(decoded.error().code() == ErrorCode::kCorrupt);

  const std::string prev_again = bytes + std::string("\x12\x20", 2) + std::string(32, '\x01');
  CHECK(!decode_entry(as_bytes(prev_again)));
}

}  // namespace
}  // namespace gongshu::audit
