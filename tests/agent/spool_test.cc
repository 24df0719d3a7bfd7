#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "agent/catalog_cache.h"
#include "agent/intake.h"
#include "agent/resident.h"
#include "agent/spool.h"
#include "core/batch/batch.h"
#include "core/crypto/aead.h"
#include "tests/agent/agent_test_util.h"
#include "tests/support/test_support.h"

using namespace gongshu;
using namespace gongshu::agent;
using gongshu::agent::testing::must;
using gongshu::testing::TempDir;
using gongshu::testing::wait_until;

namespace {

void seed_catalog(Spool& spool) { must(store_catalog(spool, {agent::testing::test_dataset()}, 1)); }

v1::Record record(int i, const std::string& secret_text) {
  v1::Record r;
  r.set_dataset(agent::testing::kDataset);
  r.set_record_key("key-" + std::to_string(i));
  r.set_subject_id(agent::testing::citizen_id(i));
  auto* f = r.add_fields();
  f->set_name("name");
  f->mutable_value()->set_text(secret_text);
  return r;
}

// The pending writer of format 1 (agent/spool.h), as append_pending wrote every record before
// format 2: an XChaCha20-Poly1305 box with a random nonce under the spool key, associated data
// "gongshu.agent.pending" || 0 || be64(seq). Kept here to build the spools older agents left.
Bytes pending_box_v1(const crypto::DataKey& key, uint64_t seq, ByteView plain) {
  Bytes ad = to_bytes("gongshu.agent.pending");
  ad.push_back(0);
  append_be64(ad, seq);
  return crypto::aead_encrypt(key, ad, plain);
}

uint64_t append_pending_v1(const Spool& spool, const crypto::DataKey& key, store::WriteTxn& txn,
                           const agentpb::PendingRecord& rec) {
  uint64_t seq = std::max<uint64_t>(spool.get_u64(txn, kNextPending), 1);
  must(spool.pending().append(txn, seq,
                              pending_box_v1(key, seq, as_bytes(rec.SerializeAsString()))));
  must(spool.put_u64(txn, kNextPending, seq + 1));
  return seq;
}

// The pending writer of format 2 (agent/spool.h), as agents wrote records from format 2 until
// format 3: 0x02 || salt || one AeadSegment message per record (counter = seq), the salt shared
// by a transaction's records. Kept here to build the spools older agents left.
struct PendingWriterV2 {
  const Spool& spool;
  crypto::AeadSegment segment;
  PendingWriterV2(const Spool& s, const crypto::DataKey& key)
      : spool(s), segment(crypto::AeadSegment::start(key)) {}
  uint64_t append(store::WriteTxn& txn, const agentpb::PendingRecord& rec) {
    uint64_t seq = std::max<uint64_t>(spool.get_u64(txn, kNextPending), 1);
    const std::string plain = rec.SerializeAsString();
    Bytes ad = to_bytes("gongshu.agent.pending");
    ad.push_back(0);
    append_be64(ad, seq);
    Bytes v(1 + crypto::kSegmentSaltSize + plain.size() + crypto::kSegmentTagSize);
    v[0] = 0x02;
    std::copy(segment.salt().begin(), segment.salt().end(), v.begin() + 1);
    segment.encrypt_into(seq, ad, as_bytes(plain),
                         std::span<uint8_t>(v).subspan(1 + crypto::kSegmentSaltSize));
    must(spool.pending().append(txn, seq, v));
    must(spool.put_u64(txn, kNextPending, seq + 1));
    return seq;
  }
};

// A segment of format 3 or 4 (agent/spool.h) as agents of that format wrote it, at the next
// pending_seq: format || salt (16) || be32(count) || one AeadSegment message (counter = the first
// seq) of each record as be32(length) [|| record_hash (format 4)] || PendingRecord, associated
// data "gongshu.agent.pending" || 0 || be64(first) || be32(count) || format; the record counter
// kept as the writer keeps it. Kept here to build the spools format-3 agents left, and format-4
// segments whose stored hash is wrong (wrong_hash_at: the record whose hash is altered).
uint64_t append_segment(const Spool& spool, const crypto::DataKey& key, store::WriteTxn& txn,
                        uint8_t format, const std::vector<agentpb::PendingRecord>& recs,
                        std::optional<size_t> wrong_hash_at = std::nullopt) {
  const uint64_t first = std::max<uint64_t>(spool.get_u64(txn, kNextPending), 1);
  const uint32_t count = uint32_t(recs.size());
  Bytes plain;
  for (size_t i = 0; i < recs.size(); ++i) {
    const std::string bytes = recs[i].SerializeAsString();
    append_be32(plain, uint32_t(bytes.size()));
    if (format == 0x04) {
      crypto::Digest h = batch::record_hash(as_bytes(recs[i].record()));
      if (wrong_hash_at == i) h[0] ^= 0x80;
      append(plain, ByteView(h.data(), h.size()));
    }
    append(plain, bytes);
  }
  Bytes ad = to_bytes("gongshu.agent.pending");
  ad.push_back(0);
  append_be64(ad, first);
  append_be32(ad, count);
  ad.push_back(format);
  auto segment = crypto::AeadSegment::start(key);
  Bytes v(1 + crypto::kSegmentSaltSize + 4 + plain.size() + crypto::kSegmentTagSize);
  v[0] = format;
  std::copy(segment.salt().begin(), segment.salt().end(), v.begin() + 1);
  put_be32(v.data() + 1 + crypto::kSegmentSaltSize, count);
  segment.encrypt_into(first, ad, plain,
                       std::span<uint8_t>(v).subspan(1 + crypto::kSegmentSaltSize + 4));
  if (!spool.get_meta(txn, kPendingRecords))
    must(spool.put_u64(txn, kPendingRecords, spool.pending().count(txn)));
  must(spool.add_u64(txn, kPendingRecords, count));
  must(spool.pending().append(txn, first, v));
  must(spool.put_u64(txn, kNextPending, first + count));
  return first;
}

agentpb::PendingRecord pending(const v1::Record& r, const std::string& source) {
  agentpb::PendingRecord p;
  p.set_record(r.SerializeAsString());
  p.set_source(source);
  p.set_accepted_at_ms(1765000000000);
  return p;
}

}  // namespace

TEST_CASE("spool: records survive reopening, in order, and are encrypted at rest",
          "[agent][spool]") {
  TempDir dir;
  const std::string marker = "SECRET-NAME-MARKER-";
  {
    auto spool = must(Spool::open(dir.path()));
    seed_catalog(*spool);
    Intake intake(*spool, SystemClock::instance());
    must(intake.refresh_catalog());
    for (int i = 0; i < 500; ++i) {
      v1::Record r = record(i, marker + std::to_string(i));
      CHECK(intake.add(r, "test:" + std::to_string(i)).ok());
    }
    v1::Record bad = record(999, marker + "bad");
    bad.set_subject_id("110105199001010012");  // wrong check digit
    auto v = intake.add(bad, "test:bad");
    CHECK(v.code == v1::RECORD_STATUS_BAD_IDENTIFIER);
    v1::Record unknown = record(1000, marker);
    unknown.set_dataset("no.such");
    CHECK(intake.add(unknown, "test:u").code == v1::RECORD_STATUS_UNKNOWN_DATASET);
    must(intake.commit());
  }
  struct stat st;
  REQUIRE(::stat((dir.path() + "/spool.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string data = gongshu::testing::read_text(dir.path() + "/spool/data.mdb");
  REQUIRE(data.size() > 100'000);
  CHECK(data.find(marker) == std::string::npos);
  CHECK(data.find("110105199001010") == std::string::npos);

  auto spool = must(Spool::open(dir.path()));
  auto txn = must(spool->env().begin_read());
  CHECK(spool->pending_records(txn) == 500);
  CHECK(spool->pending().count(txn) == 5);  // format-3 segments of 100 records
  CHECK(spool->get_u64(txn, kCountAccepted) == 500);
  CHECK(spool->get_u64(txn, kCountRejectedLocal) == 2);
  store::Cursor cur = spool->pending().cursor(txn);
  int i = 0;
  PendingRead read;
  for (auto e = cur.first(); e; e = cur.next()) {
    const uint64_t key = *store::parse_u64_key(e->key);
    REQUIRE(key == uint64_t(i + 1));
    CHECK(Spool::peek_pending_count(e->value) == 100);
    must(spool->open_pending_records(key, e->value, &read));
    auto all = must(spool->open_pending_entry(key, e->value));
    REQUIRE(all.size() == 100);
    REQUIRE(read.records.size() == 100);
    CHECK(e->value[0] == 0x04);  // format 4: each record's hash stored with it
    REQUIRE(read.hashes.size() == 100);
    for (size_t j = 0; j < all.size(); ++j, ++i) {
      v1::Record r;
      REQUIRE(r.ParseFromString(all[j].record()));
      CHECK(r.record_key() == "key-" + std::to_string(i));
      CHECK(all[j].source() == "test:" + std::to_string(i));
      CHECK(read.records[j] == all[j].record());
      CHECK(read.hashes[j] == batch::record_hash(as_bytes(all[j].record())));
    }
  }
  CHECK(i == 500);
  // A segment moved to another key does not open.
  auto first = spool->pending().get(txn, 1);
  CHECK_FALSE(spool->open_pending_entry(2, *first));
  CHECK_FALSE(spool->open_pending_records(101, *first, &read));
  CHECK_FALSE(spool->open_pending(1, *first));  // a segment is not one record
  store::Cursor rc = spool->rejected().cursor(txn);
  auto rej = must(spool->open_rejected(1, rc.first()->value));
  CHECK(rej.source() == "test:bad");
  CHECK(rej.field() == "subject_id");
}

TEST_CASE("spool: the batcher's in-place read gives the record open_pending gives",
          "[agent][spool]") {
  TempDir dir;
  auto spool = must(Spool::open(dir.path()));
  auto key = must(load_or_create_spool_key(dir.path() + "/spool.key", false));
  // Boxes of plaintexts as append_pending would seal them, at slot seq.
  auto box = [&](uint64_t seq, const std::string& plain) {
    Bytes ad = to_bytes("gongshu.agent.pending");
    ad.push_back(0);
    append_be64(ad, seq);
    return crypto::aead_encrypt(key, ad, as_bytes(plain));
  };
  agentpb::PendingRecord usual;
  usual.set_record(record(1, "张三").SerializeAsString());
  usual.set_source("file.jsonl:12");
  usual.set_accepted_at_ms(1765000000000);
  agentpb::PendingRecord other = usual;
  other.set_record("second");
  const std::string u = usual.SerializeAsString();
  const std::vector<std::string> plaintexts = {
      u,
      agentpb::PendingRecord().SerializeAsString(),  // empty: no record at all
      u + other.SerializeAsString(),                 // fields twice: protobuf keeps the last
      u + std::string("\x22\x03"
                      "abc"),                     // an unknown field
      std::string("\x0a\x02hi\x12\x02\xff\xfe"),  // a source that is not UTF-8
      std::string("\x08\x01"),                    // record with the wrong wire type
      std::string("\x0a\x05hi"),                  // truncated
  };
  Bytes plain;
  for (size_t i = 0; i < plaintexts.size(); ++i) {
    const uint64_t seq = 10 + i;
    Bytes b = box(seq, plaintexts[i]);
    auto whole = spool->open_pending(seq, b);
    auto in_place = spool->open_pending_record(seq, b, &plain);
    INFO("plaintext " << i);
    REQUIRE(bool(whole) == bool(in_place));
    if (whole) CHECK(whole->record() == *in_place);
    // At another slot neither opens.
    CHECK_FALSE(spool->open_pending_record(seq + 1, b, &plain));
  }
}

TEST_CASE("spool: a missing or unsafe key is refused", "[agent][spool]") {
  TempDir dir;
  { must(Spool::open(dir.path())); }
  ::chmod((dir.path() + "/spool.key").c_str(), 0644);
  auto r = Spool::open(dir.path());
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("chmod 600") != std::string::npos);
  ::unlink((dir.path() + "/spool.key").c_str());
  auto m = Spool::open(dir.path());
  REQUIRE_FALSE(m);
  CHECK(m.error().message().find("missing") != std::string::npos);
}

TEST_CASE("spool_file: resumes after the rows an interrupted run spooled", "[agent][spool]") {
  TempDir dir;
  auto spool = must(Spool::open(dir.path() + "/state"));
  seed_catalog(*spool);
  std::string text;
  for (int i = 0; i < 100; ++i) text += agent::testing::jsonl_record(i) + "\n";
  gongshu::testing::write_text(dir.file("in.jsonl"), text);
  std::string key = file_progress_key(dir.file("in.jsonl"));
  REQUIRE(!key.empty());
  // An earlier run spooled 40 rows and died.
  must(spool->env().update([&](store::WriteTxn& txn) { return spool->put_u64(txn, key, 40); }));
  Intake intake(*spool, SystemClock::instance());
  must(intake.refresh_catalog());
  catalog::DatasetSchema schema(agent::testing::test_dataset());
  auto reader = must(make_jsonl_reader(must(InputFile::open(dir.file("in.jsonl"))), schema));
  SpoolFileOptions o;
  o.source = "in.jsonl";
  o.dataset = agent::testing::kDataset;
  o.progress_key = key;
  o.group_records = 7;
  auto p = must(spool_file(intake, *reader, o));
  CHECK(p.resumed_after == 40);
  CHECK(p.accepted == 60);
  auto txn = must(spool->env().begin_read());
  CHECK(spool->pending_records(txn) == 60);
  CHECK_FALSE(spool->get_meta(txn, key).has_value());  // done: the marker is gone
}

TEST_CASE("resident: pages of the spool map are released", "[agent][spool]") {
  TempDir dir;
  auto spool = must(Spool::open(dir.path()));
  std::string big(4000, 'x');
  must(spool->env().update([&](store::WriteTxn& txn) -> Status {
    for (uint64_t i = 1; i <= 5000; ++i) {
      GONGSHU_RETURN_IF_ERROR(spool->outbox().put(txn, i, as_bytes(big)));
    }
    return {};
  }));
  release_mapping(spool->env());
  uint64_t before = resident_bytes();
  size_t sum = 0;
  {
    auto txn = must(spool->env().begin_read());
    store::Cursor cur = spool->outbox().cursor(txn);
    for (auto e = cur.first(); e; e = cur.next()) sum += e->value[100];
  }
  uint64_t touched = resident_bytes();
  release_mapping(spool->env());
  uint64_t after = resident_bytes();
  INFO(before << " " << touched << " " << after << " " << sum);
  CHECK(touched > before + (10 << 20));
  CHECK(after < touched - (10 << 20));
}

TEST_CASE(
    "outbox entries: a batch hash kept with the batch; entries from before it read as before") {
  const std::string message = "sealed batch bytes";
  const ByteView m = as_bytes(message);
  // Written before the hash was kept: no flag, no hash; read with the count and message intact.
  Bytes old = encode_outbox(7, 42, 1234, m);
  OutboxEntry e = must(decode_outbox(old));
  CHECK(e.first_pending == 7);
  CHECK(e.count == 42);
  CHECK(e.created_at_ms == 1234);
  CHECK(e.batch_hash.empty());
  CHECK(std::string(e.message.begin(), e.message.end()) == message);
  CHECK(outbox_receipt_matches(e, std::string(32, 'x')));  // nothing to compare with
  // Written now: the flag, then the hash, then the message.
  Bytes hash(kOutboxHashSize);
  for (size_t i = 0; i < hash.size(); ++i) hash[i] = uint8_t(i + 1);
  Bytes now(kOutboxHeaderSize + kOutboxHashSize + m.size());
  put_outbox_header(now.data(), 7, 42, 1234, hash);
  std::copy(m.begin(), m.end(), now.begin() + ptrdiff_t(kOutboxHeaderSize + kOutboxHashSize));
  e = must(decode_outbox(now));
  CHECK(e.count == 42);
  CHECK(Bytes(e.batch_hash.begin(), e.batch_hash.end()) == hash);
  CHECK(std::string(e.message.begin(), e.message.end()) == message);
  CHECK(outbox_receipt_matches(e, std::string(hash.begin(), hash.end())));
  std::string other(hash.begin(), hash.end());
  other[5] ^= 1;
  CHECK_FALSE(outbox_receipt_matches(e, other));
  CHECK_FALSE(outbox_receipt_matches(e, ""));
  // A flagged entry too short for its hash is corrupt, not a message.
  CHECK_FALSE(decode_outbox(ByteView(now).first(kOutboxHeaderSize + 10)));
}

TEST_CASE("spool: both pending formats read; each record authenticated in its own slot",
          "[agent][spool]") {
  TempDir dir;
  auto spool = must(Spool::open(dir.path()));
  auto key = must(load_or_create_spool_key(dir.path() + "/spool.key", false));
  // Format 1 (an older agent's): seqs 1-20, then format 2 in two transactions: 21-320 and
  // 321-325, then format 1 again (an older `submit` still running): 326-330.
  auto add_v1 = [&](int from, int to) {
    must(spool->env().update([&](store::WriteTxn& txn) -> Status {
      for (int i = from; i < to; ++i)
        append_pending_v1(*spool, key, txn, pending(record(i, "v1"), "old:" + std::to_string(i)));
      return {};
    }));
  };
  auto add_v2 = [&](int from, int to) {
    must(spool->env().update([&](store::WriteTxn& txn) -> Status {
      PendingWriterV2 w(*spool, key);
      for (int i = from; i < to; ++i)
        w.append(txn, pending(record(i, "v2"), "new:" + std::to_string(i)));
      return {};
    }));
  };
  add_v1(0, 20);
  add_v2(20, 320);
  add_v2(320, 325);
  add_v1(325, 330);

  auto txn = must(spool->env().begin_read());
  REQUIRE(spool->pending().count(txn) == 330);
  auto value = [&](uint64_t seq) {
    auto v = spool->pending().get(txn, seq);
    REQUIRE(v);
    return Bytes(v->begin(), v->end());
  };
  // Format 2: the format byte, then one salt per transaction.
  auto salt = [&](uint64_t seq) {
    Bytes v = value(seq);
    REQUIRE(v[0] == 0x02);
    return Bytes(v.begin() + 1, v.begin() + 17);
  };
  CHECK(salt(21) == salt(320));
  CHECK(salt(321) == salt(325));
  CHECK(salt(21) != salt(321));
  // 33 bytes beside the plaintext (format 1: 40).
  CHECK(value(21).size() == pending(record(20, "v2"), "new:20").SerializeAsString().size() + 33);
  CHECK(value(1).size() == pending(record(0, "v1"), "old:0").SerializeAsString().size() + 40);

  // Every record reads, in order, by both paths, whatever its format.
  store::Cursor cur = spool->pending().cursor(txn);
  Bytes plain;
  int i = 0;
  for (auto e = cur.first(); e; e = cur.next(), ++i) {
    const uint64_t seq = *store::parse_u64_key(e->key);
    REQUIRE(seq == uint64_t(i + 1));
    auto p = must(spool->open_pending(seq, e->value));
    v1::Record r;
    REQUIRE(r.ParseFromString(p.record()));
    CHECK(r.record_key() == "key-" + std::to_string(i));
    CHECK(p.source() == (i >= 20 && i < 325 ? "new:" : "old:") + std::to_string(i));
    CHECK(must(spool->open_pending_record(seq, e->value, &plain)) == p.record());
  }
  CHECK(i == 330);

  // Moved within a transaction (reordered), across transactions (another batch), to another
  // spool, or altered in its salt, format byte or bytes: it does not open.
  CHECK_FALSE(spool->open_pending(22, value(21)));
  CHECK_FALSE(spool->open_pending(21, value(22)));
  CHECK_FALSE(spool->open_pending(321, value(100)));
  CHECK_FALSE(spool->open_pending(100, value(321)));
  CHECK_FALSE(spool->open_pending(21, value(1)));
  CHECK_FALSE(spool->open_pending(1, value(21)));
  const size_t size21 = value(21).size();
  for (size_t at : {size_t(0), size_t(1), size_t(16), size_t(17), size21 / 2, size21 - 1}) {
    Bytes v = value(21);
    v[at] ^= 1;
    INFO("byte " << at);
    CHECK_FALSE(spool->open_pending(21, v));
    CHECK_FALSE(spool->open_pending_record(21, v, &plain));
  }
  CHECK_FALSE(spool->open_pending(21, ByteView(value(21)).first(20)));
  TempDir other_dir;
  auto other = must(Spool::open(other_dir.path()));
  CHECK_FALSE(other->open_pending(21, value(21)));
  CHECK_FALSE(other->open_pending(1, value(1)));
  // Reading one segment, then another, then the first again: the kept subkey follows.
  CHECK(spool->open_pending(321, value(321)));
  CHECK(spool->open_pending(21, value(21)));
  CHECK(spool->open_pending(2, value(2)));
  CHECK(spool->open_pending(321, value(321)));

  // A format-1 value whose random nonce happens to begin with the format byte reads as format 1.
  const std::string text = pending(record(7, "v1"), "old:7").SerializeAsString();
  Bytes lookalike;
  do {
    lookalike = pending_box_v1(key, 9999, as_bytes(text));
  } while (lookalike[0] != 0x02);
  CHECK(must(spool->open_pending(9999, lookalike)).source() == "old:7");
  CHECK_FALSE(spool->open_pending(9998, lookalike));
}

TEST_CASE(
    "spool format 4: each record's hash stored with it at intake and read back; format 3 beside "
    "it reads without",
    "[agent][spool]") {
  TempDir dir;
  SpoolOptions o;
  o.segment_records = 40;
  auto spool = must(Spool::open(dir.path(), o));
  auto key = must(load_or_create_spool_key(dir.path() + "/spool.key", false));
  std::vector<agentpb::PendingRecord> recs;
  for (int i = 0; i < 150; ++i)
    recs.push_back(pending(record(i, i % 7 ? "张三" : ""), "in.jsonl:" + std::to_string(i + 1)));
  // An older agent's format-3 segment of 30 (records 0-29), then this agent's writer: 100
  // records in one transaction (segments of 40, 40, 20), then 20 more alone (one segment).
  must(spool->env().update([&](store::WriteTxn& txn) -> Status {
    append_segment(*spool, key, txn, 0x03, {recs.begin(), recs.begin() + 30});
    return {};
  }));
  must(spool->env().update([&](store::WriteTxn& txn) -> Status {
    auto w = spool->pending_writer(txn);
    for (int i = 30; i < 130; ++i) GONGSHU_RETURN_IF_ERROR(w.append(recs[size_t(i)]));
    return w.finish();
  }));
  must(spool->env().update([&](store::WriteTxn& txn) -> Status {
    auto w = spool->pending_writer(txn);
    for (int i = 130; i < 150; ++i) GONGSHU_RETURN_IF_ERROR(w.append(recs[size_t(i)]));
    return w.finish();
  }));

  auto txn = must(spool->env().begin_read());
  CHECK(spool->pending_records(txn) == 150);
  REQUIRE(spool->pending().count(txn) == 5);
  auto value = [&](uint64_t seq) {
    auto v = spool->pending().get(txn, seq);
    REQUIRE(v);
    return Bytes(v->begin(), v->end());
  };
  CHECK(value(1)[0] == 0x03);
  for (uint64_t seq : {31, 71, 111, 131}) CHECK(value(seq)[0] == 0x04);
  // Each record costs 32 bytes more than in format 3 (its hash): the header and tag as before.
  size_t plain = 0;
  for (int i = 30; i < 70; ++i) plain += 4 + 32 + recs[size_t(i)].SerializeAsString().size();
  CHECK(value(31).size() == 1 + 16 + 4 + plain + 16);
  CHECK(Spool::peek_pending_count(value(31)) == 40);
  CHECK(Spool::peek_pending_count(value(111)) == 20);

  // Read back by both paths, in order: format 4 with each record's hash, format 3 without.
  store::Cursor cur = spool->pending().cursor(txn);
  PendingRead read;
  size_t i = 0;
  for (auto e = cur.first(); e; e = cur.next()) {
    const uint64_t seq = *store::parse_u64_key(e->key);
    REQUIRE(seq == i + 1);
    must(spool->open_pending_records(seq, e->value, &read));
    auto all = must(spool->open_pending_entry(seq, e->value));
    REQUIRE(read.records.size() == all.size());
    CHECK(read.hashes.size() == (seq == 1 ? 0 : all.size()));
    for (size_t j = 0; j < all.size(); ++j, ++i) {
      CHECK(all[j].SerializeAsString() == recs[i].SerializeAsString());
      CHECK(read.records[j] == recs[i].record());
      if (!read.hashes.empty())
        CHECK(read.hashes[j] == batch::record_hash(as_bytes(recs[i].record())));
    }
  }
  CHECK(i == 150);
  // The layout is the one spool.h states: a segment written by hand to it reads the same.
  {
    auto w = must(spool->env().begin_write());
    const uint64_t at =
        append_segment(*spool, key, w, 0x04, {recs.begin() + 30, recs.begin() + 70});
    must(spool->open_pending_records(at, *spool->pending().get(w, at), &read));
    REQUIRE(read.hashes.size() == 40);
    CHECK(read.hashes[5] == batch::record_hash(as_bytes(recs[35].record())));
  }  // aborted
  // Moved to another key, its format byte altered (either way), or a byte of it: it does not open.
  CHECK_FALSE(spool->open_pending_records(32, value(31), &read));
  CHECK_FALSE(spool->open_pending_entry(71, value(31)));
  for (size_t at :
       {size_t(0), size_t(1), size_t(17), size_t(21), size_t(60), value(31).size() - 1}) {
    Bytes v = value(31);
    v[at] = at == 0 ? 0x03 : v[at] ^ 1;
    INFO("byte " << at);
    CHECK_FALSE(spool->open_pending_records(31, v, &read));
    CHECK_FALSE(spool->open_pending_entry(31, v));
  }
  Bytes as4 = value(1);
  as4[0] = 0x04;
  CHECK_FALSE(spool->open_pending_records(1, as4, &read));
  CHECK(read.records.empty());
  CHECK(read.hashes.empty());
}

TEST_CASE(
    "spool format 4: a wrong stored hash gets its batch refused by the daemon and its records "
    "filed, never accepted",
    "[agent][spool][e2e]") {
  // The drain signs the hash stored at intake without hashing the record again; the daemon
  // hashes every record (batch::verify_batch, which the fake daemon runs) and refuses a batch
  // whose header names another hash. A format-4 segment whose stored hash is wrong (by hand:
  // no writer of ours makes one) is refused whole and the agent files its records as refused by
  // the daemon; the segment after it, right, is stored.
  TempDir dir;
  const std::string bin = std::string(GONGSHU_BINARY_DIR) + "/bin/gongshu-agent";
  const std::string config = dir.file("agent.toml");
  gongshu::testing::write_text(config,
                               "[agent]\nstate_dir = \"state\"\n[batch]\nmax_records = 10\n"
                               "max_delay_ms = 20\n");
  agent::testing::DaemonState state;
  state.secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  auto daemon_key = crypto::IdentityKey::generate();
  agent::testing::FakeDaemon daemon(state, daemon_key);
  auto agent_cmd = [&](std::vector<std::string> args) {
    args.insert(args.begin(), bin);
    args.push_back("--config");
    args.push_back(config);
    return gongshu::testing::run_process(args);
  };
  auto en = agent_cmd({"enroll", daemon.token()});
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  std::vector<agentpb::PendingRecord> bad, good;
  {
    auto spool = must(Spool::open(dir.file("state")));
    auto key = must(load_or_create_spool_key(dir.file("state/spool.key"), false));
    for (int i = 0; i < 10; ++i) {
      bad.push_back(pending(record(i, "错"), "bad:" + std::to_string(i)));
      good.push_back(pending(record(10 + i, "对"), "good:" + std::to_string(i)));
    }
    must(spool->env().update([&](store::WriteTxn& txn) -> Status {
      append_segment(*spool, key, txn, 0x04, bad, size_t(3));
      append_segment(*spool, key, txn, 0x04, good);
      return spool->add_u64(txn, kCountAccepted, 20);
    }));
  }
  agent::testing::Child run({bin, "run", "--config", config}, dir.file("run"));
  REQUIRE(wait_until([&] {
    auto r = agent_cmd({"status", "--json", "--no-probe"});
    return r.out.find("\"acknowledged\":10,") != std::string::npos &&
           r.out.find("\"rejected_by_daemon\":10") != std::string::npos &&
           r.out.find("\"spooled\":0,") != std::string::npos;
  }));
  run.signal(SIGTERM);
  CHECK(run.wait() == 0);
  {
    std::lock_guard l(state.mu);
    CHECK(state.refused_batches == 1);
    REQUIRE(state.records.size() == 1);  // the good segment's batch alone
    const auto& stored = state.records.begin()->second;
    REQUIRE(stored.size() == 10);
    for (size_t i = 0; i < stored.size(); ++i) CHECK(stored[i] == good[i].record());
  }
  auto spool = must(Spool::open(dir.file("state")));
  auto txn = must(spool->env().begin_read());
  store::Cursor cur = spool->rejected().cursor(txn);
  int n = 0;
  for (auto e = cur.first(); e; e = cur.next(), ++n) {
    auto r = must(spool->open_rejected(*store::parse_u64_key(e->key), e->value));
    CHECK(r.by_daemon());
    CHECK(r.batch_error() == v1::BATCH_BAD_SIGNATURE);
    CHECK(r.source() == "bad:" + std::to_string(n));
  }
  CHECK(n == 10);
}

TEST_CASE(
    "spool upgrade: formats 1, 2 and 3, then format 4, drain exactly once through kills at "
    "each durable step",
    "[agent][spool][e2e]") {
  // Older agents left 2,000 records of format 1, 1,000 of format 2 and 1,000 of format 3
  // (segments of 50) in the spool; the upgraded agent drains them, then 1,000 it spools itself
  // (format 4: segments of 50, as max_records is 250, each record's hash stored with it, which
  // the drain signs without hashing again: the fake daemon's verify_batch hashes every record
  // and refuses a batch naming another hash, and none is refused). Among the old records and again
  // among the new segments it is killed, by its own failpoints (agent/failpoints.h), at each
  // durable step of the forwarder, the first time the step comes after a start: after a seal commit
  // (the batch in the outbox, never sent); once the daemon's first ack arrived (sent and stored,
  // the ack not handled); inside the ack's transaction, before its commit (the batch acknowledged,
  // still in the outbox). After each part, and at the end: every record stored once, in order, the
  // resends byte for byte.
  TempDir dir;
  const std::string bin = std::string(GONGSHU_BINARY_DIR) + "/bin/gongshu-agent";
  const std::string config = dir.file("agent.toml");
  gongshu::testing::write_text(config,
                               "[agent]\nstate_dir = \"state\"\n[batch]\nmax_records = 250\n"
                               "max_delay_ms = 50\nwindow = 4\n[limits]\nack_timeout_ms = 3000\n"
                               "shutdown_timeout_ms = 2000\n");
  agent::testing::DaemonState state;
  state.secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  auto daemon_key = crypto::IdentityKey::generate();
  agent::testing::FakeDaemon daemon(state, daemon_key, "", "", std::chrono::milliseconds(40));
  auto agent_cmd = [&](std::vector<std::string> args) {
    args.insert(args.begin(), bin);
    args.push_back("--config");
    args.push_back(config);
    return gongshu::testing::run_process(args);
  };
  auto en = agent_cmd({"enroll", daemon.token()});
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  auto key_of = [](int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "r%06d", i);
    return std::string(buf);
  };
  {
    auto spool = must(Spool::open(dir.file("state")));
    auto key = must(load_or_create_spool_key(dir.file("state/spool.key"), false));
    must(spool->env().update([&](store::WriteTxn& txn) -> Status {
      PendingWriterV2 v2(*spool, key);
      std::vector<agentpb::PendingRecord> v3;
      for (int i = 0; i < 4000; ++i) {
        v1::Record r = record(i, "旧格式");
        r.set_record_key(key_of(i));
        if (i < 2000) {
          append_pending_v1(*spool, key, txn, pending(r, "old.jsonl:" + std::to_string(i + 1)));
        } else if (i < 3000) {
          v2.append(txn, pending(r, "old.jsonl:" + std::to_string(i + 1)));
        } else {
          v3.push_back(pending(r, "old.jsonl:" + std::to_string(i + 1)));
          if (v3.size() == 50) {
            append_segment(*spool, key, txn, 0x03, v3);
            v3.clear();
          }
        }
      }
      return spool->add_u64(txn, kCountAccepted, 4000);
    }));
  }
  // The agent is not running whenever these look.
  auto outbox = [&] {
    auto spool = must(Spool::open(dir.file("state")));
    auto txn = must(spool->env().begin_read());
    std::set<uint64_t> seqs;
    auto cur = spool->outbox().cursor(txn);
    for (auto e = cur.first(); e; e = cur.next()) seqs.insert(*store::parse_u64_key(e->key));
    return seqs;
  };
  auto daemon_batches = [&] {
    std::lock_guard l(state.mu);
    std::set<uint64_t> seqs;
    for (const auto& [seq, bytes] : state.batches) seqs.insert(seq);
    return seqs;
  };
  auto stored_once_in_order = [&](int n) {
    std::vector<std::string> keys;
    {
      std::lock_guard l(state.mu);
      for (auto& [seq, recs] : state.records) {
        for (auto& bytes : recs) {
          v1::Record r;
          REQUIRE(r.ParseFromString(bytes));
          keys.push_back(r.record_key());
        }
      }
      CHECK(state.mismatched_resends == 0);
      CHECK(state.refused_batches == 0);
    }
    REQUIRE(keys.size() == size_t(n));
    for (int i = 0; i < n; ++i) REQUIRE(keys[size_t(i)] == key_of(i));
  };
  int runs = 0;
  auto kill_at = [&](const std::string& failpoint) {
    INFO("failpoint " << failpoint);
    const std::string log = dir.file("run" + std::to_string(++runs));
    agent::testing::Child run(
        {"/usr/bin/env", "GONGSHU_FAILPOINTS=" + failpoint, bin, "run", "--config", config}, log);
    REQUIRE(wait_until(
        [&] {
          return gongshu::testing::read_text(log + ".err")
                     .find("gongshu: failpoint " + failpoint) != std::string::npos;
        },
        std::chrono::seconds(30)));
    CHECK(run.wait() == -SIGKILL);
  };
  // Each part starts with an empty outbox: every batch acknowledged and its deletion committed.
  auto kill_at_each_step = [&] {
    const auto before = daemon_batches();
    REQUIRE(outbox().empty());
    kill_at("agent.after_seal_commit");
    const auto sealed = outbox();
    REQUIRE_FALSE(sealed.empty());
    CHECK(daemon_batches() == before);  // none of it sent
    CHECK(*sealed.begin() > (before.empty() ? 0 : *before.rbegin()));
    for (const char* fp : {"agent.after_send", "agent.ack_before_commit"}) {
      const auto held = outbox();
      kill_at(fp);
      // The daemon stored and acknowledged the outbox's first batch (sent first, acknowledged
      // first); the agent, killed before committing that ack, still holds it: the next start
      // sends it again, answered as a duplicate (counted below), not stored twice.
      CHECK(daemon_batches().count(*held.begin()) == 1);
      CHECK(outbox().count(*held.begin()) == 1);
    }
  };
  auto drain = [&](int n) {
    agent::testing::Child run({bin, "run", "--config", config},
                              dir.file("run" + std::to_string(++runs)));
    REQUIRE(wait_until([&] { return state.records_stored() == uint64_t(n); },
                       std::chrono::seconds(40)));
    REQUIRE(wait_until([&] {
      auto r = agent_cmd({"status", "--json", "--no-probe"});
      return r.out.find("\"acknowledged\":" + std::to_string(n)) != std::string::npos &&
             r.out.find("\"spooled\":0,") != std::string::npos;
    }));
    run.signal(SIGTERM);
    CHECK(run.wait() == 0);
    CHECK(outbox().empty());
    stored_once_in_order(n);
  };

  // 1. Among the old records (batches of formats 1 and 2; the kills come before format 3's).
  kill_at_each_step();
  drain(4000);
  const uint64_t duplicates_old = [&] {
    std::lock_guard l(state.mu);
    return state.duplicates;
  }();
  CHECK(duplicates_old >= 2);  // after_send's batch and ack_before_commit's, each sent again
  CHECK(daemon_batches().size() == 16);

  // 2. Among the new segments.
  std::string text;
  for (int i = 4000; i < 5000; ++i) text += agent::testing::jsonl_record(i) + "\n";
  gongshu::testing::write_text(dir.file("new.jsonl"), text);
  auto sub = agent_cmd({"submit", "--dataset", agent::testing::kDataset, dir.file("new.jsonl")});
  INFO(sub.out << sub.err);
  REQUIRE(sub.exit_code == 0);
  {
    auto spool = must(Spool::open(dir.file("state")));
    auto txn = must(spool->env().begin_read());
    REQUIRE(spool->pending_records(txn) == 1000);
    REQUIRE(spool->pending().count(txn) == 20);            // 1,000 new records in 20 segments
    CHECK((*spool->pending().get(txn, 4001))[0] == 0x04);  // the upgraded intake's format
    CHECK(Spool::peek_pending_count(*spool->pending().get(txn, 4951)) == 50);
  }
  kill_at_each_step();
  drain(5000);
  std::lock_guard l(state.mu);
  CHECK(state.batches.size() == 20);
  CHECK(state.duplicates >= duplicates_old + 2);
}

TEST_CASE("spool: a pending writer that failed takes no more records", "[agent][spool]") {
  // A counter is never used twice under one segment's salt, even by a caller that carries on
  // after an error (instead of aborting the transaction as it must).
  TempDir dir;
  SpoolOptions one;
  one.segment_records = 1;  // every append writes its segment
  auto spool = must(Spool::open(dir.path(), one));
  must(spool->env().update([&](store::WriteTxn& txn) -> Status {
    // A slot above next_pending is taken: appending at next_pending fails (out of order).
    GONGSHU_RETURN_IF_ERROR(spool->pending().put(txn, 10, as_bytes("x")));
    auto w = spool->pending_writer(txn);
    auto first = w.append(pending(record(1, "a"), "s:1"));
    CHECK_FALSE(first);
    auto second = w.append(pending(record(2, "b"), "s:2"));
    REQUIRE_FALSE(second);
    CHECK(second.error().message().find("after a failure") != std::string::npos);
    return {};
  }));
}

TEST_CASE("spool: a pending writer dropped without finish() stops the process before the commit",
          "[agent][spool]") {
  // append() gave the record its seq, but the segment is written only by finish(): committed
  // without it, the record would be lost. The writer's destructor (GONGSHU_CHECK) aborts first.
  TempDir dir;
  const std::string err = dir.file("child.err");
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGABRT, SIG_DFL);  // not the test framework's handler
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ::dup2(fd, 2) < 0) ::_exit(3);
    auto spool = Spool::open(dir.file("state"));
    if (!spool) ::_exit(4);
    auto s = (*spool)->env().update([&](store::WriteTxn& txn) -> Status {
      auto w = (*spool)->pending_writer(txn);
      GONGSHU_RETURN_IF_ERROR(w.append(pending(record(1, "a"), "s:1")));
      return {};  // no finish()
    });
    ::_exit(s ? 0 : 5);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  INFO(gongshu::testing::read_text(err));
  REQUIRE(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGABRT);
  CHECK(gongshu::testing::read_text(err).find("not finished") != std::string::npos);
  auto spool = must(Spool::open(dir.file("state")));
  auto txn = must(spool->env().begin_read());
  CHECK(spool->pending().count(txn) == 0);  // nothing committed
}

TEST_CASE("serialize_record: the same bytes as protobuf's SerializeToString", "[agent][intake]") {
  std::mt19937_64 rng(19);
  auto text = [&](size_t most) {
    std::string t(rng() % (most + 1), 'x');
    for (auto& c : t) c = "ab\xe4\xb8\x89\n\"z"[rng() % 8];
    return t;
  };
  for (int round = 0; round < 2000; ++round) {
    v1::Record r;
    if (rng() % 4) r.set_dataset(text(30));
    if (rng() % 4) r.set_record_key(text(200));
    if (rng() % 2) r.set_op(static_cast<v1::RecordOp>(rng() % 2));
    if (rng() % 3 == 0) r.set_subject_id(text(20));
    if (rng() % 2) r.set_observed_at_ms(static_cast<int64_t>(rng()) >> (rng() % 64));
    if (rng() % 5 == 0) r.set_invalidate_reason(text(40));
    const int fields = int(rng() % 8);
    for (int i = 0; i < fields; ++i) {
      v1::Field* f = r.add_fields();
      if (rng() % 5) f->set_name(text(12));
      if (rng() % 6 == 0) continue;  // no value at all
      v1::FieldValue* v = f->mutable_value();
      const int64_t n = static_cast<int64_t>(rng()) >> (rng() % 64);
      switch (rng() % 8) {
        case 0:
          v->set_text(text(rng() % 2 ? 20000 : 100));
          break;
        case 1:
          v->set_integer(n);
          break;
        case 2:
          v->set_real(double(n) / 7.0 * (rng() % 2 ? 1 : -1));
          break;
        case 3:
          v->set_boolean(rng() % 2);
          break;
        case 4:
          v->set_blob(text(300));
          break;
        case 5:
          v->set_date_days(static_cast<int32_t>(n));
          break;
        case 6:
          v->set_timestamp_ms(n);
          break;
        default:
          break;  // a value with no kind
      }
    }
    std::string want, got = "left over";
    REQUIRE(r.SerializeToString(&want));
    REQUIRE(agent::serialize_record(r, got));
    INFO("round " << round);
    REQUIRE(got == want);
  }
  // Unknown fields (a record from a newer producer) go protobuf's way, kept.
  v1::Record r;
  r.set_dataset("d");
  std::string bytes;
  REQUIRE(r.SerializeToString(&bytes));
  bytes += std::string("\x78\x05", 2);  // field 15, varint 5
  v1::Record parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  std::string got;
  REQUIRE(agent::serialize_record(parsed, got));
  CHECK(got == bytes);
}
