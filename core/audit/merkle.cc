#include "core/audit/merkle.h"

#include <bit>
#include <cstring>

#include "core/util/check.h"

namespace gongshu::audit {
namespace {

bool lsb(uint64_t v) { return (v & 1) != 0; }

void path_into(const NodeSource& src, uint64_t index, uint64_t start, uint64_t size,
               std::vector<Hash>& out) {
  if (size <= 1) return;
  uint64_t k = split_point(size);
  if (index < k) {
    path_into(src, index, start, k, out);
    out.push_back(subtree_root(src, start + k, size - k));
  } else {
    path_into(src, index - k, start + k, size - k, out);
    out.push_back(subtree_root(src, start, k));
  }
}

void subproof_into(const NodeSource& src, uint64_t m, uint64_t start, uint64_t n, bool whole,
                   std::vector<Hash>& out) {
  if (m == n) {
    if (!whole) out.push_back(subtree_root(src, start, n));
    return;
  }
  uint64_t k = split_point(n);
  if (m <= k) {
    subproof_into(src, m, start, k, whole, out);
    out.push_back(subtree_root(src, start + k, n - k));
  } else {
    subproof_into(src, m - k, start + k, n - k, false, out);
    out.push_back(subtree_root(src, start, k));
  }
}

}  // namespace

Hash leaf_hash(ByteView data) {
  // Hashed in place: copying an entry behind the prefix byte first cost more than the second
  // update, and made the speed depend on where the copy and its source happened to lie.
  thread_local crypto::Sha256 h;
  return h.update_byte(0x00).update(data).finish();
}

Hash node_hash(const Hash& left, const Hash& right) {
  // One contiguous update: this runs once per entry on the verifier's hot path.
  uint8_t buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return crypto::sha256(ByteView(buf, sizeof buf));
}

Hash empty_root() { return crypto::sha256(ByteView()); }

uint64_t split_point(uint64_t n) {
  GONGSHU_CHECK(n >= 2);
  return std::bit_floor(n - 1);
}

uint64_t node_position(unsigned level, uint64_t index) {
  uint64_t last_leaf = ((index + 1) << level) - 1;
  return 2 * last_leaf - static_cast<uint64_t>(std::popcount(last_leaf)) + level;
}

Hash CompactRange::root() const {
  if (peaks_.empty()) return empty_root();
  Hash r = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) r = node_hash(peaks_[i], r);
  return r;
}

CompactRange CompactRange::from_peaks(uint64_t size, std::vector<Hash> peaks) {
  GONGSHU_CHECK(static_cast<size_t>(std::popcount(size)) == peaks.size());
  CompactRange c;
  c.size_ = size;
  c.peaks_ = std::move(peaks);
  return c;
}

Hash subtree_root(const NodeSource& src, uint64_t start, uint64_t size) {
  GONGSHU_CHECK(size >= 1);
  if (std::has_single_bit(size) && start % size == 0) {
    unsigned level = static_cast<unsigned>(std::countr_zero(size));
    return src.node(level, start >> level);
  }
  uint64_t k = split_point(size);
  return node_hash(subtree_root(src, start, k), subtree_root(src, start + k, size - k));
}

std::vector<Hash> inclusion_proof(const NodeSource& src, uint64_t index, uint64_t size) {
  GONGSHU_CHECK(index < size);
  std::vector<Hash> out;
  path_into(src, index, 0, size, out);
  return out;
}

std::vector<Hash> consistency_proof(const NodeSource& src, uint64_t old_size, uint64_t new_size) {
  GONGSHU_CHECK(old_size > 0 && old_size <= new_size);
  std::vector<Hash> out;
  subproof_into(src, old_size, 0, new_size, true, out);
  return out;
}

bool verify_inclusion(const Hash& leaf, uint64_t index, uint64_t size,
                      const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if (lsb(fn) || fn == sn) {
      r = node_hash(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if (lsb(fn) || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

void MemoryTree::append(const Hash& leaf) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf);
  uint64_t idx = levels_[0].size() - 1;
  for (unsigned level = 0; lsb(idx); ++level) {
    if (levels_.size() <= level + 1) levels_.emplace_back();
    const auto& below = levels_[level];
    levels_[level + 1].push_back(node_hash(below[idx - 1], below[idx]));
    idx >>= 1;
  }
}

Hash MemoryTree::node(unsigned level, uint64_t index) const {
  GONGSHU_CHECK(level < levels_.size() && index < levels_[level].size());
  return levels_[level][index];
}

}  // namespace gongshu::audit
