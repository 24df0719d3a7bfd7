#include "core/crypto/aead.h"

#include <algorithm>

#include <catch2/catch.hpp>

namespace gongshu::crypto {
namespace {

TEST_CASE("encrypting into a caller's buffer opens like aead_encrypt's box") {
  auto key = DataKey::generate();
  std::string plain = "a record of some length, 数据";
  std::string box(plain.size() + kAeadOverhead, '\0');
  aead_encrypt_into(key, as_bytes("ad"), as_bytes(plain),
                    {reinterpret_cast<uint8_t*>(box.data()), box.size()});
  auto opened = aead_decrypt(key, as_bytes("ad"), as_bytes(box));
  REQUIRE(opened);
  CHECK(as_chars(*opened) == plain);
  CHECK(!aead_decrypt(key, as_bytes("other"), as_bytes(box)));
}

TEST_CASE("data at rest opens only with its key and associated data") {
  auto key = DataKey::generate();
  Bytes ad = to_bytes("dataset=d1;key=r1;version=7");
  Bytes pt = to_bytes("record bytes");
  Bytes box = aead_encrypt(key, ad, pt);
  CHECK(box.size() == pt.size() + kAeadOverhead);
  CHECK(*aead_decrypt(key, ad, box) == pt);
  CHECK(aead_decrypt(key, to_bytes("dataset=d1;key=r2;version=7"), box).error().code() ==
        ErrorCode::kUnauthenticated);
  CHECK(!aead_decrypt(DataKey::generate(), ad, box));
  Bytes t = box;
  t.back() ^= 1;
  CHECK(!aead_decrypt(key, ad, t));
  CHECK(aead_decrypt(key, ad, ByteView(box.data(), 10)).error().code() == ErrorCode::kCorrupt);
}

TEST_CASE("wrapped keys unwrap into protected memory") {
  auto kek = DataKey::generate();
  auto dataset_key = SecretBytes::random(32);
  Bytes wrapped = wrap_secret(kek, to_bytes("d1"), dataset_key);
  auto unwrapped = unwrap_secret(kek, to_bytes("d1"), wrapped);
  REQUIRE(unwrapped);
  CHECK(unwrapped->equals(dataset_key));
  CHECK(!unwrap_secret(kek, to_bytes("d2"), wrapped));
  CHECK(!DataKey::from_secret(SecretBytes(16)));
}

TEST_CASE("a segment's messages are XChaCha20-Poly1305 boxes with nonce salt || counter") {
  auto key = DataKey::generate();
  AeadSegment seg = AeadSegment::start(key);
  const std::string plain = "a spooled record, 户籍";
  Bytes sealed(plain.size() + kSegmentTagSize);
  seg.encrypt_into(42, as_bytes("ad"), as_bytes(plain), sealed);
  // The very box aead_encrypt makes, given that nonce: opened by the ordinary path.
  Bytes box(24 + sealed.size());
  std::copy(seg.salt().begin(), seg.salt().end(), box.begin());
  put_be64(box.data() + 16, 42);
  std::copy(sealed.begin(), sealed.end(), box.begin() + 24);
  auto opened = aead_decrypt(key, as_bytes("ad"), box);
  REQUIRE(opened);
  CHECK(as_chars(*opened) == plain);
  // And the other way: a box aead_encrypt made opens as a segment message of its nonce.
  Bytes other = aead_encrypt(key, as_bytes("ad2"), as_bytes(plain));
  auto resumed = AeadSegment::resume(key, ByteView(other.data(), kSegmentSaltSize));
  REQUIRE(resumed);
  Bytes out(plain.size());
  REQUIRE(resumed->decrypt_into(get_be64(other.data() + kSegmentSaltSize), as_bytes("ad2"),
                                ByteView(other).subspan(24), out));
  CHECK(as_chars(out) == plain);

  // Reading back under the same salt: only the same counter, associated data and key open it.
  auto again = AeadSegment::resume(key, seg.salt());
  REQUIRE(again);
  Bytes got(plain.size());
  REQUIRE(again->decrypt_into(42, as_bytes("ad"), sealed, got));
  CHECK(as_chars(got) == plain);
  CHECK(again->decrypt_into(43, as_bytes("ad"), sealed, got).error().code() ==
        ErrorCode::kUnauthenticated);
  CHECK(!again->decrypt_into(42, as_bytes("ae"), sealed, got));
  auto wrong = AeadSegment::resume(DataKey::generate(), seg.salt());
  CHECK(!wrong->decrypt_into(42, as_bytes("ad"), sealed, got));
  // reset() switches segments in place: another salt does not open it.
  Bytes salt2(seg.salt().begin(), seg.salt().end());
  salt2[0] ^= 1;
  REQUIRE(again->reset(key, salt2));
  CHECK(!again->decrypt_into(42, as_bytes("ad"), sealed, got));
  REQUIRE(again->reset(key, seg.salt()));
  CHECK(again->decrypt_into(42, as_bytes("ad"), sealed, got));
  Bytes t = sealed;
  t[3] ^= 1;
  CHECK(!again->decrypt_into(42, as_bytes("ad"), t, got));
  Bytes none;
  CHECK(again->decrypt_into(42, as_bytes("ad"), ByteView(sealed.data(), 5), none).error().code() ==
        ErrorCode::kCorrupt);
  CHECK(!AeadSegment::resume(key, ByteView(sealed.data(), 15)));
  // Two segments draw different salts.
  CHECK(!std::equal(seg.salt().begin(), seg.salt().end(), AeadSegment::start(key).salt().begin()));
}

TEST_CASE("decrypting into a caller's buffer") {
  auto key = DataKey::generate();
  Bytes box = aead_encrypt(key, as_bytes("ad"), as_bytes("twelve bytes"));
  Bytes out(12);
  REQUIRE(aead_decrypt_into(key, as_bytes("ad"), box, out));
  CHECK(as_chars(out) == "twelve bytes");
  CHECK(aead_decrypt_into(key, as_bytes("xx"), box, out).error().code() ==
        ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace gongshu::crypto
