#include "core/audit/proof_file.h"

#include <catch2/catch.hpp>

#include "tests/core/audit/audit_test_util.h"

namespace gongshu::audit {
namespace {

using testing::TestLog;

TEST_CASE("inclusion proofs from an export verify, reveal one entry, and fail when altered") {
  auto key = crypto::IdentityKey::generate();
  TestLog t(key);
  t.append(1500, 100, true);
  std::string path = t.export_to(t.dir.file("a.gsa"));
  for (uint64_t seq : {uint64_t(1), uint64_t(2), uint64_t(1000), uint64_t(1001), uint64_t(1500)}) {
    auto p = prove_inclusion(path, seq, 0);
    REQUIRE(p);
    CHECK(p->tree_size == 1500);
    std::string text = format_inclusion_proof(*p);
    auto parsed = parse_inclusion_proof(text);
    REQUIRE(parsed);
    auto checked = check_inclusion_proof(*parsed, key.public_key());
    INFO((checked ? std::string() : checked.error().message()));
    REQUIRE(checked);
    CHECK(checked->entry.seq() == seq);
    CHECK(checked->checkpoint.size == 1500);

    CHECK(!check_inclusion_proof(*parsed, crypto::IdentityKey::generate().public_key()));
    auto bad = *parsed;
    bad.entry[bad.entry.size() - 1] ^= 1;
    CHECK(!check_inclusion_proof(bad, key.public_key()));
    for (size_t i = 0; i < parsed->path.size(); ++i) {
      bad = *parsed;
      bad.path[i][9] ^= 1;
      CHECK(!check_inclusion_proof(bad, key.public_key()));
    }
    bad = *parsed;
    bad.seq = seq == 1 ? 2 : seq - 1;
    CHECK(!check_inclusion_proof(bad, key.public_key()));
  }
  // Against an earlier checkpoint.
  auto early = prove_inclusion(path, 10, 1000);
  REQUIRE(early);
  CHECK(early->tree_size == 1000);
  CHECK(check_inclusion_proof(*early, key.public_key()));
  CHECK(!prove_inclusion(path, 1200, 1000));  // the checkpoint does not cover it
  CHECK(!prove_inclusion(path, 1600, 0));     // not in the export
  CHECK(!prove_inclusion(path, 5, 777));      // no such checkpoint
}

TEST_CASE("consistency proofs between two checkpoints") {
  auto key = crypto::IdentityKey::generate();
  TestLog t(key);
  t.append(2300, 100, true);
  std::string path = t.export_to(t.dir.file("a.gsa"));
  auto txn = std::move(*t.env->begin_read());
  std::string cp1000 = *t.log->checkpoint_at(txn, 1000);
  std::string cp2300 = *t.log->checkpoint_at(txn, 2300);
  auto proof = prove_consistency(path, 1000, 2300);
  REQUIRE(proof);
  auto parsed = parse_consistency_proof(format_consistency_proof(*proof));
  REQUIRE(parsed);
  REQUIRE(check_consistency_proof(cp1000, cp2300, *parsed, key.public_key()));

  // A different history of the same sizes, signed by the same key, is not consistent.
  TestLog other(key);
  other.append(2300, 100, true, 3);
  auto other_txn = std::move(*other.env->begin_read());
  std::string forked = *other.log->checkpoint_at(other_txn, 2300);
  auto r = check_consistency_proof(cp1000, forked, *parsed, key.public_key());
  REQUIRE(!r);
  CHECK(r.error().message().find("fork") != std::string::npos);
  CHECK(!check_consistency_proof(cp2300, cp1000, *parsed, key.public_key()));
  auto bad = *parsed;
  bad.path[0][0] ^= 1;
  CHECK(!check_consistency_proof(cp1000, cp2300, bad, key.public_key()));
}

TEST_CASE("malformed proof files are refused") {
  CHECK(!parse_inclusion_proof(""));
  CHECK(!parse_inclusion_proof("gongshu inclusion proof v1\nseq x\n"));
  CHECK(!parse_inclusion_proof(
      "gongshu inclusion proof v1\nseq 1\ntree_size 1\nentry AA==\npath zz\n"));
  CHECK(!parse_inclusion_proof("gongshu inclusion proof v1\nseq 1\ntree_size 1\nentry AA==\n"));
  CHECK(!parse_consistency_proof("gongshu consistency proof v1\nold_size 1\n"));
  CHECK(!parse_consistency_proof(std::string(300000, 'x')));
}

}  // namespace
}  // namespace gongshu::audit
