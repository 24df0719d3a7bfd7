#include "daemon/record_reader.h"

#include <algorithm>
#include <set>

#include "core/crypto/aead.h"
#include "core/store/cursor.h"
#include "daemon/stored.pb.h"
#include "daemon/subject_index.h"

namespace gongshu::daemon {

Result<CurrentRecord> RecordReader::open(const std::string& dataset, std::string_view record_key,
                                         ByteView head_bytes) {
  const auto& db = store_.db();
  auto where = [&] { return "record " + std::string(record_key) + " of " + dataset; };
  stored::RecordHead head;
  if (!head.ParseFromArray(head_bytes.data(), static_cast<int>(head_bytes.size())))
    return fail(ErrorCode::kCorrupt, where() + ": stored head does not parse");
  auto vv = db.versions.get(txn_, head.current_version());
  stored::Version v;
  if (!vv || !v.ParseFromArray(vv->data(), static_cast<int>(vv->size())))
    return fail(ErrorCode::kCorrupt,
                where() + ": version " + std::to_string(head.current_version()) + " is missing");
  GONGSHU_TRY(const crypto::DataKey* key, store_.data_key(txn_, dataset));
  GONGSHU_TRY(Bytes plain,
              with_context(
                  crypto::aead_decrypt(*key, version_ad(v.agent_key_id(), v.batch_seq(), v.index()),
                                       as_bytes(v.sealed_record())),
                  where()));
  CurrentRecord out;
  if (!out.record.ParseFromArray(plain.data(), static_cast<int>(plain.size())))
    return fail(ErrorCode::kCorrupt, where() + ": stored record does not parse");
  out.record_key = std::string(record_key);
  out.version = head.current_version();
  out.valid = head.valid();
  return out;
}

Result<std::optional<CurrentRecord>> RecordReader::get(const std::string& dataset,
                                                       std::string_view record_key) {
  auto hv = store_.db().records.get(txn_, record_key_of(dataset, record_key));
  if (!hv) return std::optional<CurrentRecord>();
  GONGSHU_TRY(CurrentRecord r, open(dataset, record_key, *hv));
  return std::optional<CurrentRecord>(std::move(r));
}

Status RecordReader::scan(const std::string& dataset, std::string_view after,
                          bool include_invalidated, const Visit& visit) {
  const std::string prefix = record_key_of(dataset, "");
  const std::string start = record_key_of(dataset, after);
  auto cur = store_.db().records.cursor(txn_);
  for (auto e = cur.seek(as_bytes(start)); e; e = cur.next()) {
    std::string_view key = as_chars(e->key);
    if (key.substr(0, prefix.size()) != prefix) break;
    std::string_view record_key = key.substr(prefix.size());
    if (!after.empty() && record_key == after) continue;
    stored::RecordHead head;
    if (!include_invalidated && head.ParseFromArray(e->value.data(), int(e->value.size())) &&
        !head.valid())
      continue;
    GONGSHU_TRY(CurrentRecord r, open(dataset, record_key, e->value));
    if (!visit(std::move(r))) break;
  }
  return {};
}

std::vector<std::string> RecordReader::subject_record_keys(const crypto::Digest& token,
                                                           const std::string& dataset,
                                                           std::string_view after, size_t limit) {
  // token || dataset \0: what follows the prefix in every key of this subject in this dataset,
  // in the merged partitions and in the runs of the partition still filling.
  Bytes tail(token.begin(), token.end());
  append(tail, record_key_of(dataset, ""));
  std::set<std::string> out;
  const auto& db = store_.db();
  gather_subject_keys(txn_, db.subjects, tail, after, limit, out);
  gather_subject_keys(txn_, db.subject_runs, tail, after, limit, out);
  return {out.begin(), out.end()};
}

Status RecordReader::scan_subject(const crypto::Digest& token, const std::string& dataset,
                                  std::string_view after, bool include_invalidated,
                                  const Visit& visit) {
  constexpr size_t kChunk = 256;
  const auto& db = store_.db();
  std::string from(after);
  while (true) {
    std::vector<std::string> keys = subject_record_keys(token, dataset, from, kChunk);
    for (const std::string& record_key : keys) {
      auto hv = db.records.get(txn_, record_key_of(dataset, record_key));
      if (!hv) continue;
      stored::RecordHead head;
      if (!include_invalidated && head.ParseFromArray(hv->data(), int(hv->size())) && !head.valid())
        continue;
      GONGSHU_TRY(CurrentRecord r, open(dataset, record_key, *hv));
      if (!visit(std::move(r))) return {};
    }
    if (keys.size() < kChunk) return {};
    from = keys.back();
  }
}

}  // namespace gongshu::daemon
