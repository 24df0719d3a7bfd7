// gongshuctl keygen, driven through the real binary.
#include <catch2/catch.hpp>

#include "core/crypto/key_file.h"
#include "tests/support/test_support.h"

namespace gongshu {
namespace {

using testing::run_process;

const std::string kCtl = testing::binary_path("bin/gongshuctl");

TEST_CASE("keygen writes a loadable key and prints its public half") {
  testing::TempDir dir;
  std::string out = dir.file("agent.key");
  auto r = run_process({kCtl, "keygen", "--kind", "agent", "--out", out});
  REQUIRE(r.exit_code == 0);
  auto key = crypto::load_key_file(out);
  REQUIRE(key);
  CHECK(key->kind == crypto::KeyKind::kAgent);
  CHECK(r.out.find(key->key.public_key().hex()) != std::string::npos);
  CHECK(r.out.find(key->key.public_key().key_id()) != std::string::npos);

  // Never overwrites.
  auto again = run_process({kCtl, "keygen", "--kind", "agent", "--out", out});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("exists") != std::string::npos);
  CHECK(crypto::load_key_file(out)->key.public_key() == key->key.public_key());
}

TEST_CASE("keygen makes a catalog reviewer's key") {
  testing::TempDir dir;
  auto r = run_process(
      {kCtl, "keygen", "--kind", "reviewer", "--out", dir.file("reviewer.key"), "--json"});
  REQUIRE(r.exit_code == 0);
  auto key = crypto::load_key_file(dir.file("reviewer.key"));
  REQUIRE(key);
  CHECK(key->kind == crypto::KeyKind::kReviewer);
  CHECK(r.out.find("\"kind\":\"reviewer\"") != std::string::npos);
  CHECK(crypto::parse_key_kind("reviewer") == crypto::KeyKind::kReviewer);
  CHECK(crypto::key_kind_name(crypto::KeyKind::kReviewer) == "reviewer");
}

TEST_CASE("keygen --json") {
  testing::TempDir dir;
  auto r = run_process({kCtl, "keygen", "--kind", "daemon", "--out", dir.file("d.key"), "--json"});
  REQUIRE(r.exit_code == 0);
  auto key = crypto::load_key_file(dir.file("d.key"));
  REQUIRE(key);
  CHECK(r.out == "{\"kind\":\"daemon\",\"public_key\":\"" + key->key.public_key().hex() +
                     "\",\"key_id\":\"" + key->key.public_key().key_id() + "\",\"file\":\"" +
                     dir.file("d.key") + "\"}\n");
}

TEST_CASE("keygen usage errors exit 2 and --help explains") {
  testing::TempDir dir;
  CHECK(run_process({kCtl, "keygen", "--kind", "wizard", "--out", dir.file("x")}).exit_code == 2);
  CHECK(run_process({kCtl, "keygen", "--kind", "agent"}).exit_code == 2);
  CHECK(run_process({kCtl}).exit_code == 2);
  auto help = run_process({kCtl, "keygen", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--kind") != std::string::npos);
  auto version = run_process({kCtl, "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("gongshuctl ") == 0);
}

}  // namespace
}  // namespace gongshu
