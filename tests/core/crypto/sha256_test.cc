#include "core/crypto/sha256.h"

#include <catch2/catch.hpp>
#include <vector>

#include "core/util/encoding.h"

namespace gongshu::crypto {
namespace {

TEST_CASE("SHA-256 matches FIPS 180-2 vectors") {
  CHECK(hex_encode(sha256("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_encode(sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string million(1000000, 'a');
  CHECK(hex_encode(sha256(million)) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("incremental hashing equals one-shot and the hasher resets") {
  Sha256 h;
  h.update("ab").update("c");
  CHECK(h.finish() == sha256("abc"));
  CHECK(h.update("abc").finish() == sha256("abc"));
}

TEST_CASE("the direct and EVP paths give the same digests for every length and split") {
  Sha256 direct(Sha256::Path::kDirect);
  Sha256 evp(Sha256::Path::kEvp);
  // The default path is the direct one on the platforms we ship for: losing it costs the
  // audit verifier a quarter of its speed.
  CHECK(Sha256().direct());
  CHECK(direct.direct());
  CHECK_FALSE(evp.direct());
  std::vector<uint8_t> data(1100);
  uint32_t x = 12345;
  for (auto& b : data) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 24);
  for (size_t len = 0; len <= data.size(); len += (len < 200 ? 1 : 37)) {
    ByteView whole(data.data(), len);
    size_t split = len / 3;
    Digest a = direct.update(whole.first(split)).update(whole.subspan(split)).finish();
    Digest b = evp.update(whole).finish();
    REQUIRE(a == b);
    REQUIRE(a == sha256(whole));
  }
  CHECK(hex_encode(direct.update("abc").finish()) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("domain_hash separates domain and data") {
  std::string joined("gongshu.record.v1\0xyz", 21);
  CHECK(domain_hash("gongshu.record.v1", as_bytes("xyz")) == sha256(joined));
  CHECK(domain_hash("a", as_bytes("bc")) != domain_hash("ab", as_bytes("c")));
}

}  // namespace
}  // namespace gongshu::crypto
