// The ingest path's hand-written stored::Version encoding against the generated code: byte for
// byte what protobuf writes, read back by protobuf as the fields given, the record decrypting.
#include "daemon/version_encoding.h"

#include <catch2/catch.hpp>
#include <limits>
#include <random>

#include "daemon/daemon_store.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

// Valid UTF-8 (the string fields are checked as such by protobuf): ASCII and 数据.
std::string random_text(std::mt19937_64& rng, size_t max) {
  std::string s;
  for (size_t n = rng() % (max + 1); s.size() < n;) {
    if (rng() % 8 == 0)
      s += "数据";
    else
      s.push_back(static_cast<char>(' ' + rng() % 95));
  }
  return s;
}

std::string random_bytes(std::mt19937_64& rng, size_t max) {
  std::string s(rng() % (max + 1), '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST_CASE("the version encoding is protobuf's, and the concatenation parses as one message") {
  auto key = crypto::DataKey::generate();
  std::mt19937_64 rng(20261127);
  const std::vector<uint64_t> numbers = {
      0, 1, 127, 128, 16383, 16384, uint64_t(1) << 35, std::numeric_limits<uint64_t>::max()};
  const std::vector<int64_t> times = {0,
                                      1,
                                      -1,
                                      1795748550123,
                                      std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max()};
  for (int round = 0; round < 300; ++round) {
    // Texts long enough for two-byte lengths now and then; empty ones are left out, as
    // protobuf leaves them out.
    std::string dataset = random_text(rng, 200), record_key = random_text(rng, 300),
                agency = random_text(rng, 20), agent_key_id = random_text(rng, 20),
                record_hash = random_bytes(rng, 32), record = random_bytes(rng, 600);
    VersionHead head{.dataset = dataset,
                     .record_key = record_key,
                     .agency = agency,
                     .agent_key_id = agent_key_id,
                     .batch_seq = numbers[rng() % numbers.size()],
                     .index = static_cast<uint32_t>(numbers[rng() % numbers.size()]),
                     .invalidation = rng() % 2 == 0,
                     .record_hash = record_hash};
    Bytes ad = version_ad(agent_key_id, head.batch_seq, head.index);
    std::pmr::string encoded;  // on the default resource here, on a job's arena in ingest
    append_version_head(encoded, head, key, ad, as_bytes(record));
    const std::string out(encoded);
    CHECK(out.size() <= version_head_capacity(head, record.size()));

    stored::Version parsed;
    REQUIRE(parsed.ParseFromString(out));
    CHECK(parsed.dataset() == dataset);
    CHECK(parsed.record_key() == record_key);
    CHECK(parsed.agency() == agency);
    CHECK(parsed.agent_key_id() == agent_key_id);
    CHECK(parsed.batch_seq() == head.batch_seq);
    CHECK(parsed.index() == head.index);
    CHECK(parsed.invalidation() == head.invalidation);
    CHECK(parsed.record_hash() == record_hash);
    auto plain = crypto::aead_decrypt(key, ad, as_bytes(parsed.sealed_record()));
    REQUIRE(plain);
    CHECK(std::string(as_chars(*plain)) == record);
    // What protobuf writes for the same fields, byte for byte.
    CHECK(parsed.SerializeAsString() == out);

    const int64_t received = times[rng() % times.size()];
    const uint64_t audit_seq = numbers[rng() % numbers.size()];
    const uint64_t previous = numbers[rng() % numbers.size()];
    std::pmr::string tail_encoded;
    append_version_tail(tail_encoded, received, audit_seq, previous);
    const std::string tail(tail_encoded);
    CHECK(tail.size() <= kVersionTailCapacity);
    stored::Version tail_only;
    tail_only.set_received_at_ms(received);
    tail_only.set_audit_seq(audit_seq);
    tail_only.set_previous_version(previous);
    CHECK(tail_only.SerializeAsString() == tail);

    stored::Version whole;
    REQUIRE(whole.ParseFromString(out + tail));
    stored::Version expected = parsed;
    expected.MergeFrom(tail_only);
    CHECK(whole.SerializeAsString() == expected.SerializeAsString());
    CHECK(whole.received_at_ms() == received);
    CHECK(whole.audit_seq() == audit_seq);
    CHECK(whole.previous_version() == previous);
  }
}

}  // namespace
}  // namespace gongshu::daemon
