// Catalog entries in their TOML form (core/catalog/dataset.h): written by agencies, loaded by
// gongshuctl and the agent's catalog cache. An entry that parses is valid, compiles to a
// schema, and a record naming the dataset is validated against it.
#include "core/catalog/dataset.h"
#include "core/catalog/validate.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto entry = catalog::parse_dataset_toml(fuzz::text(data, size), "fuzz.toml");
  if (!entry) return 0;
  GONGSHU_FUZZ_CHECK(catalog::validate_dataset(*entry).has_value(),
                     "a parsed entry does not validate");
  catalog::DatasetSchema schema(*entry);
  v1::Record r;
  r.set_dataset(schema.id());
  r.set_record_key("k1");
  for (const auto& spec : schema.entry().fields()) {
    auto* f = r.add_fields();
    f->set_name(spec.name());
    f->mutable_value()->set_text("110101199003074514");
  }
  catalog::normalize_record(schema, r, fuzz::clock());
  // Called for what it may do wrong, not for its answer: any outcome is fine.
  (void)catalog::validate_record(schema, r, fuzz::clock());
  return 0;
}
