#include "core/wire/poller.h"

#include <catch2/catch.hpp>

#include "tests/core/wire/wire_test_support.h"

namespace gongshu::wire {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::must;

TEST_CASE("a poller waits on several channels and says which are ready") {
  testing::TestDaemon daemon;  // its server plays "ingest"
  ServerOptions api_options = testing::test_server_options();
  api_options.zap_domain = "gongshu.api";
  auto api = must(ServerChannel::create(daemon.context, daemon.zap, daemon.identity, api_options));
  std::string api_endpoint = must(api.bind("tcp://127.0.0.1:*"));

  auto agent = crypto::IdentityKey::generate();
  daemon.registry.allow(agent.public_key(), "agent:a");
  auto context = must(Context::create());
  auto client = must(ClientChannel::create(context, agent, daemon.identity.public_key()));
  must(client.connect(api_endpoint));

  Poller poller;
  size_t ingest_index = poller.add(daemon.server);
  size_t api_index = poller.add(api);
  CHECK(ingest_index == 0);
  CHECK(api_index == 1);

  auto start = std::chrono::steady_clock::now();
  CHECK(must(poller.wait(milliseconds(30))).empty());
  CHECK(std::chrono::steady_clock::now() - start >= milliseconds(25));

  must(client.send(to_bytes("to api")));
  auto ready = must(poller.wait(seconds(5)));
  REQUIRE(ready == std::vector<size_t>{api_index});
  auto in = must(api.receive(milliseconds(0)));
  REQUIRE(in);
  CHECK(in->payload == to_bytes("to api"));
  CHECK(daemon.registry.domains().back() == "gongshu.api");

  // The client side: a reply makes the client's entry ready.
  Poller agent_poller;
  size_t client_index = agent_poller.add(client);
  must(api.send(in->from, to_bytes("reply")));
  std::optional<Bytes> reply;
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (!reply && std::chrono::steady_clock::now() < deadline) {
    auto r = must(agent_poller.wait(seconds(5)));
    if (r.empty()) continue;
    CHECK(r == std::vector<size_t>{client_index});
    reply = must(client.receive(milliseconds(0)));  // may be a handshake event, not the reply
  }
  REQUIRE(reply);
  CHECK(*reply == to_bytes("reply"));
}

}  // namespace
}  // namespace gongshu::wire
