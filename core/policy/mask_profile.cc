#include "core/policy/mask_profile.h"

#include "core/policy/vocab.h"

namespace gongshu::policy {

MaskProfile::MaskProfile(std::string id, std::string description)
    : id_(std::move(id)), description_(std::move(description)) {
  kinds_.fill(MaskOp::redact());
  kinds_[v1::PII_NONE] = MaskOp::keep();
}

void MaskProfile::set_kind(v1::PiiKind kind, MaskOp op) {
  if (kind >= 0 && kind < kPiiKindCount) kinds_[kind] = op;
}

void MaskProfile::set_field(std::string key, MaskOp op) { fields_[std::move(key)] = op; }

const MaskOp& MaskProfile::kind_op(v1::PiiKind kind) const {
  static constexpr MaskOp kRedactOp = MaskOp::redact();
  if (kind < 0 || kind >= kPiiKindCount) return kRedactOp;
  return kinds_[kind];
}

const MaskOp& MaskProfile::op_for(std::string_view dataset, const v1::FieldSpec& field) const {
  if (!fields_.empty()) {
    std::string qualified;
    qualified.reserve(dataset.size() + 1 + field.name().size());
    qualified.append(dataset).append(":").append(field.name());
    if (auto it = fields_.find(qualified); it != fields_.end()) return it->second;
    if (auto it = fields_.find(field.name()); it != fields_.end()) return it->second;
  }
  return kind_op(field.pii());
}

std::optional<std::string> MaskProfile::not_anonymising() const {
  for (int k = 0; k < kPiiKindCount; ++k) {
    const auto kind = static_cast<v1::PiiKind>(k);
    if (is_personal_kind(kind) && !is_anonymising(kinds_[k])) {
      return std::string(catalog::pii_kind_name(kind)) + " = " + mask_op_text(kinds_[k]);
    }
  }
  for (const auto& [key, op] : fields_) {
    if (!is_anonymising(op)) return "field \"" + key + "\" = " + mask_op_text(op);
  }
  if (!is_anonymising(record_key_)) return "record_key = " + mask_op_text(record_key_);
  return std::nullopt;
}

RecordMasker::RecordMasker(const MaskProfile& profile, const catalog::DatasetSchema& schema)
    : record_key_op_(profile.record_key_op()), reason_op_(profile.kind_op(v1::PII_OTHER)) {
  const v1::DatasetEntry& e = schema.entry();
  fields_.reserve(size_t(e.fields_size()));
  for (const v1::FieldSpec& f : e.fields()) {
    fields_.push_back({f.name(), f.pii(), profile.op_for(e.id(), f)});
  }
  if (e.subject_kind() == "person") {
    subject_kind_ = v1::PII_CITIZEN_ID;
  } else if (e.subject_kind() == "organisation") {
    subject_kind_ = v1::PII_CREDIT_CODE;
  } else {
    subject_kind_ = v1::PII_OTHER;
  }
  subject_op_ = profile.kind_op(subject_kind_);
}

const RecordMasker::FieldOp* RecordMasker::find(std::string_view name, int position) const {
  // Rows usually carry their fields in catalog order.
  if (position >= 0 && size_t(position) < fields_.size() && fields_[position].name == name)
    return &fields_[position];
  for (const FieldOp& f : fields_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::pair<MaskOp, v1::PiiKind> RecordMasker::field_op(std::string_view name) const {
  const FieldOp* f = find(name, -1);
  if (!f) return {MaskOp::drop(), v1::PII_OTHER};
  return {f->op, f->kind};
}

void RecordMasker::mask(v1::Record& record, const crypto::SecretBytes& token_key) const {
  auto* fields = record.mutable_fields();
  int kept = 0;
  for (int i = 0; i < fields->size(); ++i) {
    v1::Field& f = *fields->Mutable(i);
    const FieldOp* op = find(f.name(), i);
    const bool keep = op && mask_in_place(op->op, op->kind, *f.mutable_value(), token_key);
    if (keep) {
      if (kept != i) fields->SwapElements(kept, i);
      ++kept;
    }
  }
  if (kept < fields->size()) fields->DeleteSubrange(kept, fields->size() - kept);

  auto mask_meta = [&](const MaskOp& op, v1::PiiKind kind, std::string* s) {
    if (s->empty() || op.kind == MaskKind::kKeep) return;
    auto masked = mask_string(op, kind, *s, token_key);
    if (masked) {
      *s = std::move(*masked);
    } else {
      s->clear();
    }
  };
  mask_meta(subject_op_, subject_kind_, record.mutable_subject_id());
  mask_meta(record_key_op_, v1::PII_OTHER, record.mutable_record_key());
  mask_meta(reason_op_, v1::PII_OTHER, record.mutable_invalidate_reason());
}

void mask_record(const MaskProfile& profile, const catalog::DatasetSchema& schema,
                 const crypto::SecretBytes& token_key, v1::Record& record) {
  RecordMasker(profile, schema).mask(record, token_key);
}

}  // namespace gongshu::policy
