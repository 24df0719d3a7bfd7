#include "agent/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "core/batch/batch.h"
#include "core/util/check.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/utf8.h"
#include "core/util/wire_reader.h"

namespace gongshu::agent {
namespace {

constexpr std::string_view kPendingDomain = "gongshu.agent.pending";
constexpr std::string_view kRejectedDomain = "gongshu.agent.rejected";
constexpr size_t kOutboxHeader = kOutboxHeaderSize;

constexpr uint8_t kSegmentFormat = 0x02;  // first byte of a format-2 pending value (spool.h)
constexpr size_t kSegmentHeader = 1 + crypto::kSegmentSaltSize;
constexpr uint8_t kSegmentsFormat = 0x03;  // first byte of a format-3 pending value (spool.h)
constexpr uint8_t kHashedFormat = 0x04;    // first byte of a format-4 pending value (spool.h)
constexpr size_t kSegmentsHeader = 1 + crypto::kSegmentSaltSize + 4;
constexpr size_t kHashSize = std::tuple_size_v<crypto::Digest>;

// The format of a pending value that may be a segment (3 or 4, by its first byte, if it is long
// enough to be one), or 0. Not authenticated: a format-1 value whose random nonce begins with
// the byte looks like one until it fails to open (spool.h).
uint8_t segment_format(ByteView value) {
  if (value.size() < kSegmentsHeader + crypto::kSegmentTagSize) return 0;
  return value[0] == kSegmentsFormat || value[0] == kHashedFormat ? value[0] : 0;
}

// The bytes of a segment's plaintext in front of each record's: be32(length), then in format 4
// the record's hash.
size_t record_prefix(uint8_t format) { return format == kHashedFormat ? 4 + kHashSize : 4; }

// A segment's associated data (formats 3 and 4): kPendingDomain || 0x00 || u64(first) ||
// u32(count) || format byte (longer than a single record's, so neither opens as the other, and
// naming the format, so a segment does not open as the other).
struct SegmentAd {
  std::array<uint8_t, kPendingDomain.size() + 14> bytes;
  SegmentAd(uint64_t first, uint32_t count, uint8_t format) {
    std::copy(kPendingDomain.begin(), kPendingDomain.end(), bytes.begin());
    bytes[kPendingDomain.size()] = 0;
    put_be64(bytes.data() + kPendingDomain.size() + 1, first);
    put_be32(bytes.data() + kPendingDomain.size() + 9, count);
    bytes[kPendingDomain.size() + 13] = format;
  }
  ByteView view() const { return {bytes.data(), bytes.size()}; }
};

// Calls each(pending_record_bytes, hash) for the count records of an opened segment's plaintext
// (hash: the stored record hash in format 4, nullptr in format 3), in order, while each returns
// true; true if all count records were there and took the whole plaintext. The plaintext is
// authenticated, so its lengths are ours; they are still checked, never trusted past the end.
template <typename Each>
bool for_each_in_segment(ByteView plain, uint32_t count, uint8_t format, Each&& each) {
  const size_t prefix = record_prefix(format);
  size_t at = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (plain.size() - at < prefix) return false;
    const uint32_t len = get_be32(plain.data() + at);
    const uint8_t* hash = format == kHashedFormat ? plain.data() + at + 4 : nullptr;
    at += prefix;
    if (plain.size() - at < len) return false;
    if (!each(as_chars(plain.subspan(at, len)), hash)) return false;
    at += len;
  }
  return at == plain.size();
}

// The Record bytes of a PendingRecord as we write it (record (1), source (2), accepted_at_ms
// (3), each once), read in place; nullopt for an encoding protobuf may read otherwise.
std::optional<std::string_view> record_in_place(std::string_view plain) {
  WireReader in(plain);
  uint32_t seen = 0;
  std::string_view record;
  while (!in.done()) {
    uint32_t number, type;
    std::string_view value;
    uint64_t v;
    if (!in.tag(number, type) || !first_time(seen, number)) {
      return std::nullopt;
    } else if (number == agentpb::PendingRecord::kRecordFieldNumber &&
               type == WireReader::kLengthDelimited && in.bytes(value)) {
      record = value;
    } else if (number == agentpb::PendingRecord::kSourceFieldNumber &&
               type == WireReader::kLengthDelimited && in.bytes(value) && is_utf8(value)) {
      // a string: protobuf refuses one that is not UTF-8
    } else if (number == agentpb::PendingRecord::kAcceptedAtMsFieldNumber &&
               type == WireReader::kVarint && in.varint(v)) {
    } else {
      return std::nullopt;
    }
  }
  return record;
}

// A pending record's associated data, on the stack: kPendingDomain || 0x00 || u64(seq).
struct PendingAd {
  std::array<uint8_t, kPendingDomain.size() + 9> bytes;
  explicit PendingAd(uint64_t seq) {
    std::copy(kPendingDomain.begin(), kPendingDomain.end(), bytes.begin());
    bytes[kPendingDomain.size()] = 0;
    put_be64(bytes.data() + kPendingDomain.size() + 1, seq);
  }
  ByteView view() const { return {bytes.data(), bytes.size()}; }
};

// Associated data: domain || 0x00 || u64(seq).
Bytes associated(std::string_view domain, uint64_t seq) {
  Bytes ad;
  ad.reserve(domain.size() + 9);
  append(ad, domain);
  ad.push_back(0);
  append_be64(ad, seq);
  return ad;
}

Status make_dir(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return {};
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    // The parent may be missing too: create the chain.
    std::filesystem::create_directories(path, ec);
    if (ec) return fail(ErrorCode::kIo, trf("create {}: {}", path, ec.message()));
    ::chmod(path.c_str(), 0700);
  }
  return {};
}

}  // namespace

Status make_state_dir(const std::string& path) { return make_dir(path); }

Bytes encode_outbox(uint64_t first_pending, uint32_t count, int64_t created_at_ms,
                    ByteView message) {
  Bytes out;
  out.reserve(kOutboxHeader + message.size());
  append_be64(out, first_pending);
  append_be32(out, count);
  append_be64(out, static_cast<uint64_t>(created_at_ms));
  append(out, message);
  return out;
}

Bytes encode_outbox(uint64_t first_pending, uint32_t count, int64_t created_at_ms,
                    size_t message_size) {
  Bytes out(kOutboxHeader + message_size);
  put_outbox_header(out.data(), first_pending, count, created_at_ms);
  return out;
}

void put_outbox_header(uint8_t* out, uint64_t first_pending, uint32_t count, int64_t created_at_ms,
                       ByteView batch_hash) {
  GONGSHU_CHECK((count & kOutboxHasHash) == 0);
  GONGSHU_CHECK(batch_hash.empty() || batch_hash.size() == kOutboxHashSize);
  put_be64(out, first_pending);
  put_be32(out + 8, batch_hash.empty() ? count : count | kOutboxHasHash);
  put_be64(out + 12, static_cast<uint64_t>(created_at_ms));
  if (!batch_hash.empty()) std::copy(batch_hash.begin(), batch_hash.end(), out + kOutboxHeader);
}

bool outbox_receipt_matches(const OutboxEntry& entry, std::string_view event_hash) {
  if (entry.batch_hash.empty()) return true;
  return event_hash.size() == entry.batch_hash.size() &&
         std::equal(entry.batch_hash.begin(), entry.batch_hash.end(),
                    reinterpret_cast<const uint8_t*>(event_hash.data()));
}

Result<OutboxEntry> decode_outbox(ByteView v) {
  if (v.size() <= kOutboxHeader)
    return fail(ErrorCode::kCorrupt, tr("spool: outbox entry too short"));
  OutboxEntry e;
  e.first_pending = get_be64(v.data());
  e.count = get_be32(v.data() + 8);
  e.created_at_ms = static_cast<int64_t>(get_be64(v.data() + 12));
  size_t at = kOutboxHeader;
  if (e.count & kOutboxHasHash) {
    e.count &= ~kOutboxHasHash;
    if (v.size() <= kOutboxHeader + kOutboxHashSize)
      return fail(ErrorCode::kCorrupt, tr("spool: outbox entry too short for its batch hash"));
    e.batch_hash = v.subspan(kOutboxHeader, kOutboxHashSize);
    at += kOutboxHashSize;
  }
  e.message = v.subspan(at);
  return e;
}

Result<crypto::DataKey> load_or_create_spool_key(const std::string& path, bool create) {
  auto ctx = [&](const std::string& what) { return trf("spool key {}: {}", path, what); };
  int raw = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0 && errno == ENOENT && create) {
    crypto::SecretBytes key = crypto::SecretBytes::random(crypto::kDataKeySize);
    auto written = write_new_file(path, key.view(), 0600);
    if (written) return crypto::DataKey::from_secret(std::move(key));
    // Another agent process created it at the same moment: use theirs.
    if (written.error().code() != ErrorCode::kAlreadyExists) {
      return tl::unexpected(std::move(written).error().with_context(tr("spool key")));
    }
    raw = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (raw < 0) {
    if (errno == ENOENT) {
      return fail(ErrorCode::kNotFound,
                  ctx(tr("missing, but the spool exists: its records cannot be read without it")));
    }
    return fail_errno(ctx("open"), errno);  // i18n-exempt: the system call's name
  }
  Fd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0)
    return fail_errno(ctx("stat"), errno);  // i18n-exempt: the system call's name
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kInvalidArgument, ctx(tr("not a regular file")));
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return fail(ErrorCode::kPermissionDenied,
                ctx(trf("mode {} lets others read it; chmod 600", mode)));
  }
  if (st.st_uid != ::geteuid()) {
    return fail(ErrorCode::kPermissionDenied, ctx(tr("owned by another user")));
  }
  if (st.st_size != static_cast<off_t>(crypto::kDataKeySize)) {
    return fail(ErrorCode::kCorrupt, ctx(trf("must be exactly {} bytes", crypto::kDataKeySize)));
  }
  crypto::SecretBytes key(crypto::kDataKeySize);
  size_t got = 0;
  while (got < key.size()) {
    ssize_t r = ::read(fd.get(), key.data() + got, key.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return fail(ErrorCode::kIo, ctx(tr("short read")));
    got += static_cast<size_t>(r);
  }
  return crypto::DataKey::from_secret(std::move(key));
}

Spool::Spool(std::string state_dir, std::unique_ptr<store::Env> env, crypto::DataKey key,
             store::Table<uint64_t> pending, store::Table<uint64_t> outbox,
             store::Table<uint64_t> receipts, store::Table<uint64_t> rejected,
             store::Table<std::string_view> catalog, store::Table<std::string_view> meta)
    : state_dir_(std::move(state_dir)),
      env_(std::move(env)),
      key_(std::move(key)),
      pending_(std::move(pending)),
      outbox_(std::move(outbox)),
      receipts_(std::move(receipts)),
      rejected_(std::move(rejected)),
      catalog_(std::move(catalog)),
      meta_(std::move(meta)) {}

Result<std::unique_ptr<Spool>> Spool::open(const std::string& state_dir,
                                           const SpoolOptions& options) {
  GONGSHU_RETURN_IF_ERROR(make_dir(state_dir));
  std::string dir = state_dir + "/spool";
  std::error_code ec;
  bool fresh = !std::filesystem::exists(dir + "/data.mdb", ec);
  GONGSHU_RETURN_IF_ERROR(make_dir(dir));
  GONGSHU_TRY(crypto::DataKey key, load_or_create_spool_key(state_dir + "/spool.key", fresh));
  store::EnvOptions eo;
  // The map is the spool's limit, mapped once (core/store/env.h): address space, not disk.
  eo.map_size = std::max<uint64_t>(options.max_bytes, 64 << 20);
  eo.max_dbs = 8;
  eo.max_readers = 126;
  eo.no_readahead = true;  // the service reads the backlog once; keep its RSS small
  GONGSHU_TRY(auto env, store::Env::open(dir, eo));
  GONGSHU_TRY(auto pending, store::Table<uint64_t>::open(*env, "pending"));
  GONGSHU_TRY(auto outbox, store::Table<uint64_t>::open(*env, "outbox"));
  GONGSHU_TRY(auto receipts, store::Table<uint64_t>::open(*env, "receipts"));
  GONGSHU_TRY(auto rejected, store::Table<uint64_t>::open(*env, "rejected"));
  GONGSHU_TRY(auto catalog, store::Table<std::string_view>::open(*env, "catalog"));
  GONGSHU_TRY(auto meta, store::Table<std::string_view>::open(*env, "meta"));
  std::unique_ptr<Spool> spool(new Spool(state_dir, std::move(env), std::move(key),
                                         std::move(pending), std::move(outbox), std::move(receipts),
                                         std::move(rejected), std::move(catalog), std::move(meta)));
  // Segments that fill a batch of segment_records exactly: up to 100, and a divisor of it when
  // there is one of at least 20 (250 -> 50); otherwise 100, and a batch is the whole segments
  // that fit.
  const uint32_t want = std::max<uint32_t>(options.segment_records, 1);
  uint32_t seg = std::min(want, kSegmentMaxRecords);
  if (want > kSegmentMaxRecords) {
    for (uint32_t d = kSegmentMaxRecords; d >= 20; --d) {
      if (want % d == 0) {
        seg = d;
        break;
      }
    }
  }
  spool->segment_records_ = seg;
  return spool;
}

uint64_t Spool::get_u64(const store::Txn& txn, std::string_view key) const {
  auto v = meta_.get(txn, key);
  if (!v || v->size() != 8) return 0;
  return get_be64(v->data());
}

Status Spool::put_u64(store::WriteTxn& txn, std::string_view key, uint64_t value) const {
  auto k = store::u64_key(value);
  return meta_.put(txn, key, ByteView(k.data(), k.size()));
}

Status Spool::add_u64(store::WriteTxn& txn, std::string_view key, uint64_t delta) const {
  if (delta == 0) return {};
  return put_u64(txn, key, get_u64(txn, key) + delta);
}

std::optional<ByteView> Spool::get_meta(const store::Txn& txn, std::string_view key) const {
  return meta_.get(txn, key);
}

Status Spool::put_meta(store::WriteTxn& txn, std::string_view key, ByteView value) const {
  return meta_.put(txn, key, value);
}

Status Spool::del_meta(store::WriteTxn& txn, std::string_view key) const {
  // Deleting a key that is not there is no failure: either way it is gone.
  GONGSHU_RETURN_IF_ERROR(meta_.del(txn, key));
  return {};
}

Spool::PendingWriter::PendingWriter(const Spool& spool, store::WriteTxn& txn)
    : spool_(spool), txn_(txn), segment_(crypto::AeadSegment::start(spool.key_)) {}

Spool::PendingWriter::~PendingWriter() {
  GONGSHU_CHECK_MSG(failed_ || count_ == 0, "spool: a pending writer's records were not finished");
}

Spool::PendingWriter Spool::pending_writer(store::WriteTxn& txn) const {
  return PendingWriter(*this, txn);
}

Result<uint64_t> Spool::PendingWriter::append(const agentpb::PendingRecord& rec) {
  // After a failure the transaction is to be aborted; no counter is ever used twice under this
  // segment's salt, not even by a caller that carries on.
  if (failed_) return fail(ErrorCode::kInternal, tr("spool: pending writer used after a failure"));
  failed_ = true;
  if (next_ == 0) next_ = std::max<uint64_t>(spool_.get_u64(txn_, kNextPending), 1);
  if (count_ == 0) {
    first_ = next_;
    plain_.clear();
  }
  const size_t at = plain_.size();
  // be32(length) || the record's hash (computed here, once: the batch's header names it, and the
  // drain reads it instead of hashing again) || the PendingRecord.
  const crypto::Digest hash = batch::record_hash(as_bytes(rec.record()));
  plain_.append(4, '\0');
  plain_.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  if (!rec.AppendToString(&plain_)) return fail(ErrorCode::kInternal, tr("spool: serialise"));
  const size_t len = plain_.size() - at - 4 - kHashSize;
  if (len > UINT32_MAX) return fail(ErrorCode::kInvalidArgument, tr("spool: record too large"));
  put_be32(reinterpret_cast<uint8_t*>(plain_.data() + at), static_cast<uint32_t>(len));
  const uint64_t seq = next_++;
  ++count_;
  if (count_ >= spool_.segment_records_ || plain_.size() >= kSegmentMaxBytes) {
    GONGSHU_RETURN_IF_ERROR(flush());
  }
  failed_ = false;
  return seq;
}

Status Spool::PendingWriter::finish() {
  if (failed_) return fail(ErrorCode::kInternal, tr("spool: pending writer used after a failure"));
  failed_ = true;
  GONGSHU_RETURN_IF_ERROR(flush());
  failed_ = false;
  return {};
}

Status Spool::PendingWriter::flush() {
  if (count_ == 0) return {};
  // The record counter starts with the first segment: until then every entry is one record.
  if (!spool_.get_meta(txn_, kPendingRecords)) {
    GONGSHU_RETURN_IF_ERROR(spool_.put_u64(txn_, kPendingRecords, spool_.pending_.count(txn_)));
  }
  GONGSHU_RETURN_IF_ERROR(spool_.add_u64(txn_, kPendingRecords, count_));
  // Encrypted straight into the page it is committed from.
  GONGSHU_TRY(std::span<uint8_t> value,
              spool_.pending_.append_reserve(
                  txn_, first_, kSegmentsHeader + plain_.size() + crypto::kSegmentTagSize));
  value[0] = kHashedFormat;
  std::copy(segment_.salt().begin(), segment_.salt().end(), value.begin() + 1);
  put_be32(value.data() + 1 + crypto::kSegmentSaltSize, count_);
  segment_.encrypt_into(first_, SegmentAd(first_, count_, kHashedFormat).view(), as_bytes(plain_),
                        value.subspan(kSegmentsHeader));
  GONGSHU_RETURN_IF_ERROR(spool_.put_u64(txn_, kNextPending, first_ + count_));
  count_ = 0;
  plain_.clear();
  return {};
}

Result<uint64_t> Spool::append_pending(store::WriteTxn& txn,
                                       const agentpb::PendingRecord& rec) const {
  auto w = pending_writer(txn);
  GONGSHU_TRY(uint64_t seq, w.append(rec));
  GONGSHU_RETURN_IF_ERROR(w.finish());
  return seq;
}

uint64_t Spool::pending_records(const store::Txn& txn) const {
  if (get_meta(txn, kPendingRecords)) return get_u64(txn, kPendingRecords);
  return pending_.count(txn);
}

Status Spool::pending_records_gone(store::WriteTxn& txn, uint64_t n) const {
  if (n == 0 || !get_meta(txn, kPendingRecords)) return {};
  const uint64_t have = get_u64(txn, kPendingRecords);
  // An empty table holds no record, whatever an estimate said (peek_pending_count).
  if (pending_.count(txn) == 0) return put_u64(txn, kPendingRecords, 0);
  return put_u64(txn, kPendingRecords, have > n ? have - n : 0);
}

uint32_t Spool::peek_pending_count(ByteView value) {
  // A format-1 value whose random nonce starts with 0x03 or 0x04 (1 in 256 each) must not read
  // as a segment of many: a count is believed only if it is one a writer makes and the value can
  // hold it (a random one passes about once in 4e7).
  if (const uint8_t format = segment_format(value)) {
    const uint32_t n = get_be32(value.data() + 1 + crypto::kSegmentSaltSize);
    if (n >= 1 && n <= kSegmentMaxRecords &&
        value.size() >= kSegmentsHeader + crypto::kSegmentTagSize + record_prefix(format) * n)
      return n;
  }
  return 1;
}

Status Spool::open_pending_records(uint64_t key, ByteView value, PendingRead* out) const {
  out->records.clear();
  out->spill.clear();
  out->hashes.clear();
  if (const uint8_t format = segment_format(value)) {
    const uint32_t count = get_be32(value.data() + 1 + crypto::kSegmentSaltSize);
    const ByteView salt = value.subspan(1, crypto::kSegmentSaltSize);
    const ByteView sealed = value.subspan(kSegmentsHeader);
    out->plain.resize(sealed.size() - crypto::kSegmentTagSize);
    bool opened = false;
    {
      std::lock_guard<std::mutex> lock(read_segment_mu_);
      if (!read_segment_) {
        GONGSHU_TRY(read_segment_, crypto::AeadSegment::resume(key_, salt));
      } else if (!std::equal(salt.begin(), salt.end(), read_segment_->salt().begin())) {
        GONGSHU_RETURN_IF_ERROR(read_segment_->reset(key_, salt));
      }
      opened =
          count > 0 &&
          read_segment_->decrypt_into(key, SegmentAd(key, count, format).view(), sealed, out->plain)
              .has_value();
    }
    if (opened) {
      const bool parsed = for_each_in_segment(
          out->plain, count, format, [&](std::string_view one, const uint8_t* hash) {
            if (auto r = record_in_place(one)) {
              out->records.push_back(*r);
            } else {
              agentpb::PendingRecord rec;
              if (!rec.ParseFromArray(one.data(), static_cast<int>(one.size()))) return false;
              out->spill.push_back(std::move(*rec.mutable_record()));
              out->records.push_back(out->spill.back());
            }
            if (hash) std::copy_n(hash, kHashSize, out->hashes.emplace_back().begin());
            return true;
          });
      if (parsed) return {};
      out->records.clear();
      out->hashes.clear();
      return fail(ErrorCode::kCorrupt,
                  trf("spool: pending segment {} ({} records) does not parse", key, count));
    }
    // Else perhaps format 1 whose random nonce starts with the format byte: tried below.
  }
  GONGSHU_TRY(std::string_view record, open_pending_record(key, value, &out->plain));
  out->records.push_back(record);
  return {};
}

Result<std::vector<agentpb::PendingRecord>> Spool::open_pending_entry(uint64_t key,
                                                                      ByteView value) const {
  std::vector<agentpb::PendingRecord> out;
  if (const uint8_t format = segment_format(value)) {
    const uint32_t count = get_be32(value.data() + 1 + crypto::kSegmentSaltSize);
    const ByteView sealed = value.subspan(kSegmentsHeader);
    Bytes plain(sealed.size() - crypto::kSegmentTagSize);
    GONGSHU_TRY(auto segment,
                crypto::AeadSegment::resume(key_, value.subspan(1, crypto::kSegmentSaltSize)));
    if (count > 0 &&
        segment.decrypt_into(key, SegmentAd(key, count, format).view(), sealed, plain)) {
      const bool parsed =
          for_each_in_segment(plain, count, format, [&](std::string_view one, const uint8_t*) {
            agentpb::PendingRecord rec;
            if (!rec.ParseFromArray(one.data(), static_cast<int>(one.size()))) return false;
            out.push_back(std::move(rec));
            return true;
          });
      if (parsed) return out;
      return fail(ErrorCode::kCorrupt,
                  trf("spool: pending segment {} ({} records) does not parse", key, count));
    }
  }
  GONGSHU_TRY(agentpb::PendingRecord rec, open_pending(key, value));
  out.push_back(std::move(rec));
  return out;
}

Status Spool::open_pending_plain(uint64_t seq, ByteView box, Bytes* plain) const {
  const PendingAd ad(seq);
  if (box.size() >= kSegmentHeader + crypto::kSegmentTagSize && box[0] == kSegmentFormat) {
    const ByteView salt = box.subspan(1, crypto::kSegmentSaltSize);
    const ByteView sealed = box.subspan(kSegmentHeader);
    plain->resize(sealed.size() - crypto::kSegmentTagSize);
    std::lock_guard<std::mutex> lock(read_segment_mu_);
    if (!read_segment_) {
      GONGSHU_TRY(read_segment_, crypto::AeadSegment::resume(key_, salt));
    } else if (!std::equal(salt.begin(), salt.end(), read_segment_->salt().begin())) {
      GONGSHU_RETURN_IF_ERROR(read_segment_->reset(key_, salt));
    }
    if (read_segment_->decrypt_into(seq, ad.view(), sealed, *plain)) return {};
    // Else perhaps format 1 whose random nonce starts with the format byte: tried below.
  }
  if (box.size() < crypto::kAeadOverhead) {
    return fail(ErrorCode::kCorrupt,
                trf("spool: pending record {}: {} bytes is too short", seq, box.size()));
  }
  plain->resize(box.size() - crypto::kAeadOverhead);
  Status opened = crypto::aead_decrypt_into(key_, ad.view(), box, *plain);
  if (!opened) {
    return tl::unexpected(
        std::move(opened).error().with_context(trf("spool: pending record {}", seq)));
  }
  return {};
}

Result<agentpb::PendingRecord> Spool::open_pending(uint64_t seq, ByteView box) const {
  Bytes plain;
  GONGSHU_RETURN_IF_ERROR(open_pending_plain(seq, box, &plain));
  agentpb::PendingRecord rec;
  if (!rec.ParseFromArray(plain.data(), static_cast<int>(plain.size()))) {
    return fail(ErrorCode::kCorrupt, trf("spool: pending record {} does not parse", seq));
  }
  return rec;
}

Result<std::string_view> Spool::open_pending_record(uint64_t seq, ByteView box,
                                                    Bytes* plain) const {
  GONGSHU_RETURN_IF_ERROR(open_pending_plain(seq, box, plain));
  // PendingRecord as we write it: record (1), source (2), accepted_at_ms (3), each once.
  if (auto record = record_in_place(as_chars(*plain))) return *record;
  // Not as we write it: protobuf's reading decides, and the record is kept in *plain.
  agentpb::PendingRecord rec;
  if (!rec.ParseFromArray(plain->data(), static_cast<int>(plain->size()))) {
    return fail(ErrorCode::kCorrupt, trf("spool: pending record {} does not parse", seq));
  }
  plain->assign(rec.record().begin(), rec.record().end());
  return as_chars(*plain);
}

Status Spool::add_rejected(store::WriteTxn& txn, const agentpb::RejectedRecord& rec) const {
  uint64_t seq = std::max<uint64_t>(get_u64(txn, kNextRejected), 1);
  std::string plain;
  if (!rec.SerializeToString(&plain)) return fail(ErrorCode::kInternal, tr("spool: serialise"));
  Bytes box = crypto::aead_encrypt(key_, associated(kRejectedDomain, seq), as_bytes(plain));
  GONGSHU_RETURN_IF_ERROR(rejected_.append(txn, seq, box));
  GONGSHU_RETURN_IF_ERROR(put_u64(txn, kNextRejected, seq + 1));
  return add_u64(txn, rec.by_daemon() ? kCountRejectedDaemon : kCountRejectedLocal, 1);
}

Result<agentpb::RejectedRecord> Spool::open_rejected(uint64_t seq, ByteView box) const {
  GONGSHU_TRY(Bytes plain,
              with_context(crypto::aead_decrypt(key_, associated(kRejectedDomain, seq), box),
                           trf("spool: rejected record {}", seq)));
  agentpb::RejectedRecord rec;
  if (!rec.ParseFromArray(plain.data(), static_cast<int>(plain.size()))) {
    return fail(ErrorCode::kCorrupt, trf("spool: rejected record {} does not parse", seq));
  }
  return rec;
}

std::optional<agentpb::Enrollment> Spool::enrollment(const store::Txn& txn) const {
  auto v = meta_.get(txn, kEnrollment);
  if (!v) return std::nullopt;
  agentpb::Enrollment e;
  if (!e.ParseFromArray(v->data(), static_cast<int>(v->size()))) return std::nullopt;
  return e;
}

}  // namespace gongshu::agent
