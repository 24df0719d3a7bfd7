#include "core/audit/log.h"

#include <cstring>

#include "core/audit/receipt.h"
#include "core/util/check.h"

namespace gongshu::audit {
namespace {

constexpr std::string_view kHeadKey = "audit.head";
constexpr size_t kHeadSize = 8 + 32 + 8 + 8;

// Perfect-subtree nodes read from the store inside one transaction.
class TxnNodes final : public NodeSource {
 public:
  TxnNodes(const store::Txn& txn, const store::Table<uint64_t>& nodes) : txn_(txn), nodes_(nodes) {}
  Hash node(unsigned level, uint64_t index) const override {
    auto v = nodes_.get(txn_, node_position(level, index));
    GONGSHU_CHECK_MSG(v && v->size() == 32, "audit tree node missing from the store");
    Hash h;
    std::memcpy(h.data(), v->data(), 32);
    return h;
  }

 private:
  const store::Txn& txn_;
  const store::Table<uint64_t>& nodes_;
};

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(store::Env& env, const crypto::IdentityKey& signer,
                                                 AuditLogOptions options, const Clock& clock) {
  if (options.origin.empty() || options.origin.find_first_of(" \n+") != std::string::npos) {
    return fail(ErrorCode::kInvalidArgument,
                "audit log: origin must be non-empty, without spaces or '+'");
  }
  GONGSHU_TRY(auto entries, store::Table<uint64_t>::open(env, "audit_entries"));
  GONGSHU_TRY(auto nodes, store::Table<uint64_t>::open(env, "audit_nodes"));
  GONGSHU_TRY(auto checkpoints, store::Table<uint64_t>::open(env, "audit_checkpoints"));
  GONGSHU_TRY(auto meta, store::Table<std::string_view>::open(env, "audit_meta"));
  return std::unique_ptr<AuditLog>(new AuditLog(signer, std::move(options), clock,
                                                std::move(entries), std::move(nodes),
                                                std::move(checkpoints), std::move(meta)));
}

TreeHead AuditLog::head(const store::Txn& txn) const {
  TreeHead h;
  auto v = meta_.get(txn, kHeadKey);
  if (!v) {
    h.root = empty_root();
    return h;
  }
  GONGSHU_CHECK_MSG(v->size() == kHeadSize, "audit head record has the wrong size");
  const uint8_t* p = v->data();
  h.size = get_be64(p);
  std::memcpy(h.last_entry_hash.data(), p + 8, 32);
  h.checkpoint_size = get_be64(p + 40);
  h.pending_since_ms = static_cast<int64_t>(get_be64(p + 48));
  h.root = root_at(txn, h.size);
  return h;
}

Status AuditLog::write_head(store::WriteTxn& txn, const TreeHead& h) const {
  uint8_t buf[kHeadSize];
  put_be64(buf, h.size);
  std::memcpy(buf + 8, h.last_entry_hash.data(), 32);
  put_be64(buf + 40, h.checkpoint_size);
  put_be64(buf + 48, static_cast<uint64_t>(h.pending_since_ms));
  return meta_.put(txn, kHeadKey, ByteView(buf, kHeadSize));
}

Hash AuditLog::root_at(const store::Txn& txn, uint64_t size) const {
  if (size == 0) return empty_root();
  return subtree_root(TxnNodes(txn, nodes_), 0, size);
}

const CompactRange& AuditLog::frontier_for(const store::Txn& txn, const TreeHead& h) {
  if (frontier_.size() == h.size && frontier_last_ == h.last_entry_hash) return frontier_;
  std::vector<Hash> peaks;
  TxnNodes nodes(txn, nodes_);
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    uint64_t width = uint64_t(1) << level;
    if (h.size & width) {
      peaks.push_back(nodes.node(static_cast<unsigned>(level), start >> level));
      start += width;
    }
  }
  frontier_ = CompactRange::from_peaks(h.size, std::move(peaks));
  frontier_last_ = h.last_entry_hash;
  return frontier_;
}

Result<Appended> AuditLog::append(store::WriteTxn& txn, v1::AuditEntry& entry) {
  AppendHook* hook = in_hook_ ? nullptr : hook_.load();
  if (!hook) return append_entry(txn, entry);
  // Entries the hook appends itself do not reach it again.
  struct InHook {
    bool& flag;
    explicit InHook(bool& f) : flag(f) { flag = true; }
    ~InHook() { flag = false; }
  };
  {
    InHook guard(in_hook_);
    GONGSHU_RETURN_IF_ERROR(hook->before(txn, entry));
  }
  GONGSHU_TRY(Appended a, append_entry(txn, entry));
  {
    InHook guard(in_hook_);
    GONGSHU_RETURN_IF_ERROR(hook->after(txn, entry, a));
  }
  return a;
}

Result<Appended> AuditLog::append_entry(store::WriteTxn& txn, v1::AuditEntry& entry) {
  // The head without its root: append only needs size and the last hash.
  TreeHead h;
  if (auto v = meta_.get(txn, kHeadKey)) {
    GONGSHU_CHECK(v->size() == kHeadSize);
    h.size = get_be64(v->data());
    std::memcpy(h.last_entry_hash.data(), v->data() + 8, 32);
    h.checkpoint_size = get_be64(v->data() + 40);
    h.pending_since_ms = static_cast<int64_t>(get_be64(v->data() + 48));
  }
  int64_t now = clock_.now_ms();
  if (entry.time_ms() == 0) entry.set_time_ms(now);
  if (h.size == h.checkpoint_size) h.pending_since_ms = now;
  uint64_t seq = h.size + 1;
  encode_entry(seq, h.last_entry_hash, entry, &scratch_);
  if (scratch_.size() > kMaxEntrySize) {
    return fail(ErrorCode::kInvalidArgument, "audit entry of " + std::to_string(scratch_.size()) +
                                                 " bytes exceeds the limit of " +
                                                 std::to_string(kMaxEntrySize));
  }
  Hash leaf = entry_hash(as_bytes(scratch_));
  GONGSHU_RETURN_IF_ERROR(entries_.append(txn, seq, as_bytes(scratch_)));

  // Add the leaf and every node it completes, in creation (post-)order; the frontier holds the
  // left siblings, so no node is read back.
  frontier_for(txn, h);
  uint64_t index = seq - 1;
  Status status;
  frontier_.append(leaf, [&](unsigned level, const Hash& node) {
    if (status) status = nodes_.append(txn, node_position(level, index >> level), node);
  });
  frontier_last_ = leaf;
  GONGSHU_RETURN_IF_ERROR(status);
  h.size = seq;
  h.last_entry_hash = leaf;
  GONGSHU_RETURN_IF_ERROR(write_head(txn, h));
  return Appended{seq, leaf};
}

Result<std::optional<std::string>> AuditLog::checkpoint_if_due(store::WriteTxn& txn) {
  TreeHead h = head(txn);
  if (h.size == h.checkpoint_size) return std::optional<std::string>();
  bool due = h.size - h.checkpoint_size >= options_.checkpoint_every ||
             clock_.now_ms() - h.pending_since_ms >= options_.checkpoint_interval_ms;
  if (!due) return std::optional<std::string>();
  GONGSHU_TRY(std::string note, write_checkpoint(txn, h));
  return std::optional<std::string>(std::move(note));
}

Result<std::string> AuditLog::checkpoint(store::WriteTxn& txn) {
  TreeHead h = head(txn);
  if (h.size == 0)
    return fail(ErrorCode::kInvalidArgument, "audit log is empty: nothing to checkpoint");
  if (auto existing = checkpoint_at(txn, h.size)) return *existing;
  return write_checkpoint(txn, h);
}

Result<std::string> AuditLog::write_checkpoint(store::WriteTxn& txn, TreeHead h) {
  CheckpointBody body{options_.origin, h.size, h.root, h.last_entry_hash};
  const crypto::IdentityKey* keys[] = {&signer_, cosigner_.load()};
  std::string note = sign_checkpoint(body, std::span(keys, keys[1] ? 2 : 1));
  GONGSHU_RETURN_IF_ERROR(checkpoints_.put(txn, h.size, as_bytes(note)));
  h.checkpoint_size = h.size;
  GONGSHU_RETURN_IF_ERROR(write_head(txn, h));
  return note;
}

v1::Receipt AuditLog::receipt(const store::Txn& txn, const Hash& event_hash,
                              const Appended& appended) const {
  TreeHead h = head(txn);
  return make_receipt(signer_, event_hash, appended.seq, appended.entry_hash, h.size, h.root,
                      clock_.now_ms());
}

std::optional<ByteView> AuditLog::entry(const store::Txn& txn, uint64_t seq) const {
  return entries_.get(txn, seq);
}

std::optional<std::string> AuditLog::checkpoint_at(const store::Txn& txn, uint64_t size) const {
  auto v = checkpoints_.get(txn, size);
  if (!v) return std::nullopt;
  return std::string(as_chars(*v));
}

std::optional<std::string> AuditLog::latest_checkpoint(const store::Txn& txn) const {
  auto c = checkpoints_.cursor(txn);
  auto last = c.last();
  if (!last) return std::nullopt;
  return std::string(as_chars(last->value));
}

std::vector<uint64_t> AuditLog::checkpoint_sizes(const store::Txn& txn, uint64_t from,
                                                 uint64_t to) const {
  std::vector<uint64_t> out;
  auto c = checkpoints_.cursor(txn);
  for (auto e = c.seek(store::u64_key(from)); e; e = c.next()) {
    uint64_t size = *store::parse_u64_key(e->key);
    if (size > to) break;
    out.push_back(size);
  }
  return out;
}

Result<std::vector<Hash>> AuditLog::inclusion_proof(const store::Txn& txn, uint64_t seq,
                                                    uint64_t tree_size) const {
  uint64_t size = head(txn).size;
  if (tree_size > size) {
    return fail(ErrorCode::kInvalidArgument, "tree size " + std::to_string(tree_size) +
                                                 " is beyond the log's size " +
                                                 std::to_string(size));
  }
  if (seq == 0 || seq > tree_size) {
    return fail(ErrorCode::kInvalidArgument, "seq " + std::to_string(seq) +
                                                 " is not in a tree of " +
                                                 std::to_string(tree_size) + " entries");
  }
  return audit::inclusion_proof(TxnNodes(txn, nodes_), seq - 1, tree_size);
}

Result<std::vector<Hash>> AuditLog::consistency_proof(const store::Txn& txn, uint64_t old_size,
                                                      uint64_t new_size) const {
  uint64_t size = head(txn).size;
  if (old_size == 0 || old_size > new_size || new_size > size) {
    return fail(ErrorCode::kInvalidArgument,
                "consistency proof needs 0 < old size <= new size <= " + std::to_string(size));
  }
  return audit::consistency_proof(TxnNodes(txn, nodes_), old_size, new_size);
}

}  // namespace gongshu::audit
