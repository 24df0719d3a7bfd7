// Helpers shared by the core/wire tests: a daemon side (context, ZAP handler backed by a key
// registry, server channel bound on an OS-chosen loopback port), a client factory, and a raw
// CURVE DEALER on its own cppzmq context for sending what a ClientChannel never would.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "core/crypto/identity.h"
#include "core/wire/client_channel.h"
#include "core/wire/context.h"
#include "core/wire/curve_key.h"
#include "core/wire/server_channel.h"
#include "core/wire/zap_handler.h"

namespace gongshu::wire::testing {

// Unwraps a Result or throws (Catch2 reports the exception as a failure with its message).
template <typename T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}
inline void must(Status s) {
  if (!s) throw std::runtime_error(s.error().message());
}

// Principals the test daemon knows, by CURVE key, as a daemon would keep them. Thread-safe: the
// ZAP handler thread reads it while the test thread changes it.
class KeyRegistry {
 public:
  void allow(const crypto::PublicKey& key, std::string identity) {
    CurveKey curve = must(curve_key_of(key));
    std::lock_guard lock(mu_);
    known_[curve] = std::move(identity);
  }
  void revoke(const crypto::PublicKey& key) {
    CurveKey curve = must(curve_key_of(key));
    std::lock_guard lock(mu_);
    known_.erase(curve);
  }
  std::optional<std::string> authorize(const CurveKey& client, std::string_view domain) {
    std::lock_guard lock(mu_);
    domains_.emplace_back(domain);
    auto it = known_.find(client);
    if (it == known_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> domains() const {
    std::lock_guard lock(mu_);
    return domains_;
  }

 private:
  mutable std::mutex mu_;
  std::map<CurveKey, std::string> known_;
  std::vector<std::string> domains_;
};

inline constexpr std::string_view kTestDomain = "gongshu.test";

inline ServerOptions test_server_options(size_t max_message_size = kDefaultMaxMessageSize) {
  ServerOptions o;
  o.zap_domain = std::string(kTestDomain);
  o.max_message_size = max_message_size;
  return o;
}

// Members are declared in dependency order, so they are destroyed in the safe order.
struct TestDaemon {
  explicit TestDaemon(ServerOptions options = test_server_options())
      : context(must(Context::create())),
        zap(must(ZapHandler::start(
            context,
            [this](const CurveKey& k, std::string_view d) { return registry.authorize(k, d); }))),
        server(must(ServerChannel::create(context, zap, identity, options))),
        endpoint(must(server.bind("tcp://127.0.0.1:*"))) {}
  TestDaemon(const TestDaemon&) = delete;  // the authorizer captures this
  TestDaemon& operator=(const TestDaemon&) = delete;

  crypto::IdentityKey identity = crypto::IdentityKey::generate();
  KeyRegistry registry;
  Context context;
  ZapHandler zap;
  ServerChannel server;
  std::string endpoint;
};

inline ClientChannel connected_client(Context& context, const crypto::IdentityKey& identity,
                                      const TestDaemon& daemon, ClientOptions options = {}) {
  ClientChannel c =
      must(ClientChannel::create(context, identity, daemon.identity.public_key(), options));
  must(c.connect(daemon.endpoint));
  return c;
}

// A DEALER with CURVE client keys on its own context, sending arbitrary frames.
class RawClient {
 public:
  RawClient(const crypto::IdentityKey& identity, const crypto::PublicKey& daemon,
            const std::string& endpoint)
      : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    CurveKey server = must(curve_key_of(daemon));
    CurveKey own = must(curve_key_of(identity.public_key()));
    const crypto::SecretBytes& secret = identity.curve_secret();
    socket_.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(server.data(), server.size()));
    socket_.set(zmq::sockopt::curve_publickey, zmq::const_buffer(own.data(), own.size()));
    socket_.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(secret.data(), secret.size()));
    socket_.connect(endpoint);
  }

  void send(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      socket_.send(zmq::buffer(frames[i]), flags);
    }
  }

 private:
  zmq::context_t context_;
  zmq::socket_t socket_;
};

// A CURVE ROUTER on its own context with no ZAP handler (so any client key passes), sending
// arbitrary frames back: a stand-in for a misbehaving daemon.
class RawServer {
 public:
  explicit RawServer(const crypto::IdentityKey& identity)
      : socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::curve_server, 1);
    const crypto::SecretBytes& secret = identity.curve_secret();
    socket_.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(secret.data(), secret.size()));
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }

  const std::string& endpoint() const { return endpoint_; }

  // Waits (5 s at most) for one message and returns the sender's routing id.
  std::string receive_routing_id() {
    socket_.set(zmq::sockopt::rcvtimeo, 5000);
    zmq::message_t frame;
    if (!socket_.recv(frame)) throw std::runtime_error("raw server: nothing received");
    std::string routing_id = frame.to_string();
    while (frame.more()) {
      if (!socket_.recv(frame)) break;
    }
    return routing_id;
  }

  void send(const std::string& routing_id, const std::vector<std::string>& frames) {
    socket_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore);
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      socket_.send(zmq::buffer(frames[i]), flags);
    }
  }

 private:
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::string endpoint_;
};

}  // namespace gongshu::wire::testing
