#include "core/audit/key_rotation.h"

#include <cstring>

#include "core/audit/field_text.h"
#include "core/util/encoding.h"

namespace gongshu::audit {
namespace {

Result<crypto::Signature> parse_signature(std::string_view b64, std::string_view what) {
  auto bytes = base64_decode(b64);
  if (!bytes || bytes->size() != crypto::kSignatureSize) {
    return fail(ErrorCode::kCorrupt,
                "rotation statement: " + std::string(what) + " is not the base64 of 64 bytes");
  }
  crypto::Signature sig;
  std::memcpy(sig.data(), bytes->data(), sig.size());
  return sig;
}

}  // namespace

Bytes rotation_signed_bytes(const RotationStatement& s) {
  Bytes out;
  out.reserve(4 + s.origin.size() + 32 + 32 + 8);
  append_be32(out, static_cast<uint32_t>(s.origin.size()));
  append(out, s.origin);
  append(out, s.old_key.view());
  append(out, s.new_key.view());
  append_be64(out, static_cast<uint64_t>(s.time_ms));
  return out;
}

RotationStatement make_rotation_statement(std::string origin, const crypto::IdentityKey& old_key,
                                          const crypto::IdentityKey& new_key, int64_t time_ms) {
  RotationStatement s;
  s.origin = std::move(origin);
  s.old_key = old_key.public_key();
  s.new_key = new_key.public_key();
  s.time_ms = time_ms;
  Bytes msg = rotation_signed_bytes(s);
  s.old_signature = old_key.sign(kRotationDomain, msg);
  s.new_signature = new_key.sign(kRotationDomain, msg);
  return s;
}

Status check_rotation_signatures(const RotationStatement& s) {
  if (s.old_key == s.new_key)
    return fail(ErrorCode::kCorrupt, "rotation statement: old and new key are the same");
  Bytes msg = rotation_signed_bytes(s);
  if (!crypto::verify(s.old_key, kRotationDomain, msg, s.old_signature)) {
    return fail(ErrorCode::kUnauthenticated, "rotation statement: the signature of the old key " +
                                                 s.old_key.key_id() + " does not verify");
  }
  if (!crypto::verify(s.new_key, kRotationDomain, msg, s.new_signature)) {
    return fail(ErrorCode::kUnauthenticated, "rotation statement: the signature of the new key " +
                                                 s.new_key.key_id() + " does not verify");
  }
  return {};
}

std::string format_rotation_text(const RotationStatement& s) {
  std::string out(kRotationMagic);
  out += "\norigin " + s.origin;
  out += "\nold_key " + s.old_key.hex();
  out += "\nnew_key " + s.new_key.hex();
  out += "\ntime_ms " + std::to_string(s.time_ms);
  out += "\nold_signature " + base64_encode(s.old_signature);
  out += "\nnew_signature " + base64_encode(s.new_signature);
  out += "\n";
  return out;
}

Result<RotationStatement> parse_rotation_text(std::string_view text) {
  GONGSHU_TRY(FieldText f,
              FieldText::parse(text, kRotationMagic, "rotation statement", kMaxRotationText));
  RotationStatement s;
  GONGSHU_TRY(s.origin, f.need("origin"));
  if (s.origin.empty()) return fail(ErrorCode::kCorrupt, "rotation statement: empty origin");
  GONGSHU_TRY(std::string old_hex, f.need("old_key"));
  GONGSHU_TRY(s.old_key,
              with_context(crypto::PublicKey::from_hex(old_hex), "rotation statement: old_key"));
  GONGSHU_TRY(std::string new_hex, f.need("new_key"));
  GONGSHU_TRY(s.new_key,
              with_context(crypto::PublicKey::from_hex(new_hex), "rotation statement: new_key"));
  GONGSHU_TRY(s.time_ms, f.number("time_ms"));
  GONGSHU_TRY(std::string os, f.need("old_signature"));
  GONGSHU_TRY(s.old_signature, parse_signature(os, "old_signature"));
  GONGSHU_TRY(std::string ns, f.need("new_signature"));
  GONGSHU_TRY(s.new_signature, parse_signature(ns, "new_signature"));
  GONGSHU_RETURN_IF_ERROR(check_rotation_signatures(s));
  return s;
}

}  // namespace gongshu::audit
