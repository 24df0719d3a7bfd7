#include "core/crypto/identity.h"

#include <catch2/catch.hpp>

#include "core/crypto/sha256.h"
#include "core/util/encoding.h"

namespace gongshu::crypto {
namespace {

TEST_CASE("a public key is 64 hex and its id is the first 16 hex of its SHA-256") {
  auto key = IdentityKey::generate();
  const PublicKey& pub = key.public_key();
  CHECK(pub.hex().size() == 64);
  CHECK(pub.key_id() == hex_encode(sha256(pub.view())).substr(0, 16));
  auto parsed = PublicKey::from_hex(pub.hex());
  REQUIRE(parsed);
  CHECK(*parsed == pub);
  CHECK(!PublicKey::from_hex("abcd"));
  CHECK(!PublicKey::from_hex(std::string(64, 'g')));
}

TEST_CASE("signatures are domain separated") {
  auto key = IdentityKey::generate();
  Bytes msg = to_bytes("header bytes");
  Signature sig = key.sign("gongshu.batch.v1", msg);
  CHECK(verify(key.public_key(), "gongshu.batch.v1", msg, sig));
  CHECK(!verify(key.public_key(), "gongshu.receipt.v1", msg, sig));
  Bytes other = msg;
  other[0] ^= 1;
  CHECK(!verify(key.public_key(), "gongshu.batch.v1", other, sig));
  Signature bad = sig;
  bad[10] ^= 0x40;
  CHECK(!verify(key.public_key(), "gongshu.batch.v1", msg, bad));
  auto stranger = IdentityKey::generate();
  CHECK(!verify(stranger.public_key(), "gongshu.batch.v1", msg, sig));
  // A domain-separated signature is not a raw signature over the same bytes.
  CHECK(!verify_raw(key.public_key(), msg, sig));
  CHECK(verify_raw(key.public_key(), msg, key.sign_raw(msg)));
}

TEST_CASE("the same seed gives the same key; curve keys are derived") {
  auto key = IdentityKey::generate();
  auto again = IdentityKey::from_seed(key.seed());
  REQUIRE(again);
  CHECK(again->public_key() == key.public_key());
  CHECK(again->curve_secret().equals(key.curve_secret()));
  auto curve_pub = key.public_key().curve_public();
  REQUIRE(curve_pub);
  CHECK(curve_pub->size() == 32);
  CHECK(!IdentityKey::from_seed(SecretBytes(31)));
}

TEST_CASE("SecretBytes compares in constant time and moves") {
  auto a = SecretBytes::random(32);
  auto b = SecretBytes::copy_of(a.view());
  CHECK(a.equals(b));
  b.data()[31] ^= 1;
  CHECK(!a.equals(b));
  SecretBytes c = std::move(a);
  CHECK(a.empty());
  CHECK(c.size() == 32);
}

}  // namespace
}  // namespace gongshu::crypto
