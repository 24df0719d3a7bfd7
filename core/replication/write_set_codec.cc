#include "core/replication/write_set_codec.h"

#include <cstring>

#include "core/util/check.h"
#include "core/util/wire_writer.h"

namespace gongshu::replication {
namespace {

constexpr std::string_view kMagic = "GSW1";
constexpr size_t kFixed = 4 + 8 + 8 + 32 + 8 + 32;  // magic .. audit root
constexpr size_t kHashSize = 32;

Hash chain_hash(ByteView body) { return crypto::domain_hash(kWriteSetDomain, body); }

// A bounds-checked reader over untrusted bytes.
class Reader {
 public:
  explicit Reader(ByteView b) : b_(b) {}
  size_t left() const { return b_.size() - pos_; }
  size_t pos() const { return pos_; }
  bool take(size_t n, ByteView& out) {
    if (n > left()) return false;
    out = b_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool u64(uint64_t& v) {
    ByteView p;
    if (!take(8, p)) return false;
    v = get_be64(p.data());
    return true;
  }
  // Unsigned LEB128 of at most 5 bytes, value < 2^32, minimal (no redundant zero groups), so
  // one value has one encoding.
  bool varint(uint64_t& v) {
    v = 0;
    for (int i = 0; i < 5; ++i) {
      if (left() == 0) return false;
      uint8_t byte = b_[pos_++];
      v |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
      if (!(byte & 0x80)) {
        if (i > 0 && byte == 0) return false;
        return v <= UINT32_MAX;
      }
    }
    return false;
  }

 private:
  ByteView b_;
  size_t pos_ = 0;
};

tl::unexpected<Error> corrupt(std::string_view what) {
  return fail(ErrorCode::kCorrupt, "write set: " + std::string(what));
}

}  // namespace

Result<size_t> encoded_write_set_size(const std::vector<std::string>& tables, ByteView ops,
                                      uint64_t op_count) {
  if (tables.empty() || tables.size() > kMaxTables)
    return fail(ErrorCode::kResourceExhausted, "write set: " + std::to_string(tables.size()) +
                                                   " tables (1.." + std::to_string(kMaxTables) +
                                                   " may be shipped)");
  if (op_count == 0 || op_count > kMaxOps)
    return fail(ErrorCode::kResourceExhausted, "write set: " + std::to_string(op_count) +
                                                   " writes in one transaction (1.." +
                                                   std::to_string(kMaxOps) + " may be shipped)");
  size_t size = kFixed + varint_size(tables.size()) + varint_size(op_count) +
                varint_size(ops.size()) + ops.size() + kHashSize;
  for (const auto& t : tables) {
    if (t.empty() || t.size() > kMaxTableName)
      return fail(ErrorCode::kInvalidArgument,
                  "write set: table name of " + std::to_string(t.size()) + " bytes");
    size += varint_size(t.size()) + t.size();
  }
  if (size > kMaxWriteSetBytes)
    return fail(ErrorCode::kResourceExhausted,
                "write set: " + std::to_string(size) + " bytes in one transaction (at most " +
                    std::to_string(kMaxWriteSetBytes) + " may be shipped)");
  return size;
}

void encode_write_set_into(std::span<uint8_t> out, const WriteSetHeader& header,
                           const std::vector<std::string>& tables, ByteView ops,
                           uint64_t op_count) {
  uint8_t* p = out.data();
  auto put = [&p](const void* data, size_t n) {
    if (n) std::memcpy(p, data, n);
    p += n;
  };
  auto be64 = [&p](uint64_t v) {
    put_be64(p, v);
    p += 8;
  };
  put(kMagic.data(), kMagic.size());
  be64(static_cast<uint64_t>(header.term));
  be64(header.seq);
  put(header.prev_hash.data(), header.prev_hash.size());
  be64(header.audit.size);
  put(header.audit.root.data(), header.audit.root.size());
  p = put_varint(p, tables.size());
  for (const auto& t : tables) {
    p = put_varint(p, t.size());
    put(t.data(), t.size());
  }
  p = put_varint(p, op_count);
  p = put_varint(p, ops.size());
  put(ops.data(), ops.size());
  GONGSHU_CHECK_MSG(static_cast<size_t>(p - out.data()) + kHashSize == out.size(),
                    "write set: encoded size differs from encoded_write_set_size");
  Hash h = chain_hash(out.first(out.size() - kHashSize));
  put(h.data(), h.size());
}

Result<Bytes> encode_write_set(const WriteSetHeader& header, const std::vector<std::string>& tables,
                               ByteView ops, uint64_t op_count) {
  GONGSHU_TRY(size_t size, encoded_write_set_size(tables, ops, op_count));
  Bytes out(size);
  encode_write_set_into(out, header, tables, ops, op_count);
  return out;
}

Result<Bytes> encode_write_set(const WriteSetHeader& header, const store::WriteSet& writes) {
  return encode_write_set(header, writes.tables(), writes.ops(), writes.op_count());
}

Result<DecodedWriteSet> decode_write_set(ByteView bytes) {
  if (bytes.size() > kMaxWriteSetBytes) return corrupt("larger than the limit");
  if (bytes.size() < kFixed + kHashSize) return corrupt("truncated");
  Reader r(bytes.first(bytes.size() - kHashSize));
  DecodedWriteSet ws;
  ByteView p;
  r.take(4, p);
  if (as_chars(p) != kMagic) return corrupt("bad magic");
  uint64_t term = 0;
  r.u64(term);
  ws.header.term = static_cast<int64_t>(term);
  r.u64(ws.header.seq);
  r.take(32, p);
  std::memcpy(ws.header.prev_hash.data(), p.data(), 32);
  r.u64(ws.header.audit.size);
  r.take(32, p);
  std::memcpy(ws.header.audit.root.data(), p.data(), 32);
  if (ws.header.term < 1) return corrupt("term below 1");
  if (ws.header.seq < 1) return corrupt("seq below 1");

  uint64_t n = 0;
  if (!r.varint(n) || n == 0 || n > kMaxTables) return corrupt("bad table count");
  ws.tables.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t len = 0;
    if (!r.varint(len) || len == 0 || len > kMaxTableName || !r.take(len, p))
      return corrupt("bad table name");
    ws.tables.emplace_back(as_chars(p));
    if (ws.tables.back().find('\0') != std::string::npos) return corrupt("bad table name");
  }
  uint64_t count = 0, ops_len = 0;
  if (!r.varint(count) || count == 0 || count > kMaxOps) return corrupt("bad op count");
  if (!r.varint(ops_len) || ops_len != r.left()) return corrupt("op bytes do not fill the body");
  // Each op takes at least 2 bytes: reject counts the bytes cannot hold before reserving.
  if (count > ops_len / 2) return corrupt("op count beyond its bytes");
  ws.op_bytes = bytes.subspan(r.pos(), ops_len);
  ws.ops.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (r.left() == 0) return corrupt("fewer ops than counted");
    ByteView kind;
    r.take(1, kind);
    DecodedOp op{static_cast<store::WriteOpKind>(kind[0]), 0, {}, {}};
    uint64_t table = 0;
    if (!r.varint(table) || table >= ws.tables.size()) return corrupt("op names no table");
    op.table = static_cast<uint32_t>(table);
    switch (op.kind) {
      case store::WriteOpKind::kPut:
      case store::WriteOpKind::kDelete: {
        uint64_t klen = 0;
        if (!r.varint(klen) || klen == 0 || klen > kMaxKey || !r.take(klen, op.key))
          return corrupt("bad key");
        if (op.kind == store::WriteOpKind::kPut) {
          uint64_t vlen = 0;
          if (!r.varint(vlen) || !r.take(vlen, op.value)) return corrupt("bad value");
        }
        break;
      }
      case store::WriteOpKind::kClear:
        break;
      default:
        return corrupt("unknown op kind");
    }
    ws.ops.push_back(op);
  }
  if (r.left() != 0) return corrupt("bytes after the last op");
  Hash expect = chain_hash(bytes.first(bytes.size() - kHashSize));
  std::memcpy(ws.hash.data(), bytes.data() + bytes.size() - kHashSize, kHashSize);
  if (expect != ws.hash) return corrupt("hash does not match its contents");
  return ws;
}

}  // namespace gongshu::replication
