// The gateway's JSON (core/etcd/gateway.h) without an etcd: requests as etcd 3.4 reads them,
// replies as etcd 3.4 wrote them (captured from etcd 3.4.23), and replies no etcd should send.
#include "core/etcd/gateway.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace gongshu::etcd {
namespace {

using nlohmann::json;

TEST_CASE("prefix_end covers exactly the keys under a prefix", "[etcd]") {
  CHECK(prefix_end("abc") == "abd");
  CHECK(prefix_end(std::string("a\xff", 2)) == "b");
  CHECK(prefix_end(std::string("a\x00", 2)) == std::string("a\x01", 2));
  CHECK(prefix_end("") == std::string(1, '\0'));
  CHECK(prefix_end(std::string("\xff\xff", 2)) == std::string(1, '\0'));
}

TEST_CASE("requests carry bytes as base64 and int64 as strings", "[etcd]") {
  json put = json::parse(gateway::put_request(std::string("k\0\xff", 3), "v", LeaseId{42}));
  CHECK(put["key"] == "awD/");
  CHECK(put["value"] == "dg==");
  CHECK(put["lease"] == "42");
  CHECK_FALSE(json::parse(gateway::put_request("k", "", std::nullopt)).contains("lease"));

  Txn t;
  t.require_absent("leader")
      .compare(Field::kModRevision, "m", Cmp::kLess, 7)
      .compare_value("v", Cmp::kNotEqual, "x")
      .compare_prefix(Field::kVersion, "p/", Cmp::kGreater, 1)
      .on_success(Op::put("leader", "me", LeaseId{5}))
      .on_success(Op::delete_prefix("p/"))
      .on_failure(Op::get("leader"));
  json j = json::parse(gateway::txn_request(t));
  REQUIRE(j["compare"].size() == 4);
  CHECK(j["compare"][0] == json::parse(R"({"key":"bGVhZGVy","result":"EQUAL","target":"CREATE",
                                           "create_revision":"0"})"));
  CHECK(j["compare"][1]["target"] == "MOD");
  CHECK(j["compare"][1]["result"] == "LESS");
  CHECK(j["compare"][1]["mod_revision"] == "7");
  CHECK(j["compare"][2]["target"] == "VALUE");
  CHECK(j["compare"][2]["result"] == "NOT_EQUAL");
  CHECK(j["compare"][2]["value"] == "eA==");
  CHECK(j["compare"][3]["range_end"] == "cDA=");  // "p0"
  CHECK(j["compare"][3]["version"] == "1");
  CHECK(j["success"][0]["request_put"]["lease"] == "5");
  CHECK(j["success"][1]["request_delete_range"]["range_end"] == "cDA=");
  CHECK(j["failure"][0]["request_range"] == json::parse(R"({"key":"bGVhZGVy"})"));
}

TEST_CASE("replies captured from etcd 3.4 read back", "[etcd]") {
  auto range = gateway::read_range(
      R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952",)"
      R"("revision":"2","raft_term":"2"},"kvs":[{"key":"Zm9v","create_revision":"2",)"
      R"("mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"})");
  REQUIRE(range);
  CHECK(range->revision == 2);
  REQUIRE(range->kvs.size() == 1);
  CHECK(range->kvs[0] == KeyValue{"foo", "bar", 2, 2, 1, 0});

  auto empty = gateway::read_range(R"({"header":{"revision":"2","raft_term":"2"}})");
  REQUIRE(empty);
  CHECK(empty->kvs.empty());

  // A failed compare: "succeeded" is left out (false is proto3's default).
  auto lost = gateway::read_txn(
      R"({"header":{"revision":"2"},"responses":[{"response_range":{"header":{"revision":"2"},)"
      R"("kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1",)"
      R"("value":"YmFy"}],"count":"1"}}]})");
  REQUIRE(lost);
  CHECK_FALSE(lost->succeeded);
  REQUIRE(lost->results.size() == 1);
  CHECK(lost->results[0].kind == Op::Kind::kRange);
  CHECK(lost->results[0].kvs[0].value == "bar");

  auto won = gateway::read_txn(
      R"({"header":{"revision":"3"},"succeeded":true,"responses":[{"response_put":)"
      R"({"header":{"revision":"3"}}},{"response_delete_range":{"header":{"revision":"3"},)"
      R"("deleted":"2"}}]})");
  REQUIRE(won);
  CHECK(won->succeeded);
  CHECK(won->revision == 3);
  CHECK(won->results[0].kind == Op::Kind::kPut);
  CHECK(won->results[1].deleted == 2);

  auto grant = gateway::read_lease_grant(
      R"({"header":{"revision":"2"},"ID":"2324035869370370569","TTL":"5"})");
  REQUIRE(grant);
  CHECK(grant->value == 2324035869370370569);

  auto alive = gateway::read_keepalive(
      R"({"result":{"header":{"revision":"4"},"ID":"2324035869370370577","TTL":"3"}})"
      "\n");
  REQUIRE(alive);
  CHECK(*alive == 3);
  // An expired or revoked lease: TTL left out.
  auto expired = gateway::read_keepalive(R"({"result":{"header":{},"ID":"23"}})");
  REQUIRE(expired);
  CHECK(*expired == 0);

  auto ttl = gateway::read_time_to_live(
      R"({"header":{},"ID":"1","TTL":"2","grantedTTL":"3","keys":["bGs="]})");
  REQUIRE(ttl);
  REQUIRE(ttl->has_value());
  CHECK((*ttl)->ttl_s == 2);
  CHECK((*ttl)->granted_ttl_s == 3);
  CHECK((*ttl)->keys == std::vector<std::string>{"lk"});
  auto gone = gateway::read_time_to_live(R"({"header":{},"ID":"1","TTL":"-1"})");
  REQUIRE(gone);
  CHECK_FALSE(gone->has_value());

  auto refusal = gateway::read_refusal(
      R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested )"
      R"(lease not found","code":5})");
  REQUIRE(refusal);
  CHECK(refusal->code == gateway::kGrpcNotFound);
  CHECK(refusal->message == "etcdserver: requested lease not found");
  CHECK_FALSE(gateway::read_refusal("<html>502</html>"));
}

TEST_CASE("replies no etcd should send are Errors, never crashes", "[etcd]") {
  for (const char* body :
       {"", "[]", "{", "null", R"({"kvs":{}})", R"({"kvs":[1]})", R"({"kvs":[{"key":"!!"}]})",
        R"({"kvs":[{"key":"Zm9v","mod_revision":"12x"}]})",
        R"({"kvs":[{"key":"Zm9v","version":"99999999999999999999999"}]})",
        R"({"kvs":[{"key":"Zm9v","version":[]}]})", R"({"header":"x"})",
        R"({"header":{"revision":true}})"}) {
    INFO(body);
    auto r = gateway::read_range(body);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == ErrorCode::kCorrupt);
  }
  CHECK_FALSE(gateway::read_txn(R"({"succeeded":"yes"})"));
  CHECK_FALSE(gateway::read_txn(R"({"responses":[{"response_other":{}}]})"));
  CHECK_FALSE(gateway::read_txn(R"({"responses":{}})"));
  CHECK_FALSE(gateway::read_lease_grant(R"({"TTL":"5"})"));
  CHECK_FALSE(gateway::read_keepalive(R"({"header":{}})"));
  auto refused = gateway::read_keepalive(R"({"error":{"grpc_code":14,"message":"no leader"}})");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message().find("no leader") != std::string::npos);
  CHECK_FALSE(gateway::read_time_to_live(R"({"TTL":"1","keys":[7]})"));
}

}  // namespace
}  // namespace gongshu::etcd
