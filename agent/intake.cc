#include "agent/intake.h"

#include <sys/stat.h>

#include <bit>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/resident.h"
#include "core/batch/batch.h"

namespace gongshu::agent {

Status Intake::refresh_catalog() {
  GONGSHU_TRY(store::ReadTxn txn, spool_.env().begin_read());
  uint64_t gen = spool_.get_u64(txn, kCatalogGeneration);
  if (catalog_loaded_ && gen == catalog_.generation()) return {};
  GONGSHU_TRY(catalog_, CatalogCache::load(spool_, txn));
  catalog_loaded_ = true;
  return {};
}

namespace {

// Protobuf wire encoding, for serialize_record below: sizes first, then the bytes written into
// a string of exactly that size.
size_t varint_size(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}
uint64_t zigzag64(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
uint32_t zigzag32(int32_t v) { return (uint32_t(v) << 1) ^ uint32_t(v >> 31); }
size_t bytes_size(const std::string& s) { return 1 + varint_size(s.size()) + s.size(); }

struct WireWriter {
  char* p;
  void byte(int b) { *p++ = static_cast<char>(b); }
  void varint(uint64_t v) {
    for (; v >= 0x80; v >>= 7) byte(static_cast<int>((v & 0x7F) | 0x80));
    byte(static_cast<int>(v));
  }
  void bytes(int number, const std::string& s) {
    byte(number << 3 | 2);
    varint(s.size());
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

size_t value_size(const v1::FieldValue& v) {
  switch (v.kind_case()) {
    case v1::FieldValue::kText:
      return bytes_size(v.text());
    case v1::FieldValue::kInteger:
      return 1 + varint_size(zigzag64(v.integer()));
    case v1::FieldValue::kReal:
      return 1 + 8;
    case v1::FieldValue::kBoolean:
      return 1 + 1;
    case v1::FieldValue::kBlob:
      return bytes_size(v.blob());
    case v1::FieldValue::kDateDays:
      return 1 + varint_size(zigzag32(v.date_days()));
    case v1::FieldValue::kTimestampMs:
      return 1 + varint_size(zigzag64(v.timestamp_ms()));
    case v1::FieldValue::KIND_NOT_SET:
      break;
  }
  return 0;
}

void put_value(WireWriter& w, const v1::FieldValue& v) {
  switch (v.kind_case()) {
    case v1::FieldValue::kText:
      return w.bytes(1, v.text());
    case v1::FieldValue::kInteger:
      w.byte(2 << 3);
      return w.varint(zigzag64(v.integer()));
    case v1::FieldValue::kReal: {
      static_assert(std::endian::native == std::endian::little);
      w.byte(3 << 3 | 1);
      const double d = v.real();
      std::memcpy(w.p, &d, 8);
      w.p += 8;
      return;
    }
    case v1::FieldValue::kBoolean:
      w.byte(4 << 3);
      return w.byte(v.boolean() ? 1 : 0);
    case v1::FieldValue::kBlob:
      return w.bytes(5, v.blob());
    case v1::FieldValue::kDateDays:
      w.byte(6 << 3);
      return w.varint(zigzag32(v.date_days()));
    case v1::FieldValue::kTimestampMs:
      w.byte(7 << 3);
      return w.varint(zigzag64(v.timestamp_ms()));
    case v1::FieldValue::KIND_NOT_SET:
      return;
  }
}

size_t field_size(const v1::Field& f) {
  size_t n = f.name().empty() ? 0 : bytes_size(f.name());
  if (f.has_value()) {
    const size_t v = value_size(f.value());
    n += 1 + varint_size(v) + v;
  }
  return n;
}

size_t record_size(const v1::Record& r) {
  size_t n = 0;
  if (!r.dataset().empty()) n += bytes_size(r.dataset());
  if (!r.record_key().empty()) n += bytes_size(r.record_key());
  if (r.op() != 0) n += 1 + varint_size(static_cast<uint64_t>(static_cast<int64_t>(r.op())));
  for (const v1::Field& f : r.fields()) {
    const size_t s = field_size(f);
    n += 1 + varint_size(s) + s;
  }
  if (!r.subject_id().empty()) n += bytes_size(r.subject_id());
  if (r.observed_at_ms() != 0) n += 1 + varint_size(zigzag64(r.observed_at_ms()));
  if (!r.invalidate_reason().empty()) n += bytes_size(r.invalidate_reason());
  return n;
}

bool has_unknown_fields(const google::protobuf::Message& m) {
  return !m.GetReflection()->GetUnknownFields(m).empty();
}

}  // namespace

bool serialize_record(const v1::Record& r, std::string& out) {
  bool unknown = has_unknown_fields(r);
  for (const v1::Field& f : r.fields()) {
    unknown = unknown || has_unknown_fields(f) || (f.has_value() && has_unknown_fields(f.value()));
  }
  if (unknown) return r.SerializeToString(&out);
  const size_t size = record_size(r);
  if (size > size_t{INT32_MAX}) return false;
  out.resize(size);
  WireWriter w{out.data()};
  if (!r.dataset().empty()) w.bytes(1, r.dataset());
  if (!r.record_key().empty()) w.bytes(2, r.record_key());
  if (r.op() != 0) {
    w.byte(3 << 3);
    w.varint(static_cast<uint64_t>(static_cast<int64_t>(r.op())));
  }
  for (const v1::Field& f : r.fields()) {
    w.byte(4 << 3 | 2);
    w.varint(field_size(f));
    if (!f.name().empty()) w.bytes(1, f.name());
    if (f.has_value()) {
      w.byte(2 << 3 | 2);
      w.varint(value_size(f.value()));
      put_value(w, f.value());
    }
  }
  if (!r.subject_id().empty()) w.bytes(5, r.subject_id());
  if (r.observed_at_ms() != 0) {
    w.byte(6 << 3);
    w.varint(zigzag64(r.observed_at_ms()));
  }
  if (!r.invalidate_reason().empty()) w.bytes(7, r.invalidate_reason());
  return w.p == out.data() + out.size();
}

// A rejection's reason is stored with the record in the spool and sent to an ipc client: English
// whatever the agent's language (po/README.md); `gongshu-agent rejected list` shows its code's
// class in the reader's language beside it (core/util/refusal_text.h).
catalog::Verdict Intake::add(v1::Record& record, const std::string& source) {
  catalog::Verdict v;
  const catalog::DatasetSchema* schema = catalog_.find(record.dataset());
  if (!schema) {
    v = catalog::Verdict::refusal(
        v1::RECORD_STATUS_UNKNOWN_DATASET, "dataset",
        "dataset '" + record.dataset() +
            "' is not in the cached catalog of this agency");  // i18n-exempt: stored reason
  } else if (auto refused = catalog_.refused_state(*schema)) {
    v = catalog::Verdict::refusal(v1::RECORD_STATUS_DATASET_NOT_APPROVED, "dataset", *refused);
  } else {
    catalog::normalize_record(*schema, record, clock_);
    v = catalog::validate_record(*schema, record, clock_);
  }
  if (record.observed_at_ms() == 0) record.set_observed_at_ms(clock_.now_ms());
  std::string bytes;
  if (v.ok() && !serialize_record(record, bytes)) {
    v = catalog::Verdict::refusal(v1::RECORD_STATUS_MALFORMED, "",
                                  "the record cannot be serialised");  // i18n-exempt: stored
  }
  if (v.ok() && bytes.size() > batch::Limits{}.max_record_bytes) {
    v = catalog::Verdict::refusal(v1::RECORD_STATUS_MALFORMED, "",
                                  "record of " + std::to_string(bytes.size()) +  // i18n-exempt
                                      " bytes exceeds the limit of " +  // i18n-exempt: stored
                                      std::to_string(batch::Limits{}.max_record_bytes));
  }
  if (!v.ok()) {
    agentpb::RejectedRecord r;
    r.set_time_ms(clock_.now_ms());
    r.set_source(source);
    r.set_dataset(record.dataset());
    r.set_record_key(record.record_key());
    r.set_code(v.code);
    r.set_field(v.field);
    r.set_reason(v.reason);
    if (record.SerializeToString(r.mutable_record())) queued_bytes_ += r.record().size();
    rejected_.push_back(std::move(r));
    return v;
  }
  agentpb::PendingRecord p;
  queued_bytes_ += bytes.size() + source.size();
  *p.mutable_record() = std::move(bytes);
  p.set_source(source);
  p.set_accepted_at_ms(clock_.now_ms());
  accepted_.push_back(std::move(p));
  return v;
}

void Intake::add_rejection(const std::string& dataset, v1::RecordStatusCode code,
                           const std::string& field, const std::string& reason,
                           const std::string& source, const std::string& raw) {
  agentpb::RejectedRecord r;
  r.set_time_ms(clock_.now_ms());
  r.set_source(source);
  r.set_dataset(dataset);
  r.set_code(code);
  r.set_field(field);
  r.set_reason(reason);
  r.set_raw(raw.substr(0, kMaxRawKept));
  queued_bytes_ += r.raw().size();
  rejected_.push_back(std::move(r));
}

Status Intake::commit(const std::function<Status(store::WriteTxn&)>& extra) {
  if (accepted_.empty() && rejected_.empty() && !extra) return {};
  GONGSHU_RETURN_IF_ERROR(spool_.env().update([&](store::WriteTxn& txn) -> Status {
    // The sequence numbers the writer assigns are the batcher's business, not intake's.
    // One key derivation for all its records, in segments of [batch] max_records (agent/spool.h).
    auto writer = spool_.pending_writer(txn);
    for (const auto& p : accepted_) GONGSHU_RETURN_IF_ERROR(writer.append(p));
    GONGSHU_RETURN_IF_ERROR(writer.finish());
    for (const auto& r : rejected_) GONGSHU_RETURN_IF_ERROR(spool_.add_rejected(txn, r));
    GONGSHU_RETURN_IF_ERROR(spool_.add_u64(txn, kCountAccepted, accepted_.size()));
    if (extra) GONGSHU_RETURN_IF_ERROR(extra(txn));
    return {};
  }));
  accepted_.clear();
  rejected_.clear();
  queued_bytes_ = 0;
  return {};
}

void Intake::discard() {
  accepted_.clear();
  rejected_.clear();
  queued_bytes_ = 0;
}

std::string file_progress_key(const std::string& path) {
  struct stat st;
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return std::string(kProgressPrefix) + std::to_string(st.st_dev) + ":" +
         std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
}

namespace {

// Rows travel from the parsing thread to the spooling thread in chunks, through a queue of
// bounded depth, so parsing and spooling use both cores while memory stays bounded.
struct RowChunk {
  std::vector<ParsedRow> rows;  // rows[0, n) are filled; the rest are kept for reuse
  size_t n = 0;
  uint64_t bytes_read = 0;  // of the input, after the chunk's last row
};

class ChunkQueue {
 public:
  static constexpr size_t kDepth = 4;

  // Chunks go back to the producer, so that rows (and the memory their records hold) are
  // reused instead of allocated on one thread and freed on the other.
  RowChunk take_free() {
    std::lock_guard l(mu_);
    if (free_.empty()) return RowChunk();
    RowChunk c = std::move(free_.back());
    free_.pop_back();
    return c;
  }
  void give_back(RowChunk c) {
    std::lock_guard l(mu_);
    c.n = 0;
    free_.push_back(std::move(c));
  }

  // Producer: false when the consumer has gone away.
  bool push(RowChunk chunk) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return q_.size() < kDepth || abandoned_; });
    if (abandoned_) return false;
    q_.push_back(std::move(chunk));
    cv_.notify_all();
    return true;
  }
  void finish(Status result) {
    std::lock_guard l(mu_);
    done_ = true;
    result_ = std::move(result);
    cv_.notify_all();
  }
  // Consumer: nullopt at the end (then result() says whether reading failed).
  std::optional<RowChunk> pop() {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !q_.empty() || done_; });
    if (q_.empty()) return std::nullopt;
    RowChunk c = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return c;
  }
  void abandon() {
    std::lock_guard l(mu_);
    abandoned_ = true;
    cv_.notify_all();
  }
  Status result() {
    std::lock_guard l(mu_);
    return result_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RowChunk> q_;
  std::vector<RowChunk> free_;
  bool done_ = false;
  bool abandoned_ = false;
  Status result_;
};

}  // namespace

Result<FileProgress> spool_file(Intake& intake, RecordReader& reader, const SpoolFileOptions& o) {
  Spool& spool = intake.spool();
  FileProgress p;
  p.bytes_total = reader.input().size();
  if (!o.progress_key.empty()) {
    GONGSHU_TRY(store::ReadTxn txn, spool.env().begin_read());
    p.resumed_after = spool.get_u64(txn, o.progress_key);
  }
  if (p.resumed_after == kProgressComplete) return p;  // spooled whole by an earlier run
  if (p.resumed_after > 0) {
    // If the input ends first, every row it has was spooled already: the parser below then
    // finds nothing more, and the file completes as usual.
    GONGSHU_RETURN_IF_ERROR(reader.skip_rows(p.resumed_after));
    p.rows = p.resumed_after;
  }
  auto commit = [&](bool last) -> Status {
    std::function<Status(store::WriteTxn&)> extra;
    if (!o.progress_key.empty()) {
      extra = [&](store::WriteTxn& txn) -> Status {
        if (last && o.keep_complete_marker) {
          return spool.put_u64(txn, o.progress_key, kProgressComplete);
        }
        if (last) return spool.del_meta(txn, o.progress_key);
        return spool.put_u64(txn, o.progress_key, p.rows);
      };
    }
    GONGSHU_RETURN_IF_ERROR(intake.commit(extra));
    release_mapping(spool.env());  // the B-tree pages this commit read (agent/resident.h)
    if (o.on_commit) o.on_commit(p);
    return {};
  };
  auto note = [&](const std::string& source, v1::RecordStatusCode code, const std::string& field,
                  const std::string& reason) {
    ++p.rejected;
    if (p.first_rejections.size() < o.keep_rejections) {
      std::string s = source + ": " + std::string(v1::RecordStatusCode_Name(code));
      if (!field.empty()) s += " [" + field + "]";
      p.first_rejections.push_back(s + " " + reason);
    }
  };

  ChunkQueue queue;
  std::thread parser([&] {
    constexpr size_t kChunkRows = 256;
    Status result;
    RowChunk chunk = queue.take_free();
    while (true) {
      if (chunk.n == chunk.rows.size()) chunk.rows.emplace_back();
      auto more = reader.next(chunk.rows[chunk.n]);
      if (!more || !*more) {
        if (!more) result = tl::unexpected(std::move(more).error());
        break;
      }
      if (++chunk.n >= kChunkRows) {
        chunk.bytes_read = reader.input().bytes_read();
        if (!queue.push(std::move(chunk))) break;
        chunk = queue.take_free();
      }
    }
    chunk.bytes_read = reader.input().bytes_read();
    if (chunk.n > 0) queue.push(std::move(chunk));
    queue.finish(std::move(result));
  });
  Status status;
  while (status) {
    auto chunk = queue.pop();
    if (!chunk) break;
    p.bytes_read = chunk->bytes_read;
    for (size_t i = 0; i < chunk->n && status; ++i) {
      ParsedRow& row = chunk->rows[i];
      ++p.rows;
      std::string source = o.source + ":" + std::to_string(row.line);
      if (row.ok) {
        catalog::Verdict v = intake.add(row.record, source);
        if (v.ok()) {
          ++p.accepted;
        } else {
          note(source, v.code, v.field, v.reason);
        }
      } else {
        intake.add_rejection(o.dataset, row.code, row.field, row.reason, source, row.raw);
        note(source, row.code, row.field, row.reason);
      }
      if (intake.queued() >= o.group_records || intake.queued_bytes() >= o.group_bytes) {
        status = commit(false);
      }
    }
    queue.give_back(std::move(*chunk));
  }
  queue.abandon();
  parser.join();
  GONGSHU_RETURN_IF_ERROR(status);
  // Rows read before a read error are spooled and counted; the error is still reported.
  if (auto r = queue.result(); !r) {
    GONGSHU_RETURN_IF_ERROR(commit(false));
    return tl::unexpected(std::move(r).error());
  }
  GONGSHU_RETURN_IF_ERROR(commit(true));
  return p;
}

}  // namespace gongshu::agent
