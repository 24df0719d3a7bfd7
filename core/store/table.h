// Table<Key>: a named database whose keys have a fixed encoding, so code reads
// `records.get(txn, seq)` instead of building key bytes by hand. Integer keys are stored
// big-endian, so cursor order is numeric order. Values are bytes; callers encode them
// (protobuf or a documented fixed layout).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/store/cursor.h"
#include "core/store/env.h"
#include "core/store/txn.h"
#include "core/util/bytes.h"

namespace gongshu::store {

// Big-endian 8-byte encoding of an integer key.
inline std::array<uint8_t, 8> u64_key(uint64_t v) {
  std::array<uint8_t, 8> k;
  put_be64(k.data(), v);
  return k;
}
// Decodes a key made by u64_key; nullopt when the key is not 8 bytes.
inline std::optional<uint64_t> parse_u64_key(ByteView k) {
  if (k.size() != 8) return std::nullopt;
  return get_be64(k.data());
}

template <typename Key>
struct KeyCodec;

template <>
struct KeyCodec<uint64_t> {
  using Encoded = std::array<uint8_t, 8>;
  static Encoded encode(uint64_t v) { return u64_key(v); }
  static ByteView view(const Encoded& e) { return {e.data(), e.size()}; }
};

template <>
struct KeyCodec<ByteView> {
  using Encoded = ByteView;
  static Encoded encode(ByteView v) { return v; }
  static ByteView view(const Encoded& e) { return e; }
};

template <>
struct KeyCodec<std::string_view> {
  using Encoded = ByteView;
  static Encoded encode(std::string_view v) { return as_bytes(v); }
  static ByteView view(const Encoded& e) { return e; }
};

template <typename Key>
class Table {
 public:
  using Codec = KeyCodec<Key>;

  static Result<Table> open(Env& env, const std::string& name) {
    GONGSHU_TRY(Db db, env.open_db(name));
    return Table(std::move(db));
  }

  std::optional<ByteView> get(const Txn& txn, Key key) const {
    auto k = Codec::encode(key);
    return txn.get(db_, Codec::view(k));
  }
  Status put(WriteTxn& txn, Key key, ByteView value) const {
    auto k = Codec::encode(key);
    return txn.put(db_, Codec::view(k), value);
  }
  Status insert(WriteTxn& txn, Key key, ByteView value) const {
    auto k = Codec::encode(key);
    return txn.insert(db_, Codec::view(k), value);
  }
  Status append(WriteTxn& txn, Key key, ByteView value) const {
    auto k = Codec::encode(key);
    return txn.append(db_, Codec::view(k), value);
  }
  Result<std::span<uint8_t>> append_reserve(WriteTxn& txn, Key key, size_t size) const {
    auto k = Codec::encode(key);
    return txn.append_reserve(db_, Codec::view(k), size);
  }
  Result<bool> del(WriteTxn& txn, Key key) const {
    auto k = Codec::encode(key);
    return txn.del(db_, Codec::view(k));
  }
  Status clear(WriteTxn& txn) const { return txn.clear(db_); }
  uint64_t count(const Txn& txn) const { return txn.count(db_); }
  Cursor cursor(const Txn& txn) const { return txn.cursor(db_); }
  WriteCursor write_cursor(WriteTxn& txn) const { return txn.write_cursor(db_); }
  const Db& db() const { return db_; }

 private:
  explicit Table(Db db) : db_(std::move(db)) {}
  Db db_;
};

}  // namespace gongshu::store
