#include "core/store/write_set.h"

#include <cstring>

#include "core/util/check.h"

namespace gongshu::store {
namespace {

// The op buffer of the last WriteSet destroyed on this thread, empty, capacity kept.
thread_local Bytes tls_spare_ops;

}  // namespace

WriteSet::WriteSet() {
  ops_.swap(tls_spare_ops);
  ops_.clear();
}

WriteSet::~WriteSet() {
  if (ops_.capacity() <= kSpareCapacity && ops_.capacity() > tls_spare_ops.capacity()) {
    ops_.clear();
    tls_spare_ops.swap(ops_);
  }
}

uint32_t WriteSet::table_index(unsigned dbi, const std::string& table) {
  if (dbi >= index_of_dbi_.size()) index_of_dbi_.resize(dbi + 1, -1);
  int32_t& index = index_of_dbi_[dbi];
  if (index < 0) {
    index = static_cast<int32_t>(tables_.size());
    tables_.push_back(table);
  }
  return static_cast<uint32_t>(index);
}

uint8_t* WriteSet::put_varint(uint8_t* p, uint64_t v) {
  GONGSHU_CHECK_MSG(v <= UINT32_MAX, "write set: a length beyond 4 GiB");
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

void WriteSet::append_head(WriteOpKind kind, uint32_t table, ByteView key,
                           const size_t* value_len) {
  // kind, table varint, key length varint, value length varint: at most 16 bytes besides the key.
  const size_t at = ops_.size();
  ops_.resize(at + 16 + key.size());
  uint8_t* p = ops_.data() + at;
  *p++ = static_cast<uint8_t>(kind);
  p = put_varint(p, table);
  if (kind != WriteOpKind::kClear) {
    p = put_varint(p, key.size());
    if (!key.empty()) std::memcpy(p, key.data(), key.size());
    p += key.size();
    if (value_len) p = put_varint(p, *value_len);
  }
  ops_.resize(static_cast<size_t>(p - ops_.data()));
}

void WriteSet::record_put(unsigned dbi, const std::string& table, ByteView key, ByteView value) {
  flush_reserved();
  const size_t len = value.size();
  append_head(WriteOpKind::kPut, table_index(dbi, table), key, &len);
  append(ops_, value);
  ++op_count_;
}

void WriteSet::record_reserved(unsigned dbi, const std::string& table, ByteView key,
                               std::span<const uint8_t> slot) {
  flush_reserved();
  const size_t len = slot.size();
  append_head(WriteOpKind::kPut, table_index(dbi, table), key, &len);
  reserved_ = slot;  // its bytes follow at the end of ops_ once flushed
  ++op_count_;
}

void WriteSet::record_delete(unsigned dbi, const std::string& table, ByteView key) {
  flush_reserved();
  append_head(WriteOpKind::kDelete, table_index(dbi, table), key, nullptr);
  ++op_count_;
}

void WriteSet::record_clear(unsigned dbi, const std::string& table) {
  flush_reserved();
  append_head(WriteOpKind::kClear, table_index(dbi, table), {}, nullptr);
  ++op_count_;
}

void WriteSet::flush_reserved_slow() {
  append(ops_, ByteView(reserved_.data(), reserved_.size()));
  reserved_ = {};
}

}  // namespace gongshu::store
