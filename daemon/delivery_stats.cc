#include "daemon/delivery_stats.h"

#include <algorithm>
#include <cctype>

#include "core/util/encoding.h"

namespace gongshu::daemon {

std::string reason_class(v1::RecordStatusCode code) {
  std::string name = v1::RecordStatusCode_Name(code);
  constexpr std::string_view kPrefix = "RECORD_STATUS_";
  if (name.starts_with(kPrefix)) name.erase(0, kPrefix.size());
  if (name.empty()) name = "code_" + std::to_string(static_cast<int>(code));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string delivery_stats_key(std::string_view dataset, std::string_view agency) {
  std::string k;
  k.reserve(dataset.size() + 1 + agency.size());
  k.append(dataset);
  k.push_back('\0');
  k.append(agency);
  return k;
}

void DeliveryTally::Slot::fold_present() {
  if (!schema) return;
  for (size_t i = 0; i < present.size(); ++i) {
    if (present[i]) present_named[schema->entry().fields(static_cast<int>(i)).name()] += present[i];
  }
  present.assign(present.size(), 0);
}

void DeliveryTally::begin_batch(const Job& job) {
  job_ = &job;
  touched_.clear();
}

DeliveryTally::Slot& DeliveryTally::slot(const store::Txn& txn, const DaemonStore::Tables& db,
                                         const PreparedRecord& pr) {
  const std::string_view dataset = pr.record.dataset();
  Slot* s = last_;
  if (!s || s->dataset != dataset || s->agency != job_->agency) {
    const std::string key = delivery_stats_key(dataset, job_->agency);
    auto it = slots_.find(key);
    if (it == slots_.end()) {
      auto fresh = std::make_unique<Slot>();
      fresh->dataset = std::string(dataset);
      fresh->agency = job_->agency;
      // The datasets table is written at the end of the group: this is the state before it.
      stored::DatasetState ds;
      if (auto v = db.datasets.get(txn, dataset))
        ds.ParseFromArray(v->data(), static_cast<int>(v->size()));
      fresh->from_start = ds.versions() == 0;
      it = slots_.emplace(key, std::move(fresh)).first;
    }
    s = last_ = it->second.get();
  }
  if (s->schema != pr.schema) {
    // A catalog reload between two jobs of the group: count the earlier by name first.
    s->fold_present();
    s->schema = pr.schema;
    s->present.assign(std::min<size_t>(static_cast<size_t>(pr.schema->entry().fields_size()),
                                       catalog::FieldMask::kBits),
                      0);
  }
  if (!s->in_batch) {
    s->in_batch = true;
    touched_.push_back(s);
  }
  return *s;
}

void DeliveryTally::stored(const store::Txn& txn, const DaemonStore::Tables& db,
                           const PreparedRecord& pr, uint64_t version) {
  if (!pr.schema) return;
  Slot& s = slot(txn, db, pr);
  ++s.accepted;
  if (pr.record.op() == v1::RECORD_OP_INVALIDATE) {
    ++s.invalidations;
  } else {
    for (size_t w = 0; w < std::size(pr.present.words); ++w) {
      for (uint64_t x = pr.present.words[w]; x != 0; x &= x - 1) {
        const size_t i = w * 64 + static_cast<size_t>(__builtin_ctzll(x));
        if (i < s.present.size()) ++s.present[i];
      }
    }
  }
  s.batch_first = s.batch_stored == 0 ? version : std::min(s.batch_first, version);
  s.batch_last = std::max(s.batch_last, version);
  ++s.batch_stored;
}

void DeliveryTally::refused(const store::Txn& txn, const DaemonStore::Tables& db,
                            const PreparedRecord& pr) {
  if (!pr.schema) return;  // no dataset of the catalog to count it under
  Slot& s = slot(txn, db, pr);
  ++s.rejected;
  const auto code = static_cast<size_t>(pr.verdict.code);
  ++s.by_code[std::min(code, std::size(s.by_code) - 1)];
  if (!s.batch_rejected) {
    s.batch_rejected = true;
    s.rejected_index = pr.index;
    s.rejected_class = reason_class(pr.verdict.code);
    s.rejected_field = pr.verdict.field;
  }
}

void DeliveryTally::end_batch(int64_t now_ms) {
  for (Slot* s : touched_) {
    ++s->batches;
    s->last.set_last_attempt_ms(now_ms);
    if (s->batch_stored > 0) {
      s->last.set_last_delivery_ms(now_ms);
      s->last.set_last_agent(job_->agent_key_id);
      s->last.set_last_batch_seq(job_->seq);
      s->last.set_last_first_version(s->batch_first);
      s->last.set_last_last_version(s->batch_last);
    }
    if (s->batch_rejected) {
      s->last.set_last_rejected_ms(now_ms);
      s->last.set_last_rejected_agent(job_->agent_key_id);
      s->last.set_last_rejected_batch_seq(job_->seq);
      s->last.set_last_rejected_index(s->rejected_index);
      s->last.set_last_rejected_class(s->rejected_class);
      s->last.set_last_rejected_field(s->rejected_field);
    }
    s->in_batch = false;
    s->batch_stored = s->batch_first = s->batch_last = 0;
    s->batch_rejected = false;
  }
  touched_.clear();
  job_ = nullptr;
}

Status DeliveryTally::write(store::WriteTxn& txn, const DaemonStore::Tables& db, int64_t now_ms) {
  std::string bytes;
  for (auto& [key, s] : slots_) {
    s->fold_present();
    stored::DeliveryStats st;
    if (auto v = db.delivery_stats.get(txn, key)) {
      if (!st.ParseFromArray(v->data(), static_cast<int>(v->size())))
        return fail(ErrorCode::kCorrupt,
                    "delivery stats of " + s->dataset + "/" + s->agency + " do not parse");
    } else {
      st.set_since_ms(now_ms);
      st.set_from_start(s->from_start);
    }
    st.set_batches(st.batches() + s->batches);
    st.set_accepted(st.accepted() + s->accepted);
    st.set_invalidations(st.invalidations() + s->invalidations);
    st.set_upserts(st.upserts() + (s->accepted - s->invalidations));
    st.set_rejected(st.rejected() + s->rejected);
    for (size_t c = 0; c < std::size(s->by_code); ++c) {
      if (s->by_code[c])
        (*st.mutable_rejected_by_class())[reason_class(static_cast<v1::RecordStatusCode>(c))] +=
            s->by_code[c];
    }
    for (const auto& [name, n] : s->present_named) (*st.mutable_field_present())[name] += n;
    // The last_* of this group replace the stored ones they are set for.
    const stored::DeliveryStats& l = s->last;
    st.set_last_attempt_ms(std::max(st.last_attempt_ms(), l.last_attempt_ms()));
    if (l.last_delivery_ms()) {
      st.set_last_delivery_ms(l.last_delivery_ms());
      st.set_last_agent(l.last_agent());
      st.set_last_batch_seq(l.last_batch_seq());
      st.set_last_first_version(l.last_first_version());
      st.set_last_last_version(l.last_last_version());
    }
    if (l.last_rejected_ms()) {
      st.set_last_rejected_ms(l.last_rejected_ms());
      st.set_last_rejected_agent(l.last_rejected_agent());
      st.set_last_rejected_batch_seq(l.last_rejected_batch_seq());
      st.set_last_rejected_index(l.last_rejected_index());
      st.set_last_rejected_class(l.last_rejected_class());
      st.set_last_rejected_field(l.last_rejected_field());
    }
    bytes.clear();
    st.AppendToString(&bytes);
    GONGSHU_RETURN_IF_ERROR(db.delivery_stats.put(txn, key, as_bytes(bytes)));
  }
  return {};
}

}  // namespace gongshu::daemon
