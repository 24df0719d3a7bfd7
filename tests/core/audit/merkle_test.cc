#include "core/audit/merkle.h"

#include <catch2/catch.hpp>

#include "core/util/encoding.h"

namespace gongshu::audit {
namespace {

// MTH straight from RFC 6962 §2.1, recursive over the leaf hashes: the reference.
Hash reference_root(const std::vector<Hash>& leaves, size_t begin, size_t end) {
  size_t n = end - begin;
  if (n == 0) return empty_root();
  if (n == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return node_hash(reference_root(leaves, begin, begin + k),
                   reference_root(leaves, begin + k, end));
}

std::vector<Hash> make_leaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) out.push_back(leaf_hash(as_bytes("leaf " + std::to_string(i))));
  return out;
}

TEST_CASE("roots match the RFC 6962 test vectors of certificate-transparency") {
  std::vector<Bytes> inputs = {{},
                               {0x00},
                               {0x10},
                               {0x20, 0x21},
                               {0x30, 0x31},
                               {0x40, 0x41, 0x42, 0x43},
                               {0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
                               {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
                                0x6b, 0x6c, 0x6d, 0x6e, 0x6f}};
  std::vector<std::string> roots = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  CompactRange range;
  MemoryTree tree;
  for (size_t i = 0; i < inputs.size(); ++i) {
    range.append(leaf_hash(inputs[i]));
    tree.append(leaf_hash(inputs[i]));
    CHECK(hex_encode(range.root()) == roots[i]);
    CHECK(hex_encode(tree.root()) == roots[i]);
  }
  CHECK(hex_encode(empty_root()) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("compact range and memory tree agree with the reference for many sizes") {
  auto leaves = make_leaves(300);
  CompactRange range;
  MemoryTree tree;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    range.append(leaves[n - 1]);
    tree.append(leaves[n - 1]);
    Hash want = reference_root(leaves, 0, n);
    REQUIRE(range.root() == want);
    REQUIRE(tree.root() == want);
    CHECK(range.peaks().size() == size_t(__builtin_popcountll(n)));
  }
  auto rebuilt = CompactRange::from_peaks(range.size(), range.peaks());
  CHECK(rebuilt.root() == range.root());
}

TEST_CASE("node positions number nodes in creation order") {
  // Simulate appends and record the order in which (level, index) nodes are completed.
  uint64_t expected = 0;
  for (uint64_t leaf = 0; leaf < 1000; ++leaf) {
    CHECK(node_position(0, leaf) == expected++);
    uint64_t idx = leaf;
    for (unsigned level = 0; idx & 1; ++level) {
      idx >>= 1;
      CHECK(node_position(level + 1, idx) == expected++);
    }
  }
}

TEST_CASE("inclusion proofs verify for every position of many sizes, and fail when altered") {
  auto leaves = make_leaves(70);
  MemoryTree tree;
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    tree.append(leaves[n - 1]);
    Hash root = tree.root();
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = inclusion_proof(tree, i, n);
      REQUIRE(verify_inclusion(leaves[i], i, n, proof, root));
      // Wrong leaf, wrong index, wrong size, altered path element, truncated or extended path.
      if (n > 1) {
        CHECK(!verify_inclusion(leaves[(i + 1) % n], i, n, proof, root));
        CHECK(!verify_inclusion(leaves[i], (i + 1) % n, n, proof, root));
      }
      // The size is bound by the signed checkpoint, not by the path: a path may fit a
      // neighbouring size, but never against that size's root.
      if (n < leaves.size()) {
        MemoryTree bigger = tree;
        bigger.append(leaves[n]);
        CHECK(!verify_inclusion(leaves[i], i, n + 1, proof, bigger.root()));
      }
      CHECK(!verify_inclusion(leaves[i], n, n, proof, root));
      for (size_t p = 0; p < proof.size(); ++p) {
        auto bad = proof;
        bad[p][p % 32] ^= 0x01;
        CHECK(!verify_inclusion(leaves[i], i, n, bad, root));
      }
      if (!proof.empty()) {
        auto shorter = proof;
        shorter.pop_back();
        CHECK(!verify_inclusion(leaves[i], i, n, shorter, root));
      }
      auto longer = proof;
      longer.push_back(root);
      CHECK(!verify_inclusion(leaves[i], i, n, longer, root));
    }
  }
}

TEST_CASE("consistency proofs verify for every pair of sizes, and fail when altered") {
  auto leaves = make_leaves(70);
  MemoryTree tree;
  std::vector<Hash> roots = {empty_root()};
  for (const auto& l : leaves) {
    tree.append(l);
    roots.push_back(tree.root());
  }
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = consistency_proof(tree, m, n);
      REQUIRE(verify_consistency(m, n, roots[m], roots[n], proof));
      if (m < n) {
        Hash wrong_old = roots[m], wrong_new = roots[n];
        wrong_old[5] ^= 1;
        wrong_new[7] ^= 1;
        CHECK(!verify_consistency(m, n, wrong_old, roots[n], proof));
        CHECK(!verify_consistency(m, n, roots[m], wrong_new, proof));
        for (size_t p = 0; p < proof.size(); ++p) {
          auto bad = proof;
          bad[p][0] ^= 0x80;
          CHECK(!verify_consistency(m, n, roots[m], roots[n], bad));
        }
        CHECK(!verify_consistency(m, n, roots[m], roots[n], {}));
      }
    }
  }
  CHECK(!verify_consistency(0, 5, roots[0], roots[5], {}));
  CHECK(!verify_consistency(6, 5, roots[6], roots[5], {}));
}

TEST_CASE("proofs at powers of two and their neighbours in a larger tree") {
  auto leaves = make_leaves(4100);
  MemoryTree tree;
  for (const auto& l : leaves) tree.append(l);
  for (uint64_t size : {1ull, 2ull, 3ull, 4ull, 5ull, 7ull, 8ull, 9ull, 1023ull, 1024ull, 1025ull,
                        2047ull, 2048ull, 2049ull, 4095ull, 4096ull, 4097ull, 4100ull}) {
    Hash root = subtree_root(tree, 0, size);
    for (uint64_t i : {uint64_t(0), size / 2, size - 1}) {
      REQUIRE(verify_inclusion(leaves[i], i, size, inclusion_proof(tree, i, size), root));
    }
    for (uint64_t m : {uint64_t(1), size / 2 ? size / 2 : 1, size}) {
      Hash old_root = subtree_root(tree, 0, m);
      REQUIRE(verify_consistency(m, size, old_root, root, consistency_proof(tree, m, size)));
    }
  }
}

}  // namespace
}  // namespace gongshu::audit
