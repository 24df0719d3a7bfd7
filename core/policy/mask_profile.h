// MaskProfile: a named set of masking ops (core/policy/mask_op.h) — one per PII kind, overrides
// per field, and one for the record key — that an allowing decision names (DESIGN §8, R-26).
// A kind the profile does not mention is redacted, so a profile that says nothing masks every
// personal field; only PII kind `none` defaults to keep. The record key defaults to keep.
//
// RecordMasker applies a profile to the rows of one dataset: build it once per (profile,
// schema) — the daemon caches it beside the schema — and mask every row read. A field the
// catalog does not define is dropped (fail closed); the subject identifier is masked with the
// op of its kind (citizen_id for a person, credit_code for an organisation, other otherwise);
// an invalidation reason with the op of kind `other`.
//
// Both are immutable once built and safe to share between threads; RecordMasker copies what it
// needs and keeps no reference to the profile or the schema.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog/dataset.h"
#include "core/crypto/secret_bytes.h"
#include "core/policy/mask_op.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::policy {

inline constexpr int kPiiKindCount = 9;

class MaskProfile {
 public:
  explicit MaskProfile(std::string id, std::string description = {});

  void set_kind(v1::PiiKind kind, MaskOp op);
  // key: "field" (any dataset) or "dataset:field" (that dataset only, which wins).
  void set_field(std::string key, MaskOp op);
  void set_record_key(MaskOp op) { record_key_ = op; }

  const std::string& id() const { return id_; }
  const std::string& description() const { return description_; }
  const MaskOp& kind_op(v1::PiiKind kind) const;
  const MaskOp& record_key_op() const { return record_key_; }
  const std::map<std::string, MaskOp, std::less<>>& field_ops() const { return fields_; }

  // The op for `field` of `dataset`: the "dataset:field" override, then the "field" override,
  // then the op of the field's PII kind.
  const MaskOp& op_for(std::string_view dataset, const v1::FieldSpec& field) const;

  // nullopt when the profile anonymises: every personal kind, every field override and
  // the record key have an anonymising op (core/policy/mask_op.h). Otherwise the first setting
  // that does not, as written in a policy file ("name = keep_first:1").
  std::optional<std::string> not_anonymising() const;

 private:
  std::string id_;
  std::string description_;
  std::array<MaskOp, kPiiKindCount> kinds_;
  std::map<std::string, MaskOp, std::less<>> fields_;
  MaskOp record_key_ = MaskOp::keep();
};

class RecordMasker {
 public:
  RecordMasker(const MaskProfile& profile, const catalog::DatasetSchema& schema);

  // Masks record (a row of the schema's dataset) in place. token_key: see apply_mask().
  void mask(v1::Record& record, const crypto::SecretBytes& token_key) const;

  // The op applied to field `name` and its kind; drop for a field the catalog does not define.
  std::pair<MaskOp, v1::PiiKind> field_op(std::string_view name) const;
  const MaskOp& subject_op() const { return subject_op_; }
  v1::PiiKind subject_kind() const { return subject_kind_; }
  const MaskOp& record_key_op() const { return record_key_op_; }

 private:
  struct FieldOp {
    std::string name;
    v1::PiiKind kind;
    MaskOp op;
  };
  const FieldOp* find(std::string_view name, int position) const;

  std::vector<FieldOp> fields_;  // in catalog order
  MaskOp subject_op_;
  v1::PiiKind subject_kind_;
  MaskOp record_key_op_;
  MaskOp reason_op_;
};

// Builds a RecordMasker and masks one record: for tests and one-off use.
void mask_record(const MaskProfile& profile, const catalog::DatasetSchema& schema,
                 const crypto::SecretBytes& token_key, v1::Record& record);

}  // namespace gongshu::policy
