#include "core/audit/verify.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/audit/export_file.h"
#include "core/audit/key_rotation.h"
#include "core/audit/receipt.h"
#include "core/util/encoding.h"

namespace gongshu::audit {
namespace {

Hash to_hash(const std::string& s) {
  Hash h{};
  if (s.size() == 32) std::memcpy(h.data(), s.data(), 32);
  return h;
}

class Verifier {
 public:
  Verifier(const std::string& path, const VerifyOptions& options) : path_(path), opts_(options) {}

  VerifyReport run();

 private:
  // Records a failure; returns the report for convenience.
  VerifyReport& tampered(uint64_t seq, std::string reason) {
    report_.status = VerifyStatus::kTampered;
    report_.failing_seq = seq;
    report_.reason = std::move(reason);
    return report_;
  }
  bool check_entry(ByteView data);
  bool check_rotation(uint64_t seq, ByteView data);
  std::vector<crypto::PublicKey> active_keys() const {
    std::vector<crypto::PublicKey> out;
    for (const auto& k : keys_)
      if (!retired_.count(k)) out.push_back(k);
    return out;
  }
  bool check_checkpoint(ByteView data);
  bool check_receipts_and_trust();
  void note_size(uint64_t size) {
    if (wanted_roots_.count(size)) roots_[size] = range_.root();
  }

  const std::string& path_;
  const VerifyOptions& opts_;
  VerifyReport report_;
  CompactRange range_;
  Hash last_hash_{};
  uint64_t next_seq_ = 1;
  std::set<uint64_t> wanted_roots_;    // tree sizes whose root a receipt or checkpoint names
  std::set<uint64_t> wanted_entries_;  // seqs whose entry hash a receipt names
  std::map<uint64_t, Hash> roots_;
  std::map<uint64_t, Hash> entry_hashes_;
  std::optional<CheckpointBody> trusted_;
  std::vector<crypto::PublicKey> keys_;  // trusted daemon keys, initial and learnt
  std::set<crypto::PublicKey> retired_;  // replaced by an activated successor
};

// Whether an entry may be a rotation: a walk over its top-level protobuf fields looking for an
// action (field 5) of key_rotate or key_activate. It runs on every entry, so it stays a walk,
// not a parse, and it stops at the first field after the action: the daemon writes fields in
// number order, as protobuf's serialiser does. An entry whose fields go backwards before that,
// or that cannot be walked, is passed on to the full parse, which decides; a rotation whose
// action comes only after a later field is not one the daemon wrote, and is read as naming no
// rotation (the verifier keeps the keys it had).
bool may_name_rotation(ByteView data) {
  constexpr uint64_t kActionField = 5;
  const uint8_t* p = data.data();
  const uint8_t* end = p + data.size();
  auto varint = [&](uint64_t& v) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (p == end) return false;
      uint8_t b = *p++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  bool named = false;
  uint64_t last_field = 0;
  while (p < end) {
    uint64_t tag, len;
    if (!varint(tag)) return true;
    uint64_t field = tag >> 3;
    if (field < last_field) return true;
    if (field > kActionField) return named;
    last_field = field;
    switch (tag & 7) {
      case 0:
        if (!varint(len)) return true;
        break;
      case 1:
        if (end - p < 8) return true;
        p += 8;
        break;
      case 5:
        if (end - p < 4) return true;
        p += 4;
        break;
      case 2: {
        if (!varint(len) || len > uint64_t(end - p)) return true;
        std::string_view value(reinterpret_cast<const char*>(p), len);
        if (field == kActionField && (value == kRotateAction || value == kActivateAction))
          named = true;
        p += len;
        break;
      }
      default:
        return true;
    }
  }
  return named;
}

bool Verifier::check_rotation(uint64_t seq, ByteView data) {
  auto entry = decode_entry(data);
  if (!entry) return true;  // the prefix was fine; a body that does not parse names no rotation
  bool activate = entry->action() == kActivateAction;
  if (entry->action() != kRotateAction && !activate) return true;
  std::string where = "entry " + std::to_string(seq) + " (" + entry->action() + ")";
  const v1::Reference* ref = nullptr;
  for (const auto& r : entry->refs())
    if (r.kind() == kRotationRef) ref = &r;
  // A refused rotation is audited under the same action, without a statement. (A rotation whose
  // statement was removed teaches no key, so the checkpoints after it fail: nothing is lost.)
  if (!ref) return true;
  auto st = parse_rotation_text(ref->value());
  if (!st) {
    tampered(seq, where + ": " + st.error().message());
    return false;
  }
  if (!report_.origin.empty() && st->origin != report_.origin) {
    tampered(seq, where + ": the rotation statement is for origin '" + st->origin +
                      "', the log is '" + report_.origin + "'");
    return false;
  }
  auto trusted = [&](const crypto::PublicKey& k) {
    return std::find(keys_.begin(), keys_.end(), k) != keys_.end();
  };
  if (!trusted(st->old_key)) {
    tampered(seq, where + ": the rotation statement hands over from key " + st->old_key.key_id() +
                      ", which is not a trusted daemon key (a forged rotation, or the "
                      "verifier was not given that key)");
    return false;
  }
  if (!trusted(st->new_key)) keys_.push_back(st->new_key);
  if (activate) retired_.insert(st->old_key);
  report_.key_rotations.push_back(std::to_string(seq) + ": " + entry->action() + " " +
                                  st->old_key.key_id() + " -> " + st->new_key.key_id());
  return true;
}

bool Verifier::check_entry(ByteView data) {
  uint64_t expected = next_seq_;
  auto prefix = parse_entry_prefix(data);
  if (!prefix) {
    tampered(expected,
             "entry " + std::to_string(expected) + " is malformed: " + prefix.error().message());
    return false;
  }
  if (report_.entries == 0) {
    // The first entry fixes where the export starts; a full export starts at 1.
    if (prefix->seq != 1 && !opts_.allow_excerpt) {
      tampered(1, "the export starts at entry " + std::to_string(prefix->seq) +
                      ", not 1: the entries before it are missing (an excerpt must be verified "
                      "as one)");
      return false;
    }
    expected = next_seq_ = prefix->seq;
    report_.first_seq = prefix->seq;
    report_.full = prefix->seq == 1;
    if (report_.full && prefix->prev_hash != Hash{}) {
      tampered(1, "entry 1 has a non-zero prev_hash");
      return false;
    }
    last_hash_ = prefix->prev_hash;
  }
  if (prefix->seq != expected) {
    if (prefix->seq > expected) {
      tampered(expected, "gap: expected entry " + std::to_string(expected) + ", found entry " +
                             std::to_string(prefix->seq) + " (entries missing)");
    } else {
      tampered(expected, "out of order: expected entry " + std::to_string(expected) +
                             ", found entry " + std::to_string(prefix->seq) +
                             " (entries reordered or duplicated)");
    }
    return false;
  }
  if (prefix->prev_hash != last_hash_) {
    tampered(expected, "broken chain: entry " + std::to_string(expected) +
                           "'s prev_hash does not match the hash of entry " +
                           std::to_string(expected - 1) + " (one of the two was altered)");
    return false;
  }
  Hash h = entry_hash(data);
  last_hash_ = h;
  if (report_.full) {
    range_.append(h);
    note_size(expected);
  }
  if (wanted_entries_.count(expected)) entry_hashes_[expected] = h;
  // Only entries holding a rotation statement pay for a protobuf parse.
  if (may_name_rotation(data) && !check_rotation(expected, data)) return false;
  report_.entries++;
  report_.last_seq = expected;
  next_seq_ = expected + 1;
  if (opts_.on_entry) opts_.on_entry(expected, data);
  return true;
}

bool Verifier::check_checkpoint(ByteView data) {
  uint64_t after = report_.last_seq;
  auto body = verify_checkpoint(as_chars(data), active_keys());
  if (!body) {
    tampered(after,
             "checkpoint after entry " + std::to_string(after) + ": " + body.error().message());
    return false;
  }
  if (report_.origin.empty()) report_.origin = body->origin;
  if (body->origin != report_.origin) {
    tampered(after, "checkpoint after entry " + std::to_string(after) + " names origin '" +
                        body->origin + "', earlier ones '" + report_.origin + "'");
    return false;
  }
  if (body->size != after) {
    std::string why = body->size > after ? "the log holds " + std::to_string(body->size) +
                                               " entries there, but the export has only " +
                                               std::to_string(after) + " (entries removed)"
                                         : "it is out of place (entries added before it)";
    // When entries are missing, the first of them is the first failing seq.
    tampered(body->size > after ? after + 1 : after,
             "checkpoint for tree size " + std::to_string(body->size) + " follows entry " +
                 std::to_string(after) + ": " + why);
    return false;
  }
  if (body->chain != last_hash_) {
    tampered(after, "checkpoint at size " + std::to_string(after) +
                        ": its chain hash does not match entry " + std::to_string(after));
    return false;
  }
  if (report_.full && body->root != range_.root()) {
    tampered(after, "checkpoint at size " + std::to_string(after) +
                        ": its Merkle root does not match the entries");
    return false;
  }
  report_.checkpoints++;
  report_.last_checkpoint_size = after;
  if (opts_.on_checkpoint) opts_.on_checkpoint(after);
  return true;
}

bool Verifier::check_receipts_and_trust() {
  for (const auto& in : opts_.receipts) {
    const v1::Receipt& r = in.receipt;
    // Signatures are checked once the keys learnt from rotations are known.
    if (auto s = verify_receipt(r, keys_); !s) {
      tampered(r.seq(), "receipt " + in.name + ": " + s.error().message());
      return false;
    }
    if (r.seq() > report_.last_seq || r.tree_size() > report_.last_seq) {
      tampered(report_.last_seq + 1,
               "truncated: receipt " + in.name + " proves entry " + std::to_string(r.seq()) +
                   " in a tree of " + std::to_string(r.tree_size()) +
                   " entries, but the export ends at entry " + std::to_string(report_.last_seq));
      return false;
    }
    auto eh = entry_hashes_.find(r.seq());
    if (eh != entry_hashes_.end() && eh->second != to_hash(r.entry_hash())) {
      tampered(r.seq(), "entry " + std::to_string(r.seq()) + " differs from the entry receipt " +
                            in.name + " was issued for");
      return false;
    }
    auto root = roots_.find(r.tree_size());
    if (root != roots_.end() && root->second != to_hash(r.root())) {
      tampered(r.tree_size(), "fork: the export's root at tree size " +
                                  std::to_string(r.tree_size()) +
                                  " differs from the root in receipt " + in.name);
      return false;
    }
    report_.receipts++;
  }
  if (trusted_) {
    if (auto body = verify_checkpoint(*opts_.trusted_checkpoint, keys_); !body) {
      tampered(trusted_->size, "trusted checkpoint: " + body.error().message());
      return false;
    }
    if (trusted_->size > report_.last_seq) {
      tampered(report_.last_seq + 1,
               "rollback or truncation: the trusted checkpoint has tree size " +
                   std::to_string(trusted_->size) + " but the export ends at entry " +
                   std::to_string(report_.last_seq));
      return false;
    }
    if (trusted_->origin != report_.origin && !report_.origin.empty()) {
      tampered(0, "the trusted checkpoint is for origin '" + trusted_->origin +
                      "', the export for '" + report_.origin + "'");
      return false;
    }
    auto root = roots_.find(trusted_->size);
    if (root != roots_.end() && root->second != trusted_->root) {
      tampered(trusted_->size, "fork: the export's root at tree size " +
                                   std::to_string(trusted_->size) +
                                   " differs from the trusted checkpoint");
      return false;
    }
  }
  return true;
}

VerifyReport Verifier::run() {
  report_.status = VerifyStatus::kError;
  if (opts_.key != crypto::PublicKey()) keys_.push_back(opts_.key);
  for (const auto& k : opts_.more_keys)
    if (std::find(keys_.begin(), keys_.end(), k) == keys_.end()) keys_.push_back(k);
  if (keys_.empty()) {
    report_.reason = "no daemon key to verify with";
    return report_;
  }
  for (const auto& in : opts_.receipts) {
    if (auto s = receipt_signed_bytes(in.receipt); !s) {
      tampered(in.receipt.seq(), "receipt " + in.name + ": " + s.error().message());
      return report_;
    }
    wanted_roots_.insert(in.receipt.tree_size());
    wanted_entries_.insert(in.receipt.seq());
  }
  if (opts_.trusted_checkpoint) {
    // Its signature is checked after the export, against every key the log hands over to: an
    // officer's saved checkpoint may be signed by a key that succeeded the one they hold.
    auto body = parse_checkpoint_note_unverified(*opts_.trusted_checkpoint);
    if (!body) {
      report_.reason = "trusted checkpoint: " + body.error().message();
      return report_;
    }
    trusted_ = *body;
    wanted_roots_.insert(trusted_->size);
  }

  auto reader = ExportReader::open(path_);
  if (!reader) {
    report_.reason = reader.error().message();
    return report_;
  }
  uint64_t frames = 0;
  while (true) {
    auto frame = reader->next();
    if (!frame) {
      if (frame.error().code() != ErrorCode::kCorrupt) {
        report_.status = VerifyStatus::kError;  // the file could not be read: not tampering
        report_.reason = frame.error().message();
        return report_;
      }
      tampered(report_.last_seq + 1,
               frame.error().message() + " (after entry " + std::to_string(report_.last_seq) + ")");
      return report_;
    }
    if (!*frame) break;
    const Frame& f = **frame;
    if (f.type == FrameType::kEntry) {
      if (!check_entry(f.data)) return report_;
    } else {
      if (report_.entries == 0) {
        tampered(0, "checkpoint before the first entry");
        return report_;
      }
      if (!check_checkpoint(f.data)) return report_;
    }
    if (opts_.progress && (++frames & 0xffff) == 0)
      opts_.progress(reader->offset(), reader->file_size());
  }
  if (opts_.progress) opts_.progress(reader->offset(), reader->file_size());
  if (report_.entries == 0) {
    report_.reason = "the export holds no entries";
    return report_;
  }
  if (report_.checkpoints == 0) {
    tampered(0, "no signed checkpoint in the export: nothing ties its entries to the daemon's key");
    return report_;
  }
  report_.unsigned_tail = report_.last_seq - report_.last_checkpoint_size;
  if (!report_.full && (!opts_.receipts.empty() || trusted_)) {
    // Roots cannot be recomputed without the entries from seq 1.
    report_.reason = "receipts and trusted checkpoints need a full export (from entry 1)";
    report_.status = VerifyStatus::kError;
    return report_;
  }
  report_.trusted_keys = keys_;
  if (!check_receipts_and_trust()) return report_;
  report_.tree_size = report_.full ? report_.last_seq : 0;
  report_.root = report_.full ? range_.root() : Hash{};
  report_.status = VerifyStatus::kOk;
  return report_;
}

}  // namespace

VerifyReport verify_export(const std::string& path, const VerifyOptions& options) {
  return Verifier(path, options).run();
}

}  // namespace gongshu::audit
