#include "core/wire/zap_handler.h"

#include <stdexcept>

#include <catch2/catch.hpp>

#include "core/wire/detail/context_state.h"
#include "tests/core/wire/wire_test_support.h"
#include "tests/support/test_support.h"

namespace gongshu::wire {
namespace {

using testing::must;

// A REQ socket on the handler's own context, speaking (or mangling) RFC 27 at it directly.
class ZapClient {
 public:
  explicit ZapClient(Context& context)
      : socket_(detail::state_of(context).context, zmq::socket_type::req) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 5000);
    socket_.connect("inproc://zeromq.zap.01");
  }

  // Sends frames and returns the reply frames (empty if none came within 5 s).
  std::vector<std::string> ask(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      socket_.send(zmq::buffer(frames[i]), flags);
    }
    std::vector<std::string> reply;
    while (true) {
      zmq::message_t m;
      if (!socket_.recv(m)) return {};
      reply.push_back(m.to_string());
      if (!m.more()) return reply;
    }
  }

 private:
  zmq::socket_t socket_;
};

std::vector<std::string> curve_request(std::string_view domain, const CurveKey& key) {
  return {"1.0",
          "req-7",
          std::string(domain),
          "127.0.0.1",
          "",
          "CURVE",
          std::string(reinterpret_cast<const char*>(key.data()), key.size())};
}

TEST_CASE("the ZAP handler answers RFC 27 requests and survives malformed ones") {
  testing::KeyRegistry registry;
  auto known = crypto::IdentityKey::generate();
  auto stranger = crypto::IdentityKey::generate();
  registry.allow(known.public_key(), "agent:known");
  auto context = must(Context::create());
  auto zap = must(ZapHandler::start(
      context, [&](const CurveKey& k, std::string_view d) { return registry.authorize(k, d); }));
  CHECK(zap.running());
  {
    ZapClient client(context);
    CurveKey known_key = must(curve_key_of(known.public_key()));

    auto ok = client.ask(curve_request("gongshu.api", known_key));
    REQUIRE(ok.size() == 6);
    CHECK(ok[0] == "1.0");
    CHECK(ok[1] == "req-7");
    CHECK(ok[2] == "200");
    CHECK(ok[4] == "agent:known");
    CHECK(registry.domains().back() == "gongshu.api");

    auto no = client.ask(curve_request("gongshu.api", must(curve_key_of(stranger.public_key()))));
    REQUIRE(no.size() == 6);
    CHECK(no[2] == "400");
    CHECK(no[4].empty());

    // Too few frames.
    auto short_req = client.ask({"1.0", "r"});
    REQUIRE(short_req.size() == 6);
    CHECK(short_req[1] == "r");
    CHECK(short_req[2] == "500");
    // Wrong version.
    auto v2 = curve_request("d", known_key);
    v2[0] = "2.0";
    CHECK(client.ask(v2).at(2) == "500");
    // A CURVE key of the wrong size.
    auto short_key = curve_request("d", known_key);
    short_key[6].pop_back();
    CHECK(client.ask(short_key).at(2) == "500");
    // Two credential frames.
    auto extra = curve_request("d", known_key);
    extra.push_back("more");
    CHECK(client.ask(extra).at(2) == "500");
    // An oversize frame.
    CHECK(client.ask(curve_request(std::string(4096, 'd'), known_key)).at(2) == "500");
    // Far too many frames.
    CHECK(client.ask(std::vector<std::string>(1000, "x")).at(2) == "500");
    // Another mechanism: refused, not malformed.
    CHECK(client.ask({"1.0", "r", "d", "a", "", "PLAIN", "user", "pass"}).at(2) == "400");
    CHECK(client.ask({"1.0", "r", "d", "a", "", "NULL"}).at(2) == "400");

    // Still serving after all that.
    CHECK(client.ask(curve_request("gongshu.api", known_key)).at(2) == "200");
  }
  ZapStats stats = zap.stats();
  CHECK(stats.accepted == 2);
  CHECK(stats.refused == 3);
  CHECK(stats.malformed == 6);
  CHECK(stats.errors == 0);
  CHECK(zap.running());
}

TEST_CASE("an authorizer that throws or returns an unusable identity gets 500, not a crash") {
  int calls = 0;
  auto context = must(Context::create());
  auto zap = must(ZapHandler::start(
      context, [&](const CurveKey&, std::string_view domain) -> std::optional<std::string> {
        ++calls;
        if (domain == "throw") throw std::runtime_error("boom");
        if (domain == "empty") return std::string();
        return std::string(300, 'u');
      }));
  {
    ZapClient client(context);
    CurveKey key{};
    CHECK(client.ask(curve_request("throw", key)).at(2) == "500");
    CHECK(client.ask(curve_request("empty", key)).at(2) == "500");
    CHECK(client.ask(curve_request("long", key)).at(2) == "500");
  }
  CHECK(calls == 3);
  CHECK(zap.stats().errors == 3);
  CHECK(zap.running());
}

TEST_CASE("a context has at most one ZAP handler") {
  auto context = must(Context::create());
  auto first = must(ZapHandler::start(
      context, [](const CurveKey&, std::string_view) { return std::optional<std::string>(); }));
  auto second = ZapHandler::start(
      context, [](const CurveKey&, std::string_view) { return std::optional<std::string>(); });
  REQUIRE(!second);
  CHECK(second.error().code() == ErrorCode::kAlreadyExists);
  // A handler on another context is independent.
  auto other = must(Context::create());
  auto third = ZapHandler::start(
      other, [](const CurveKey&, std::string_view) { return std::optional<std::string>(); });
  CHECK(third);
}

TEST_CASE("a ZAP handler moves, and stops when destroyed") {
  auto context = must(Context::create());
  auto zap = must(ZapHandler::start(
      context, [](const CurveKey&, std::string_view) { return std::optional<std::string>("x"); }));
  ZapHandler moved = std::move(zap);
  CHECK(moved.running());
  CHECK(context.open_sockets() == 3);
  { ZapHandler gone = std::move(moved); }
  CHECK(context.open_sockets() == 0);
  // The endpoint is free again once libzmq's reaper has processed the close (asynchronous).
  CHECK(gongshu::testing::wait_until(
      [&] {
        return ZapHandler::start(
                   context,
                   [](const CurveKey&, std::string_view) { return std::optional<std::string>(); })
            .has_value();
      },
      std::chrono::seconds(5)));
}

}  // namespace
}  // namespace gongshu::wire
