#include "core/audit/receipt.h"

#include <cstring>

#include "core/audit/field_text.h"
#include "core/util/encoding.h"

namespace gongshu::audit {
namespace {

constexpr std::string_view kReceiptMagic = "gongshu receipt v1";

}  // namespace

v1::Receipt make_receipt(const crypto::IdentityKey& daemon, const Hash& event_hash, uint64_t seq,
                         const Hash& entry_hash, uint64_t tree_size, const Hash& root,
                         int64_t issued_at_ms) {
  v1::Receipt r;
  r.set_event_hash(event_hash.data(), event_hash.size());
  r.set_seq(seq);
  r.set_entry_hash(entry_hash.data(), entry_hash.size());
  r.set_tree_size(tree_size);
  r.set_root(root.data(), root.size());
  r.set_issued_at_ms(issued_at_ms);
  r.set_daemon_key_id(daemon.public_key().key_id());
  Bytes msg = *receipt_signed_bytes(r);
  crypto::Signature sig = daemon.sign(kReceiptDomain, msg);
  r.set_signature(sig.data(), sig.size());
  return r;
}

Result<Bytes> receipt_signed_bytes(const v1::Receipt& r) {
  if (r.event_hash().size() != 32 || r.entry_hash().size() != 32 || r.root().size() != 32) {
    return fail(ErrorCode::kCorrupt, "receipt: a hash field is not 32 bytes");
  }
  if (r.daemon_key_id().size() != 16)
    return fail(ErrorCode::kCorrupt, "receipt: daemon key id is not 16 characters");
  Bytes out;
  out.reserve(32 + 8 + 32 + 8 + 32 + 8 + 16);
  append(out, r.event_hash());
  append_be64(out, r.seq());
  append(out, r.entry_hash());
  append_be64(out, r.tree_size());
  append(out, r.root());
  append_be64(out, static_cast<uint64_t>(r.issued_at_ms()));
  append(out, r.daemon_key_id());
  return out;
}

Status verify_receipt(const v1::Receipt& r, const crypto::PublicKey& daemon_key) {
  GONGSHU_TRY(Bytes msg, receipt_signed_bytes(r));
  if (r.daemon_key_id() != daemon_key.key_id()) {
    return fail(ErrorCode::kUnauthenticated,
                "receipt: issued by key " + r.daemon_key_id() + ", not by " + daemon_key.key_id());
  }
  if (r.signature().size() != crypto::kSignatureSize)
    return fail(ErrorCode::kCorrupt, "receipt: signature is not 64 bytes");
  if (r.seq() == 0 || r.seq() > r.tree_size()) {
    return fail(ErrorCode::kCorrupt, "receipt: seq " + std::to_string(r.seq()) +
                                         " is outside tree size " + std::to_string(r.tree_size()));
  }
  crypto::Signature sig;
  std::memcpy(sig.data(), r.signature().data(), sig.size());
  if (!crypto::verify(daemon_key, kReceiptDomain, msg, sig)) {
    return fail(ErrorCode::kUnauthenticated, "receipt: signature does not verify");
  }
  return {};
}

Status verify_receipt(const v1::Receipt& r, std::span<const crypto::PublicKey> keys) {
  for (const crypto::PublicKey& key : keys) {
    if (key.key_id() == r.daemon_key_id()) return verify_receipt(r, key);
  }
  std::string ids;
  for (const crypto::PublicKey& key : keys) ids += (ids.empty() ? "" : ", ") + key.key_id();
  return fail(ErrorCode::kUnauthenticated, "receipt: issued by key " + r.daemon_key_id() +
                                               ", not by a trusted key (" + ids + ")");
}

std::string format_receipt_text(const v1::Receipt& r) {
  std::string out(kReceiptMagic);
  out += "\nevent_hash " + hex_encode(as_bytes(r.event_hash()));
  out += "\nseq " + std::to_string(r.seq());
  out += "\nentry_hash " + hex_encode(as_bytes(r.entry_hash()));
  out += "\ntree_size " + std::to_string(r.tree_size());
  out += "\nroot " + base64_encode(as_bytes(r.root()));
  out += "\nissued_at_ms " + std::to_string(r.issued_at_ms());
  out += "\ndaemon_key_id " + r.daemon_key_id();
  out += "\nsignature " + base64_encode(as_bytes(r.signature()));
  out += "\n";
  return out;
}

Result<v1::Receipt> parse_receipt_text(std::string_view text) {
  GONGSHU_TRY(FieldText f, FieldText::parse(text, kReceiptMagic, "receipt", 4096));
  v1::Receipt r;
  GONGSHU_TRY(std::string ev, f.need("event_hash"));
  GONGSHU_TRY(Bytes evb, with_context(hex_decode(ev), "receipt: event_hash"));
  GONGSHU_TRY(std::string eh, f.need("entry_hash"));
  GONGSHU_TRY(Bytes ehb, with_context(hex_decode(eh), "receipt: entry_hash"));
  GONGSHU_TRY(std::string root, f.need("root"));
  GONGSHU_TRY(Bytes rootb, with_context(base64_decode(root), "receipt: root"));
  GONGSHU_TRY(std::string sig, f.need("signature"));
  GONGSHU_TRY(Bytes sigb, with_context(base64_decode(sig), "receipt: signature"));
  GONGSHU_TRY(int64_t seq, f.number("seq"));
  GONGSHU_TRY(int64_t size, f.number("tree_size"));
  GONGSHU_TRY(int64_t issued, f.number("issued_at_ms"));
  GONGSHU_TRY(std::string kid, f.need("daemon_key_id"));
  if (seq <= 0 || size <= 0)
    return fail(ErrorCode::kCorrupt, "receipt: seq and tree_size must be positive");
  r.set_event_hash(evb.data(), evb.size());
  r.set_entry_hash(ehb.data(), ehb.size());
  r.set_root(rootb.data(), rootb.size());
  r.set_signature(sigb.data(), sigb.size());
  r.set_seq(uint64_t(seq));
  r.set_tree_size(uint64_t(size));
  r.set_issued_at_ms(issued);
  r.set_daemon_key_id(kid);
  return r;
}

}  // namespace gongshu::audit
