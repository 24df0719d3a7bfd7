// Catalog entries (R-04 .. ): the TOML form agencies write, its validation, and
// the compiled schema that the agent and the daemon both check records against.
//
// TOML form (one file per dataset):
//
//   [dataset]
//   id = "population.household"          # [a-z0-9_.-], 3..64 characters
//   name = "户籍人口信息"
//   provider = "sjz-gongan"               # the agency that owns the data
//   grade = "important"                   # core | important | general-1 .. general-4
//   open = "closed"                       # unconditional | conditional | closed
//   share = "conditional"                 # unconditional | conditional | none
//   update_frequency = "daily"            # realtime | daily | weekly | monthly | quarterly |
//   yearly subject = "person"                    # person | organisation | none category =
//   "population"               # population | legal_person | credit | e_licence |
//                                         # economy | geo | topic
//   legal_basis = ""                      # required when a field is biometric
//   state_secret = false                  # true is refused: out of scope
//
//   [[field]]
//   name = "citizen_id"                   # [a-z0-9_], unique
//   type = "text"                         # text | integer | real | boolean | blob | date |
//   timestamp pii = "citizen_id"                    # none | citizen_id | credit_code | name |
//   phone |
//                                         # address | birth_date | biometric | other
//   required = true
//   description = "公民身份号码"
//
// Quality rules, optional, in the [[field]] table; core/catalog/quality.h checks them
// (core/catalog/pattern.h says why patterns are RE2's and not std::regex):
//
//   min = 0                               # range, inclusive: integer and real fields take
//   max = 150                             # numbers, date fields dates (1949-10-01), timestamp
//                                         # fields date-times with an offset
//   min_length = 11                       # text: length in characters
//   max_length = 11
//   chars = "0-9"                         # text: every character in this class
//   prefix = ["13", "15"]                 # text: starts with one of these (or one string)
//   allowed = ["男", "女"]                # enumeration: strings (text) or integers (integer)
//   references = "market.entity"          # text: the record key of a current record of that
//                                         # dataset (checked by the daemon at ingest)
//   pattern = '^[\p{Han}]{2,10}$'         # text: the whole value matches (RE2 syntax, UTF-8)
//
// Thread-safety: DatasetSchema is immutable after construction and safe to share.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/catalog/quality.h"
#include "core/util/error.h"
#include "gongshu/v1/catalog.pb.h"

namespace gongshu::catalog {

// Parses and validates a TOML catalog entry; errors name the file, the line and the reason.
Result<v1::DatasetEntry> parse_dataset_toml(std::string_view text, const std::string& file_name);

// Checks an entry's values (used for entries from any source). Returns every problem found,
// one per line, or nothing.
Status validate_dataset(const v1::DatasetEntry& entry);

std::string_view field_type_name(v1::FieldType type);
std::string_view pii_kind_name(v1::PiiKind kind);
// The kind a name of pii_kind_name stands for ("citizen_id", "birth_date", ...), or nullopt.
std::optional<v1::PiiKind> parse_pii_kind(std::string_view name);

class DatasetSchema {
 public:
  explicit DatasetSchema(v1::DatasetEntry entry);
  const v1::DatasetEntry& entry() const { return entry_; }
  const std::string& id() const { return entry_.id(); }
  // The field's spec, or nullptr for a field the catalog does not define.
  const v1::FieldSpec* field(std::string_view name) const;
  // Its index in entry().fields(), or -1.
  int field_index(std::string_view name) const;
  const std::vector<int>& required_fields() const { return required_; }
  bool personal() const { return personal_; }  // some field holds personal information
  // The field's compiled quality rules (empty() when it has none), built once here.
  const FieldRules& rules(int index) const { return rules_[static_cast<size_t>(index)]; }
  // The indices of the fields with a reference rule, in field order (usually none).
  const std::vector<int>& reference_fields() const { return references_; }

 private:
  v1::DatasetEntry entry_;
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int, NameHash, std::equal_to<>> by_name_;
  std::vector<int> required_;
  std::vector<FieldRules> rules_;
  std::vector<int> references_;
  bool personal_ = false;
};

}  // namespace gongshu::catalog
