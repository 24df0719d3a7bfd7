#include "core/audit/checkpoint.h"

#include <charconv>
#include <cstring>
#include <vector>

#include "core/crypto/sha256.h"
#include "core/util/encoding.h"

namespace gongshu::audit {
namespace {

constexpr std::string_view kSigPrefix = "\xe2\x80\x94 ";  // U+2014 EM DASH, space

Result<Hash> parse_hash_b64(std::string_view text, std::string_view what) {
  auto bytes = base64_decode(text);
  if (!bytes || bytes->size() != 32) {
    return fail(ErrorCode::kCorrupt, std::string(what) + " is not the base64 of 32 bytes");
  }
  Hash h;
  std::memcpy(h.data(), bytes->data(), 32);
  return h;
}

struct SplitNote {
  std::string_view body;
  std::vector<std::string_view> signature_lines;
};

Result<SplitNote> split_note(std::string_view note) {
  if (note.size() > kMaxNoteSize) return fail(ErrorCode::kCorrupt, "note exceeds 16 KiB");
  size_t sep = note.rfind("\n\n");
  if (sep == std::string_view::npos || note.empty() || note.back() != '\n') {
    return fail(ErrorCode::kCorrupt, "note has no signature block");
  }
  SplitNote out;
  out.body = note.substr(0, sep + 1);
  std::string_view sigs = note.substr(sep + 2);
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    if (nl == std::string_view::npos)
      return fail(ErrorCode::kCorrupt, "signature line not terminated");
    std::string_view line = sigs.substr(0, nl);
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return fail(ErrorCode::kCorrupt, "signature line does not start with an em dash");
    }
    out.signature_lines.push_back(line.substr(kSigPrefix.size()));
    sigs.remove_prefix(nl + 1);
  }
  if (out.signature_lines.empty()) return fail(ErrorCode::kCorrupt, "note has no signatures");
  return out;
}

}  // namespace

std::array<uint8_t, 4> note_key_id(std::string_view name, const crypto::PublicKey& key) {
  crypto::Sha256 h;
  h.update(name).update_byte('\n').update_byte(0x01).update(key.view());
  auto d = h.finish();
  return {d[0], d[1], d[2], d[3]};
}

std::string format_checkpoint_body(const CheckpointBody& body) {
  std::string out;
  out.reserve(body.origin.size() + 128);
  out.append(body.origin).push_back('\n');
  out.append(std::to_string(body.size)).push_back('\n');
  out.append(base64_encode(body.root)).push_back('\n');
  out.append("chain ").append(base64_encode(body.chain)).push_back('\n');
  return out;
}

Result<CheckpointBody> parse_checkpoint_body(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos)
      return fail(ErrorCode::kCorrupt, "checkpoint body does not end with a newline");
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return fail(ErrorCode::kCorrupt, "checkpoint body has fewer than 3 lines");
  CheckpointBody b;
  b.origin = std::string(lines[0]);
  if (b.origin.empty()) return fail(ErrorCode::kCorrupt, "checkpoint origin is empty");
  std::string_view size = lines[1];
  if (size.empty() || size.size() > 20 || (size.size() > 1 && size[0] == '0')) {
    return fail(ErrorCode::kCorrupt, "checkpoint tree size is not a canonical decimal");
  }
  auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), b.size);
  if (ec != std::errc() || ptr != size.data() + size.size()) {
    return fail(ErrorCode::kCorrupt, "checkpoint tree size is not a decimal number");
  }
  GONGSHU_TRY(b.root, parse_hash_b64(lines[2], "checkpoint root"));
  bool have_chain = false;
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].substr(0, 6) == "chain ") {
      if (have_chain) return fail(ErrorCode::kCorrupt, "checkpoint has two chain lines");
      GONGSHU_TRY(b.chain, parse_hash_b64(lines[i].substr(6), "checkpoint chain hash"));
      have_chain = true;
    } else if (lines[i].empty()) {
      return fail(ErrorCode::kCorrupt, "checkpoint body has an empty line");
    }
  }
  if (!have_chain) return fail(ErrorCode::kCorrupt, "checkpoint lacks the chain extension line");
  return b;
}

std::string sign_checkpoint(const CheckpointBody& body, const crypto::IdentityKey& key) {
  const crypto::IdentityKey* one[] = {&key};
  return sign_checkpoint(body, one);
}

std::string sign_checkpoint(const CheckpointBody& body,
                            std::span<const crypto::IdentityKey* const> keys) {
  std::string text = format_checkpoint_body(body);
  std::string note = text;
  note.push_back('\n');
  for (const crypto::IdentityKey* key : keys) {
    crypto::Signature sig = key->sign_raw(as_bytes(text));
    auto id = note_key_id(body.origin, key->public_key());
    Bytes blob(id.begin(), id.end());
    blob.insert(blob.end(), sig.begin(), sig.end());
    note.append(kSigPrefix).append(body.origin).push_back(' ');
    note.append(base64_encode(blob)).push_back('\n');
  }
  return note;
}

Result<CheckpointBody> verify_checkpoint(std::string_view note, const crypto::PublicKey& key) {
  return verify_checkpoint(note, std::span<const crypto::PublicKey>(&key, 1));
}

Result<CheckpointBody> verify_checkpoint(std::string_view note,
                                         std::span<const crypto::PublicKey> keys,
                                         crypto::PublicKey* signer) {
  GONGSHU_TRY(SplitNote split, split_note(note));
  const crypto::PublicKey* verified = nullptr;
  for (std::string_view line : split.signature_lines) {
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos || space == 0) continue;
    std::string_view name = line.substr(0, space);
    auto blob = base64_decode(line.substr(space + 1));
    if (!blob || blob->size() != 4 + crypto::kSignatureSize) continue;
    for (const crypto::PublicKey& key : keys) {
      auto id = note_key_id(name, key);
      if (std::memcmp(blob->data(), id.data(), 4) != 0) continue;
      crypto::Signature sig;
      std::memcpy(sig.data(), blob->data() + 4, sig.size());
      if (!crypto::verify_raw(key, as_bytes(split.body), sig)) {
        return fail(ErrorCode::kUnauthenticated,
                    "checkpoint signature by key " + key.key_id() + " is invalid");
      }
      if (!verified) verified = &key;
    }
  }
  if (!verified) {
    std::string ids;
    for (const crypto::PublicKey& key : keys) ids += (ids.empty() ? "" : " or ") + key.key_id();
    return fail(ErrorCode::kUnauthenticated, "checkpoint is not signed by key " + ids);
  }
  if (signer) *signer = *verified;
  return parse_checkpoint_body(split.body);
}

Result<CheckpointBody> parse_checkpoint_note_unverified(std::string_view note) {
  GONGSHU_TRY(SplitNote split, split_note(note));
  return parse_checkpoint_body(split.body);
}

}  // namespace gongshu::audit
