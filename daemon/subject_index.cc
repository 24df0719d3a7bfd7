#include "daemon/subject_index.h"

#include <algorithm>
#include <cstring>

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

}  // namespace

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

Result<size_t> merge_subject_runs(store::WriteTxn& txn, const store::Table<ByteView>& runs,
                                  const store::Table<ByteView>& index, uint64_t next_version) {
  auto from = runs.write_cursor(txn);
  auto e = from.first();
  if (!e) return size_t{0};
  if (e->key.size() < 8) return fail(ErrorCode::kCorrupt, "subject_runs: a key of under 8 bytes");
  const uint64_t partition = subject_partition(get_be64(e->key.data()));
  if (partition >= subject_partition(next_version)) return size_t{0};  // still filling

  // The partition's runs are the first entries of the table: take their tails (token || stored
  // key) and delete them.
  Bytes tails;
  std::vector<std::pair<size_t, size_t>> spans;  // offset, size in tails
  for (; e && e->key.size() >= 8 && subject_partition(get_be64(e->key.data())) == partition;
       e = from.first()) {
    spans.emplace_back(tails.size(), e->key.size() - 8);
    tails.insert(tails.end(), e->key.begin() + 8, e->key.end());
    GONGSHU_RETURN_IF_ERROR(from.erase());
  }
  std::vector<ByteView> sorted;
  sorted.reserve(spans.size());
  for (auto [at, size] : spans) sorted.emplace_back(tails.data() + at, size);
  std::sort(sorted.begin(), sorted.end(), bytes_less);
  // A record written twice in the partition has an entry in each run: one is kept.
  sorted.erase(std::unique(sorted.begin(), sorted.end(), bytes_equal), sorted.end());

  // Appended when the partition is new to the index (always, but for the newest partition of a
  // store from before runs, which may already hold entries).
  auto to = index.write_cursor(txn);
  auto last = to.last();
  const bool append = !last || last->key.size() < 8 || get_be64(last->key.data()) < partition;
  Bytes key(8);
  put_be64(key.data(), partition);
  for (ByteView tail : sorted) {
    key.resize(8);
    key.insert(key.end(), tail.begin(), tail.end());
    GONGSHU_RETURN_IF_ERROR(append ? to.append(key, {}) : to.put(key, {}));
  }
  return spans.size();
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
