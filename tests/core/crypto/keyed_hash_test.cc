#include "core/crypto/keyed_hash.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/support/test_support.h"

namespace gongshu::crypto {
namespace {

TEST_CASE("keyed hashes depend on key, domain and data") {
  auto k1 = SecretBytes::random(32), k2 = SecretBytes::random(32);
  auto a = keyed_hash(k1, "subject-index", as_bytes("11010519491231002X"));
  CHECK(a == keyed_hash(k1, "subject-index", as_bytes("11010519491231002X")));
  CHECK(a != keyed_hash(k2, "subject-index", as_bytes("11010519491231002X")));
  CHECK(a != keyed_hash(k1, "mask-token", as_bytes("11010519491231002X")));
  CHECK(a != sha256("11010519491231002X"));
}

TEST_CASE("secret files are created 0600 and loaded with the key-file refusals") {
  testing::TempDir dir;
  std::string p = dir.file("master.key");
  REQUIRE(create_secret_file(p, 32));
  CHECK(!create_secret_file(p, 32));
  auto s = load_secret_file(p, 32);
  REQUIRE(s);
  CHECK(s->size() == 32);
  CHECK(!load_secret_file(p, 16));
  ::chmod(p.c_str(), 0644);
  CHECK(load_secret_file(p, 32).error().code() == ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace gongshu::crypto
