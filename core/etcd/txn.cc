#include "core/etcd/txn.h"

#include <utility>

namespace gongshu::etcd {

Op Op::put(std::string key, std::string value, std::optional<LeaseId> lease) {
  Op op;
  op.kind = Kind::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

Op Op::del(std::string key) {
  Op op;
  op.kind = Kind::kDelete;
  op.key = std::move(key);
  return op;
}

Op Op::get(std::string key) {
  Op op;
  op.kind = Kind::kRange;
  op.key = std::move(key);
  return op;
}

Op Op::get_prefix(std::string prefix) {
  Op op = get(std::move(prefix));
  op.range_end = prefix_end(op.key);
  return op;
}

Op Op::delete_prefix(std::string prefix) {
  Op op = del(std::move(prefix));
  op.range_end = prefix_end(op.key);
  return op;
}

Txn& Txn::compare(Field field, std::string key, Cmp cmp, int64_t number) {
  Compare c;
  c.key = std::move(key);
  c.field = field;
  c.cmp = cmp;
  c.number = number;
  compares_.push_back(std::move(c));
  return *this;
}

Txn& Txn::compare_value(std::string key, Cmp cmp, std::string value) {
  Compare c;
  c.key = std::move(key);
  c.field = Field::kValue;
  c.cmp = cmp;
  c.value = std::move(value);
  compares_.push_back(std::move(c));
  return *this;
}

Txn& Txn::compare_prefix(Field field, std::string prefix, Cmp cmp, int64_t number) {
  std::string end = prefix_end(prefix);
  compare(field, std::move(prefix), cmp, number);
  compares_.back().range_end = std::move(end);
  return *this;
}

Txn& Txn::on_success(Op op) {
  success_.push_back(std::move(op));
  return *this;
}

Txn& Txn::on_failure(Op op) {
  failure_.push_back(std::move(op));
  return *this;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace gongshu::etcd
