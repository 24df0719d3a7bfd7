#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "agent/catalog_cache.h"
#include "agent/intake.h"
#include "agent/resident.h"
#include "agent/spool.h"
#include "core/crypto/aead.h"
#include "tests/agent/agent_test_util.h"
#include "tests/support/test_support.h"

using namespace gongshu;
using namespace gongshu::agent;
using gongshu::agent::testing::must;
using gongshu::testing::TempDir;

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
  CHECK(spool->pending().count(txn) == 500);
  CHECK(spool->get_u64(txn, kCountAccepted) == 500);
  CHECK(spool->get_u64(txn, kCountRejectedLocal) == 2);
  store::Cursor cur = spool->pending().cursor(txn);
  int i = 0;
  for (auto e = cur.first(); e; e = cur.next(), ++i) {
    auto p = must(spool->open_pending(*store::parse_u64_key(e->key), e->value));
    v1::Record r;
    REQUIRE(r.ParseFromString(p.record()));
    CHECK(r.record_key() == "key-" + std::to_string(i));
    CHECK(p.source() == "test:" + std::to_string(i));
  }
  CHECK(i == 500);
  // A box moved to another key does not open.
  auto first = spool->pending().get(txn, 1);
  CHECK_FALSE(spool->open_pending(2, *first));
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
  CHECK(spool->pending().count(txn) == 60);
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
