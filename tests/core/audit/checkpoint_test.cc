#include "core/audit/checkpoint.h"

#include <catch2/catch.hpp>

#include "core/crypto/sha256.h"
#include "core/util/encoding.h"

namespace gongshu::audit {
namespace {

CheckpointBody sample_body() {
  CheckpointBody b;
  b.origin = "gongshu.sjz/audit";
  b.size = 1234;
  b.root = crypto::sha256("root");
  b.chain = crypto::sha256("chain");
  return b;
}

TEST_CASE("a checkpoint is a C2SP signed note that verifies with the daemon key") {
  auto key = crypto::IdentityKey::generate();
  auto body = sample_body();
  std::string note = sign_checkpoint(body, key);
  std::string text = format_checkpoint_body(body);
  CHECK(text == "gongshu.sjz/audit\n1234\n" + base64_encode(body.root) + "\nchain " +
                    base64_encode(body.chain) + "\n");
  REQUIRE(note.rfind(text + "\n\xe2\x80\x94 gongshu.sjz/audit ", 0) == 0);
  auto verified = verify_checkpoint(note, key.public_key());
  REQUIRE(verified);
  CHECK(*verified == body);
  CHECK(*parse_checkpoint_note_unverified(note) == body);
}

TEST_CASE("the note key id follows C2SP signed-note") {
  auto key = crypto::IdentityKey::generate();
  crypto::Sha256 h;
  h.update("name").update_byte('\n').update_byte(0x01).update(key.public_key().view());
  auto d = h.finish();
  auto id = note_key_id("name", key.public_key());
  CHECK(Bytes(id.begin(), id.end()) == Bytes(d.begin(), d.begin() + 4));
}

TEST_CASE("forged, re-signed and malformed checkpoints are refused") {
  auto key = crypto::IdentityKey::generate();
  auto other = crypto::IdentityKey::generate();
  std::string note = sign_checkpoint(sample_body(), key);

  SECTION("signed by another key") {
    auto r = verify_checkpoint(sign_checkpoint(sample_body(), other), key.public_key());
    REQUIRE(!r);
    CHECK(r.error().code() == ErrorCode::kUnauthenticated);
  }
  SECTION("body edited after signing") {
    std::string forged = note;
    forged.replace(forged.find("1234"), 4, "1235");
    auto r = verify_checkpoint(forged, key.public_key());
    REQUIRE(!r);
    CHECK(r.error().code() == ErrorCode::kUnauthenticated);
  }
  SECTION("every single-byte change is refused") {
    for (size_t i = 0; i < note.size(); ++i) {
      std::string t = note;
      t[i] = static_cast<char>(t[i] ^ 0x04);
      CHECK(!verify_checkpoint(t, key.public_key()));
    }
  }
  SECTION("malformed notes") {
    CHECK(!verify_checkpoint("", key.public_key()));
    CHECK(!verify_checkpoint("a\nb\n", key.public_key()));
    CHECK(!verify_checkpoint(note.substr(0, note.size() - 1), key.public_key()));
    CHECK(!verify_checkpoint(std::string(20000, 'x'), key.public_key()));
    CHECK(!parse_checkpoint_body("origin\n01\n" + base64_encode(sample_body().root) + "\n"));
    CHECK(!parse_checkpoint_body("origin\n1\n" + base64_encode(sample_body().root) +
                                 "\n"));  // no chain
  }
  SECTION("a second signature by an unknown key does not matter") {
    std::string extra = sign_checkpoint(sample_body(), other);
    std::string combined = note + extra.substr(extra.rfind("\xe2\x80\x94"));
    CHECK(verify_checkpoint(combined, key.public_key()));
    CHECK(verify_checkpoint(combined, other.public_key()));
  }
}

}  // namespace
}  // namespace gongshu::audit
