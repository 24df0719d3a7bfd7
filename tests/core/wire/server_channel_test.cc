#include "core/wire/server_channel.h"

#include <catch2/catch.hpp>

#include "tests/core/wire/wire_test_support.h"
#include "tests/support/test_support.h"

namespace gongshu::wire {
namespace {

using gongshu::testing::wait_until;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::must;

// Receives the next message, failing the test on an error or a 5 s timeout.
Incoming next_message(ServerChannel& server) {
  auto in = must(server.receive(seconds(5)));
  if (!in) throw std::runtime_error("no message within 5 s");
  return std::move(*in);
}

TEST_CASE("bind returns the OS-chosen port and refuses inproc") {
  testing::TestDaemon daemon;
  CHECK(daemon.endpoint.starts_with("tcp://127.0.0.1:"));
  CHECK(daemon.endpoint != "tcp://127.0.0.1:*");
  auto second = daemon.server.bind("tcp://127.0.0.1:*");
  REQUIRE(second);
  CHECK(*second != daemon.endpoint);
  auto taken = daemon.server.bind(daemon.endpoint);
  REQUIRE(!taken);
  CHECK(taken.error().code() == ErrorCode::kAlreadyExists);
  auto in = daemon.server.bind("inproc://gongshu-test");
  REQUIRE(!in);
  CHECK(in.error().code() == ErrorCode::kInvalidArgument);
  CHECK(!daemon.server.bind("nonsense"));
}

TEST_CASE("server options are checked") {
  testing::TestDaemon daemon;
  auto id = crypto::IdentityKey::generate();
  ServerOptions no_domain;
  CHECK(!ServerChannel::create(daemon.context, daemon.zap, id, no_domain));
  ServerOptions zero = testing::test_server_options(0);
  CHECK(!ServerChannel::create(daemon.context, daemon.zap, id, zero));
  // A ZAP handler of another context does not guard this one.
  auto other = must(Context::create());
  auto foreign = ServerChannel::create(other, daemon.zap, id, testing::test_server_options());
  REQUIRE(!foreign);
  CHECK(foreign.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("an unknown client key is refused at the handshake") {
  testing::TestDaemon daemon;
  auto stranger = crypto::IdentityKey::generate();
  auto context = must(Context::create());
  auto client = testing::connected_client(context, stranger, daemon);
  must(client.send(to_bytes("let me in")));

  auto start = std::chrono::steady_clock::now();
  auto r = client.receive(seconds(5));
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kUnauthenticated);
  CHECK(std::chrono::steady_clock::now() - start < seconds(4));  // it ended early, not by timeout
  CHECK(client.handshake_state() == HandshakeState::kRefused);
  CHECK(daemon.zap.stats().refused == 1);
  // The refused connection is gone for good, so nothing it sent can ever reach the server.
  CHECK(!must(daemon.server.receive(milliseconds(0))));
}

TEST_CASE("a known key passes; its identity arrives with the message, and the reply returns") {
  testing::TestDaemon daemon;
  auto agent = crypto::IdentityKey::generate();
  daemon.registry.allow(agent.public_key(), "agent:" + agent.public_key().key_id());
  auto context = must(Context::create());
  auto client = testing::connected_client(context, agent, daemon);
  must(client.send(to_bytes("batch 1")));

  Incoming in = next_message(daemon.server);
  CHECK(in.user_id == "agent:" + agent.public_key().key_id());
  CHECK(in.payload == to_bytes("batch 1"));
  CHECK(!in.from.bytes.empty());
  must(daemon.server.send(in.from, to_bytes("ack 1")));

  auto reply = must(client.receive(seconds(5)));
  REQUIRE(reply);
  CHECK(*reply == to_bytes("ack 1"));
  CHECK(client.handshake_state() == HandshakeState::kConnected);
  CHECK(daemon.zap.stats().accepted == 1);
}

TEST_CASE("a message sent without a copy arrives whole, and its buffer is released once sent") {
  testing::TestDaemon daemon;
  auto agent = crypto::IdentityKey::generate();
  daemon.registry.allow(agent.public_key(), "agent:" + agent.public_key().key_id());
  auto context = must(Context::create());
  auto client = testing::connected_client(context, agent, daemon);
  // A batch-sized buffer (large enough that libzmq never copies it into a small message).
  auto buffer = std::make_shared<Bytes>(600 * 1024);
  for (size_t i = 0; i < buffer->size(); ++i) (*buffer)[i] = static_cast<uint8_t>(i * 7 + 1);
  const Bytes expected = *buffer;
  std::weak_ptr<Bytes> watch = buffer;
  const ByteView view(*buffer);
  must(client.send_owned(std::move(buffer), view));
  CHECK(client.send_owned(nullptr, ByteView()).error().code() == ErrorCode::kInvalidArgument);

  Incoming in = next_message(daemon.server);
  CHECK(in.payload == expected);
  // libzmq released its reference after encrypting the frame, from its I/O thread.
  CHECK(wait_until([&] { return watch.expired(); }, seconds(5)));
}

TEST_CASE("an oversize frame costs its sender the connection; the server keeps serving") {
  constexpr size_t kLimit = 1000;
  testing::TestDaemon daemon(testing::test_server_options(kLimit));
  auto big = crypto::IdentityKey::generate();
  auto other = crypto::IdentityKey::generate();
  daemon.registry.allow(big.public_key(), "agent:big");
  daemon.registry.allow(other.public_key(), "agent:other");
  auto context = must(Context::create());
  ClientOptions slow_reconnect;
  slow_reconnect.reconnect_interval = seconds(30);  // so the dropped state stays observable
  auto sender = testing::connected_client(context, big, daemon, slow_reconnect);

  // Exactly the limit passes: the channel accounts for CURVE's framing overhead.
  must(sender.send(Bytes(kLimit, 'a')));
  Incoming at_limit = next_message(daemon.server);
  CHECK(at_limit.user_id == "agent:big");
  CHECK(at_limit.payload.size() == kLimit);
  REQUIRE(wait_until([&] { return sender.handshake_state() == HandshakeState::kConnected; },
                     seconds(5)));

  must(sender.send(Bytes(kLimit + 1, 'b')));
  REQUIRE(wait_until([&] { return sender.handshake_state() == HandshakeState::kDisconnected; },
                     seconds(5)));

  auto client = testing::connected_client(context, other, daemon);
  must(client.send(to_bytes("still there?")));
  // The first thing the server sees after the oversize frame is the other client's message.
  Incoming in = next_message(daemon.server);
  CHECK(in.user_id == "agent:other");
  CHECK(in.payload == to_bytes("still there?"));
  must(daemon.server.send(in.from, to_bytes("yes")));
  auto reply = must(client.receive(seconds(5)));
  REQUIRE(reply);
  CHECK(*reply == to_bytes("yes"));
}

TEST_CASE("multi-frame and empty garbage from an authenticated peer is dropped") {
  testing::TestDaemon daemon;
  auto agent = crypto::IdentityKey::generate();
  daemon.registry.allow(agent.public_key(), "agent:raw");
  testing::RawClient raw(agent, daemon.identity.public_key(), daemon.endpoint);

  raw.send({"one", "two", "three"});
  raw.send({""});
  raw.send({"fine"});
  auto multi = daemon.server.receive(seconds(5));
  REQUIRE(!multi);
  CHECK(multi.error().code() == ErrorCode::kCorrupt);
  auto empty = daemon.server.receive(seconds(5));
  REQUIRE(!empty);
  CHECK(empty.error().code() == ErrorCode::kCorrupt);
  Incoming in = next_message(daemon.server);
  CHECK(in.user_id == "agent:raw");
  CHECK(in.payload == to_bytes("fine"));
}

TEST_CASE("the authorizer sees the domain; a revoked key is refused on its next connection") {
  testing::TestDaemon daemon;
  auto agent = crypto::IdentityKey::generate();
  daemon.registry.allow(agent.public_key(), "agent:a");
  auto context = must(Context::create());
  auto first = testing::connected_client(context, agent, daemon);
  must(first.send(to_bytes("before")));
  CHECK(next_message(daemon.server).user_id == "agent:a");
  REQUIRE(daemon.registry.domains().size() == 1);
  CHECK(daemon.registry.domains()[0] == testing::kTestDomain);

  daemon.registry.revoke(agent.public_key());
  auto second = testing::connected_client(context, agent, daemon);
  must(second.send(to_bytes("after")));
  REQUIRE(
      wait_until([&] { return second.handshake_state() == HandshakeState::kRefused; }, seconds(5)));
  CHECK(daemon.zap.stats().refused == 1);

  // ZAP runs once per connection: the connection made before the revocation still delivers,
  // which is why the daemon checks the User-Id of every message against its current state.
  must(first.send(to_bytes("still open")));
  Incoming in = next_message(daemon.server);
  CHECK(in.payload == to_bytes("still open"));
  CHECK(in.user_id == "agent:a");
}

TEST_CASE("sending to a vanished peer is an error, not a silent drop") {
  testing::TestDaemon daemon;
  auto agent = crypto::IdentityKey::generate();
  daemon.registry.allow(agent.public_key(), "agent:a");
  RoutingId from;
  {
    auto context = must(Context::create());
    auto client = testing::connected_client(context, agent, daemon);
    must(client.send(to_bytes("hello")));
    from = next_message(daemon.server).from;
  }
  // The server learns of the disconnection asynchronously; until then sends are queued.
  CHECK(wait_until(
      [&] {
        auto s = daemon.server.send(from, to_bytes("anyone?"));
        return !s && s.error().code() == ErrorCode::kUnavailable;
      },
      seconds(5)));
  auto unknown = daemon.server.send(RoutingId{to_bytes("no such peer")}, to_bytes("x"));
  REQUIRE(!unknown);
  CHECK(unknown.error().code() == ErrorCode::kUnavailable);
  auto empty = daemon.server.send(from, Bytes{});
  REQUIRE(!empty);
  CHECK(empty.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("receive times out with nothing") {
  testing::TestDaemon daemon;
  auto start = std::chrono::steady_clock::now();
  CHECK(!must(daemon.server.receive(milliseconds(50))));
  CHECK(std::chrono::steady_clock::now() - start >= milliseconds(45));
}

}  // namespace
}  // namespace gongshu::wire
