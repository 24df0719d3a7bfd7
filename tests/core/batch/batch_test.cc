// Opening batches on the daemon side: canonical SignedBatch encodings are read in place, any
// other goes to protobuf, and either way the daemon sees what protobuf reads — the header, the
// signature and the records — including for mutated and hostile plaintexts.
#include "core/batch/batch.h"

#include <catch2/catch.hpp>
#include <random>

#include "core/crypto/seal.h"
#include "tests/support/test_support.h"

namespace gongshu::batch {
namespace {

struct Keys {
  crypto::IdentityKey agent = crypto::IdentityKey::generate();
  crypto::IdentityKey daemon = crypto::IdentityKey::generate();
};

std::vector<std::string> records(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("record " + std::to_string(i) + std::string(i, 'x'));
  return out;
}

v1::BatchHeader header(uint64_t seq) {
  v1::BatchHeader h;
  h.set_agency("sjz-gongan");
  h.set_batch_seq(seq);
  return h;
}

// A SealedBatch carrying `plaintext` as the sealed SignedBatch bytes, whatever they are.
v1::SealedBatch sealed_bytes(const Keys& k, const std::string& plaintext, uint64_t seq) {
  v1::SealedBatch s;
  s.set_batch_seq(seq);
  auto box = crypto::seal(k.daemon.public_key(), as_bytes(plaintext));
  REQUIRE(box);
  s.set_sealed(std::string(as_chars(*box)));
  return s;
}

// What open_batch gave must be what protobuf reads from the same plaintext.
void same_as_protobuf(const OpenedBatch& opened) {
  v1::SignedBatch parsed;
  REQUIRE(parsed.ParseFromArray(opened.plaintext.data(), int(opened.plaintext.size())));
  CHECK(opened.header->SerializeAsString() == parsed.header().SerializeAsString());
  CHECK(opened.signature == parsed.signature());
  REQUIRE(opened.records.size() == size_t(parsed.records_size()));
  for (size_t i = 0; i < opened.records.size(); ++i)
    CHECK(opened.records[i] == parsed.records(int(i)));
}

TEST_CASE("a sealed batch opens in place and verifies") {
  Keys k;
  auto recs = records(50);
  auto sealed = seal_batch(k.agent, k.daemon.public_key(), header(7), recs);
  REQUIRE(sealed);
  google::protobuf::Arena arena;
  auto opened = open_batch(k.daemon, *sealed, {}, arena);
  REQUIRE(opened);
  REQUIRE(opened->records.size() == recs.size());
  for (size_t i = 0; i < recs.size(); ++i) CHECK(opened->records[i] == recs[i]);
  same_as_protobuf(*opened);
  // Moving keeps the views valid: they point into bytes the batch owns.
  OpenedBatch moved = std::move(*opened);
  CHECK(moved.records[3] == recs[3]);
  auto hash = verify_batch(moved, 7, k.agent.public_key(), k.daemon.public_key(), {});
  REQUIRE(hash);
  CHECK(*hash == batch_hash(*moved.header));
}

TEST_CASE("encodings protobuf resolves by its rules are opened as protobuf reads them") {
  Keys k;
  auto sealed = seal_batch(k.agent, k.daemon.public_key(), header(3), records(4));
  REQUIRE(sealed);
  google::protobuf::Arena arena;
  auto first = open_batch(k.daemon, *sealed, {}, arena);
  REQUIRE(first);
  const std::string plain(as_chars(first->plaintext));

  // The header again (merged by protobuf: the later batch_seq wins), a signature again (the
  // later one wins), and an unknown field: each is declined in place, read by protobuf.
  v1::SignedBatch extra;
  extra.mutable_header()->set_batch_seq(99);
  v1::SignedBatch other_signature;
  other_signature.set_signature(std::string(64, 's'));
  const std::string variants[] = {plain + extra.SerializeAsString(),
                                  plain + other_signature.SerializeAsString(),
                                  plain + std::string("\x20\x01", 2)};
  for (const std::string& v : variants) {
    auto opened = open_batch(k.daemon, sealed_bytes(k, v, 3), {}, arena);
    REQUIRE(opened);
    same_as_protobuf(*opened);
  }
  auto merged = open_batch(k.daemon, sealed_bytes(k, variants[0], 3), {}, arena);
  CHECK(merged->header->batch_seq() == 99);
  // The signature was made over the first header: the merged one does not verify.
  CHECK(!verify_batch(*merged, 99, k.agent.public_key(), k.daemon.public_key(), {}));
}

TEST_CASE("mutated plaintexts open as protobuf reads them, or are refused") {
  Keys k;
  auto sealed = seal_batch(k.agent, k.daemon.public_key(), header(5), records(6));
  REQUIRE(sealed);
  google::protobuf::Arena arena;
  const std::string plain(as_chars(open_batch(k.daemon, *sealed, {}, arena)->plaintext));
  std::mt19937_64 rng(5);
  int opened_count = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = plain;
    bytes = gongshu::testing::mutate(std::move(bytes), rng, 40);
    google::protobuf::Arena a;
    auto opened = open_batch(k.daemon, sealed_bytes(k, bytes, 5), {}, a);
    if (!opened) {
      ++refused;
      v1::SignedBatch parsed;
      CHECK(!parsed.ParseFromString(bytes));  // refused only what protobuf refuses
      CHECK(opened.error().code == v1::BATCH_MALFORMED);
      continue;
    }
    ++opened_count;
    same_as_protobuf(*opened);
  }
  CHECK(opened_count > 300);
  CHECK(refused > 300);
}

TEST_CASE("more records than the limit are refused while reading") {
  Keys k;
  auto sealed = seal_batch(k.agent, k.daemon.public_key(), header(1), records(5));
  REQUIRE(sealed);
  google::protobuf::Arena arena;
  Limits limits;
  limits.max_records = 4;
  auto opened = open_batch(k.daemon, *sealed, limits, arena);
  REQUIRE(!opened);
  CHECK(opened.error().code == v1::BATCH_TOO_LARGE);
  limits.max_records = 5;
  CHECK(open_batch(k.daemon, *sealed, limits, arena));
}

// The plaintext inside sealed bytes.
std::string opened_plaintext(const Keys& k, ByteView sealed) {
  auto plain = crypto::open_sealed(k.daemon, sealed);
  REQUIRE(plain);
  return std::string(as_chars(*plain));
}

TEST_CASE("the batch builder seals exactly the bytes seal_batch seals") {
  Keys k;
  BatchBuilder builder;
  struct Case {
    std::string agency;
    uint64_t seq;
    int64_t created;
    std::vector<std::string> recs;
  };
  std::vector<Case> cases = {
      {"sjz-gongan", 7, 1765000000123, records(50)},
      {"", 1, 0, records(3)},                           // proto3 defaults left out
      {"sjz-minzheng", uint64_t{1} << 40, -5, {""}},    // an empty record, a negative time
      {"sjz-gongan", 2, 1, {}},                         // no records
      {std::string(600, 'a'), 300, 99, records(1200)},  // more than the room kept in front
  };
  for (const auto& c : cases) {
    // The buffer is reused from case to case, as the agent reuses it from batch to batch.
    builder.start();
    for (const auto& r : c.recs) builder.add(r);
    CHECK(builder.count() == c.recs.size());
    auto mine = builder.seal(k.agent, k.daemon.public_key(), c.agency, c.seq, c.created);
    REQUIRE(mine);
    v1::BatchHeader h;
    h.set_agency(c.agency);
    h.set_batch_seq(c.seq);
    h.set_created_at_ms(c.created);
    auto theirs = seal_batch(k.agent, k.daemon.public_key(), h, c.recs);
    REQUIRE(theirs);
    // Ed25519 signatures are deterministic: the same header signs to the same bytes.
    CHECK(opened_plaintext(k, *mine) == opened_plaintext(k, as_bytes(theirs->sealed())));
    // And the daemon takes it.
    v1::SealedBatch sealed;
    sealed.set_batch_seq(c.seq);
    sealed.set_sealed(std::string(as_chars(*mine)));
    google::protobuf::Arena arena;
    Limits limits;
    limits.max_records = 2000;
    auto opened = open_batch(k.daemon, sealed, limits, arena);
    REQUIRE(opened);
    CHECK(verify_batch(*opened, c.seq, k.agent.public_key(), k.daemon.public_key(), limits));
  }
}

TEST_CASE(
    "a record added with its hash seals as add() does; a wrong hash is refused by the daemon") {
  Keys k;
  BatchBuilder builder;
  const auto recs = records(20);
  auto seal = [&](bool given, size_t wrong_at) {
    builder.start();
    for (size_t i = 0; i < recs.size(); ++i) {
      if (!given) {
        builder.add(recs[i]);
        continue;
      }
      crypto::Digest h = record_hash(as_bytes(recs[i]));
      if (i == wrong_at) h[7] ^= 1;
      builder.add(recs[i], h);
    }
    auto sealed = builder.seal(k.agent, k.daemon.public_key(), "sjz-gongan", 9, 1765000000000);
    REQUIRE(sealed);
    return *sealed;
  };
  auto verify = [&](const Bytes& bytes) {
    v1::SealedBatch sealed;
    sealed.set_batch_seq(9);
    sealed.set_sealed(std::string(as_chars(bytes)));
    google::protobuf::Arena arena;
    auto opened = open_batch(k.daemon, sealed, {}, arena);
    REQUIRE(opened);
    return verify_batch(*opened, 9, k.agent.public_key(), k.daemon.public_key(), {});
  };
  const Bytes hashed = seal(false, recs.size());
  CHECK(opened_plaintext(k, seal(true, recs.size())) == opened_plaintext(k, hashed));
  REQUIRE(verify(hashed));
  // A wrong hash is signed as given (the builder does not check it), and the daemon, which
  // hashes every record again, refuses the whole batch naming the record.
  for (size_t wrong_at : {size_t(0), size_t(13)}) {
    auto refused = verify(seal(true, wrong_at));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == v1::BATCH_BAD_SIGNATURE);
    CHECK(refused.error().message ==
          "record " + std::to_string(wrong_at) + " does not match its signed hash");
  }
}

TEST_CASE("write_sealed_batch writes what protobuf serialises") {
  for (uint64_t seq : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, ~uint64_t{0}}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{200}, size_t{70000}}) {
      Bytes sealed(n, 0x5a);
      v1::SealedBatch m;
      m.set_batch_seq(seq);
      m.set_sealed(std::string(as_chars(sealed)));
      Bytes out(sealed_batch_size(seq, n));
      write_sealed_batch(seq, sealed, out);
      CHECK(as_chars(out) == m.SerializeAsString());
    }
  }
}

}  // namespace
}  // namespace gongshu::batch
