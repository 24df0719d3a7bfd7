#include "core/crypto/key_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/test_support.h"

namespace gongshu::crypto {
namespace {

using testing::TempDir;

TEST_CASE("a saved key file loads back with kind and key") {
  TempDir dir;
  auto key = IdentityKey::generate();
  std::string p = dir.file("agent.key");
  REQUIRE(save_key_file(p, KeyKind::kAgent, key));
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = load_key_file(p);
  REQUIRE(loaded);
  CHECK(loaded->kind == KeyKind::kAgent);
  CHECK(loaded->key.public_key() == key.public_key());
  std::string text = testing::read_text(p);
  CHECK(text.find(key.public_key().hex()) != std::string::npos);
  CHECK(text.find(key.public_key().key_id()) != std::string::npos);
}

TEST_CASE("key files are never overwritten") {
  TempDir dir;
  std::string p = dir.file("k");
  REQUIRE(save_key_file(p, KeyKind::kDaemon, IdentityKey::generate()));
  auto again = save_key_file(p, KeyKind::kDaemon, IdentityKey::generate());
  REQUIRE(!again);
  CHECK(again.error().code() == ErrorCode::kAlreadyExists);
}

TEST_CASE("save_key_file_atomic replaces a key file whole and leaves no .tmp behind") {
  TempDir dir;
  const std::string p = dir.file("agent.key.next");
  auto k1 = IdentityKey::generate();
  auto k2 = IdentityKey::generate();
  REQUIRE(save_key_file_atomic(p, KeyKind::kAgent, k1));
  REQUIRE(save_key_file_atomic(p, KeyKind::kAgent, k2));  // replaces
  auto back = load_key_file(p);
  REQUIRE(back);
  CHECK(back->key.public_key().hex() == k2.public_key().hex());
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(::access((p + ".tmp").c_str(), F_OK) != 0);

  // The rename fails (a non-empty directory stands at the path): the .tmp, which held the
  // secret seed, is gone too.
  const std::string blocked = dir.file("blocked.key");
  REQUIRE(::mkdir(blocked.c_str(), 0700) == 0);
  REQUIRE(::mkdir((blocked + "/x").c_str(), 0700) == 0);
  CHECK(!save_key_file_atomic(blocked, KeyKind::kAgent, k1));
  CHECK(::access((blocked + ".tmp").c_str(), F_OK) != 0);
}

TEST_CASE("loading refuses readable, symlinked and tampered files") {
  TempDir dir;
  auto key = IdentityKey::generate();
  std::string p = dir.file("k");
  REQUIRE(save_key_file(p, KeyKind::kOperator, key));

  SECTION("group-readable") {
    ::chmod(p.c_str(), 0640);
    auto r = load_key_file(p);
    REQUIRE(!r);
    CHECK(r.error().code() == ErrorCode::kPermissionDenied);
    CHECK(r.error().message().find("0640") != std::string::npos);
  }
  SECTION("world-readable") {
    ::chmod(p.c_str(), 0604);
    CHECK(!load_key_file(p));
  }
  SECTION("symlink") {
    std::string link = dir.file("link");
    REQUIRE(::symlink(p.c_str(), link.c_str()) == 0);
    auto r = load_key_file(link);
    REQUIRE(!r);
    CHECK(r.error().message().find("symbolic link") != std::string::npos);
  }
  SECTION("public key that does not match the secret") {
    std::string text = testing::read_text(p);
    std::string other = IdentityKey::generate().public_key().hex();
    text.replace(text.find(key.public_key().hex()), 64, other);
    ::unlink(p.c_str());
    testing::write_text(p, text, 0600);
    auto r = load_key_file(p);
    REQUIRE(!r);
    CHECK(r.error().message().find("does not match") != std::string::npos);
  }
  SECTION("garbage") {
    ::unlink(p.c_str());
    testing::write_text(p, "secret_seed = nothex\n\x01\x02", 0600);
    auto r = load_key_file(p);
    REQUIRE(!r);
    CHECK(r.error().message().find("line 1") != std::string::npos);
  }
  SECTION("unknown kind") {
    std::string text = testing::read_text(p);
    text.replace(text.find("\"operator\""), 10, "\"wizard\"");
    ::unlink(p.c_str());
    testing::write_text(p, text, 0600);
    CHECK(!load_key_file(p));
  }
  SECTION("missing") {
    CHECK(load_key_file(dir.file("none")).error().code() == ErrorCode::kNotFound);
  }
}

TEST_CASE("key kinds parse") {
  CHECK(parse_key_kind("agent") == KeyKind::kAgent);
  CHECK(parse_key_kind("officer") == KeyKind::kOfficer);
  CHECK(!parse_key_kind("root"));
}

}  // namespace
}  // namespace gongshu::crypto
