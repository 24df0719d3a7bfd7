#include "core/audit/receipt.h"

#include <catch2/catch.hpp>

#include "core/crypto/sha256.h"

namespace gongshu::audit {
namespace {

TEST_CASE("receipts verify offline, round-trip as text, and refuse any change") {
  auto daemon = crypto::IdentityKey::generate();
  auto r = make_receipt(daemon, crypto::sha256("batch header"), 42, crypto::sha256("entry 42"), 50,
                        crypto::sha256("root 50"), 1795748550000);
  REQUIRE(verify_receipt(r, daemon.public_key()));
  std::string text = format_receipt_text(r);
  auto parsed = parse_receipt_text(text);
  REQUIRE(parsed);
  CHECK(parsed->SerializeAsString() == r.SerializeAsString());
  REQUIRE(verify_receipt(*parsed, daemon.public_key()));

  CHECK(!verify_receipt(r, crypto::IdentityKey::generate().public_key()));
  auto changed = r;
  changed.set_tree_size(51);
  CHECK(verify_receipt(changed, daemon.public_key()).error().code() == ErrorCode::kUnauthenticated);
  changed = r;
  changed.set_seq(60);  // beyond the tree size
  CHECK(!verify_receipt(changed, daemon.public_key()));
  changed = r;
  changed.set_root("short");
  CHECK(verify_receipt(changed, daemon.public_key()).error().code() == ErrorCode::kCorrupt);
}

TEST_CASE("malformed receipt text is refused with a reason") {
  CHECK(!parse_receipt_text(""));
  CHECK(!parse_receipt_text("gongshu receipt v1\nseq x\n"));
  CHECK(parse_receipt_text("gongshu receipt v2\n").error().message().find("first line") !=
        std::string::npos);
  CHECK(!parse_receipt_text(std::string(5000, 'a')));
}

}  // namespace
}  // namespace gongshu::audit
