// gongshu-audit prove / check-proof / checkpoint / prove-consistency / consistency, driven
// through the real binary on real exports.
#include <catch2/catch.hpp>

#include "core/audit/checkpoint.h"
#include "core/audit/proof_file.h"
#include "core/util/encoding.h"
#include "tests/tools/audit/audit_fixture.h"

namespace gongshu::audit_test {
namespace {

using testing::run_process;

struct Logs {
  crypto::IdentityKey key = test_key(1);
  testing::TempDir dir;
  TestLog a{key, "a"};
  TestLog b{key, "b"};  // same key and origin, different history
  std::string path = dir.file("a.export");
  std::string key_hex = key.public_key().hex();

  Logs() {
    a.append(1000);
    b.append(1000);
    a.export_to(path);
  }
};

TEST_CASE_METHOD(Logs, "prove and check-proof round trip") {
  std::string proof = dir.file("457.proof");
  auto p = run_process({kAudit, "prove", path, "--seq", "457", "--out", proof});
  INFO("p: " << p.out << p.err);
  REQUIRE(p.exit_code == 0);
  CHECK(contains(p.out, "inclusion proof of entry 457 under the checkpoint at tree size 1000"));

  // The proof holds entry 457 and hashes only: no other entry's bytes.
  auto parsed = audit::parse_inclusion_proof(testing::read_text(proof));
  REQUIRE(parsed);
  CHECK(as_chars(parsed->entry) == a.entry_bytes(457));
  CHECK(parsed->path.size() == 10);
  CHECK(!contains(testing::read_text(proof), base64_encode(as_bytes(a.entry_bytes(456)))));

  auto c = run_process({kAudit, "check-proof", proof, "--key", key_hex});
  INFO("c: " << c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(contains(c.out, "OK: entry 457 is in log gongshu.test/audit at tree size 1000, root " +
                            hex_encode(a.head().root)));
  CHECK(contains(c.out, "entry 457\n"));
  CHECK(contains(c.out, "  detail:       entry 457 of log a\n"));

  auto j = run_process({kAudit, "check-proof", proof, "--key", key_hex, "--json"});
  INFO("j: " << j.out << j.err);
  CHECK(j.exit_code == 0);
  CHECK(
      contains(j.out, "{\"status\":\"ok\",\"origin\":\"gongshu.test/audit\",\"tree_size\":1000,"));
  CHECK(contains(j.out, "\"entry\":{\"seq\":457,"));

  // Against an earlier checkpoint.
  auto p300 = run_process(
      {kAudit, "prove", path, "--seq", "250", "--checkpoint-size", "300", "--out", "-"});
  INFO("p300: " << p300.out << p300.err);
  REQUIRE(p300.exit_code == 0);
  CHECK(contains(p300.out, "gongshu inclusion proof v1\nseq 250\ntree_size 300\n"));
}

TEST_CASE_METHOD(Logs, "check-proof refuses tampered proofs") {
  std::string proof = dir.file("457.proof");
  REQUIRE(run_process({kAudit, "prove", path, "--seq", "457", "--out", proof}).exit_code == 0);
  auto parsed = *audit::parse_inclusion_proof(testing::read_text(proof));
  auto check = [&](const audit::InclusionProofFile& p) {
    testing::write_text(dir.file("bad.proof"), audit::format_inclusion_proof(p));
    return run_process({kAudit, "check-proof", dir.file("bad.proof"), "--key", key_hex});
  };

  SECTION("an altered path hash") {
    auto p = parsed;
    p.path[3][0] ^= 1;
    auto r = check(p);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "FAILED: the Merkle path does not lead from entry 457"));
  }
  SECTION("an altered entry") {
    auto p = parsed;
    p.entry.back() ^= 1;
    auto r = check(p);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "FAILED:"));
  }
  SECTION("another entry's bytes under the same path") {
    auto p = parsed;
    std::string other = a.entry_bytes(458);
    p.entry.assign(other.begin(), other.end());
    p.seq = 458;
    CHECK(check(p).exit_code == 1);
  }
  SECTION("a checkpoint from another log") {
    auto p = parsed;
    p.checkpoint = b.checkpoint_at(1000);
    CHECK(check(p).exit_code == 1);
  }
  SECTION("the wrong key") {
    auto r = run_process({kAudit, "check-proof", proof, "--key", test_key(2).public_key().hex()});
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "FAILED: checkpoint: checkpoint is not signed by key"));
  }
  SECTION("not a proof, or no file: could not run") {
    auto r = run_process({kAudit, "check-proof", path, "--key", key_hex});
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "not an inclusion proof"));
    CHECK(run_process({kAudit, "check-proof", dir.file("none"), "--key", key_hex}).exit_code == 2);
    CHECK(run_process({kAudit, "check-proof", proof, "--key", "12"}).exit_code == 2);
  }
}

TEST_CASE_METHOD(Logs, "prove: what it cannot prove") {
  std::string out = dir.file("x.proof");
  auto beyond = run_process({kAudit, "prove", path, "--seq", "1001", "--out", out});
  INFO("beyond: " << beyond.out << beyond.err);
  CHECK(beyond.exit_code == 2);
  CHECK(contains(beyond.err, "entry 1001 is not in the export"));
  auto uncovered = run_process(
      {kAudit, "prove", path, "--seq", "457", "--checkpoint-size", "400", "--out", out});
  CHECK(uncovered.exit_code == 2);
  auto no_such =
      run_process({kAudit, "prove", path, "--seq", "7", "--checkpoint-size", "450", "--out", out});
  CHECK(no_such.exit_code == 2);
  CHECK(run_process({kAudit, "prove", path, "--seq", "0", "--out", out}).exit_code == 2);

  // An export with no checkpoint at all (a log that never reached one).
  TestLog small(key, "c");
  small.append(50);
  std::string bare = dir.file("bare.export");
  small.export_to(bare);
  auto none = run_process({kAudit, "prove", bare, "--seq", "7", "--out", out});
  INFO("none: " << none.out << none.err);
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "no checkpoint"));
}

TEST_CASE_METHOD(Logs, "checkpoint prints the export's signed note") {
  auto latest = run_process({kAudit, "checkpoint", path});
  INFO("latest: " << latest.out << latest.err);
  CHECK(latest.exit_code == 0);
  CHECK(latest.out == a.checkpoint_at(1000));
  auto at300 = run_process({kAudit, "checkpoint", path, "--size", "300"});
  INFO("at300: " << at300.out << at300.err);
  CHECK(at300.exit_code == 0);
  CHECK(at300.out == a.checkpoint_at(300));
  auto missing = run_process({kAudit, "checkpoint", path, "--size", "301"});
  INFO("missing: " << missing.out << missing.err);
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err, "no checkpoint at tree size 301"));

  // A checkpoint that does not match the entries before it is not printed.
  auto frames = read_frames(path);
  frames[checkpoint_index(frames, 300)].data = b.checkpoint_at(300);
  write_frames(dir.file("mixed.export"), frames);
  auto mixed = run_process({kAudit, "checkpoint", dir.file("mixed.export"), "--size", "300"});
  INFO("mixed: " << mixed.out << mixed.err);
  CHECK(mixed.exit_code == 2);
  CHECK(contains(mixed.err, "does not match its entries"));
}

TEST_CASE_METHOD(Logs, "prove-consistency and consistency round trip") {
  REQUIRE(run_process({kAudit, "checkpoint", path, "--size", "300"}).exit_code == 0);
  testing::write_text(dir.file("old.note"),
                      run_process({kAudit, "checkpoint", path, "--size", "300"}).out);
  testing::write_text(dir.file("new.note"), run_process({kAudit, "checkpoint", path}).out);
  std::string proof = dir.file("300-1000.proof");
  auto p = run_process({kAudit, "prove-consistency", path, "--old-size", "300", "--out", proof});
  INFO("p: " << p.out << p.err);
  REQUIRE(p.exit_code == 0);
  CHECK(contains(p.out, "consistency proof from tree size 300 to tree size 1000"));

  auto c = run_process(
      {kAudit, "consistency", dir.file("old.note"), dir.file("new.note"), proof, "--key", key_hex});
  INFO("c: " << c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(contains(c.out,
                 "OK: the log gongshu.test/audit at tree size 1000 extends the log at tree "
                 "size 300"));
  auto j = run_process({kAudit, "consistency", dir.file("old.note"), dir.file("new.note"), proof,
                        "--key", key_hex, "--json"});
  INFO("j: " << j.out << j.err);
  CHECK(j.exit_code == 0);
  CHECK(contains(j.out, "{\"status\":\"ok\",\"origin\":\"gongshu.test/audit\",\"old_size\":300,"));

  // --new-size and standard output.
  auto mid = run_process(
      {kAudit, "prove-consistency", path, "--old-size", "300", "--new-size", "700", "--out", "-"});
  INFO("mid: " << mid.out << mid.err);
  CHECK(mid.exit_code == 0);
  CHECK(contains(mid.out, "gongshu consistency proof v1\nold_size 300\nnew_size 700\n"));

  SECTION("a checkpoint from another log is a fork") {
    testing::write_text(dir.file("fork.note"), b.checkpoint_at(300));
    auto r = run_process({kAudit, "consistency", dir.file("fork.note"), dir.file("new.note"), proof,
                          "--key", key_hex});
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(
        contains(r.out, "FAILED: the log at size 1000 is not an extension of the log at size 300"));
    testing::write_text(dir.file("fork-new.note"), b.checkpoint_at(1000));
    auto r2 = run_process({kAudit, "consistency", dir.file("old.note"), dir.file("fork-new.note"),
                           proof, "--key", key_hex});
    INFO("r2: " << r2.out << r2.err);
    CHECK(r2.exit_code == 1);
  }
  SECTION("checkpoints for other sizes than the proof") {
    testing::write_text(dir.file("other.note"), a.checkpoint_at(400));
    auto r = run_process({kAudit, "consistency", dir.file("other.note"), dir.file("new.note"),
                          proof, "--key", key_hex});
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "FAILED: the proof is for sizes 300 -> 1000"));
  }
  SECTION("the wrong key") {
    auto r = run_process({kAudit, "consistency", dir.file("old.note"), dir.file("new.note"), proof,
                          "--key", test_key(3).public_key().hex()});
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 1);
  }
  SECTION("could not run") {
    auto r =
        run_process({kAudit, "consistency", proof, dir.file("new.note"), proof, "--key", key_hex});
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "not a checkpoint note"));
    auto r2 = run_process({kAudit, "consistency", dir.file("old.note"), dir.file("new.note"),
                           dir.file("old.note"), "--key", key_hex});
    INFO("r2: " << r2.out << r2.err);
    CHECK(r2.exit_code == 2);
    CHECK(contains(r2.err, "not a consistency proof"));
    auto r3 =
        run_process({kAudit, "prove-consistency", path, "--old-size", "1001", "--out", proof});
    INFO("r3: " << r3.out << r3.err);
    CHECK(r3.exit_code == 2);
  }
}

}  // namespace
}  // namespace gongshu::audit_test
