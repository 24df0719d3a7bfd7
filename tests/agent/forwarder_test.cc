#include <catch2/catch.hpp>

#include "agent/catalog_cache.h"
#include "agent/forwarder.h"
#include "agent/intake.h"
#include "tests/agent/agent_test_util.h"
#include "tests/support/test_support.h"

using namespace gongshu;
using namespace gongshu::agent;
using gongshu::agent::testing::must;
using gongshu::testing::TempDir;
using gongshu::testing::wait_until;

namespace {

void spool_records(Spool& spool, int from, int n) {
  Intake intake(spool, SystemClock::instance());
  must(intake.refresh_catalog());
  for (int i = from; i < from + n; ++i) {
    v1::Record r;
    r.set_dataset(agent::testing::kDataset);
    r.set_record_key("k" + std::to_string(i));
    r.set_subject_id(agent::testing::citizen_id(i));
    auto* f = r.add_fields();
    f->set_name("name");
    f->mutable_value()->set_text("n");
    REQUIRE(intake.add(r, "t").ok());
  }
  must(intake.commit());
}

std::vector<std::pair<uint64_t, OutboxEntry>> outbox(Spool& spool) {
  auto txn = must(spool.env().begin_read());
  std::vector<std::pair<uint64_t, OutboxEntry>> out;
  store::Cursor cur = spool.outbox().cursor(txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    auto d = must(decode_outbox(e->value));
    d.message = {};
    out.emplace_back(*store::parse_u64_key(e->key), d);
  }
  return out;
}

}  // namespace

TEST_CASE("batcher: size and time bounds, sequence numbers persisted", "[agent][batch]") {
  TempDir dir;
  auto spool = must(Spool::open(dir.path()));
  must(store_catalog(*spool, {agent::testing::test_dataset()}, 1));
  auto agent_key = crypto::IdentityKey::generate();
  auto daemon_key = crypto::IdentityKey::generate();
  DaemonTarget target;
  target.ingest = "tcp://127.0.0.1:9";  // nobody there: batches are made, never acknowledged
  target.key = daemon_key.public_key();
  target.agency = agent::testing::kAgency;
  auto context = must(wire::Context::create());
  ForwarderOptions o;
  o.max_records = 100;
  o.max_delay = std::chrono::milliseconds(300);
  o.window = 4;
  {
    Forwarder f(*spool, context, agent_key, target, o, SystemClock::instance());
    spool_records(*spool, 0, 250);
    // Two full batches at once (by the forwarder's sealer thread); the 50 left wait for
    // max_delay.
    REQUIRE(wait_until([&] {
      must(f.step(std::chrono::milliseconds(0)));
      return outbox(*spool).size() >= 2;
    }));
    auto ob = outbox(*spool);
    REQUIRE(ob.size() == 2);
    CHECK(ob[0].first == 1);
    CHECK(ob[0].second.count == 100);
    CHECK(ob[1].first == 2);
    CHECK(ob[1].second.first_pending == 101);
    auto start = std::chrono::steady_clock::now();
    REQUIRE(wait_until([&] {
      must(f.step(std::chrono::milliseconds(10)));
      return outbox(*spool).size() == 3;
    }));
    auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= std::chrono::milliseconds(250));
    CHECK(outbox(*spool)[2].second.count == 50);
    // The window (4) bounds sealed batches; the rest waits unsealed.
    spool_records(*spool, 250, 300);
    REQUIRE(wait_until([&] {
      must(f.step(std::chrono::milliseconds(10)));
      return outbox(*spool).size() >= 4;
    }));
    for (int i = 0; i < 5; ++i) must(f.step(std::chrono::milliseconds(10)));
    CHECK(outbox(*spool).size() == 4);
  }
  // A new forwarder (a restart) continues the sequence.
  auto txn = must(spool->env().begin_read());
  CHECK(spool->get_u64(txn, kNextBatchSeq) == 5);
  CHECK(spool->get_u64(txn, kBatchedUpTo) == 350);
  CHECK(spool->pending_records(txn) == 550);  // nothing acknowledged, nothing removed
}

TEST_CASE("batcher: a batch is whole spool segments, never a part of one", "[agent][batch]") {
  // Segments of 100 (the spool's default) and a last one of 30: a max_records of 150 takes one
  // segment of 100 per batch (two do not fit), then 100 + 30; one of 40 (lowered after the records
  // were spooled) sends each segment alone.
  struct Want {
    uint32_t max;
    std::vector<std::pair<uint64_t, uint32_t>> batches;  // first_pending, count
  };
  for (const Want& want : {Want{150, {{1, 100}, {101, 100}, {201, 130}}},
                           Want{40, {{1, 100}, {101, 100}, {201, 100}, {301, 30}}}}) {
    const uint32_t max = want.max;
    TempDir dir;
    auto spool = must(Spool::open(dir.path()));
    must(store_catalog(*spool, {agent::testing::test_dataset()}, 1));
    auto agent_key = crypto::IdentityKey::generate();
    auto daemon_key = crypto::IdentityKey::generate();
    DaemonTarget target;
    target.ingest = "tcp://127.0.0.1:9";
    target.key = daemon_key.public_key();
    target.agency = agent::testing::kAgency;
    auto context = must(wire::Context::create());
    ForwarderOptions o;
    o.max_records = max;
    o.max_delay = std::chrono::milliseconds(20);
    o.window = 8;
    spool_records(*spool, 0, 330);  // segments at 1, 101, 201 (100 each) and 301 (30)
    {
      Forwarder f(*spool, context, agent_key, target, o, SystemClock::instance());
      REQUIRE(wait_until([&] {
        must(f.step(std::chrono::milliseconds(5)));
        auto txn = must(spool->env().begin_read());
        return spool->get_u64(txn, kBatchedUpTo) == 330;
      }));
    }
    auto ob = outbox(*spool);
    INFO("max_records " << max);
    REQUIRE(ob.size() == want.batches.size());
    for (size_t i = 0; i < ob.size(); ++i) {
      CHECK(ob[i].second.first_pending == want.batches[i].first);
      CHECK(ob[i].second.count == want.batches[i].second);
    }
  }
}
