// Rebuilds the worked example of docs/audit-format.md with the real AuditLog and export code,
// and checks that every value the document states (keys, entry bytes, hashes, roots, notes,
// proofs, receipt, export bytes) is still exactly what the code produces. If the format changes,
// this test fails until the document is updated; run it with GONGSHU_PRINT_AUDIT_EXAMPLE=1 to
// print the current values.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/audit/export_file.h"
#include "core/audit/proof_file.h"
#include "core/audit/receipt.h"
#include "core/crypto/sha256.h"
#include "core/util/encoding.h"
#include "tests/tools/audit/audit_fixture.h"

namespace gongshu::audit_test {
namespace {

using testing::run_process;

constexpr std::string_view kExampleOrigin = "gongshu.example/audit";
constexpr int64_t kT0 = 1'768'465'800'000;  // 2026-01-15T08:30:00Z in ms

std::vector<v1::AuditEntry> example_entries() {
  std::vector<v1::AuditEntry> out(3);
  auto& e1 = out[0];
  e1.set_time_ms(kT0);
  e1.mutable_principal()->set_key_id("3f9a2c7e81d04b56");
  e1.mutable_principal()->set_role("agent");
  e1.mutable_principal()->set_agency("hz-police");
  e1.set_action("ingest");
  e1.set_dataset("population.residents");
  e1.set_record_count(250);
  auto* ref = e1.add_refs();
  ref->set_kind("batch");
  ref->set_value("3f9a2c7e81d04b56/17");
  e1.set_detail("250 records stored");

  auto& e2 = out[1];
  e2.set_time_ms(kT0 + 1250);
  e2.mutable_principal()->set_key_id("a07c19e4d2b8f3a1");
  e2.mutable_principal()->set_role("agency");
  e2.mutable_principal()->set_agency("civil-affairs");
  e2.set_action("query");
  e2.set_dataset("population.residents");
  e2.set_purpose("subsidy eligibility check");
  e2.set_policy_rule("agency-own-purpose");
  e2.set_policy_version("2026.01.3");
  e2.set_decision(v1::DECISION_ALLOW);
  e2.set_record_count(1);

  auto& e3 = out[2];
  e3.set_time_ms(kT0 + 2500);
  e3.mutable_principal()->set_key_id("5b6e0d93c4a27f18");
  e3.mutable_principal()->set_role("public");
  e3.set_action("download");
  e3.set_dataset("population.residents");
  e3.set_policy_rule("default-deny");
  e3.set_policy_version("2026.01.3");
  e3.set_decision(v1::DECISION_DENY);
  e3.set_detail("dataset is not open");
  return out;
}

// The example log, built by the daemon's own code.
struct Example {
  crypto::IdentityKey key = test_key(0);  // seed 00 01 02 ... 1f
  testing::TempDir dir;
  FakeClock clock{(kT0 + 3000) * 1'000'000};
  std::unique_ptr<store::Env> env;
  std::unique_ptr<audit::AuditLog> log;
  std::vector<std::string> entries;  // stored bytes
  std::vector<std::string> notes;    // at sizes 2 and 3
  v1::Receipt receipt;               // for entry 3
  std::string export_path = dir.file("example.export");

  Example() {
    env = std::move(*store::Env::open(dir.path()));
    audit::AuditLogOptions opts;
    opts.origin = std::string(kExampleOrigin);
    opts.checkpoint_every = 1'000'000;
    opts.checkpoint_interval_ms = 1'000'000'000;
    log = std::move(*audit::AuditLog::open(*env, key, opts, clock));
    auto txn = std::move(*env->begin_write());
    auto es = example_entries();
    for (size_t i = 0; i < es.size(); ++i) {
      auto appended = log->append(txn, es[i]);
      REQUIRE(appended);
      if (i == 1) notes.push_back(*log->checkpoint(txn));
      if (i == 2) {
        receipt = log->receipt(txn, crypto::sha256("example batch"), *appended);
        notes.push_back(*log->checkpoint(txn));
      }
    }
    REQUIRE(std::move(txn).commit());
    auto r = std::move(*env->begin_read());
    for (uint64_t s = 1; s <= 3; ++s) entries.push_back(std::string(as_chars(*log->entry(r, s))));
    REQUIRE(audit::export_log(*log, r, 0, 0, export_path));
  }
  ~Example() {
    log.reset();
    env.reset();
  }
};

std::string strip_space(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') out.push_back(c);
  }
  return out;
}

std::string wrap(const std::string& s, size_t width = 64) {
  std::string out;
  for (size_t i = 0; i < s.size(); i += width) out += s.substr(i, width) + "\n";
  return out;
}

// The document, and checks of what it says at given places. Each failure names the place.
class Doc {
 public:
  explicit Doc(std::string text) : text_(std::move(text)) {}

  // The doc contains text exactly.
  void states(const std::string& text) const {
    INFO("docs/audit-format.md must contain:\n" << text);
    CHECK(text_.find(text) != std::string::npos);
  }
  // The n-th ``` block after anchor holds exactly value (exact: byte for byte; otherwise
  // ignoring line breaks and spaces, for wrapped hex).
  void block(const std::string& anchor, const std::string& value, bool exact = false,
             int n = 1) const {
    INFO("docs/audit-format.md: block " << n << " after '" << anchor << "' must be:\n" << value);
    size_t at = text_.find(anchor);
    REQUIRE(at != std::string::npos);
    std::string content;
    for (int i = 0; i < n; ++i) {
      size_t open = text_.find("```", at);
      REQUIRE(open != std::string::npos);
      size_t begin = text_.find('\n', open) + 1;
      size_t close = text_.find("```", begin);
      REQUIRE(close != std::string::npos);
      content = text_.substr(begin, close - begin);
      at = close + 3;
    }
    if (exact) {
      CHECK(content == value);
    } else {
      CHECK(strip_space(content) == strip_space(value));
    }
  }

 private:
  std::string text_;
};

TEST_CASE("docs/audit-format.md: the worked example matches the code") {
  Example ex;
  using audit::Hash;
  const auto& pub = ex.key.public_key();
  std::vector<Hash> h;
  for (const auto& e : ex.entries) h.push_back(audit::entry_hash(as_bytes(e)));

  // The chain.
  CHECK(audit::parse_entry_prefix(as_bytes(ex.entries[0]))->prev_hash == Hash{});
  CHECK(audit::parse_entry_prefix(as_bytes(ex.entries[1]))->prev_hash == h[0]);
  CHECK(audit::parse_entry_prefix(as_bytes(ex.entries[2]))->prev_hash == h[1]);

  // Roots at sizes 1..3 by the RFC 6962 definition, and as the log computed them.
  Hash root2 = audit::node_hash(h[0], h[1]);
  Hash root3 = audit::node_hash(root2, h[2]);
  {
    auto r = std::move(*ex.env->begin_read());
    CHECK(ex.log->root_at(r, 1) == h[0]);
    CHECK(ex.log->root_at(r, 2) == root2);
    CHECK(ex.log->root_at(r, 3) == root3);
  }
  std::vector<audit::CheckpointBody> cps;
  for (const auto& note : ex.notes) cps.push_back(*audit::verify_checkpoint(note, pub));
  CHECK(cps[0].root == root2);
  CHECK(cps[0].chain == h[1]);
  CHECK(cps[1].root == root3);
  CHECK(cps[1].chain == h[2]);

  // Proofs: entry 2 in the tree of size 3, and size 2 -> 3.
  auto incl = audit::prove_inclusion(ex.export_path, 2, 3);
  REQUIRE(incl);
  CHECK(incl->path == std::vector<Hash>{h[0], h[2]});
  auto cons = audit::prove_consistency(ex.export_path, 2, 3);
  REQUIRE(cons);
  CHECK(cons->path == std::vector<Hash>{h[2]});
  REQUIRE(audit::verify_receipt(ex.receipt, pub));

  std::string export_bytes = testing::read_text(ex.export_path);
  auto v = run_process({kAudit, "verify", ex.export_path, "--key", pub.hex()});
  CHECK(v.exit_code == 0);
  CHECK(contains(v.out, "OK: 3 entries (seq 1..3), tree size 3, root " + hex_encode(root3)));

  std::string roots = "root(1) = entry_hash(1)\n        = " + hex_encode(h[0]) +
                      "\nroot(2) = SHA-256(0x01 || entry_hash(1) || entry_hash(2))              "
                      "(k = 1)\n        = " +
                      hex_encode(root2) +
                      "\nroot(3) = SHA-256(0x01 || root(2) || entry_hash(3))                    "
                      "(k = 2)\n        = " +
                      hex_encode(root3) + "\n";
  std::string frames_table = "| 0 | `47534155444954310a` | `GSAUDIT1\\n` |\n";
  {
    auto frames = read_frames(ex.export_path);
    size_t offset = audit::kExportMagic.size();
    uint64_t seq = 0;
    for (const auto& f : frames) {
      uint8_t len[4];
      put_be32(len, static_cast<uint32_t>(f.data.size()));
      std::string size = std::to_string(f.data.size());
      frames_table += "| " + std::to_string(offset) + " | `0" + std::to_string(f.type) + " " +
                      hex_encode(ByteView(len, 4)) + "` | ";
      if (f.type == 1) {
        ++seq;
        frames_table +=
            "entry frame, " + size + " bytes: `entry_bytes(" + std::to_string(seq) + ")` |\n";
      } else {
        frames_table += "checkpoint frame, " + size + " bytes: the note at tree size " +
                        std::to_string(seq) + " |\n";
      }
      offset += 5 + f.data.size();
    }
  }
  std::string receipt_message = hex_encode(as_bytes(audit::kReceiptDomain)) + "00" +
                                hex_encode(*audit::receipt_signed_bytes(ex.receipt));

  if (std::getenv("GONGSHU_PRINT_AUDIT_EXAMPLE")) {
    std::cout << "seed " << hex_encode(ex.key.seed().view()) << "\npublic key " << pub.hex()
              << "\nkey id " << pub.key_id() << "\nnote key id "
              << hex_encode(audit::note_key_id(kExampleOrigin, pub)) << "\n";
    for (size_t i = 0; i < 3; ++i) {
      std::cout << "entry " << i + 1 << " (" << ex.entries[i].size() << " bytes)\n"
                << wrap(hex_encode(as_bytes(ex.entries[i]))) << "entry_hash\n"
                << hex_encode(h[i]) << "\n";
    }
    std::cout << roots << "root(2) " << base64_encode(root2) << "\nroot(3) " << base64_encode(root3)
              << "\n";
    for (const auto& note : ex.notes) {
      std::string body = note.substr(0, note.find("\n\n") + 1);
      std::cout << note << "body (" << body.size() << " bytes)\n"
                << wrap(hex_encode(as_bytes(body))) << "signature\n"
                << wrap(hex_encode(
                       ByteView(*base64_decode(note.substr(note.rfind(' ') + 1, 92))).subspan(4)));
    }
    std::cout << "export (" << export_bytes.size() << " bytes)\n"
              << frames_table << wrap(hex_encode(as_bytes(export_bytes))) << v.out
              << audit::format_inclusion_proof(*incl) << audit::format_consistency_proof(*cons)
              << audit::format_receipt_text(ex.receipt) << "receipt message ("
              << receipt_message.size() / 2 << " bytes)\n"
              << wrap(receipt_message);
  }

  Doc doc(testing::read_text(std::string(GONGSHU_SOURCE_DIR) + "/docs/audit-format.md"));
  doc.states("| Ed25519 seed (32 bytes) | `" + hex_encode(ex.key.seed().view()) + "` |");
  doc.states("| public key | `" + pub.hex() + "` |");
  doc.states("first 16 hex) | `" + pub.key_id() + "` |");
  std::string note_id = hex_encode(audit::note_key_id(kExampleOrigin, pub));
  doc.states("0x01 \\|\\| public key)[0:4]`) | `" + note_id + "` |");
  for (size_t i = 0; i < 3; ++i) {
    std::string n = std::to_string(i + 1);
    doc.block("Entry " + n + ", `entry_bytes(" + n + ")` (" + std::to_string(ex.entries[i].size()) +
                  " bytes)",
              hex_encode(as_bytes(ex.entries[i])));
  }
  doc.block("`entry_hash(1) = SHA-256(0x00 || entry_bytes(1))`:", hex_encode(h[0]));
  doc.block("`entry_hash(2)`:", hex_encode(h[1]));
  doc.block("`entry_hash(3)`:", hex_encode(h[2]));
  doc.block("### The tree roots", roots, true);
  doc.states("In base64, `root(2)` is `" + base64_encode(root2) + "` and `root(3)` is `" +
             base64_encode(root3) + "`.");
  for (size_t i = 0; i < 2; ++i) {
    const std::string& note = ex.notes[i];
    std::string body = note.substr(0, note.find("\n\n") + 1);
    auto blob = *base64_decode(note.substr(note.rfind(' ') + 1, 92));
    REQUIRE(blob.size() == 68);
    CHECK(hex_encode(ByteView(blob).first(4)) == note_id);
    std::string anchor = "The checkpoint at tree size " + std::to_string(i + 2);
    doc.block(anchor, note, true, 1);
    doc.block(anchor, hex_encode(as_bytes(body)), false, 2);
    doc.block(anchor, hex_encode(ByteView(blob).subspan(4)), false, 3);
    doc.states(i == 0 ? "Its body is these " + std::to_string(body.size()) + " bytes"
                      : "body (hex)");
  }
  doc.states("\n" + std::to_string(export_bytes.size()) + " bytes:\n");
  doc.states(frames_table);
  doc.block("### The export file", hex_encode(as_bytes(export_bytes)));
  doc.block("Verifying it:",
            "$ gongshu-audit verify example.export --key " + pub.hex() + "\n" + v.out, true);
  doc.block("### An inclusion proof", audit::format_inclusion_proof(*incl), true);
  doc.block("### A consistency proof", audit::format_consistency_proof(*cons), true);
  doc.block("### A receipt", audit::format_receipt_text(ex.receipt), true);
  doc.states("`event_hash = SHA-256(\"example batch\")`, at `issued_at_ms` " +
             std::to_string(ex.receipt.issued_at_ms()));
  doc.block("The signed message", receipt_message);
  doc.states(std::to_string(receipt_message.size() / 2) + " bytes):");
}

}  // namespace
}  // namespace gongshu::audit_test
