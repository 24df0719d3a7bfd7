#include "core/wire/curve_key.h"

#include <catch2/catch.hpp>

namespace gongshu::wire {
namespace {

TEST_CASE("the CURVE key of an identity is its X25519 form, distinct from the Ed25519 key") {
  auto id = crypto::IdentityKey::generate();
  auto curve = curve_key_of(id.public_key());
  REQUIRE(curve);
  CHECK(*curve == *id.public_key().curve_public());
  CHECK(*curve != id.public_key().bytes());
  CHECK(curve_key_hex(*curve).size() == 64);
  auto other = crypto::IdentityKey::generate();
  CHECK(*curve_key_of(other.public_key()) != *curve);
}

TEST_CASE("an invalid Ed25519 point has no CURVE key") {
  // The encoding of the neutral point (y = 1): a small-order point libsodium refuses to convert.
  Bytes raw(32, 0);
  raw[0] = 0x01;
  auto pk = crypto::PublicKey::from_bytes(raw);
  REQUIRE(pk);
  auto curve = curve_key_of(*pk);
  REQUIRE(!curve);
  CHECK(curve.error().code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace gongshu::wire
