#include "core/store/write_set.h"

#include <cstring>

#include "core/util/check.h"

namespace gongshu::store {

uint32_t WriteSet::table_index(unsigned dbi, const std::string& table) {
  if (dbi >= index_of_dbi_.size()) index_of_dbi_.resize(dbi + 1, -1);
  int32_t& index = index_of_dbi_[dbi];
  if (index < 0) {
    index = static_cast<int32_t>(tables_.size());
    tables_.push_back(table);
  }
  return static_cast<uint32_t>(index);
}

void WriteSet::append_varint(uint64_t v) {
  GONGSHU_CHECK_MSG(v <= UINT32_MAX, "write set: a length beyond 4 GiB");
  while (v >= 0x80) {
    ops_.push_back(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  ops_.push_back(static_cast<uint8_t>(v));
}

void WriteSet::record_put(unsigned dbi, const std::string& table, ByteView key, ByteView value) {
  flush_reserved();
  ops_.push_back(static_cast<uint8_t>(WriteOpKind::kPut));
  append_varint(table_index(dbi, table));
  append_varint(key.size());
  append(ops_, key);
  append_varint(value.size());
  append(ops_, value);
  ++op_count_;
}

void WriteSet::record_reserved(unsigned dbi, const std::string& table, ByteView key,
                               std::span<const uint8_t> slot) {
  flush_reserved();
  ops_.push_back(static_cast<uint8_t>(WriteOpKind::kPut));
  append_varint(table_index(dbi, table));
  append_varint(key.size());
  append(ops_, key);
  append_varint(slot.size());
  reserved_.push_back(Reserved{ops_.size(), slot});
  ops_.resize(ops_.size() + slot.size());
  ++op_count_;
}

void WriteSet::record_delete(unsigned dbi, const std::string& table, ByteView key) {
  flush_reserved();
  ops_.push_back(static_cast<uint8_t>(WriteOpKind::kDelete));
  append_varint(table_index(dbi, table));
  append_varint(key.size());
  append(ops_, key);
  ++op_count_;
}

void WriteSet::record_clear(unsigned dbi, const std::string& table) {
  flush_reserved();
  ops_.push_back(static_cast<uint8_t>(WriteOpKind::kClear));
  append_varint(table_index(dbi, table));
  ++op_count_;
}

void WriteSet::flush_reserved_slow() {
  for (const Reserved& r : reserved_) {
    if (!r.slot.empty()) std::memcpy(ops_.data() + r.offset, r.slot.data(), r.slot.size());
  }
  reserved_.clear();
}

}  // namespace gongshu::store
