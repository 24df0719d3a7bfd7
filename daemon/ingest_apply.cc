#include "daemon/ingest_apply.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "core/util/check.h"
#include "core/util/encoding.h"
#include "core/util/i18n.h"
#include "core/util/printable.h"
#include "daemon/delivery_stats.h"
#include "daemon/subject_index.h"
#include "daemon/version_encoding.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::daemon {

// What one group commit gathers in memory and writes once, at the end of its transaction: the
// datasets' counters, each touched record's latest head, the subject index entries and the
// batches (put once, with their receipts; a re-sent copy in the same group finds them here).
// Heads are read before the group is applied and written after it, and subject entries put, in
// key order through one cursor per table, so LMDB finds most keys' pages without descending from
// the root; a record updated twice in a group is written once.
struct GroupWrites {
  struct Head {
    std::string_view key;     // its store key (a view into a job)
    stored::RecordHead head;  // current_version 0: there is no such record yet
    bool changed = false;     // a version was stored: written back
  };
  uint64_t first_version = 1;  // the group's first
  uint64_t next_version = 1;
  std::unordered_map<std::string, const Job*> batches;  // stored by this group, by batch key
  std::map<std::string, stored::DatasetState, std::less<>> datasets;
  // Every record the group's jobs may store or invalidate (their accepted records), in key
  // order, with its head; each of those PreparedRecords knows its own (head_slot).
  std::vector<Head> heads;
  std::vector<ByteView> subjects;  // subject index entries, in runs (views into the jobs)
  DeliveryTally tally;             // the group's delivery counts (daemon/delivery_stats.h)
};

namespace {

constexpr std::string_view kNextVersionKey = "next_version";

// The next version the writer will number (1 in a new store).
uint64_t next_version_of(const store::Txn& txn, const DaemonStore::Tables& db) {
  auto v = db.meta.get(txn, kNextVersionKey);
  return v && v->size() == 8 ? get_be64(v->data()) : 1;
}

// Reads the head of every record the group may touch into writes, in key order through `cursor`,
// and tells each accepted record its head's slot.
void read_heads(const std::vector<JobPtr>& group, store::WriteCursor& cursor, GroupWrites& writes) {
  std::vector<PreparedRecord*> accepted;
  for (const auto& job : group) {
    if (job->refusal) continue;
    for (PreparedRecord& pr : job->records)
      if (pr.verdict.ok()) accepted.push_back(&pr);
  }
  std::sort(accepted.begin(), accepted.end(), [](const PreparedRecord* a, const PreparedRecord* b) {
    return a->stored_key < b->stored_key;
  });
  writes.heads.reserve(accepted.size());
  for (PreparedRecord* pr : accepted) {
    if (writes.heads.empty() || writes.heads.back().key != pr->stored_key) {
      GroupWrites::Head& h = writes.heads.emplace_back();
      h.key = pr->stored_key;
      if (auto e = cursor.find(as_bytes(h.key)))
        h.head.ParseFromArray(e->value.data(), static_cast<int>(e->value.size()));
    }
    pr->head_slot = static_cast<uint32_t>(writes.heads.size() - 1);
  }
}

// An audit entry of the agent's action on one batch: its principal and the batch it names.
v1::AuditEntry agent_entry(const Job& job, std::string_view action) {
  v1::AuditEntry e;
  e.mutable_principal()->set_key_id(job.agent_key_id);
  e.mutable_principal()->set_role("agent");
  e.mutable_principal()->set_agency(job.agency);
  e.set_action(std::string(action));
  auto* ref = e.add_refs();
  ref->set_kind("batch");
  ref->set_value(job.agent_key_id + "/" + std::to_string(job.seq));
  return e;
}

// Whether `key` (a store key, dataset \0 record key) is a current, valid record as the group has
// it so far: stored earlier in this batch (`here`: key -> valid), by an earlier job of the group
// (its head in writes.heads), or before the group (the records table, which the group writes
// only at its end).
bool current_record(const store::Txn& txn, const DaemonStore::Tables& db, const GroupWrites& writes,
                    const std::unordered_map<std::string_view, bool>& here, std::string_view key) {
  if (auto it = here.find(key); it != here.end()) return it->second;
  auto h =
      std::lower_bound(writes.heads.begin(), writes.heads.end(), key,
                       [](const GroupWrites::Head& a, std::string_view k) { return a.key < k; });
  if (h != writes.heads.end() && h->key == key)
    return h->head.current_version() != 0 && h->head.valid();
  auto v = db.records.get(txn, key);
  if (!v) return false;
  stored::RecordHead head;
  return head.ParseFromArray(v->data(), static_cast<int>(v->size())) && head.valid();
}

// R-12 reference rules: each field with one names a record of another dataset (or its own),
// which must be current when this record is stored. References resolve to records stored
// before it: in an earlier batch, an earlier job of the group, or earlier in its own batch.
void check_references(const store::Txn& txn, const DaemonStore::Tables& db,
                      const GroupWrites& writes,
                      const std::unordered_map<std::string_view, bool>& here, PreparedRecord& pr) {
  const catalog::DatasetSchema& schema = *pr.schema;
  for (int index : schema.reference_fields()) {
    const std::string& name = schema.entry().fields(index).name();
    for (const catalog::FieldView& f : pr.record.fields()) {
      if (f.name != name || f.kind != v1::FieldValue::kText) continue;
      const catalog::FieldRules& rules = schema.rules(index);
      if (current_record(txn, db, writes, here, record_key_of(rules.references(), f.bytes))) break;
      pr.verdict = catalog::Verdict::refusal(v1::RECORD_STATUS_QUALITY, name,
                                             "record '" + printable(pr.record.record_key()) +
                                                 "': " + rules.reference_missing(f.bytes));
      return;
    }
  }
}

}  // namespace

// Outside the anonymous namespace: ingest_apply.h declares it for IngestWriter's signatures.

Status IngestWriter::audit_summaries(store::WriteTxn& txn, const NetRefusals& counted,
                                     std::vector<audit::Appended>* appended) {
  const int64_t now = store.clock().now_ms();
  auto entry = [&](const std::string& key, std::string_view action) {
    v1::AuditEntry e;
    e.mutable_principal()->set_key_id(key);
    e.mutable_principal()->set_role("agent");
    if (auto id = directory.by_key_id(key)) e.mutable_principal()->set_agency(id->agency);
    e.set_action(std::string(action));
    e.set_decision(v1::DECISION_DENY);
    e.set_purpose("aggregation per catalog (R-10)");  // i18n-exempt: audit entry
    return e;
  };
  // Frames the net thread answered or dropped without a job: the first of a key's minute in an
  // entry of their own, like refused batches, the rest into its summary.
  for (const auto& [key, kinds] : counted) {
    for (const auto& [kind, n] : kinds) {
      const bool own_entry = n == 1 && digest.note(key, kind, now, 1);
      if (!own_entry && n > 1) digest.note(key, kind, now, n);
      if (!own_entry) continue;
      v1::AuditEntry e = entry(key, "ingest_refused");
      e.set_detail(kind);
      GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
      if (appended) appended->push_back(a);
    }
  }
  if (!digest.any_due(now)) return {};
  for (const RefusalDigest::Summary& s : digest.due(now)) {
    v1::AuditEntry e = entry(s.key, "ingest_refused_summary");
    e.set_record_count(s.total);
    e.set_detail(RefusalDigest::describe(s));
    GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
    if (appended) appended->push_back(a);
    counters.summaries.fetch_add(1, std::memory_order_relaxed);
  }
  return {};
}

Status IngestWriter::refuse(store::WriteTxn& txn, Job& job,
                            std::vector<audit::Appended>& appended) {
  const std::string kind = v1::BatchErrorCode_Name(job.refusal->code);
  if (digest.note(job.agent_key_id, kind, store.clock().now_ms())) {
    v1::AuditEntry e = agent_entry(job, "ingest_refused");
    e.set_decision(v1::DECISION_DENY);
    e.set_purpose("aggregation per catalog (R-10)");  // i18n-exempt: audit entry
    e.set_detail(kind + ": " + job.refusal->message);
    GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
    appended.push_back(a);
  } else {
    appended.push_back(audit::Appended{});  // summarised: one slot per job all the same
  }
  job.ack.Clear();
  job.ack.set_batch_seq(job.seq);
  job.ack.set_error(job.refusal->code);
  job.ack.set_error_message(job.refusal->message);
  return {};
}

Result<bool> IngestWriter::answer_if_seen(store::WriteTxn& txn, Job& job, const GroupWrites& writes,
                                          const std::string& bkey,
                                          std::vector<audit::Appended>& appended) {
  std::string first_hash;
  const Job* in_group = nullptr;
  stored::Batch earlier;
  if (auto it = writes.batches.find(bkey); it != writes.batches.end()) {
    in_group = it->second;
    first_hash.assign(in_group->batch_hash.begin(), in_group->batch_hash.end());
  } else if (auto existing = store.db().batches.get(txn, as_bytes(bkey))) {
    if (!earlier.ParseFromArray(existing->data(), static_cast<int>(existing->size()))) {
      return fail(ErrorCode::kCorrupt,  // i18n-exempt: a reason (the caller's lead-in)
                  "stored batch " + job.agent_key_id + "/" +         // i18n-exempt
                      std::to_string(job.seq) + " does not parse");  // i18n-exempt
    }
    first_hash = earlier.batch_hash();
  } else {
    return false;
  }
  if (first_hash != std::string(job.batch_hash.begin(), job.batch_hash.end())) {
    set_refusal(job, v1::BATCH_SEQ_CONFLICT,
                "batch " + std::to_string(job.seq) +
                    " was already stored with different content");  // i18n-exempt: protocol
    GONGSHU_RETURN_IF_ERROR(refuse(txn, job, appended));
    return true;
  }
  // A re-sent batch: answer with what was stored; record the replay (summarised when a key
  // re-sends more than a few a minute).
  if (digest.note(job.agent_key_id, "duplicate", store.clock().now_ms())) {
    v1::AuditEntry e = agent_entry(job, "ingest_duplicate");
    e.set_detail("re-sent batch answered with its stored receipt; nothing stored");  // i18n-exempt
    GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
    appended.push_back(a);
  } else {
    appended.push_back(audit::Appended{});
  }
  job.ack.Clear();
  job.ack.set_batch_seq(job.seq);
  job.ack.set_duplicate(true);
  if (in_group) {
    job.copy_of = in_group;  // its answer is complete once the group's receipts are made
  } else {
    job.ack.set_accepted(earlier.accepted());
    *job.ack.mutable_statuses() = earlier.statuses();
    *job.ack.mutable_receipt() = earlier.receipt();
  }
  return true;
}

Status IngestWriter::apply(store::WriteTxn& txn, Job& job, GroupWrites& writes,
                           std::vector<audit::Appended>& appended) {
  const auto& db = store.db();
  int64_t now = store.clock().now_ms();
  const std::string bkey(as_chars(batch_key_of(job.agent_key_id, job.seq)));
  GONGSHU_TRY(bool seen, answer_if_seen(txn, job, writes, bkey, appended));
  if (seen) return {};
  // A key revoked after its job was prepared is refused here, in the transaction that would
  // store the batch: once a revocation commits, nothing more is stored under the key, which is
  // what makes agent_batches_stored's answer final (daemon/agent_batches.h).
  if (auto p = db.principals.get(txn, job.agent_key_id)) {
    stored::Principal principal;
    if (principal.ParseFromArray(p->data(), static_cast<int>(p->size())) && principal.revoked()) {
      set_refusal(job, v1::BATCH_KEY_MISMATCH,
                  "agent key " + job.agent_key_id + " is revoked");  // i18n-exempt: protocol
      return refuse(txn, job, appended);
    }
  }

  // Versions are numbered before the audit entry is written, so the entry can name them.
  std::vector<PreparedRecord*> to_store;
  job.ack.Clear();
  job.ack.set_batch_seq(job.seq);
  // A record's head as this group has it (read_heads read every accepted record's).
  auto head_of = [&](const PreparedRecord& pr) -> GroupWrites::Head& {
    GONGSHU_CHECK(pr.head_slot < writes.heads.size() &&
                  writes.heads[pr.head_slot].key == pr.stored_key);
    return writes.heads[pr.head_slot];
  };
  // Records accepted earlier in this batch, and whether they stand (an upsert) or not (an
  // invalidation): they exist for an invalidation, and a reference, that follows them (kept
  // only when the batch has an invalidation or a reference rule).
  std::unordered_map<std::string_view, bool> accepted_here;
  const bool track_here =
      std::any_of(job.records.begin(), job.records.end(), [](const PreparedRecord& pr) {
        return pr.verdict.ok() && (pr.record.op() == v1::RECORD_OP_INVALIDATE ||
                                   (pr.schema && !pr.schema->reference_fields().empty()));
      });
  writes.tally.begin_batch(job);
  std::string dataset_name;
  bool mixed = false;
  for (auto& pr : job.records) {
    if (pr.verdict.ok() && pr.record.op() == v1::RECORD_OP_INVALIDATE) {
      bool exists = accepted_here.count(pr.stored_key) || head_of(pr).head.current_version() != 0;
      if (!exists)
        pr.verdict = catalog::Verdict::refusal(
            v1::RECORD_STATUS_NOT_FOUND, "record_key",
            "no record '" + std::string(pr.record.record_key()) +  // i18n-exempt: protocol
                "' to invalidate");                                // i18n-exempt: protocol
    }
    if (pr.verdict.ok() && pr.record.op() == v1::RECORD_OP_UPSERT && pr.schema &&
        !pr.schema->reference_fields().empty())
      check_references(txn, db, writes, accepted_here, pr);
    if (!pr.verdict.ok()) {
      writes.tally.refused(txn, db, pr);
      auto* st = job.ack.add_statuses();
      st->set_index(pr.index);
      st->set_code(pr.verdict.code);
      st->set_field(pr.verdict.field);
      st->set_reason(pr.verdict.reason);
      continue;
    }
    to_store.push_back(&pr);
    if (track_here) accepted_here[pr.stored_key] = pr.record.op() != v1::RECORD_OP_INVALIDATE;
    if (dataset_name.empty()) dataset_name = pr.record.dataset();
    if (dataset_name != pr.record.dataset()) mixed = true;
  }
  uint64_t first_version = writes.next_version;

  v1::AuditEntry e = agent_entry(job, "ingest");
  e.set_dataset(mixed ? "*" : dataset_name);
  e.set_purpose("aggregation per catalog (R-10)");  // i18n-exempt: audit entry
  e.set_policy_rule("ingest.provider");
  e.set_decision(v1::DECISION_ALLOW);
  e.set_record_count(to_store.size());
  auto* ref = e.add_refs();
  ref->set_kind("batch_hash");
  ref->set_value(hex_encode(job.batch_hash));
  if (!to_store.empty()) {
    ref = e.add_refs();
    ref->set_kind("versions");
    ref->set_value(std::to_string(first_version) + "-" +
                   std::to_string(first_version + to_store.size() - 1));
  }
  e.set_detail(std::to_string(to_store.size()) + " accepted, " +
               std::to_string(job.ack.statuses_size()) + " rejected");
  GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
  appended.push_back(a);

  for (PreparedRecord* pr : to_store) {
    const catalog::RecordView& r = pr->record;
    uint64_t version = writes.next_version++;
    GroupWrites::Head& written = head_of(*pr);
    written.changed = true;
    stored::RecordHead& head = written.head;
    auto ds_it = writes.datasets.find(r.dataset());
    if (ds_it == writes.datasets.end()) {
      ds_it = writes.datasets.emplace(std::string(r.dataset()), stored::DatasetState()).first;
      if (auto v = db.datasets.get(txn, r.dataset()))
        ds_it->second.ParseFromArray(v->data(), static_cast<int>(v->size()));
    }
    stored::DatasetState& ds = ds_it->second;
    bool invalidation = r.op() == v1::RECORD_OP_INVALIDATE;
    if (head.current_version() == 0) ds.set_records(ds.records() + 1);
    if (invalidation && head.valid()) ds.set_invalidated(ds.invalidated() + 1);
    if (!invalidation && head.current_version() != 0 && !head.valid())
      ds.set_invalidated(ds.invalidated() - 1);
    ds.set_versions(ds.versions() + 1);

    pr->version_bytes.resize(pr->version_head_size);
    append_version_tail(pr->version_bytes, now, a.seq, head.current_version());
    GONGSHU_RETURN_IF_ERROR(db.versions.append(txn, version, as_bytes(pr->version_bytes)));

    writes.tally.stored(txn, db, *pr, version);
    head.set_current_version(version);
    head.set_valid(!invalidation);
    head.set_versions(head.versions() + 1);
    if (!pr->subject_key.empty()) {
      set_subject_prefix(pr->subject_key, subject_run_start(writes.first_version, version));
      writes.subjects.push_back(pr->subject_key);
    }
  }
  job.ack.set_accepted(static_cast<uint32_t>(to_store.size()));
  writes.tally.end_batch(now);

  if (!job.stored) {
    // The header (a hash per record) moves from the opened batch, which needs it no more: both
    // live on the job's arena, so this is a pointer swap, not a copy. Done once, so a retried
    // transaction finds it here.
    job.stored = google::protobuf::Arena::CreateMessage<stored::Batch>(&job.arena);
    job.stored->mutable_header()->Swap(job.batch.header);
    job.stored->set_signature(job.batch.signature.data(), job.batch.signature.size());
  }
  stored::Batch& b = *job.stored;
  b.clear_receipt();
  *b.mutable_statuses() = job.ack.statuses();
  b.set_accepted(job.ack.accepted());
  b.set_batch_hash(job.batch_hash.data(), job.batch_hash.size());
  b.set_first_version(first_version);
  // Put by commit_group with its receipt, once the whole group is appended.
  writes.batches.emplace(bkey, &job);

  if (auto p = db.principals.get(txn, job.agent_key_id)) {
    stored::Principal principal;
    if (principal.ParseFromArray(p->data(), static_cast<int>(p->size()))) {
      principal.set_last_seen_ms(now);
      principal.set_batches(principal.batches() + 1);
      principal.set_last_batch_seq(std::max(principal.last_batch_seq(), job.seq));
      GONGSHU_RETURN_IF_ERROR(
          db.principals.put(txn, job.agent_key_id, as_bytes(principal.SerializeAsString())));
    }
  }
  return {};
}

bool IngestWriter::commit_group(std::vector<JobPtr>& group, const NetRefusals& counted) {
  const auto& db = store.db();
  // As in idle(): a transaction that fails puts the digest back, so no refusal it counted or
  // summarised is lost with it.
  RefusalDigest kept = digest;
  std::vector<audit::Appended> appended;
  auto t_start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point t_built;
  auto status = store.env().update([&](store::WriteTxn& txn) -> Status {
    appended.clear();
    GroupWrites writes;
    size_t records = 0;
    for (const auto& job : group) records += job->records.size();
    writes.subjects.reserve(records);
    auto heads = db.records.write_cursor(txn);
    read_heads(group, heads, writes);
    writes.next_version = writes.first_version = next_version_of(txn, db);
    for (auto& job : group) {
      job->ack.Clear();
      job->copy_of = nullptr;
      if (job->refusal) {
        GONGSHU_RETURN_IF_ERROR(refuse(txn, *job, appended));
      } else {
        GONGSHU_RETURN_IF_ERROR(apply(txn, *job, writes, appended));
      }
    }
    GONGSHU_RETURN_IF_ERROR(writes.tally.write(txn, db, store.clock().now_ms()));
    for (auto& [name, ds] : writes.datasets) {
      GONGSHU_RETURN_IF_ERROR(db.datasets.put(txn, name, as_bytes(ds.SerializeAsString())));
    }
    {
      std::string bytes;
      for (const GroupWrites::Head& h : writes.heads) {
        if (!h.changed) continue;
        bytes.clear();
        h.head.AppendToString(&bytes);
        GONGSHU_RETURN_IF_ERROR(heads.put_ascending(as_bytes(h.key), as_bytes(bytes)));
      }
    }
    {
      // The group's subject entries: a run at the end of the runs, or into the partition the
      // group closed, if it closed one.
      GONGSHU_RETURN_IF_ERROR(write_subject_entries(
          txn, db.subject_runs, db.subjects, std::move(writes.subjects), writes.next_version));
    }
    uint8_t nv[8];
    put_be64(nv, writes.next_version);
    GONGSHU_RETURN_IF_ERROR(db.meta.put(txn, kNextVersionKey, ByteView(nv, 8)));
    // Receipts name the tree after every append of this commit.
    std::string bytes;
    for (size_t i = 0; i < group.size(); ++i) {
      Job& job = *group[i];
      if (job.refusal || job.ack.duplicate()) continue;
      *job.ack.mutable_receipt() = store.audit().receipt(txn, job.batch_hash, appended[i]);
      *job.stored->mutable_receipt() = job.ack.receipt();
      bytes.clear();
      job.stored->AppendToString(&bytes);
      GONGSHU_RETURN_IF_ERROR(
          db.batches.put(txn, batch_key_of(job.agent_key_id, job.seq), as_bytes(bytes)));
    }
    for (auto& job : group) {
      if (!job->copy_of) continue;
      job->ack.set_accepted(job->copy_of->ack.accepted());
      *job->ack.mutable_statuses() = job->copy_of->ack.statuses();
      *job->ack.mutable_receipt() = job->copy_of->ack.receipt();
    }
    GONGSHU_RETURN_IF_ERROR(audit_summaries(txn, counted, nullptr));
    GONGSHU_RETURN_IF_ERROR(store.audit().checkpoint_if_due(txn));
    t_built = std::chrono::steady_clock::now();
    return {};
  });
  auto t_end = std::chrono::steady_clock::now();
  if (!status) digest = std::move(kept);
  auto ns = [](auto d) {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  };
  if (status) {
    counters.apply_ns.fetch_add(ns(t_built - t_start), std::memory_order_relaxed);
    counters.commit_ns.fetch_add(ns(t_end - t_built), std::memory_order_relaxed);
  }
  counters.commits.fetch_add(1, std::memory_order_relaxed);
  note_store(status);
  uint64_t group_accepted = 0;
  for (auto& job : group) {
    if (!status) {
      // Nothing was stored; the agent keeps the batch and resends it.
      job->ack.Clear();
      job->ack.set_batch_seq(job->seq);
      job->ack.set_error(v1::BATCH_INTERNAL);
      job->ack.set_error_message("daemon could not store the batch: " +  // i18n-exempt: protocol
                                 status.error().message());
      continue;
    }
    if (job->refusal && job->ack.error() != v1::BATCH_OK) {
      counters.refused.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counters.batches.fetch_add(1, std::memory_order_relaxed);
    if (job->ack.duplicate()) {
      counters.duplicates.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters.accepted.fetch_add(job->ack.accepted(), std::memory_order_relaxed);
      group_accepted += job->ack.accepted();
      counters.rejected.fetch_add(static_cast<uint64_t>(job->ack.statuses_size()),
                                  std::memory_order_relaxed);
    }
  }
  if (group_accepted > 0) counters.accepted_window.add(group_accepted);
  return static_cast<bool>(status);
}

void IngestWriter::note_store(const Status& commit) {
  const bool full = !commit && commit.error().code() == ErrorCode::kResourceExhausted;
  if (full) {
    ++full_commits_;
    if (store_full_) return;
    store_full_ = true;
    full_commits_ = 1;
    const auto now = std::chrono::steady_clock::now();
    full_logged_ = log && (last_full_line_ == std::chrono::steady_clock::time_point{} ||
                           now - last_full_line_ >= std::chrono::minutes(1));
    if (!full_logged_) return;
    last_full_line_ = now;
    const store::EnvInfo info = store.env().info();
    const std::string map = std::to_string(info.map_size);
    const std::string used = std::to_string(info.used_bytes);
    log->warning(trf("store is full: its map of {} bytes is used up ({} bytes); batches are "
                     "refused and the agents keep them to resend — raise [limits] map_size_mb "
                     "(or free the disk) and restart ({})",
                     map, used, commit.error().message()),
                 {{"GONGSHU_EVENT", "store_full"},
                  {"GONGSHU_MAP_BYTES", map},
                  {"GONGSHU_USED_BYTES", used}});
    return;
  }
  if (!commit || !store_full_) return;  // another failure says nothing of the space
  store_full_ = false;
  if (!full_logged_) return;
  const store::EnvInfo info = store.env().info();
  log->notice(trf("store has room again: batches are stored ({} commits were refused while it "
                  "was full)",
                  full_commits_),
              {{"GONGSHU_EVENT", "store_recovered"},
               {"GONGSHU_MAP_BYTES", std::to_string(info.map_size)},
               {"GONGSHU_USED_BYTES", std::to_string(info.used_bytes)},
               {"GONGSHU_REFUSED_COMMITS", std::to_string(full_commits_)}});
}

Status IngestWriter::idle(const NetRefusals& counted) {
  // Audit refusal summaries that are due, sign a checkpoint if entries have waited long enough,
  // and merge a closed partition's subject runs if a group that closed two left one. The digest
  // changes as the entries are written; if the transaction fails it is put back as it was, so
  // the summaries it owed are written by a later pass instead of lost with this one.
  RefusalDigest kept = digest;
  auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(audit_summaries(txn, counted, nullptr));
    GONGSHU_RETURN_IF_ERROR(store.audit().checkpoint_if_due(txn));
    return write_subject_entries(txn, store.db().subject_runs, store.db().subjects, {},
                                 next_version_of(txn, store.db()))
        .map([](size_t) {});
  });
  if (!s) digest = std::move(kept);
  return s;
}

}  // namespace gongshu::daemon
