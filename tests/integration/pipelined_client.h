// A client of the api socket that sends requests without waiting for their answers (pipelined
// on one connection, answered in any order) and collects the answers by request id: how the
// cluster read tests park several reads on a node at once.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/crypto/key_file.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "core/wire/context.h"
#include "gongshu/v1/api.pb.h"
#include "tests/support/test_support.h"

namespace gongshu::testing {

class Pipelined {
 public:
  Pipelined(const std::string& api, const std::string& key_file, const std::string& daemon_key) {
    auto kf = crypto::load_key_file(key_file);
    REQUIRE(kf);
    auto dk = crypto::PublicKey::from_hex(daemon_key);
    REQUIRE(dk);
    auto c = wire::Context::create();
    REQUIRE(c);
    ctx_.emplace(std::move(*c));
    auto ch = wire::ClientChannel::create(*ctx_, kf->key, *dk);
    REQUIRE(ch);
    ch_.emplace(std::move(*ch));
    REQUIRE(ch_->connect(api));
  }
  ~Pipelined() { ch_.reset(); }  // before its context
  void send(uint64_t id, v1::ApiRequest req) {
    req.set_request_id(id);
    auto bytes = wire::encode(req);
    REQUIRE(bytes);
    REQUIRE(ch_->send(*bytes));
  }
  // Takes what arrives within 50 ms into `got`.
  void poll() {
    auto in = ch_->receive(std::chrono::milliseconds(50));
    if (!in || !*in) return;
    auto r = wire::decode_as<v1::ApiResponse>(**in, 16 << 20);
    if (r) got[r->request_id()] = std::move(*r);
  }
  // Waits (up to `within`) until the answer to `id` arrived.
  bool wait_for(uint64_t id, std::chrono::milliseconds within = std::chrono::seconds(20)) {
    return wait_until(
        [&] {
          poll();
          return got.count(id) > 0;
        },
        within);
  }
  std::map<uint64_t, v1::ApiResponse> got;

 private:
  std::optional<wire::Context> ctx_;
  std::optional<wire::ClientChannel> ch_;
};

}  // namespace gongshu::testing
