#include "daemon/subject_index.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/store/cursor.h"
#include "core/util/check.h"

namespace gongshu::daemon {
namespace {

template <class ByteVector>
ByteVector subject_key_in(ByteVector k, uint64_t prefix, const crypto::Digest& token,
                          std::string_view stored_key) {
  k.resize(8 + token.size() + stored_key.size());
  put_be64(k.data(), prefix);
  std::memcpy(k.data() + 8, token.data(), token.size());
  std::memcpy(k.data() + 8 + token.size(), stored_key.data(), stored_key.size());
  return k;
}

// Eight bytes of k from `at` as a big-endian integer, zero-padded past its end (which keeps the
// order bytewise: a key that ends first sorts first or ties, and ties compare whole keys).
uint64_t be64_at(ByteView k, size_t at) {
  if (k.size() >= at + 8) return get_be64(k.data() + at);
  uint8_t padded[8] = {};
  if (k.size() > at) std::memcpy(padded, k.data() + at, k.size() - at);
  return get_be64(padded);
}

}  // namespace

void sort_subject_keys(std::vector<ByteView>& keys) {
  struct Keyed {
    uint64_t first, second;
    ByteView key;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(keys.size());
  for (ByteView k : keys) keyed.push_back({be64_at(k, 0), be64_at(k, 8), k});
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.first != b.first) return a.first < b.first;
    if (a.second != b.second) return a.second < b.second;
    return bytes_less(a.key, b.key);
  });
  keys.clear();
  for (const Keyed& k : keyed) {
    if (keys.empty() || !bytes_equal(keys.back(), k.key)) keys.push_back(k.key);
  }
}

Bytes subject_key(uint64_t prefix, const crypto::Digest& token, std::string_view stored_key) {
  return subject_key_in(Bytes(), prefix, token, stored_key);
}

std::pmr::vector<uint8_t> subject_key(uint64_t prefix, const crypto::Digest& token,
                                      std::string_view stored_key,
                                      std::pmr::memory_resource* memory) {
  return subject_key_in(std::pmr::vector<uint8_t>(memory), prefix, token, stored_key);
}

void set_subject_prefix(std::span<uint8_t> key, uint64_t prefix) {
  GONGSHU_CHECK(key.size() >= 8);
  put_be64(key.data(), prefix);
}

Result<size_t> write_subject_entries(store::WriteTxn& txn, const store::Table<ByteView>& runs,
                                     const store::Table<ByteView>& index,
                                     std::vector<ByteView> entries, uint64_t next_version) {
  // A run's partition (the prefix of an index key is its partition already).
  auto partition_of = [](ByteView run_key) { return subject_partition(get_be64(run_key.data())); };
  for (ByteView e : entries) GONGSHU_CHECK(e.size() >= 8);
  sort_subject_keys(entries);  // runs first, then by token: a record written twice is one entry
  const uint64_t filling = subject_partition(next_version);

  // The oldest closed partition: the first run's, or else the first entry's. (The commit's run
  // starts follow every stored run's, so its entries belong to no older partition.)
  std::optional<uint64_t> closed;
  size_t merged = 0, taken = 0;  // entries[0, taken) go into the merge
  {
    auto cursor = runs.write_cursor(txn);
    auto first = cursor.first();
    if (first && first->key.size() < 8)
      return fail(ErrorCode::kCorrupt, "subject_runs: a key of under 8 bytes");
    if (first && partition_of(first->key) < filling)
      closed = partition_of(first->key);
    else if (!entries.empty() && partition_of(entries.front()) < filling)
      closed = partition_of(entries.front());
    if (closed) {
      // Its tails (token || stored key), copied: the runs are deleted below.
      Bytes tails;
      std::vector<std::pair<size_t, size_t>> spans;  // offset and size in tails
      auto take = [&](ByteView key) {
        spans.emplace_back(tails.size(), key.size() - 8);
        tails.insert(tails.end(), key.begin() + 8, key.end());
      };
      for (auto e = first; e && e->key.size() >= 8 && partition_of(e->key) == *closed;
           e = cursor.next())
        take(e->key);
      while (taken < entries.size() && partition_of(entries[taken]) == *closed)
        take(entries[taken++]);
      merged = spans.size();
      std::vector<ByteView> sorted;
      sorted.reserve(spans.size());
      for (auto [at, size] : spans) sorted.emplace_back(tails.data() + at, size);
      // A record written twice in the partition has an entry in each run: one is kept.
      sort_subject_keys(sorted);
      // Appended when the partition is new to the index: always, but for the newest partition
      // of a store from before runs, which may already hold entries.
      auto to = index.write_cursor(txn);
      auto last = to.last();
      const bool append = !last || last->key.size() < 8 || get_be64(last->key.data()) < *closed;
      Bytes key(8);
      put_be64(key.data(), *closed);
      for (ByteView tail : sorted) {
        key.resize(8);
        key.insert(key.end(), tail.begin(), tail.end());
        GONGSHU_RETURN_IF_ERROR(append ? to.append(key, {}) : to.put(key, {}));
      }
    }
  }
  if (closed) {
    // Delete the partition's runs: usually all there are, emptied in one go.
    auto cursor = runs.write_cursor(txn);
    auto last = cursor.last();
    if (last && last->key.size() >= 8 && partition_of(last->key) == *closed) {
      GONGSHU_RETURN_IF_ERROR(runs.clear(txn));
    } else {
      for (auto e = cursor.first(); e && e->key.size() >= 8 && partition_of(e->key) == *closed;
           e = cursor.first())
        GONGSHU_RETURN_IF_ERROR(cursor.erase());
    }
  }
  auto cursor = runs.write_cursor(txn);
  for (size_t i = taken; i < entries.size(); ++i)
    GONGSHU_RETURN_IF_ERROR(cursor.append(entries[i], {}));
  return merged;
}

void gather_subject_keys(const store::Txn& txn, const store::Table<ByteView>& table, ByteView tail,
                         std::string_view after, size_t limit, std::set<std::string>& out) {
  // Each partition (or run) holds a subject's keys in record-key order; they are walked one
  // after another.
  if (limit == 0) return;
  auto cur = table.cursor(txn);
  uint64_t prefix = 0;
  while (true) {
    Bytes probe;
    append_be64(probe, prefix);
    append(probe, tail);
    append(probe, after);
    auto e = cur.seek(probe);
    if (!e || e->key.size() < 8) return;
    const uint64_t found = get_be64(e->key.data());
    if (found != prefix) {
      prefix = found;  // the next partition there is: seek the subject in it
      continue;
    }
    for (; e; e = cur.next()) {
      ByteView key = e->key;
      if (key.size() < 8 + tail.size() || get_be64(key.data()) != prefix ||
          !std::equal(tail.begin(), tail.end(), key.begin() + 8))
        break;
      std::string record_key(as_chars(key.subspan(8 + tail.size())));
      if (record_key == after) continue;
      // Later keys of this partition sort after this one: none of them can enter a full set.
      if (out.size() == limit && record_key >= *out.rbegin()) break;
      out.insert(std::move(record_key));
      if (out.size() > limit) out.erase(std::prev(out.end()));
    }
    if (prefix == UINT64_MAX) return;
    ++prefix;
  }
}

}  // namespace gongshu::daemon
