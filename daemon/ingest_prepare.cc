#include "daemon/ingest_prepare.h"

#include <map>
#include <string>

#include "core/catalog/validate.h"
#include "core/util/encoding.h"
#include "core/wire/codec.h"
#include "daemon/protobuf_log.h"
#include "daemon/subject_index.h"
#include "daemon/version_encoding.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::daemon {

void prepare_batch(const PrepareContext& ctx, Job& job) {
  DaemonStore& store = ctx.store;
  CatalogView& catalog = ctx.catalog;
  AgentActivityMap& activity = ctx.activity;
  const batch::Limits& limits = ctx.limits;
  const Clock& clock = store.clock();
  auto identity = ctx.directory.by_key_id(job.agent_key_id);
  if (!identity || identity->role != "agent") {
    return set_refusal(job, v1::BATCH_KEY_MISMATCH, "connection is not an enrolled agent");
  }
  if (identity->revoked)
    return set_refusal(job, v1::BATCH_KEY_MISMATCH,
                       "agent key " + job.agent_key_id + " is revoked");
  job.agency = identity->agency;
  activity.seen(job.agent_key_id, clock.now_ms());

  v1::SealedBatch sealed;
  if (auto s = wire::decode(job.payload, limits.max_batch_bytes + 4096, sealed); !s) {
    return set_refusal(job, v1::BATCH_MALFORMED,
                       "frame is not a SealedBatch: " + s.error().message());
  }
  if (sealed.has_reported_backlog())
    activity.backlog(job.agent_key_id, sealed.reported_backlog(), clock.now_ms());
  job.seq = sealed.batch_seq();
  job.payload.clear();
  job.payload.shrink_to_fit();
  // A batch sealed before its agent learnt of a daemon key rotation opens with the old key.
  const crypto::IdentityKey* recipient = &store.daemon_key();
  auto opened = batch::open_batch(*recipient, sealed, limits, job.arena);
  if (!opened && store.previous_daemon_key()) {
    if (auto again = batch::open_batch(*store.previous_daemon_key(), sealed, limits, job.arena)) {
      opened = std::move(again);
      recipient = store.previous_daemon_key();
    }
  }
  if (!opened) return set_refusal(job, opened.error().code, opened.error().message);
  job.batch = std::move(*opened);
  auto hash =
      batch::verify_batch(job.batch, job.seq, identity->key, recipient->public_key(), limits);
  if (!hash) return set_refusal(job, hash.error().code, hash.error().message);
  job.batch_hash = *hash;
  if (job.batch.header->agency() != identity->agency) {
    return set_refusal(job, v1::BATCH_KEY_MISMATCH,
                       "batch claims agency '" + job.batch.header->agency() +
                           "' but the key belongs to '" + identity->agency + "'");
  }

  // Protobuf's complaints about this batch's records (when a record is not read in place) are
  // one log line for the batch, not one per record.
  ProtobufLogBatch protobuf_log(job.agent_key_id + "/" + std::to_string(job.seq));
  auto snapshot = catalog.snapshot();
  job.catalog = snapshot;
  auto txn = store.env().begin_read();  // for the datasets' data keys
  std::map<std::string, const crypto::DataKey*, std::less<>> keys;
  job.records.reserve(job.batch.records.size());
  for (size_t i = 0; i < job.batch.records.size(); ++i) {
    PreparedRecord& pr = job.records.emplace_back(&job.memory);
    pr.index = static_cast<uint32_t>(i);
    const std::string_view bytes = job.batch.records[i];
    if (!catalog::RecordView::parse(bytes, job.arena, pr.record)) {
      pr.verdict =
          catalog::Verdict::refusal(v1::RECORD_STATUS_MALFORMED, "", "record bytes do not parse");
      continue;
    }
    auto it = snapshot->find(pr.record.dataset());
    if (it == snapshot->end()) {
      pr.verdict = catalog::Verdict::refusal(
          v1::RECORD_STATUS_UNKNOWN_DATASET, "",
          "dataset '" + std::string(pr.record.dataset()) + "' is not in the catalog");
      continue;
    }
    const catalog::DatasetSchema& schema = it->second;
    pr.schema = &schema;
    if (schema.entry().status() != "approved") {
      pr.verdict =
          catalog::Verdict::refusal(v1::RECORD_STATUS_DATASET_NOT_APPROVED, "",
                                    "dataset '" + schema.id() + "' is " + schema.entry().status());
      continue;
    }
    if (schema.entry().provider_agency() != job.agency) {
      pr.verdict = catalog::Verdict::refusal(v1::RECORD_STATUS_NOT_PROVIDER, "",
                                             "agency '" + job.agency +
                                                 "' is not the provider of '" + schema.id() +
                                                 "' (" + schema.entry().provider_agency() + ")");
      continue;
    }
    pr.verdict = catalog::validate_record(schema, pr.record, clock, &pr.present);
    pr.stored_key = record_key_of(pr.record.dataset(), pr.record.record_key(), &job.memory);
    if (pr.verdict.ok()) {
      auto key = keys.find(schema.id());
      if (key == keys.end()) {
        auto k = txn ? store.data_key(*txn, schema.id())
                     : Result<const crypto::DataKey*>(tl::unexpected(txn.error()));
        if (!k) {
          pr.verdict =
              catalog::Verdict::refusal(v1::RECORD_STATUS_DATASET_NOT_APPROVED, "",
                                        "dataset '" + schema.id() + "' has no data key yet");
          continue;
        }
        key = keys.emplace(schema.id(), *k).first;
      }
      const VersionHead head{.dataset = pr.record.dataset(),
                             .record_key = pr.record.record_key(),
                             .agency = job.agency,
                             .agent_key_id = job.agent_key_id,
                             .batch_seq = job.seq,
                             .index = pr.index,
                             .invalidation = pr.record.op() == v1::RECORD_OP_INVALIDATE,
                             .record_hash = job.batch.header->record_hashes(static_cast<int>(i))};
      pr.version_bytes.reserve(version_head_capacity(head, bytes.size()) + kVersionTailCapacity);
      append_version_head(pr.version_bytes, head, *key->second,
                          version_ad(job.agent_key_id, job.seq, pr.index), as_bytes(bytes));
      pr.version_head_size = pr.version_bytes.size();
    }
    // Indexed under its canonical form, as validation found it.
    if (pr.verdict.ok() && !pr.verdict.subject.empty())
      pr.subject_key =
          subject_key(0, store.subject_token(pr.verdict.subject), pr.stored_key, &job.memory);
  }
}

}  // namespace gongshu::daemon
