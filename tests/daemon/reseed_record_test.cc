// A node's last re-seed (docs/replication.md §6): the record in <state>/reseed/last and the
// member key's "reseed" object it is published as (core/cluster/values.h), both ways; a bad one
// is refused (the file) or left out (the member key stays readable for elections).
#include <catch2/catch.hpp>
#include <string>

#include "core/cluster/values.h"
#include "daemon/cluster_replication.h"
#include "tests/support/test_support.h"

namespace gongshu::daemon {
namespace {

TEST_CASE("re-seed record: written, read back, and a bad one refused") {
  const cluster::ReseedRecord r{1'765'000'000'123, "diverged", 7, 4211};
  const std::string text = encode_reseed_record(r);
  CHECK(text == "at_ms 1765000000123\nreason diverged\nfrom_term 7\nfrom_seq 4211\n");
  auto back = decode_reseed_record(text);
  REQUIRE(back);
  CHECK(*back == r);
  CHECK(!decode_reseed_record("at_ms 1\nreason sideways\nfrom_term 1\nfrom_seq 1\n"));
  CHECK(!decode_reseed_record("at_ms x\nreason behind\nfrom_term 1\nfrom_seq 1\n"));
  CHECK(!decode_reseed_record("at_ms 1\nreason behind\nfrom_term 1\n"));  // from_seq missing

  testing::TempDir dir;
  auto none = read_last_reseed(dir.path());
  REQUIRE(none);
  CHECK(!none->has_value());
}

TEST_CASE("re-seed record: published with the member key, and a malformed one left out") {
  cluster::MemberValue m;
  m.applied = {120, 4};
  m.endpoints = {{"api", "tcp://127.0.0.1:7401"}};
  auto plain = cluster::decode_member(cluster::encode(m));
  REQUIRE(plain);
  CHECK(!plain->reseed);
  m.reseed = cluster::ReseedRecord{1'765'000'000'000, "behind", 3, 99};
  auto with = cluster::decode_member(cluster::encode(m));
  REQUIRE(with);
  CHECK(*with == m);
  auto bad = cluster::decode_member(
      R"({"applied_seq":1,"applied_term":1,"role":"replica","endpoints":{},)"
      R"("reseed":{"at_ms":"soon","reason":"behind","from_term":1,"from_seq":1}})");
  REQUIRE(bad);  // the member is still read
  CHECK(!bad->reseed);
}

}  // namespace
}  // namespace gongshu::daemon
