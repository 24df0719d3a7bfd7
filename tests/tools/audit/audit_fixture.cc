#include "tests/tools/audit/audit_fixture.h"

#include <catch2/catch.hpp>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/audit/export_file.h"
#include "core/crypto/sha256.h"

namespace gongshu::audit_test {

crypto::IdentityKey test_key(uint8_t seed_byte) {
  crypto::SecretBytes seed(32);
  for (size_t i = 0; i < 32; ++i) seed.data()[i] = static_cast<uint8_t>(seed_byte + i);
  return std::move(*crypto::IdentityKey::from_seed(seed));
}

TestLog::TestLog(const crypto::IdentityKey& key, std::string variant, uint64_t checkpoint_every)
    : variant_(std::move(variant)), clock_(1'768'465'800'000'000'000) {  // 2026-01-15T08:30:00Z
  auto env = store::Env::open(dir_.path());
  REQUIRE(env);
  env_ = std::move(*env);
  audit::AuditLogOptions opts;
  opts.origin = std::string(kOrigin);
  opts.checkpoint_every = checkpoint_every;
  // The fake clock does not move on its own, so only the entry count makes checkpoints due.
  opts.checkpoint_interval_ms = 1'000'000'000;
  auto log = audit::AuditLog::open(*env_, key, opts, clock_);
  REQUIRE(log);
  log_ = std::move(*log);
}

TestLog::~TestLog() {
  // The log refers to tables of the env; drop it first.
  log_.reset();
  env_.reset();
}

v1::AuditEntry TestLog::make_entry(uint64_t n) const {
  static const char* kActions[] = {"ingest", "query", "download", "export", "share"};
  v1::AuditEntry e;
  e.set_time_ms(clock_.now_ms() + static_cast<int64_t>(n) * 250);
  e.mutable_principal()->set_key_id(n % 2 ? "3f9a2c7e81d04b56" : "a07c19e4d2b8f3a1");
  e.mutable_principal()->set_role(n % 2 ? "agent" : "agency");
  e.mutable_principal()->set_agency(n % 3 ? "hz-police" : "civil-affairs");
  e.set_action(kActions[n % 5]);
  e.set_dataset("population.residents");
  if (n % 5 == 1) {
    e.set_purpose("subsidy eligibility check");
    e.set_policy_rule("agency-own-purpose");
    e.set_policy_version("2026.01.3");
    e.set_decision(n % 2 ? v1::DECISION_ALLOW : v1::DECISION_DENY);
  }
  e.set_record_count(n % 17);
  auto* ref = e.add_refs();
  ref->set_kind("batch");
  ref->set_value("b-" + std::to_string(n));
  e.set_detail("entry " + std::to_string(n) + " of log " + variant_);
  return e;
}

void TestLog::append(uint64_t n) {
  auto txn = env_->begin_write();
  REQUIRE(txn);
  for (uint64_t i = 0; i < n; ++i) {
    v1::AuditEntry e = make_entry(log_->head(*txn).size + 1);
    // One assertion per batch, not per entry.
    auto appended = log_->append(*txn, e);
    auto due = appended ? log_->checkpoint_if_due(*txn) : tl::unexpected(appended.error());
    if (!due) FAIL("append: " << due.error().message());
  }
  REQUIRE(std::move(*txn).commit());
}

v1::Receipt TestLog::append_with_receipt() {
  auto txn = env_->begin_write();
  REQUIRE(txn);
  uint64_t seq = log_->head(*txn).size + 1;
  v1::AuditEntry e = make_entry(seq);
  auto appended = log_->append(*txn, e);
  REQUIRE(appended);
  REQUIRE(log_->checkpoint_if_due(*txn));
  auto event = crypto::sha256("batch " + std::to_string(seq));
  v1::Receipt r = log_->receipt(*txn, event, *appended);
  REQUIRE(std::move(*txn).commit());
  return r;
}

std::string TestLog::checkpoint() {
  auto txn = env_->begin_write();
  REQUIRE(txn);
  auto note = log_->checkpoint(*txn);
  REQUIRE(note);
  REQUIRE(std::move(*txn).commit());
  return *note;
}

void TestLog::export_to(const std::string& path, uint64_t from, uint64_t to) const {
  auto txn = env_->begin_read();
  REQUIRE(txn);
  REQUIRE(audit::export_log(*log_, *txn, from, to, path));
}

audit::TreeHead TestLog::head() const {
  auto txn = env_->begin_read();
  REQUIRE(txn);
  return log_->head(*txn);
}

std::string TestLog::checkpoint_at(uint64_t size) const {
  auto txn = env_->begin_read();
  REQUIRE(txn);
  auto note = log_->checkpoint_at(*txn, size);
  REQUIRE(note);
  return *note;
}

std::string TestLog::entry_bytes(uint64_t seq) const {
  auto txn = env_->begin_read();
  REQUIRE(txn);
  auto e = log_->entry(*txn, seq);
  REQUIRE(e);
  return std::string(as_chars(*e));
}

std::vector<RawFrame> read_frames(const std::string& path) {
  std::string bytes = testing::read_text(path);
  REQUIRE(bytes.substr(0, audit::kExportMagic.size()) == audit::kExportMagic);
  std::vector<RawFrame> out;
  size_t pos = audit::kExportMagic.size();
  while (pos < bytes.size()) {
    REQUIRE(pos + 5 <= bytes.size());
    uint32_t len = get_be32(reinterpret_cast<const uint8_t*>(bytes.data()) + pos + 1);
    REQUIRE(pos + 5 + len <= bytes.size());
    out.push_back({static_cast<uint8_t>(bytes[pos]), bytes.substr(pos + 5, len)});
    pos += 5 + len;
  }
  return out;
}

void write_frames(const std::string& path, const std::vector<RawFrame>& frames) {
  std::string out(audit::kExportMagic);
  for (const auto& f : frames) {
    uint8_t header[5];
    header[0] = f.type;
    put_be32(header + 1, static_cast<uint32_t>(f.data.size()));
    out.append(reinterpret_cast<const char*>(header), 5);
    out += f.data;
  }
  testing::write_text(path, out);
}

size_t entry_index(const std::vector<RawFrame>& frames, uint64_t seq) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].type != 1) continue;
    auto prefix = audit::parse_entry_prefix(as_bytes(frames[i].data));
    REQUIRE(prefix);
    if (prefix->seq == seq) return i;
  }
  FAIL("no entry " << seq << " in the export");
  return 0;
}

size_t checkpoint_index(const std::vector<RawFrame>& frames, uint64_t size) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].type != 2) continue;
    auto body = audit::parse_checkpoint_note_unverified(frames[i].data);
    REQUIRE(body);
    if (body->size == size) return i;
  }
  FAIL("no checkpoint at size " << size << " in the export");
  return 0;
}

}  // namespace gongshu::audit_test
