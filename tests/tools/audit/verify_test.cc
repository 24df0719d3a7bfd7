// gongshu-audit verify, driven through the real binary on real exports. The exhaustive tamper
// cases of the library live in tests/core/audit; these check what the command reports.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include "core/audit/checkpoint.h"
#include "core/audit/receipt.h"
#include "core/util/encoding.h"
#include "tests/tools/audit/audit_fixture.h"

namespace gongshu::audit_test {
namespace {

using testing::run_process;

struct Fixture {
  crypto::IdentityKey key = test_key(1);
  testing::TempDir dir;
  TestLog log{key, "a"};
  std::string path = dir.file("audit.export");
  std::string key_hex = key.public_key().hex();

  Fixture() {
    log.append(1000);
    log.export_to(path);
  }
  testing::RunResult verify(std::vector<std::string> extra = {}) const {
    return verify_file(path, extra);
  }
  testing::RunResult verify_file(const std::string& file,
                                 std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{kAudit, "verify", file, "--key", key_hex};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv);
  }
  // A copy of the export with fn applied to its frames.
  std::string tampered(const std::function<void(std::vector<RawFrame>&)>& fn) const {
    auto frames = read_frames(path);
    fn(frames);
    std::string out = dir.file("tampered.export");
    write_frames(out, frames);
    return out;
  }
};

TEST_CASE_METHOD(Fixture, "verify: an untampered export is OK with count, tree size and root") {
  auto head = log.head();
  REQUIRE(head.size == 1000);
  auto r = verify();
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "OK: 1000 entries (seq 1..1000), tree size 1000, root " +
                            hex_encode(head.root) + "\n"));
  CHECK(contains(r.out, base64_encode(head.root)));
  CHECK(contains(r.out, "10 verified, the last at tree size 1000"));
  CHECK(r.err.empty());  // stderr is a pipe here: no progress

  auto j = verify({"--json"});
  INFO("j: " << j.out << j.err);
  CHECK(j.exit_code == 0);
  CHECK(j.out ==
        "{\"status\":\"ok\",\"entries\":1000,\"first_seq\":1,\"last_seq\":1000,"
        "\"full\":true,\"tree_size\":1000,\"root\":\"" +
            hex_encode(head.root) + "\",\"root_base64\":\"" + base64_encode(head.root) +
            "\",\"origin\":\"gongshu.test/audit\",\"checkpoints\":10,"
            "\"last_checkpoint_size\":1000,\"unsigned_tail\":0,\"receipts\":0,"
            "\"key_rotations\":[],\"trusted_keys\":[\"" +
            key_hex + "\"],\"trusted_checkpoint_size\":null}\n");

  auto p = verify({"--progress"});
  INFO("p: " << p.out << p.err);
  CHECK(p.exit_code == 0);
  CHECK(contains(p.err, "100%"));
}

TEST_CASE_METHOD(Fixture, "verify: entries after the last checkpoint are reported as unsigned") {
  log.append(37);
  std::string path2 = dir.file("tail.export");
  log.export_to(path2, 1, 1037);
  auto r = verify_file(path2);
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "OK: 1037 entries"));
  CHECK(contains(r.out, "37 entries after the last checkpoint are chained but not yet signed"));
}

TEST_CASE_METHOD(Fixture, "verify: an excerpt checks chain and signatures only with --excerpt") {
  std::string part = dir.file("part.export");
  log.export_to(part, 301, 700);
  auto plain = verify_file(part);
  INFO("plain: " << plain.out << plain.err);
  CHECK(plain.exit_code == 1);
  CHECK(contains(plain.out, "FAILED at entry 1: the export starts at entry 301"));
  auto r = verify_file(part, {"--excerpt"});
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "OK: 400 entries (seq 301..700), excerpt"));
}

TEST_CASE_METHOD(Fixture, "verify: a flipped byte names the first failing entry") {
  auto bad = tampered([](auto& frames) { frames[entry_index(frames, 457)].data.back() ^= 0x01; });
  auto r = verify_file(bad);
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 1);
  // Entry 457's hash changed, so entry 458's prev_hash no longer matches.
  CHECK(contains(r.out, "FAILED at entry 458: broken chain"));
  auto j = verify_file(bad, {"--json"});
  INFO("j: " << j.out << j.err);
  CHECK(j.exit_code == 1);
  CHECK(contains(j.out, "\"status\":\"tampered\",\"failing_seq\":458,"));

  // A flipped byte in the last entry before a checkpoint is caught by the checkpoint.
  auto bad2 = tampered([](auto& frames) { frames[entry_index(frames, 500)].data.back() ^= 0x01; });
  auto r2 = verify_file(bad2);
  INFO("r2: " << r2.out << r2.err);
  CHECK(r2.exit_code == 1);
  CHECK(contains(r2.out, "FAILED at entry 500: checkpoint at size 500"));
}

TEST_CASE_METHOD(Fixture, "verify: a deleted entry is a gap") {
  auto bad =
      tampered([](auto& frames) { frames.erase(frames.begin() + entry_index(frames, 350)); });
  auto r = verify_file(bad);
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "FAILED at entry 350: gap: expected entry 350, found entry 351"));
}

TEST_CASE_METHOD(Fixture, "verify: swapped entries") {
  auto bad = tampered([](auto& frames) {
    std::swap(frames[entry_index(frames, 350)], frames[entry_index(frames, 351)]);
  });
  auto r = verify_file(bad);
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "FAILED at entry 350:"));
}

TEST_CASE_METHOD(Fixture, "verify: forged checkpoints") {
  SECTION("signed by another key") {
    auto other = test_key(99);
    auto bad = tampered([&](auto& frames) {
      auto& f = frames[checkpoint_index(frames, 500)];
      f.data = audit::sign_checkpoint(*audit::parse_checkpoint_note_unverified(f.data), other);
    });
    auto r = verify_file(bad);
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out,
                   "FAILED at entry 500: checkpoint after entry 500: checkpoint is not "
                   "signed by key " +
                       key.public_key().key_id()));
  }
  SECTION("root edited under the original signature") {
    auto bad = tampered([&](auto& frames) {
      auto& f = frames[checkpoint_index(frames, 500)];
      auto body = *audit::parse_checkpoint_note_unverified(f.data);
      std::string old_root = base64_encode(body.root);
      body.root[0] ^= 1;
      f.data.replace(f.data.find(old_root), old_root.size(), base64_encode(body.root));
    });
    auto r = verify_file(bad);
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "FAILED at entry 500:"));
    CHECK(contains(r.out, "invalid"));
  }
}

TEST_CASE_METHOD(Fixture, "verify: the wrong key fails at the first checkpoint") {
  auto r = run_process({kAudit, "verify", path, "--key", test_key(2).public_key().hex()});
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out,
                 "FAILED at entry 100: checkpoint after entry 100: checkpoint is not "
                 "signed by key " +
                     test_key(2).public_key().key_id()));
}

TEST_CASE_METHOD(Fixture, "verify: a truncated file is tampering") {
  std::string text = testing::read_text(path);
  std::string cut = dir.file("cut.export");
  testing::write_text(cut, text.substr(0, text.size() - 10));
  auto r = verify_file(cut);
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "ends inside a frame"));
}

TEST_CASE_METHOD(Fixture, "verify: could not run exits 2") {
  auto missing = verify_file(dir.file("nope.export"));
  INFO("missing: " << missing.out << missing.err);
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err, "nope.export"));
  auto missing_json = verify_file(dir.file("nope.export"), {"--json"});
  INFO("missing_json: " << missing_json.out << missing_json.err);
  CHECK(missing_json.exit_code == 2);
  CHECK(contains(missing_json.out, "{\"status\":\"error\",\"reason\":"));

  testing::write_text(dir.file("notes.txt"), "hello\n");
  auto not_export = verify_file(dir.file("notes.txt"));
  INFO("not_export: " << not_export.out << not_export.err);
  CHECK(not_export.exit_code == 2);
  CHECK(contains(not_export.err, "not an audit export"));

  for (std::string bad : {std::string("abc"), key_hex.substr(1), "zz" + key_hex.substr(2)}) {
    auto r = run_process({kAudit, "verify", path, "--key", bad});
    INFO("r: " << r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "--key"));
  }
  CHECK(run_process({kAudit, "verify", path}).exit_code == 2);  // --key is required
  CHECK(verify({"--receipts", dir.file("no-such-dir")}).exit_code == 2);
  CHECK(verify({"--checkpoint", dir.file("no-such-note")}).exit_code == 2);
}

TEST_CASE("verify: receipts") {
  auto key = test_key(1);
  testing::TempDir dir;
  TestLog log(key, "a");
  std::vector<v1::Receipt> receipts;
  log.append(199);
  receipts.push_back(log.append_with_receipt());  // seq 200, itself a checkpoint size
  log.append(400);
  receipts.push_back(log.append_with_receipt());  // seq 601
  log.append(298);
  receipts.push_back(log.append_with_receipt());  // seq 900
  log.append(100);
  REQUIRE(log.head().size == 1000);
  CHECK(receipts[1].seq() == 601);
  CHECK(receipts[1].tree_size() == 601);

  std::string rdir = dir.file("receipts");
  std::filesystem::create_directory(rdir);
  for (size_t i = 0; i < receipts.size(); ++i) {
    testing::write_text(rdir + "/r" + std::to_string(i) + ".txt",
                        audit::format_receipt_text(receipts[i]));
  }
  testing::write_text(rdir + "/.hidden", "not a receipt\n");
  std::filesystem::create_directory(rdir + "/subdir");

  std::string full = dir.file("full.export");
  log.export_to(full);
  std::string hex_key = key.public_key().hex();
  auto ok = run_process({kAudit, "verify", full, "--key", hex_key, "--receipts", rdir});
  INFO("ok: " << ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(contains(ok.out, "receipts:      3 verified"));

  // An export cut back to 500 entries cannot contain the entries of the later receipts.
  std::string cut = dir.file("cut.export");
  log.export_to(cut, 1, 500);
  auto r = run_process({kAudit, "verify", cut, "--key", hex_key, "--receipts", rdir});
  INFO("r: " << r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "FAILED at entry 501: truncated: receipt r1.txt proves entry 601"));

  // A receipt the daemon did not sign.
  v1::Receipt forged = receipts[0];
  forged.mutable_root()->at(0) ^= 1;
  testing::write_text(rdir + "/r9.txt", audit::format_receipt_text(forged));
  auto f = run_process({kAudit, "verify", full, "--key", hex_key, "--receipts", rdir});
  INFO("f: " << f.out << f.err);
  CHECK(f.exit_code == 1);
  CHECK(contains(f.out, "receipt r9.txt: receipt: signature does not verify"));
  std::filesystem::remove(rdir + "/r9.txt");

  // A file that is not a receipt at all: could not run, and the file is named.
  testing::write_text(rdir + "/garbage.txt", "gongshu receipt v1\nseq x\n");
  auto g = run_process({kAudit, "verify", full, "--key", hex_key, "--receipts", rdir});
  INFO("g: " << g.out << g.err);
  CHECK(g.exit_code == 2);
  CHECK(contains(g.err, "garbage.txt"));
}

TEST_CASE("verify: a trusted checkpoint catches forks and rollbacks") {
  auto key = test_key(1);
  testing::TempDir dir;
  TestLog a(key, "a");
  TestLog b(key, "b");  // same key and origin, different history
  a.append(1000);
  b.append(1000);
  std::string path = dir.file("a.export");
  a.export_to(path);
  std::string hex_key = key.public_key().hex();
  auto verify_with = [&](const std::string& export_path, const std::string& note) {
    testing::write_text(dir.file("trusted.note"), note);
    return run_process({kAudit, "verify", export_path, "--key", hex_key, "--checkpoint",
                        dir.file("trusted.note")});
  };

  auto same = verify_with(path, a.checkpoint_at(500));
  INFO("same: " << same.out << same.err);
  CHECK(same.exit_code == 0);
  CHECK(contains(same.out, "trusted checkpoint: tree size 500 is consistent with the export"));

  auto fork = verify_with(path, b.checkpoint_at(500));
  INFO("fork: " << fork.out << fork.err);
  CHECK(fork.exit_code == 1);
  CHECK(contains(fork.out,
                 "FAILED at entry 500: fork: the export's root at tree size 500 differs "
                 "from the trusted checkpoint"));

  std::string cut = dir.file("cut.export");
  a.export_to(cut, 1, 500);
  auto rollback = verify_with(cut, a.checkpoint_at(800));
  INFO("rollback: " << rollback.out << rollback.err);
  CHECK(rollback.exit_code == 1);
  CHECK(contains(rollback.out, "FAILED at entry 501: rollback or truncation"));

  auto forged = verify_with(
      path, audit::sign_checkpoint(*audit::parse_checkpoint_note_unverified(a.checkpoint_at(500)),
                                   test_key(7)));
  INFO("forged: " << forged.out << forged.err);
  CHECK(forged.exit_code == 1);
  CHECK(contains(forged.out, "trusted checkpoint: checkpoint is not signed by key"));

  auto junk = verify_with(path, "not a note\n");
  INFO("junk: " << junk.out << junk.err);
  CHECK(junk.exit_code == 2);
  CHECK(contains(junk.err, "not a checkpoint note"));
}

}  // namespace
}  // namespace gongshu::audit_test
