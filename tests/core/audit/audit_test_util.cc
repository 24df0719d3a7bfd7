#include "tests/core/audit/audit_test_util.h"

#include <catch2/catch.hpp>

#include "core/audit/entry.h"
#include "core/audit/export_log.h"

namespace gongshu::audit::testing {

TestLog::TestLog(const crypto::IdentityKey& key, uint64_t checkpoint_every, std::string origin) {
  auto e = store::Env::open(dir.path());
  REQUIRE(e);
  env = std::move(*e);
  AuditLogOptions opts;
  opts.origin = std::move(origin);
  opts.checkpoint_every = checkpoint_every;
  opts.checkpoint_interval_ms = 1000;
  auto l = AuditLog::open(*env, key, opts, clock);
  REQUIRE(l);
  log = std::move(*l);
}

v1::AuditEntry sample_entry(uint64_t i, int variant) {
  v1::AuditEntry e;
  e.mutable_principal()->set_key_id("3f2a9c0d1e4b5a67");
  e.mutable_principal()->set_role(i % 3 == 0 ? "agent" : "operator");
  e.mutable_principal()->set_agency("sjz-gongan");
  e.set_action(i % 5 == 0 ? "query" : "ingest");
  e.set_dataset("population.household");
  e.set_purpose("test purpose " + std::to_string(variant));
  e.set_policy_rule("share-agency-conditional");
  e.set_policy_version("2026.11");
  e.set_decision(i % 7 == 0 ? v1::DECISION_DENY : v1::DECISION_ALLOW);
  e.set_record_count(i % 1000);
  auto* ref = e.add_refs();
  ref->set_kind("batch");
  ref->set_value("agent-3f2a9c0d1e4b5a67/" + std::to_string(i));
  e.set_detail("entry " + std::to_string(i));
  return e;
}

std::vector<Appended> TestLog::append(uint64_t n, uint64_t txn_size, bool final_checkpoint,
                                      int variant) {
  std::vector<Appended> out;
  uint64_t done = 0;
  while (done < n) {
    uint64_t batch = std::min(txn_size, n - done);
    auto s = env->update([&](store::WriteTxn& txn) -> Status {
      for (uint64_t i = 0; i < batch; ++i) {
        auto e = sample_entry(appended + done + i, variant);
        GONGSHU_TRY(Appended a, log->append(txn, e));
        out.push_back(a);
      }
      GONGSHU_RETURN_IF_ERROR(log->checkpoint_if_due(txn));
      return {};
    });
    REQUIRE(s);
    done += batch;
    clock.advance(std::chrono::milliseconds(10));
  }
  appended += n;
  if (final_checkpoint) {
    REQUIRE(env->update([&](store::WriteTxn& txn) -> Status {
      GONGSHU_RETURN_IF_ERROR(log->checkpoint(txn));
      return {};
    }));
  }
  return out;
}

std::string TestLog::export_to(const std::string& path, uint64_t from, uint64_t to) {
  auto txn = env->begin_read();
  REQUIRE(txn);
  auto s = export_log(*log, *txn, from, to, path);
  REQUIRE(s);
  return path;
}

std::vector<RawFrame> read_frames(const std::string& path) {
  auto r = ExportReader::open(path);
  REQUIRE(r);
  std::vector<RawFrame> out;
  while (true) {
    auto f = r->next();
    REQUIRE(f);
    if (!*f) break;
    out.push_back({(*f)->type, Bytes((*f)->data.begin(), (*f)->data.end())});
  }
  return out;
}

void write_frames(const std::string& path, const std::vector<RawFrame>& frames) {
  ::unlink(path.c_str());
  auto w = ExportWriter::create(path);
  REQUIRE(w);
  for (const auto& f : frames) REQUIRE(w->write_frame(f.type, f.data));
  REQUIRE(w->finish());
}

size_t entry_frame_index(const std::vector<RawFrame>& frames, uint64_t seq) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].type != FrameType::kEntry) continue;
    auto p = parse_entry_prefix(frames[i].data);
    if (p && p->seq == seq) return i;
  }
  FAIL("no entry " << seq);
  return 0;
}

}  // namespace gongshu::audit::testing
