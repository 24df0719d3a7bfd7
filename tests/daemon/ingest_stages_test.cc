// The ingest pipeline's two stages without sockets or threads (issue 13, item 8): a worker's
// prepare_batch and the writer's IngestWriter over a real DaemonStore in a temporary directory.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/batch/batch.h"
#include "core/catalog/dataset.h"
#include "core/util/fd.h"
#include "core/wire/codec.h"
#include "daemon/ingest_apply.h"
#include "daemon/ingest_prepare.h"
#include "daemon/registry.h"
#include "tests/daemon/daemon_fixture.h"
#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

struct Stages {
  Stages() {
    auto op = f.add_principal("operator");
    const Caller c = f.caller_of(op);
    v1::Agency a;
    a.set_id("sjz-gongan");
    a.set_name("石家庄市公安局");
    a.set_type("government");
    a.set_region_code("130100");
    REQUIRE(agency_add(*f.ctx, c, a));
    auto text = read_file(
        std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml", 1 << 20);
    REQUIRE(text);
    auto entry = catalog::parse_dataset_toml(as_chars(*text), "population_household.toml");
    REQUIRE(entry);
    v1::ApiResponse resp;
    REQUIRE(catalog_add(*f.ctx, c, *entry, resp));
    agent = std::make_unique<crypto::IdentityKey>(f.add_principal("agent", "sjz-gongan"));
  }

  // The encoded SealedBatch of records under seq, as an agent sends it.
  Bytes frame(uint64_t seq, const std::vector<v1::Record>& records) {
    std::vector<std::string> bytes;
    for (const auto& r : records) bytes.push_back(r.SerializeAsString());
    v1::BatchHeader h;
    h.set_agency("sjz-gongan");
    h.set_batch_seq(seq);
    h.set_created_at_ms(f.store->clock().now_ms());
    auto sealed = batch::seal_batch(*agent, f.store->daemon_key().public_key(), h, bytes);
    REQUIRE(sealed);
    return *wire::encode(*sealed);
  }
  // A job as the net thread makes it from a frame.
  JobPtr job(uint64_t seq, const std::vector<v1::Record>& records) {
    return raw_job(frame(seq, records));
  }
  JobPtr raw_job(Bytes payload) {
    auto j = std::make_shared<Job>(payload.size());
    j->agent_key_id = agent->public_key().key_id();
    j->payload = std::move(payload);
    return j;
  }
  void prepare(const JobPtr& j) {
    prepare_batch(PrepareContext{*f.store, f.directory, f.catalog, activity, batch::Limits{}}, *j);
    j->prepared = true;
  }

  HandlerFixture f;
  std::unique_ptr<crypto::IdentityKey> agent;
  AgentActivityMap activity;
  IngestWriter writer{*f.store, f.directory, 3};
};

std::vector<v1::Record> households(int first, int n) {
  std::vector<v1::Record> out;
  for (int i = first; i < first + n; ++i)
    out.push_back(testing::household("hh-" + std::to_string(i), testing::citizen_id(i), "张三"));
  return out;
}

TEST_CASE("prepare then apply: stored once, a replay answered, a conflict and garbage refused") {
  Stages s;
  const Bytes sent = s.frame(1, households(0, 3));
  JobPtr first = s.raw_job(sent);
  s.prepare(first);
  REQUIRE_FALSE(first->refusal);
  REQUIRE(first->records.size() == 3);
  for (const auto& pr : first->records) CHECK(pr.verdict.ok());

  std::vector<JobPtr> group{first};
  REQUIRE(s.writer.commit_group(group, {}));
  CHECK(first->ack.error() == v1::BATCH_OK);
  CHECK(first->ack.accepted() == 3);
  CHECK(first->ack.has_receipt());
  CHECK(s.writer.counters.accepted.load() == 3);
  const uint64_t audit_after_first = s.f.audit_size();

  // The same frame again (an agent that missed the ack): answered with the stored receipt.
  JobPtr replay = s.raw_job(sent);
  s.prepare(replay);
  std::vector<JobPtr> again{replay};
  REQUIRE(s.writer.commit_group(again, {}));
  CHECK(replay->ack.error() == v1::BATCH_OK);
  CHECK(replay->ack.duplicate());
  CHECK(replay->ack.receipt().SerializeAsString() == first->ack.receipt().SerializeAsString());
  CHECK(s.writer.counters.accepted.load() == 3);  // nothing stored twice

  // A different batch under the same number: refused whole, never an overwrite.
  JobPtr conflict = s.job(1, households(10, 2));
  s.prepare(conflict);
  // Garbage: refused when opened.
  JobPtr garbage = s.raw_job(Bytes(40, 0x42));
  s.prepare(garbage);
  REQUIRE(garbage->refusal);
  CHECK(garbage->refusal->code == v1::BATCH_MALFORMED);
  std::vector<JobPtr> second{conflict, garbage};
  REQUIRE(s.writer.commit_group(second, {}));
  CHECK(conflict->ack.error() == v1::BATCH_SEQ_CONFLICT);
  CHECK(garbage->ack.error() == v1::BATCH_MALFORMED);
  CHECK(s.writer.counters.refused.load() == 2);
  CHECK(s.f.audit_size() == audit_after_first + 3);  // replay, conflict, garbage: first three
}

TEST_CASE("the writer summarises a key's refusals past the first three of its minute") {
  Stages s;
  const uint64_t before = s.f.audit_size();
  for (int round = 0; round < 20; ++round) {
    std::vector<JobPtr> group;
    for (int i = 0; i < 10; ++i) {
      JobPtr g = s.raw_job(Bytes(20 + i, 0x7f));
      s.prepare(g);
      group.push_back(g);
    }
    REQUIRE(s.writer.commit_group(group, {{s.agent->public_key().key_id(), {{"throttled", 5}}}}));
    for (const auto& g : group) CHECK(g->ack.error() == v1::BATCH_MALFORMED);
  }
  // 200 refused and 100 throttled: three entries so far; the summary comes once the minute has
  // passed (the fixture's clock is the system's: the digest's window is tested on its own in
  // refusal_digest_test.cc).
  CHECK(s.f.audit_size() - before == 3);
  CHECK(s.writer.counters.refused.load() == 200);
}

}  // namespace
}  // namespace gongshu::daemon
