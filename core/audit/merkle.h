// RFC 6962 §2.1 Merkle trees over audit entry hashes: leaf and node hashing, the compact range
// that yields the root of a growing log in O(log n) memory, proof generation over any source of
// stored perfect-subtree nodes, and proof verification (the RFC 9162 §2.1.3.2 / §2.1.4.2
// algorithms). Pure functions and value types; safe on any thread.
//
// Node addressing: node(level, index) is the root of the perfect subtree of 2^level leaves
// starting at leaf index << level. Such nodes are created in post-order as leaves are appended,
// so node_position() numbers them 0, 1, 2, ... in creation order, which lets a store append them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/crypto/sha256.h"
#include "core/util/bytes.h"

namespace gongshu::audit {

using Hash = crypto::Digest;

// SHA-256(0x00 || data): the leaf hash; for the audit log, entry_hash(n).
Hash leaf_hash(ByteView data);
// SHA-256(0x01 || left || right).
Hash node_hash(const Hash& left, const Hash& right);
// The root of the empty tree, SHA-256("").
Hash empty_root();

// Largest power of two strictly less than n (n >= 2).
uint64_t split_point(uint64_t n);

// Creation-order position of node(level, index); see the header comment.
uint64_t node_position(unsigned level, uint64_t index);

// The roots of the perfect subtrees that make up a tree of any size, kept as leaves arrive.
class CompactRange {
 public:
  void append(const Hash& leaf) {
    append(leaf, [](unsigned, const Hash&) {});
  }
  // Appends a leaf and calls on_node(level, hash) for the leaf (level 0) and for every
  // interior node it completes, in creation order.
  template <typename OnNode>
  void append(const Hash& leaf, OnNode&& on_node) {
    on_node(0u, leaf);
    peaks_.push_back(leaf);
    ++size_;
    // Each trailing zero bit of the new size is a pair of equal subtrees to merge.
    unsigned level = 0;
    for (uint64_t s = size_; (s & 1) == 0; s >>= 1) {
      Hash right = peaks_.back();
      peaks_.pop_back();
      peaks_.back() = node_hash(peaks_.back(), right);
      on_node(++level, peaks_.back());
    }
  }
  uint64_t size() const { return size_; }
  // MTH of the leaves appended so far.
  Hash root() const;
  // The perfect-subtree roots, largest (leftmost) first.
  const std::vector<Hash>& peaks() const { return peaks_; }
  static CompactRange from_peaks(uint64_t size, std::vector<Hash> peaks);

 private:
  uint64_t size_ = 0;
  std::vector<Hash> peaks_;
};

// A source of perfect-subtree nodes (an LMDB table, an in-memory tree).
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  virtual Hash node(unsigned level, uint64_t index) const = 0;
};

// MTH(D[start : start + size]) assembled from stored perfect subtrees.
Hash subtree_root(const NodeSource& src, uint64_t start, uint64_t size);

// PATH(index, D[0:size]) (RFC 6962 §2.1.1). Requires index < size.
std::vector<Hash> inclusion_proof(const NodeSource& src, uint64_t index, uint64_t size);
// PROOF(old_size, D[0:new_size]) (RFC 6962 §2.1.2). Requires 0 < old_size <= new_size.
std::vector<Hash> consistency_proof(const NodeSource& src, uint64_t old_size, uint64_t new_size);

bool verify_inclusion(const Hash& leaf, uint64_t index, uint64_t size,
                      const std::vector<Hash>& proof, const Hash& root);
bool verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, const std::vector<Hash>& proof);

// All nodes of a tree in memory; for the offline tools and tests.
class MemoryTree final : public NodeSource {
 public:
  void append(const Hash& leaf);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  Hash node(unsigned level, uint64_t index) const override;
  Hash root() const { return size() == 0 ? empty_root() : subtree_root(*this, 0, size()); }

 private:
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace gongshu::audit
