#include "core/crypto/seal.h"

#include <catch2/catch.hpp>

namespace gongshu::crypto {
namespace {

TEST_CASE("sealed bytes open only for the recipient") {
  auto daemon = IdentityKey::generate();
  auto other = IdentityKey::generate();
  Bytes msg = to_bytes("a signed batch");
  auto sealed = seal(daemon.public_key(), msg);
  REQUIRE(sealed);
  CHECK(sealed->size() == msg.size() + kSealOverhead);
  auto opened = open_sealed(daemon, *sealed);
  REQUIRE(opened);
  CHECK(*opened == msg);
  auto wrong = open_sealed(other, *sealed);
  REQUIRE(!wrong);
  CHECK(wrong.error().code() == ErrorCode::kUnauthenticated);
}

TEST_CASE("any flipped bit or truncation is refused") {
  auto daemon = IdentityKey::generate();
  auto sealed = *seal(daemon.public_key(), to_bytes("payload payload payload"));
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes t = sealed;
    t[i] ^= 0x01;
    CHECK(!open_sealed(daemon, t));
  }
  CHECK(!open_sealed(daemon, ByteView(sealed.data(), 47)));
  CHECK(!open_sealed(daemon, ByteView()));
}

TEST_CASE("two seals of one message differ (ephemeral keys)") {
  auto daemon = IdentityKey::generate();
  Bytes msg = to_bytes("same");
  CHECK(*seal(daemon.public_key(), msg) != *seal(daemon.public_key(), msg));
}

}  // namespace
}  // namespace gongshu::crypto
