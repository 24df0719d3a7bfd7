// The Shipper takes at most kMaxReplicaMessage (64 KiB) from a replica: replicas only say
// hello, ack and refuse, so a bigger message — even from an authenticated member — is dropped
// by libzmq with its connection, never parsed. Driven over real CURVE sockets on loopback, with
// raw ReplicationMessages sent under members' node keys.
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>

#include "core/replication/shipper.h"
#include "core/wire/client_channel.h"
#include "core/wire/context.h"
#include "gongshu/v1/replication.pb.h"
#include "tests/core/replication/replication_node.h"
#include "tests/support/test_support.h"

namespace gongshu::replication {
namespace {

using namespace std::chrono_literals;
using gongshu::testing::TempDir;
using testing::Node;
using testing::test_key;

// A hello claiming write set 1000 (the primary holds 1): processed, it is answered with a reseed.
// `pad` bytes ride in applied_hash (a hash of the wrong size counts as none).
v1::ReplicationMessage hello(const std::string& node, uint64_t applied_seq, size_t pad) {
  v1::ReplicationMessage m;
  auto* h = m.mutable_hello();
  h->set_node(node);
  h->set_applied_seq(applied_seq);
  h->set_applied_hash(std::string(pad, 'x'));
  return m;
}

struct Member {
  wire::Context ctx = *wire::Context::create();
  std::optional<wire::ClientChannel> ch;
  Member(const crypto::IdentityKey& key, const crypto::PublicKey& primary,
         const std::string& endpoint) {
    wire::ClientOptions o;
    o.max_message_size = 8 << 20;
    auto c = wire::ClientChannel::create(ctx, key, primary, o);
    REQUIRE(c);
    ch.emplace(std::move(*c));
    REQUIRE(ch->connect(endpoint));
  }
  ~Member() { ch.reset(); }
  void send(const v1::ReplicationMessage& m) {
    std::string b = m.SerializeAsString();
    (void)ch->send(as_bytes(b));
  }
  // The first message from the primary, resending `m` every 200 ms until one arrives (a dropped
  // connection loses what was queued on it).
  std::optional<v1::ReplicationMessage> answer_to(const v1::ReplicationMessage& m) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      send(m);
      auto in = ch->receive(200ms);
      if (in && *in) {
        v1::ReplicationMessage out;
        REQUIRE(out.ParseFromArray((*in)->data(), static_cast<int>((*in)->size())));
        return out;
      }
    }
    return std::nullopt;
  }
};

TEST_CASE("the shipper drops a replica message beyond 64 KiB unread and serves the member after") {
  CHECK(ShipperOptions{}.max_message_size == kMaxReplicaMessage);
  CHECK(kMaxReplicaMessage == 64 * 1024);
  TempDir dir;
  Node primary(dir.path());
  primary.lead(7);
  primary.write(1);
  const auto pkey = test_key(40), bkey = test_key(50), ckey = test_key(51);
  ShipperOptions so;
  so.node = "node-a";
  so.heartbeat = 100ms;
  auto shipper = Shipper::start(*primary.env, *primary.changelog, pkey,
                                {{"node-b", bkey.public_key()}, {"node-c", ckey.public_key()}}, so);
  REQUIRE(shipper);

  // Just under the bound: read and answered (a reseed: it claims write sets the primary lacks).
  Member b(bkey, pkey.public_key(), (*shipper)->endpoint());
  auto big_ok = hello("node-b", 1000, kMaxReplicaMessage - 1024);
  REQUIRE(big_ok.ByteSizeLong() < kMaxReplicaMessage);
  auto answer = b.answer_to(big_ok);
  REQUIRE(answer);
  CHECK(answer->has_reseed());
  CHECK((*shipper)->replicas()["node-b"].reseed_sent);

  // Just over it: dropped with its connection, never parsed — no reseed, ever. The member's
  // next (small) hello, from where it really stands, streams.
  Member c(ckey, pkey.public_key(), (*shipper)->endpoint());
  auto too_big = hello("node-c", 1000, kMaxReplicaMessage + 1);
  REQUIRE(too_big.ByteSizeLong() > kMaxReplicaMessage);
  c.send(too_big);
  auto first = c.answer_to(hello("node-c", 0, 0));
  REQUIRE(first);
  CHECK(first->has_stream());
  CHECK(!first->has_reseed());
  auto progress = (*shipper)->replicas()["node-c"];
  CHECK(!progress.reseed_sent);
  CHECK(progress.refused.empty());
}

}  // namespace
}  // namespace gongshu::replication
