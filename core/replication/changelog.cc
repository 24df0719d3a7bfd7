#include "core/replication/changelog.h"

#include <cstring>
#include <limits>

namespace gongshu::replication {
namespace {

constexpr std::string_view kLogTable = "repl_changelog";
constexpr std::string_view kStateTable = "repl_state";
constexpr std::string_view kHeadKey = "head";
constexpr std::string_view kBytesKey = "bytes";

std::array<uint8_t, 48> encode_head(const ChainHead& h) {
  std::array<uint8_t, 48> out;
  put_be64(out.data(), static_cast<uint64_t>(h.term));
  put_be64(out.data() + 8, h.seq);
  std::memcpy(out.data() + 16, h.hash.data(), 32);
  return out;
}
// The stored head (encode_head's 48 bytes); none stored, or not 48 bytes: the empty head.
ChainHead decode_head(std::optional<ByteView> v) {
  ChainHead h;
  if (v && v->size() == 48) {
    h.term = static_cast<int64_t>(get_be64(v->data()));
    h.seq = get_be64(v->data() + 8);
    std::memcpy(h.hash.data(), v->data() + 16, 32);
  }
  return h;
}

thread_local uint64_t tls_committed_seq = 0;  // committed_on_this_thread()
// Numbered in before_commit, reported in after_commit: both run on the committing thread, and
// another writer may number its own write set between the two (LMDB's lock is released first).
thread_local uint64_t tls_pending_seq = 0;
}  // namespace

Result<std::unique_ptr<Changelog>> Changelog::open(store::Env& env, AuditProbe probe,
                                                   ChangelogOptions options) {
  GONGSHU_TRY(auto log, store::Table<uint64_t>::open(env, std::string(kLogTable)));
  GONGSHU_TRY(auto state, store::Table<std::string_view>::open(env, std::string(kStateTable)));
  env.exclude_from_recording(log.db());
  env.exclude_from_recording(state.db());
  auto cl = std::unique_ptr<Changelog>(
      new Changelog(std::move(probe), options, std::move(log), std::move(state)));
  cl->retain_from_.store(std::numeric_limits<uint64_t>::max());
  GONGSHU_TRY(auto txn, env.begin_read());
  cl->last_seq_.store(cl->head(txn).seq);
  return cl;
}

Result<ChainHead> Changelog::stored_head(store::Env& env) {
  auto state = store::Table<std::string_view>::open(env, std::string(kStateTable));
  if (!state && state.error().code() == ErrorCode::kNotFound) return ChainHead{};  // read-only
  if (!state) return tl::unexpected(state.error());
  GONGSHU_TRY(auto txn, env.begin_read());
  return decode_head(state->get(txn, kHeadKey));
}

ChainHead Changelog::head(const store::Txn& txn) const {
  return decode_head(state_.get(txn, kHeadKey));
}

std::optional<ByteView> Changelog::entry(const store::Txn& txn, uint64_t seq) const {
  return log_.get(txn, seq);
}

uint64_t Changelog::oldest(const store::Txn& txn) const {
  auto c = log_.cursor(txn);
  auto e = c.first();
  if (!e) return 0;
  return store::parse_u64_key(e->key).value_or(0);
}

uint64_t Changelog::stored_bytes(const store::Txn& txn) const {
  auto v = state_.get(txn, kBytesKey);
  return v && v->size() == 8 ? get_be64(v->data()) : 0;
}

Status Changelog::append_and_trim(store::WriteTxn& txn, const ChainHead& head, ByteView encoded) {
  GONGSHU_RETURN_IF_ERROR(log_.append(txn, head.seq, encoded));
  return head_and_trim(txn, head, encoded.size());
}

Status Changelog::head_and_trim(store::WriteTxn& txn, const ChainHead& head, size_t appended) {
  auto h = encode_head(head);
  GONGSHU_RETURN_IF_ERROR(state_.put(txn, kHeadKey, h));
  uint64_t bytes = stored_bytes(txn) + appended;
  const uint64_t retain = retain_from_.load(std::memory_order_acquire);
  uint64_t count = log_.count(txn);
  if (count > options_.max_entries || bytes > options_.max_bytes) {
    auto c = log_.write_cursor(txn);
    for (auto e = c.first(); e && (count > options_.max_entries || bytes > options_.max_bytes);
         e = c.first()) {
      uint64_t seq = store::parse_u64_key(e->key).value_or(0);
      if (seq >= head.seq || seq >= retain) break;  // never the newest, nor one still needed
      bytes -= std::min<uint64_t>(bytes, e->value.size());
      GONGSHU_RETURN_IF_ERROR(c.erase());
      --count;
    }
  }
  std::array<uint8_t, 8> b;
  put_be64(b.data(), bytes);
  return state_.put(txn, kBytesKey, b);
}

Status Changelog::before_commit(store::WriteTxn& txn, const store::WriteSet& writes) {
  const int64_t term = term_.load(std::memory_order_acquire);
  if (term <= 0)
    return fail(ErrorCode::kUnavailable,
                "replication: this node is not the primary; its store takes write sets only from "
                "the primary");
  ChainHead head = this->head(txn);
  if (term < head.term)
    return fail(ErrorCode::kUnavailable, "replication: term " + std::to_string(term) +
                                             " is older than the store's term " +
                                             std::to_string(head.term));
  GONGSHU_TRY(AuditState audit, probe_(txn));
  WriteSetHeader header{term, head.seq + 1, head.hash, audit};
  // Encoded straight into the changelog row LMDB reserves (MDB_RESERVE), filled before the next
  // write of the transaction: no buffer built and copied again.
  GONGSHU_TRY(size_t size,
              encoded_write_set_size(writes.tables(), writes.ops(), writes.op_count()));
  GONGSHU_TRY(std::span<uint8_t> row, log_.append_reserve(txn, header.seq, size));
  encode_write_set_into(row, header, writes.tables(), writes.ops(), writes.op_count());
  ChainHead next{term, header.seq, {}};
  std::memcpy(next.hash.data(), row.data() + row.size() - 32, 32);
  GONGSHU_RETURN_IF_ERROR(head_and_trim(txn, next, size));
  tls_pending_seq = next.seq;
  return {};
}

uint64_t Changelog::committed_on_this_thread() { return tls_committed_seq; }

void Changelog::after_commit() noexcept {
  const uint64_t seq = tls_pending_seq;
  // Commits report out of order when two writers race here: last_seq() only moves forward.
  uint64_t last = last_seq_.load(std::memory_order_relaxed);
  while (last < seq && !last_seq_.compare_exchange_weak(last, seq, std::memory_order_release)) {
  }
  tls_committed_seq = seq;
  if (listener_) listener_(seq);
}

Status Changelog::apply(store::WriteTxn& txn, const DecodedWriteSet& ws, ByteView encoded) {
  std::vector<store::Db> dbs;
  dbs.reserve(ws.tables.size());
  for (const auto& name : ws.tables) {
    if (name == kLogTable || name == kStateTable)
      return fail(ErrorCode::kCorrupt, "replication: write set " + std::to_string(ws.header.seq) +
                                           " writes " + name +
                                           ", which only the replication itself writes");
    GONGSHU_TRY(store::Db db, txn.open_db(name));
    dbs.push_back(std::move(db));
  }
  // Append mode (MDB_APPEND) while a table's keys arrive above its last key, as the leader's
  // ingest writes them: no search down the tree and full pages at a split (a plain put splits
  // half and half), so the replica writes and fsyncs the pages the leader did, not twice as
  // many. The first key that does not sort last (LMDB refuses it before touching anything) turns
  // that table to plain puts for the rest of the write set.
  std::vector<uint8_t> appending(dbs.size(), 1);
  for (const DecodedOp& op : ws.ops) {
    const store::Db& db = dbs[op.table];
    switch (op.kind) {
      case store::WriteOpKind::kPut:
        if (appending[op.table]) {
          auto appended = txn.append(db, op.key, op.value);
          if (appended) break;
          if (appended.error().code() != ErrorCode::kAlreadyExists) return appended;
          appending[op.table] = 0;
        }
        GONGSHU_RETURN_IF_ERROR(txn.put(db, op.key, op.value));
        break;
      case store::WriteOpKind::kDelete: {
        GONGSHU_TRY(bool existed, txn.del(db, op.key));
        if (!existed)
          return fail(ErrorCode::kCorrupt,
                      "replication: write set " + std::to_string(ws.header.seq) +
                          " deletes a key of " + db.name + " this store does not hold (diverged)");
        break;
      }
      case store::WriteOpKind::kClear:
        GONGSHU_RETURN_IF_ERROR(txn.clear(db));
        break;
    }
  }
  GONGSHU_TRY(AuditState audit, probe_(txn));
  if (audit != ws.header.audit)
    return fail(ErrorCode::kCorrupt,
                "replication: after write set " + std::to_string(ws.header.seq) +
                    " this store's audit tree has size " + std::to_string(audit.size) +
                    " and a root other than the primary's (size " +
                    std::to_string(ws.header.audit.size) + "): refused");
  return append_and_trim(txn, ws.head(), encoded);
}

}  // namespace gongshu::replication
