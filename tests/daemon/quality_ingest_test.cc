// Quality rules at the daemon: a batch built by hand, past any agent, with a record that
// breaks a rule of the shipped catalog (population.household: household_size 1..99) has that
// record refused at ingest with the reason, and the rest stored.
#include <catch2/catch.hpp>
#include <map>

#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon {
namespace {
using namespace testing;

TEST_CASE("the daemon refuses a record breaking a quality rule, alone and with the reason") {
  DaemonFixture f;
  f.add_examples();
  auto key = f.enroll("sjz-gongan");
  TestAgent agent(f.ctx, key, f.daemon->public_key(), f.daemon->ingest_endpoint(), "sjz-gongan");
  std::vector<v1::Record> records;
  for (int i = 0; i < 3; ++i)
    records.push_back(household("hh-q" + std::to_string(i), citizen_id(700 + i), "张三"));
  // household() sets household_size 3; the middle record says 0, the last 99 (the bound).
  records[1].mutable_fields(2)->mutable_value()->set_integer(0);
  records[2].mutable_fields(2)->mutable_value()->set_integer(99);
  agent.send(1, records);
  auto ack = agent.ack();
  REQUIRE(ack);
  REQUIRE(ack->error() == v1::BATCH_OK);
  CHECK(ack->accepted() == 2);
  REQUIRE(ack->statuses_size() == 1);
  const v1::RecordStatus& s = ack->statuses(0);
  CHECK(s.index() == 1);
  CHECK(s.code() == v1::RECORD_STATUS_QUALITY);
  CHECK(s.field() == "household_size");
  CHECK(s.reason() ==
        "record 'hh-q1': field 'household_size': range rule: 0 is below the minimum 1");
}

}  // namespace
}  // namespace gongshu::daemon
