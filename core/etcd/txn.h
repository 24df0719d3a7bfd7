// Txn: an etcd transaction — "if every compare holds, run the success ops, else the failure
// ops" — applied atomically at one revision by Client::txn() (core/etcd/client.h).
//
// A compare looks at one field of one key (or, with a prefix, of every key under it):
//   value, create_revision, mod_revision or version, against a constant with =, !=, > or <.
// An absent key has create_revision, mod_revision and version 0, so "key absent" is
// create_revision == 0 (require_absent); a value compare on an absent key fails whatever its
// operator. A prefix compare holds when it holds for every key under the prefix; with no key
// there, it is made against one absent key (etcd's rule). "No member key written since
// revision R" is compare_prefix(kModRevision, prefix, kLess, R + 1).
//
// Ops are put, delete and range (one key or a prefix); their results come back in order in
// TxnResult. A failed compare is not an error: it is TxnResult::succeeded == false, with the
// failure ops' results. etcd refuses more than 128 ops in one transaction (its --max-txn-ops)
// and a key that appears in two writes of the same branch.
//
// A Txn is a plain value (no I/O): build it, pass it to Client::txn(), reuse or drop it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/etcd/types.h"

namespace gongshu::etcd {

enum class Field { kValue, kCreateRevision, kModRevision, kVersion };
enum class Cmp { kEqual, kNotEqual, kGreater, kLess };

struct Compare {
  std::string key;
  std::optional<std::string> range_end;  // set: every key in [key, range_end)
  Field field = Field::kValue;
  Cmp cmp = Cmp::kEqual;
  int64_t number = 0;  // for the revision and version fields
  std::string value;   // for kValue
};

struct Op {
  enum class Kind { kPut, kDelete, kRange };
  Kind kind = Kind::kRange;
  std::string key;
  std::optional<std::string> range_end;  // delete and range: every key in [key, range_end)
  std::string value;                     // put
  std::optional<LeaseId> lease;          // put

  static Op put(std::string key, std::string value, std::optional<LeaseId> lease = std::nullopt);
  static Op del(std::string key);
  static Op get(std::string key);
  static Op get_prefix(std::string prefix);
  static Op delete_prefix(std::string prefix);
};

// One op's outcome. kPut: revision. kDelete: deleted, revision. kRange: kvs.
struct OpResult {
  Op::Kind kind = Op::Kind::kRange;
  int64_t revision = 0;
  int64_t deleted = 0;
  std::vector<KeyValue> kvs;
};

struct TxnResult {
  bool succeeded = false;  // every compare held, so the success ops ran
  int64_t revision = 0;    // the store's revision after the transaction
  std::vector<OpResult> results;
};

class Txn {
 public:
  Txn& compare(Field field, std::string key, Cmp cmp, int64_t number);
  Txn& compare_value(std::string key, Cmp cmp, std::string value);
  // Every key under prefix (none: as for one absent key).
  Txn& compare_prefix(Field field, std::string prefix, Cmp cmp, int64_t number);
  Txn& require_absent(std::string key) {
    return compare(Field::kCreateRevision, std::move(key), Cmp::kEqual, 0);
  }

  Txn& on_success(Op op);
  Txn& on_failure(Op op);

  const std::vector<Compare>& compares() const { return compares_; }
  const std::vector<Op>& success() const { return success_; }
  const std::vector<Op>& failure() const { return failure_; }

 private:
  std::vector<Compare> compares_;
  std::vector<Op> success_;
  std::vector<Op> failure_;
};

// The end of the range that holds exactly the keys starting with prefix (etcd's "range_end"):
// prefix with its last byte below 0xff raised by one, trailing 0xff bytes dropped; "\0" (all
// keys) when prefix is empty or only 0xff bytes.
std::string prefix_end(std::string_view prefix);

}  // namespace gongshu::etcd
