// Daemon key rotation in the audit log (core/audit/key_rotation.h, docs/audit-format.md): the
// statement's signatures, dual-signed checkpoints, and the verifier following a log across a
// rotation with only the old key — and refusing a forged rotation, located at its entry.
#include "core/audit/key_rotation.h"

#include <catch2/catch.hpp>

#include "core/audit/checkpoint.h"
#include "core/audit/receipt.h"
#include "core/audit/verify.h"
#include "tests/core/audit/audit_test_util.h"

namespace gongshu::audit {
namespace {

using testing::TestLog;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Appends one entry carrying a rotation statement (as daemon/daemon_keys.cc writes it).
Appended append_rotation(TestLog& log, std::string_view action, const RotationStatement& st) {
  Appended out{};
  auto s = log.env->update([&](store::WriteTxn& txn) -> Status {
    v1::AuditEntry e;
    e.mutable_principal()->set_key_id(st.old_key.key_id());
    e.mutable_principal()->set_role("operator");
    e.set_action(std::string(action));
    auto* r = e.add_refs();
    r->set_kind(std::string(kRotationRef));
    r->set_value(format_rotation_text(st));
    GONGSHU_TRY(out, log.log->append(txn, e));
    return {};
  });
  REQUIRE(s);
  return out;
}

v1::Receipt receipt_for(TestLog& log, const Appended& a) {
  auto txn = log.env->begin_read();
  REQUIRE(txn);
  return log.log->receipt(*txn, Hash{}, a);
}

TEST_CASE("a rotation statement verifies, survives its text form and refuses any change") {
  auto a = crypto::IdentityKey::generate();
  auto b = crypto::IdentityKey::generate();
  auto st = make_rotation_statement("gongshu.test/audit", a, b, 1795748550123);
  REQUIRE(check_rotation_signatures(st));
  std::string text = format_rotation_text(st);
  auto back = parse_rotation_text(text);
  REQUIRE(back);
  CHECK(back->old_key == a.public_key());
  CHECK(back->new_key == b.public_key());
  CHECK(back->time_ms == 1795748550123);
  CHECK(back->origin == "gongshu.test/audit");

  // Another new key under the old key's signature: the new key's signature no longer holds,
  // and the old one's neither.
  auto c = crypto::IdentityKey::generate();
  std::string swapped = text;
  swapped.replace(swapped.find(b.public_key().hex()), 64, c.public_key().hex());
  auto bad = parse_rotation_text(swapped);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == ErrorCode::kUnauthenticated);
  // Another time.
  std::string retimed = text;
  retimed.replace(retimed.find("1795748550123"), 13, "1795748550124");
  CHECK_FALSE(parse_rotation_text(retimed));
  // Not a statement at all.
  auto corrupt = parse_rotation_text("gongshu receipt v1\n");
  REQUIRE_FALSE(corrupt);
  CHECK(corrupt.error().code() == ErrorCode::kCorrupt);
  CHECK_FALSE(parse_rotation_text(std::string(kMaxRotationText + 1, 'a')));
  // A key handing over to itself proves nothing.
  CHECK_FALSE(check_rotation_signatures(make_rotation_statement("o", a, a, 1)));
}

TEST_CASE("a checkpoint signed by two keys verifies with either, not with a third") {
  auto a = crypto::IdentityKey::generate();
  auto b = crypto::IdentityKey::generate();
  auto c = crypto::IdentityKey::generate();
  CheckpointBody body{"gongshu.test/audit", 7, Hash{1}, Hash{2}};
  const crypto::IdentityKey* both[] = {&a, &b};
  std::string note = sign_checkpoint(body, both);
  CHECK(verify_checkpoint(note, a.public_key()));
  CHECK(verify_checkpoint(note, b.public_key()));
  crypto::PublicKey signer;
  std::vector<crypto::PublicKey> bc = {c.public_key(), b.public_key()};
  auto v = verify_checkpoint(note, bc, &signer);
  REQUIRE(v);
  CHECK(*v == body);
  CHECK(signer == b.public_key());
  auto none = verify_checkpoint(note, c.public_key());
  REQUIRE_FALSE(none);
  CHECK(none.error().code() == ErrorCode::kUnauthenticated);
  // A bad signature line by a key we trust is an error even when another line verifies.
  std::string broken = note;
  size_t second = broken.rfind("\xe2\x80\x94 ");
  size_t sig = broken.rfind(' ') + 10;
  REQUIRE(sig > second);
  broken[sig] = broken[sig] == 'A' ? 'B' : 'A';
  CHECK(verify_checkpoint(broken, a.public_key()));
  std::vector<crypto::PublicKey> ab = {a.public_key(), b.public_key()};
  CHECK_FALSE(verify_checkpoint(broken, ab));
}

// A log of 120 entries by key A, a rotation to B (checkpoints signed by both), the activation
// of B (checkpoints by B alone), 70 more entries.
struct RotatedLog {
  RotatedLog() : log(current, 50) {
    log.append(120, 40, true);
    before = receipt_for(log, log.append(1, 1, false)[0]);
    statement = make_rotation_statement("gongshu.test/audit", current, next, 1795748551000);
    rotate_seq = append_rotation(log, kRotateAction, statement).seq;
    log.log->set_cosigner(&next);
    log.append(60, 20, true);
    // Activation: the log's signer becomes the next key (as DaemonKeys::activate does).
    old_public = current.public_key();
    current = std::move(next);
    log.log->set_cosigner(nullptr);
    activate_seq = append_rotation(log, kActivateAction, statement).seq;
    after_appended = log.append(70, 35, true).back();
    after = receipt_for(log, after_appended);
    path = log.export_to(log.dir.file("rotated.gsa"));
  }
  crypto::IdentityKey current = crypto::IdentityKey::generate();
  crypto::IdentityKey next = crypto::IdentityKey::generate();
  TestLog log;
  crypto::PublicKey old_public;
  RotationStatement statement;
  uint64_t rotate_seq = 0, activate_seq = 0;
  v1::Receipt before, after;
  Appended after_appended{};
  std::string path;
};

TEST_CASE("a log spanning a daemon key rotation verifies with the old key alone") {
  RotatedLog r;
  VerifyOptions opts;
  opts.key = r.old_public;
  opts.receipts = {{"before", r.before}, {"after", r.after}};
  auto rep = verify_export(r.path, opts);
  INFO(rep.reason);
  REQUIRE(rep.status == VerifyStatus::kOk);
  CHECK(rep.entries == 120 + 1 + 1 + 60 + 1 + 70);
  CHECK(rep.receipts == 2);
  REQUIRE(rep.key_rotations.size() == 2);
  CHECK(contains(rep.key_rotations[0], std::to_string(r.rotate_seq) + ": key_rotate"));
  CHECK(contains(rep.key_rotations[1], std::to_string(r.activate_seq) + ": key_activate"));
  REQUIRE(rep.trusted_keys.size() == 2);
  CHECK(rep.trusted_keys[1] == r.current.public_key());

  // Receipts issued before and after verify offline with the key they name.
  CHECK(verify_receipt(r.before, r.old_public));
  CHECK(verify_receipt(r.after, r.current.public_key()));
  std::vector<crypto::PublicKey> both = {r.old_public, r.current.public_key()};
  CHECK(verify_receipt(r.after, both));
  CHECK_FALSE(verify_receipt(r.after, r.old_public));

  // An officer holding only the old key keeps a checkpoint signed after the activation (by the
  // new key alone): it is trusted because the log hands over to that key.
  {
    auto txn = r.log.env->begin_read();
    REQUIRE(txn);
    VerifyOptions with_saved = opts;
    with_saved.trusted_checkpoint = *r.log.log->latest_checkpoint(*txn);
    CHECK_FALSE(verify_checkpoint(*with_saved.trusted_checkpoint, r.old_public));
    auto saved = verify_export(r.path, with_saved);
    INFO(saved.reason);
    CHECK(saved.status == VerifyStatus::kOk);
    // One signed by a key the log never hands over to is refused.
    auto stranger = crypto::IdentityKey::generate();
    auto body = parse_checkpoint_note_unverified(*with_saved.trusted_checkpoint);
    REQUIRE(body);
    with_saved.trusted_checkpoint = sign_checkpoint(*body, stranger);
    auto forged = verify_export(r.path, with_saved);
    CHECK(forged.status == VerifyStatus::kTampered);
    CHECK(contains(forged.reason, "trusted checkpoint"));
  }

  // The new key alone cannot vouch for the checkpoints made before the rotation.
  VerifyOptions only_new;
  only_new.key = r.current.public_key();
  auto rn = verify_export(r.path, only_new);
  CHECK(rn.status == VerifyStatus::kTampered);
}

TEST_CASE("a forged rotation statement is refused and located at its entry") {
  auto a = crypto::IdentityKey::generate();
  TestLog log(a, 50);
  log.append(80, 40, true);
  // An intruder's key hands over to another intruder's key.
  auto x = crypto::IdentityKey::generate();
  auto y = crypto::IdentityKey::generate();
  auto forged = make_rotation_statement("gongshu.test/audit", x, y, 1795748552000);
  uint64_t seq = append_rotation(log, kRotateAction, forged).seq;
  log.append(10, 10, true);
  std::string path = log.export_to(log.dir.file("forged.gsa"));
  VerifyOptions opts;
  opts.key = a.public_key();
  auto rep = verify_export(path, opts);
  REQUIRE(rep.status == VerifyStatus::kTampered);
  CHECK(rep.failing_seq == seq);
  CHECK(contains(rep.reason, "not a trusted daemon key"));

  // A statement for another log is refused too.
  TestLog other(a, 50);
  other.append(5, 5, true);
  auto elsewhere = make_rotation_statement("another/audit", a, y, 1795748552000);
  uint64_t seq2 = append_rotation(other, kRotateAction, elsewhere).seq;
  other.append(5, 5, true);
  std::string path2 = other.export_to(other.dir.file("elsewhere.gsa"));
  auto rep2 = verify_export(path2, opts);
  REQUIRE(rep2.status == VerifyStatus::kTampered);
  CHECK(rep2.failing_seq == seq2);
  CHECK(contains(rep2.reason, "origin"));
}

TEST_CASE("after activation a checkpoint by the retired key alone is refused") {
  crypto::IdentityKey k1 = crypto::IdentityKey::generate();
  crypto::IdentityKey k2 = crypto::IdentityKey::generate();
  // The log signs with whatever `signer` holds, as the daemon's store does with its key.
  crypto::IdentityKey signer = crypto::IdentityKey::from_seed(k1.seed()).value();
  TestLog log(signer, 50);
  log.append(60, 30, true);
  auto st = make_rotation_statement("gongshu.test/audit", k1, k2, 1795748553000);
  append_rotation(log, kRotateAction, st);
  log.append(10, 10, true);
  signer = crypto::IdentityKey::from_seed(k2.seed()).value();
  append_rotation(log, kActivateAction, st);
  log.append(10, 10, true);
  signer = crypto::IdentityKey::from_seed(k1.seed()).value();  // the retired key signs again
  uint64_t last = log.append(10, 10, true).back().seq;
  std::string path = log.export_to(log.dir.file("retired.gsa"));
  VerifyOptions opts;
  opts.key = k1.public_key();
  auto rep = verify_export(path, opts);
  REQUIRE(rep.status == VerifyStatus::kTampered);
  CHECK(rep.failing_seq == last);
  CHECK(contains(rep.reason, "not signed by key " + k2.public_key().key_id()));
}

}  // namespace
}  // namespace gongshu::audit
