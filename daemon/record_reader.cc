#include "daemon/record_reader.h"

#include <algorithm>
#include <set>

#include "core/crypto/aead.h"
#include "core/store/cursor.h"
#include "daemon/stored.pb.h"

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
  // token || dataset \0: what follows a partition number in every key of this subject in this
  // dataset. Each partition holds them in record-key order; the partitions are walked one after
  // another, keeping the `limit` smallest keys seen.
  if (limit == 0) return {};
  Bytes tail(token.begin(), token.end());
  append(tail, record_key_of(dataset, ""));
  std::set<std::string> out;
  auto cur = store_.db().subjects.cursor(txn_);
  uint64_t partition = 0;
  while (true) {
    Bytes probe;
    append_be64(probe, partition);
    append(probe, tail);
    append(probe, after);
    auto e = cur.seek(probe);
    if (!e || e->key.size() < 8) break;
    uint64_t found = get_be64(e->key.data());
    if (found != partition) {
      partition = found;  // the next partition there is: seek the subject in it
      continue;
    }
    for (; e; e = cur.next()) {
      ByteView key = e->key;
      if (key.size() < 8 + tail.size() || get_be64(key.data()) != partition ||
          !std::equal(tail.begin(), tail.end(), key.begin() + 8))
        break;
      std::string record_key(as_chars(key.subspan(8 + tail.size())));
      if (record_key == after) continue;
      // Later keys of this partition sort after this one: none of them can enter a full set.
      if (out.size() == limit && record_key >= *out.rbegin()) break;
      out.insert(std::move(record_key));
      if (out.size() > limit) out.erase(std::prev(out.end()));
    }
    if (partition == UINT64_MAX) break;
    ++partition;
  }
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
