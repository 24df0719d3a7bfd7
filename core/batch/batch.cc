#include "core/batch/batch.h"

#include <cstring>

#include "core/crypto/seal.h"
#include "core/util/wire_reader.h"

namespace gongshu::batch {
namespace {

void append_str(Bytes& out, std::string_view s) {
  append_be32(out, static_cast<uint32_t>(s.size()));
  append(out, s);
}

tl::unexpected<Rejection> reject(v1::BatchErrorCode code, std::string message) {
  return tl::unexpected<Rejection>(Rejection{code, std::move(message)});
}

}  // namespace

crypto::Digest record_hash(ByteView record_bytes) {
  return crypto::domain_hash(kRecordDomain, record_bytes);
}

Bytes canonical_header_bytes(const v1::BatchHeader& h) {
  Bytes out;
  out.reserve(64 + h.agency().size() + 32 * static_cast<size_t>(h.record_hashes_size()));
  append_str(out, h.agency());
  append_str(out, h.agent_key_id());
  append_be64(out, h.batch_seq());
  append_be64(out, static_cast<uint64_t>(h.created_at_ms()));
  append_str(out, h.daemon_key_id());
  append_be32(out, static_cast<uint32_t>(h.record_hashes_size()));
  for (const auto& rh : h.record_hashes()) append(out, rh);
  return out;
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
