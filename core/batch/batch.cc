#include "core/batch/batch.h"

#include <algorithm>
#include <cstring>

#include "core/crypto/seal.h"
#include "core/util/check.h"
#include "core/util/wire_reader.h"
#include "core/util/wire_writer.h"

namespace gongshu::batch {
namespace {

void append_str(Bytes& out, std::string_view s) {
  append_be32(out, static_cast<uint32_t>(s.size()));
  append(out, s);
}

// The canonical header bytes (docs/protocol.md) from the header's fields and its record hashes.
template <typename Hashes>
Bytes canonical_bytes(std::string_view agency, std::string_view agent_key_id, uint64_t seq,
                      int64_t created_at_ms, std::string_view daemon_key_id, const Hashes& hashes) {
  Bytes out;
  out.reserve(64 + agency.size() + agent_key_id.size() + daemon_key_id.size() +
              32 * static_cast<size_t>(hashes.size()));
  append_str(out, agency);
  append_str(out, agent_key_id);
  append_be64(out, seq);
  append_be64(out, static_cast<uint64_t>(created_at_ms));
  append_str(out, daemon_key_id);
  append_be32(out, static_cast<uint32_t>(hashes.size()));
  for (const auto& rh : hashes)
    append(out, ByteView(reinterpret_cast<const uint8_t*>(rh.data()), rh.size()));
  return out;
}

// Protobuf's wire format, written as its serialisation writes it.
constexpr uint8_t tag(uint32_t field, uint32_t wire_type) {
  return static_cast<uint8_t>(field << 3 | wire_type);
}
// A length-delimited field's size, its tag (one byte: fields below 16) included.
size_t field_size(size_t len) { return 1 + varint_size(len) + len; }
uint8_t* put_field(uint8_t* p, uint32_t field, std::string_view bytes) {
  *p++ = tag(field, 2);
  p = put_varint(p, bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}
// A proto3 string field is written only when not empty, a scalar only when not zero.
size_t string_field_size(std::string_view s) { return s.empty() ? 0 : field_size(s.size()); }
uint8_t* put_string_field(uint8_t* p, uint32_t field, std::string_view s) {
  return s.empty() ? p : put_field(p, field, s);
}
uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

tl::unexpected<Rejection> reject(v1::BatchErrorCode code, std::string message) {
  return tl::unexpected<Rejection>(Rejection{code, std::move(message)});
}

}  // namespace

crypto::Digest record_hash(ByteView record_bytes) {
  return crypto::domain_hash(kRecordDomain, record_bytes);
}

Bytes canonical_header_bytes(const v1::BatchHeader& h) {
  return canonical_bytes(h.agency(), h.agent_key_id(), h.batch_seq(), h.created_at_ms(),
                         h.daemon_key_id(), h.record_hashes());
}

crypto::Digest batch_hash(const v1::BatchHeader& header) {
  return crypto::domain_hash(kBatchDomain, canonical_header_bytes(header));
}

Result<v1::SealedBatch> seal_batch(const crypto::IdentityKey& agent,
                                   const crypto::PublicKey& daemon, v1::BatchHeader header,
                                   const std::vector<std::string>& records) {
  header.clear_record_hashes();
  header.set_agent_key_id(agent.public_key().key_id());
  header.set_daemon_key_id(daemon.key_id());
  v1::SignedBatch signed_batch;
  for (const auto& r : records) {
    auto h = record_hash(as_bytes(r));
    header.add_record_hashes(h.data(), h.size());
    signed_batch.add_records(r);
  }
  crypto::Signature sig = agent.sign(kBatchDomain, canonical_header_bytes(header));
  signed_batch.set_signature(sig.data(), sig.size());
  uint64_t seq = header.batch_seq();
  *signed_batch.mutable_header() = std::move(header);
  std::string plain;
  if (!signed_batch.SerializeToString(&plain)) {
    return fail(ErrorCode::kInternal, "batch: serialisation failed");
  }
  GONGSHU_TRY(Bytes sealed, crypto::seal(daemon, as_bytes(plain)));
  v1::SealedBatch out;
  out.set_batch_seq(seq);
  out.set_sealed(sealed.data(), sealed.size());
  return out;
}

void BatchBuilder::start() {
  hashes_.clear();
  record_bytes_ = 0;
  // Room in front for the header and the signature of a batch of up to 1,000 records; a larger
  // one moves its records once, at seal().
  gap_ = 512 + 34 * 1000;
  end_ = gap_;
  if (buf_.size() < gap_) buf_.resize(gap_);
  // Lent out between batches (buffer()): whatever it held is not a batch's.
}

void BatchBuilder::add(std::string_view record) { add(record, record_hash(as_bytes(record))); }

void BatchBuilder::add(std::string_view record, const crypto::Digest& hash) {
  const size_t need = end_ + field_size(record.size());
  // Grown by an eighth, not doubled: the buffer stays about a batch's size, every page of it
  // used (it is resident for as long as a backlog drains).
  if (need > buf_.size()) buf_.resize(std::max(need, buf_.size() + buf_.size() / 8));
  end_ = static_cast<size_t>(put_field(buf_.data() + end_, 3, record) - buf_.data());
  hashes_.push_back(hash);
  record_bytes_ += record.size();
}

void BatchBuilder::release() {
  buf_ = Bytes();
  hashes_ = {};
  gap_ = end_ = 0;
}

Result<Bytes> BatchBuilder::seal(const crypto::IdentityKey& agent, const crypto::PublicKey& daemon,
                                 std::string_view agency, uint64_t batch_seq,
                                 int64_t created_at_ms) {
  GONGSHU_TRY(size_t size, sign(agent, daemon, agency, batch_seq, created_at_ms));
  Bytes out(size);
  GONGSHU_RETURN_IF_ERROR(seal_into(daemon, out));
  return out;
}

Status BatchBuilder::seal_into(const crypto::PublicKey& daemon, std::span<uint8_t> out) const {
  return crypto::seal_into(daemon, ByteView(buf_.data() + begin_, end_ - begin_), out);
}

Result<size_t> BatchBuilder::sign(const crypto::IdentityKey& agent, const crypto::PublicKey& daemon,
                                  std::string_view agency, uint64_t batch_seq,
                                  int64_t created_at_ms) {
  const std::string agent_key_id = agent.public_key().key_id();
  const std::string daemon_key_id = daemon.key_id();
  const auto canonical =
      canonical_bytes(agency, agent_key_id, batch_seq, created_at_ms, daemon_key_id, hashes_);
  const crypto::Signature sig = agent.sign(kBatchDomain, canonical);
  sealed_hash_ = crypto::domain_hash(kBatchDomain, canonical);
  // BatchHeader, fields in number order, proto3 defaults left out.
  size_t header_size = string_field_size(agency) + string_field_size(agent_key_id) +
                       string_field_size(daemon_key_id) + field_size(32) * hashes_.size();
  if (batch_seq != 0) header_size += 1 + varint_size(batch_seq);
  if (created_at_ms != 0) header_size += 1 + varint_size(zigzag(created_at_ms));
  const size_t prefix = field_size(header_size) + field_size(sig.size());
  if (prefix > gap_) {
    // More records than the room kept for their hashes: move them up.
    const size_t grow = prefix - gap_;
    if (buf_.size() < end_ + grow) buf_.resize(end_ + grow);
    std::memmove(buf_.data() + gap_ + grow, buf_.data() + gap_, end_ - gap_);
    gap_ += grow;
    end_ += grow;
  }
  const size_t begin = gap_ - prefix;
  uint8_t* p = buf_.data() + begin;
  *p++ = tag(1, 2);
  p = put_varint(p, header_size);
  p = put_string_field(p, 1, agency);
  p = put_string_field(p, 2, agent_key_id);
  if (batch_seq != 0) {
    *p++ = tag(3, 0);
    p = put_varint(p, batch_seq);
  }
  if (created_at_ms != 0) {
    *p++ = tag(4, 0);
    p = put_varint(p, zigzag(created_at_ms));
  }
  p = put_string_field(p, 5, daemon_key_id);
  for (const auto& h : hashes_)
    p = put_field(p, 6, std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  p = put_field(p, 2, std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
  GONGSHU_CHECK(p == buf_.data() + gap_);
  begin_ = begin;
  return end_ - begin + crypto::kSealOverhead;
}

size_t sealed_batch_size(uint64_t batch_seq, size_t sealed_size) {
  return (batch_seq != 0 ? 1 + varint_size(batch_seq) : 0) +
         (sealed_size != 0 ? field_size(sealed_size) : 0);
}

std::span<uint8_t> write_sealed_batch_prefix(uint64_t batch_seq, size_t sealed_size,
                                             std::span<uint8_t> out) {
  GONGSHU_CHECK(out.size() == sealed_batch_size(batch_seq, sealed_size));
  uint8_t* p = out.data();
  if (batch_seq != 0) {
    *p++ = tag(1, 0);
    p = put_varint(p, batch_seq);
  }
  if (sealed_size != 0) {
    *p++ = tag(2, 2);
    p = put_varint(p, sealed_size);
  }
  GONGSHU_CHECK(size_t(out.data() + out.size() - p) == sealed_size);
  return out.subspan(size_t(p - out.data()));
}

void write_sealed_batch(uint64_t batch_seq, ByteView sealed, std::span<uint8_t> out) {
  auto room = write_sealed_batch_prefix(batch_seq, sealed.size(), out);
  if (!sealed.empty()) std::memcpy(room.data(), sealed.data(), sealed.size());
}

namespace {

enum class InPlace { kRead, kDeclined, kTooManyRecords };

// Reads a canonical SignedBatch encoding in place: header once, signature once, records in
// order, nothing else. Declined for anything protobuf would read otherwise (it then parses).
InPlace read_in_place(std::string_view encoded, const Limits& limits, OpenedBatch& out,
                      google::protobuf::Arena& arena) {
  WireReader in(encoded);
  uint32_t seen = 0;
  std::string_view header;
  while (!in.done()) {
    uint32_t number, type;
    std::string_view value;
    if (!in.tag(number, type) || type != WireReader::kLengthDelimited || !in.bytes(value))
      return InPlace::kDeclined;
    switch (number) {
      case v1::SignedBatch::kHeaderFieldNumber:
        if (!first_time(seen, number)) return InPlace::kDeclined;
        header = value;
        break;
      case v1::SignedBatch::kSignatureFieldNumber:
        if (!first_time(seen, number)) return InPlace::kDeclined;
        out.signature = value;
        break;
      case v1::SignedBatch::kRecordsFieldNumber:
        if (out.records.size() == limits.max_records) return InPlace::kTooManyRecords;
        out.records.push_back(value);
        break;
      default:
        return InPlace::kDeclined;
    }
  }
  out.header = google::protobuf::Arena::CreateMessage<v1::BatchHeader>(&arena);
  return out.header->ParseFromArray(header.data(), static_cast<int>(header.size()))
             ? InPlace::kRead
             : InPlace::kDeclined;
}

}  // namespace

Checked<OpenedBatch> open_batch(const crypto::IdentityKey& daemon, const v1::SealedBatch& sealed,
                                const Limits& limits, google::protobuf::Arena& arena) {
  if (sealed.sealed().size() > limits.max_batch_bytes) {
    return reject(v1::BATCH_TOO_LARGE, "sealed batch of " + std::to_string(sealed.sealed().size()) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(limits.max_batch_bytes));
  }
  auto plain = crypto::open_sealed(daemon, as_bytes(sealed.sealed()));
  if (!plain) return reject(v1::BATCH_UNOPENABLE, "batch does not open with this daemon's key");
  OpenedBatch out;
  out.plaintext = std::move(*plain);
  const InPlace in_place = read_in_place(as_chars(out.plaintext), limits, out, arena);
  if (in_place == InPlace::kRead) return out;
  if (in_place == InPlace::kTooManyRecords) {
    return reject(v1::BATCH_TOO_LARGE,
                  "more than " + std::to_string(limits.max_records) + " records");
  }
  // Not canonical: protobuf's reading, the views pointing into its message.
  out.signature = {};
  out.records.clear();
  auto* batch = google::protobuf::Arena::CreateMessage<v1::SignedBatch>(&arena);
  if (!batch->ParseFromArray(out.plaintext.data(), static_cast<int>(out.plaintext.size()))) {
    return reject(v1::BATCH_MALFORMED, "sealed content is not a SignedBatch");
  }
  out.header = batch->mutable_header();
  out.signature = batch->signature();
  out.records.reserve(static_cast<size_t>(batch->records_size()));
  for (const std::string& r : batch->records()) out.records.push_back(r);
  return out;
}

Checked<crypto::Digest> verify_batch(const OpenedBatch& batch, uint64_t envelope_seq,
                                     const crypto::PublicKey& agent_key,
                                     const crypto::PublicKey& daemon_key, const Limits& limits) {
  const v1::BatchHeader& h = *batch.header;
  const size_t records = batch.records.size();
  if (h.agent_key_id() != agent_key.key_id()) {
    return reject(v1::BATCH_KEY_MISMATCH, "batch names agent key " + h.agent_key_id() +
                                              " but arrived from " + agent_key.key_id());
  }
  if (h.daemon_key_id() != daemon_key.key_id()) {
    return reject(v1::BATCH_KEY_MISMATCH, "batch is addressed to daemon key " + h.daemon_key_id());
  }
  if (h.batch_seq() == 0 || h.batch_seq() != envelope_seq) {
    return reject(v1::BATCH_MALFORMED, "batch sequence " + std::to_string(h.batch_seq()) +
                                           " does not match the envelope's " +
                                           std::to_string(envelope_seq));
  }
  if (batch.signature.size() != crypto::kSignatureSize) {
    return reject(v1::BATCH_BAD_SIGNATURE, "signature is not 64 bytes");
  }
  if (records > limits.max_records) {
    return reject(v1::BATCH_TOO_LARGE, std::to_string(records) + " records exceed the limit of " +
                                           std::to_string(limits.max_records));
  }
  if (records != static_cast<size_t>(h.record_hashes_size())) {
    return reject(v1::BATCH_MALFORMED, std::to_string(records) + " records but " +
                                           std::to_string(h.record_hashes_size()) +
                                           " record hashes");
  }
  Bytes header_bytes = canonical_header_bytes(h);
  crypto::Signature sig;
  std::memcpy(sig.data(), batch.signature.data(), sig.size());
  if (!crypto::verify(agent_key, kBatchDomain, header_bytes, sig)) {
    return reject(v1::BATCH_BAD_SIGNATURE,
                  "batch signature does not verify with agent key " + agent_key.key_id());
  }
  for (size_t i = 0; i < records; ++i) {
    const std::string_view r = batch.records[i];
    if (r.size() > limits.max_record_bytes) {
      return reject(v1::BATCH_TOO_LARGE,
                    "record " + std::to_string(i) + " of " + std::to_string(r.size()) +
                        " bytes exceeds the limit of " + std::to_string(limits.max_record_bytes));
    }
    auto rh = record_hash(as_bytes(r));
    const std::string& claimed = h.record_hashes(static_cast<int>(i));
    if (claimed.size() != rh.size() || std::memcmp(claimed.data(), rh.data(), rh.size()) != 0) {
      return reject(v1::BATCH_BAD_SIGNATURE,
                    "record " + std::to_string(i) + " does not match its signed hash");
    }
  }
  return crypto::domain_hash(kBatchDomain, header_bytes);
}

}  // namespace gongshu::batch
