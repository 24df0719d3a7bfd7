#include "bench/support/household.h"

#include "gongshu/v1/record.pb.h"

namespace gongshu::bench {

std::string household_record_512(const std::string& record_key, const std::string& citizen_id) {
  v1::Record r;
  r.set_dataset("population.household");
  r.set_record_key(record_key);
  r.set_subject_id(citizen_id);
  auto add = [&](const char* name, const std::string& v) {
    auto* f = r.add_fields();
    f->set_name(name);
    f->mutable_value()->set_text(v);
  };
  add("citizen_id", citizen_id);
  add("name", "张三丰");
  const std::string s = r.SerializeAsString();
  add("address", std::string(512 - s.size() - 12, 'x'));
  return r.SerializeAsString();
}

}  // namespace gongshu::bench
