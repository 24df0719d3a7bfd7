#include "core/wire/client_channel.h"

#include <catch2/catch.hpp>

#include "tests/core/wire/wire_test_support.h"
#include "tests/support/test_support.h"

namespace gongshu::wire {
namespace {

using gongshu::testing::wait_until;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::must;

TEST_CASE("a client that has not connected reports not connected") {
  auto context = must(Context::create());
  auto id = crypto::IdentityKey::generate();
  auto daemon = crypto::IdentityKey::generate();
  auto client = must(ClientChannel::create(context, id, daemon.public_key()));
  CHECK(client.handshake_state() == HandshakeState::kNotConnected);
  CHECK(!must(client.receive(milliseconds(10))));
  // Before connect() there is no queue to put a message in.
  auto early = client.send(to_bytes("too early"));
  REQUIRE(!early);
  CHECK(early.error().code() == ErrorCode::kUnavailable);
  CHECK(!client.send(Bytes{}));
  CHECK(!client.connect("not an endpoint"));
  CHECK(client.connect("tcp://127.0.0.1:1"));
  // After it, messages wait in the queue until the connection is up.
  CHECK(client.send(to_bytes("queued")));
  auto twice = client.connect("tcp://127.0.0.1:2");
  REQUIRE(!twice);
  CHECK(twice.error().code() == ErrorCode::kInvalidArgument);
  CHECK(client.handshake_state() == HandshakeState::kNotConnected);
}

TEST_CASE("a client with the wrong daemon key fails the handshake") {
  testing::TestDaemon daemon;
  auto agent = crypto::IdentityKey::generate();
  daemon.registry.allow(agent.public_key(), "agent:a");
  auto impostor = crypto::IdentityKey::generate();
  auto context = must(Context::create());
  auto client = must(ClientChannel::create(context, agent, impostor.public_key()));
  must(client.connect(daemon.endpoint));
  must(client.send(to_bytes("hello")));
  CHECK(
      wait_until([&] { return client.handshake_state() == HandshakeState::kFailed; }, seconds(5)));
  // The server could not even read the client's HELLO, so ZAP was never asked.
  CHECK(daemon.zap.stats().accepted == 0);
  CHECK(!must(daemon.server.receive(milliseconds(0))));
}

TEST_CASE("a connected client sees the daemon go away") {
  auto agent = crypto::IdentityKey::generate();
  auto context = must(Context::create());
  std::optional<ClientChannel> client;
  {
    testing::TestDaemon daemon;
    daemon.registry.allow(agent.public_key(), "agent:a");
    client.emplace(testing::connected_client(context, agent, daemon));
    must(client->send(to_bytes("hello")));
    REQUIRE(must(daemon.server.receive(seconds(5))));
    REQUIRE(wait_until([&] { return client->handshake_state() == HandshakeState::kConnected; },
                       seconds(5)));
  }
  CHECK(wait_until([&] { return client->handshake_state() == HandshakeState::kDisconnected; },
                   seconds(5)));
}

TEST_CASE("a client drops multi-frame and empty replies and keeps receiving") {
  auto daemon_id = crypto::IdentityKey::generate();
  testing::RawServer daemon(daemon_id);
  auto agent = crypto::IdentityKey::generate();
  auto context = must(Context::create());
  auto client = must(ClientChannel::create(context, agent, daemon_id.public_key()));
  must(client.connect(daemon.endpoint()));
  must(client.send(to_bytes("hello")));
  std::string peer = daemon.receive_routing_id();

  daemon.send(peer, {"one", "two"});
  daemon.send(peer, {""});
  daemon.send(peer, {"fine"});
  auto multi = client.receive(seconds(5));
  REQUIRE(!multi);
  CHECK(multi.error().code() == ErrorCode::kCorrupt);
  auto empty = client.receive(seconds(5));
  REQUIRE(!empty);
  CHECK(empty.error().code() == ErrorCode::kCorrupt);
  auto fine = must(client.receive(seconds(5)));
  REQUIRE(fine);
  CHECK(*fine == to_bytes("fine"));
  CHECK(client.handshake_state() == HandshakeState::kConnected);
}

TEST_CASE("client options are checked") {
  auto context = must(Context::create());
  auto id = crypto::IdentityKey::generate();
  ClientOptions zero;
  zero.max_message_size = 0;
  CHECK(!ClientChannel::create(context, id, id.public_key(), zero));
  ClientOptions negative;
  negative.reconnect_interval = milliseconds(-1);
  CHECK(!ClientChannel::create(context, id, id.public_key(), negative));
  Bytes neutral(32, 0);
  neutral[0] = 1;
  auto bad_daemon = ClientChannel::create(context, id, *crypto::PublicKey::from_bytes(neutral));
  REQUIRE(!bad_daemon);
  CHECK(bad_daemon.error().code() == ErrorCode::kInvalidArgument);
  CHECK(context.open_sockets() == 0);
}

}  // namespace
}  // namespace gongshu::wire
