#include "core/crypto/aead.h"

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

}  // namespace
}  // namespace gongshu::crypto
