#include "daemon/provenance.h"

#include <cstring>

#include "core/batch/batch.h"
#include "core/crypto/aead.h"
#include "core/util/encoding.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {

Reply provenance(ApiContext& ctx, const Caller& c, const v1::RecordProvenanceRequest& req,
                 v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "check provenance", {"operator", "officer"}); !r) return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  const auto& db = ctx.store.db();
  std::string rk = record_key_of(req.dataset(), req.record_key());
  auto hv = db.records.get(*txn, rk);
  stored::RecordHead head;
  if (!hv || !parse_value(*hv, head))
    return refuse(v1::API_NOT_FOUND, "no record " + req.record_key() + " in " + req.dataset());
  auto* out = resp.mutable_provenance();
  out->set_dataset(req.dataset());
  out->set_record_key(req.record_key());
  out->set_current_valid(head.valid());
  for (uint64_t ver = head.current_version(); ver != 0;) {
    auto vv = db.versions.get(*txn, ver);
    stored::Version v;
    if (!vv || !parse_value(*vv, v))
      return refuse(v1::API_INTERNAL, "version " + std::to_string(ver) + " is missing");
    auto* p = out->add_versions();
    p->set_version(ver);
    p->set_agency(v.agency());
    p->set_agent_key_id(v.agent_key_id());
    p->set_batch_seq(v.batch_seq());
    p->set_index(v.index());
    p->set_received_at_ms(v.received_at_ms());
    p->set_invalidated(v.invalidation());
    p->set_record_hash(hex_encode(as_bytes(v.record_hash())));
    p->set_audit_seq(std::to_string(v.audit_seq()));
    // Re-verify from scratch: decrypt the stored bytes, hash them, and check the hash against
    // the batch header the agent signed, with the agent's own key.
    std::string problem;
    auto key = ctx.store.data_key(*txn, v.dataset());
    Result<Bytes> plain =
        key ? crypto::aead_decrypt(**key, version_ad(v.agent_key_id(), v.batch_seq(), v.index()),
                                   as_bytes(v.sealed_record()))
            : Result<Bytes>(tl::unexpected(key.error()));
    stored::Batch b;
    stored::Principal agent;
    auto bv = db.batches.get(*txn, batch_key_of(v.agent_key_id(), v.batch_seq()));
    auto av = db.principals.get(*txn, v.agent_key_id());
    if (!plain) {
      problem = "stored record does not decrypt: " + plain.error().message();
    } else if (!bv || !parse_value(*bv, b)) {
      problem = "batch " + std::to_string(v.batch_seq()) + " is missing";
    } else if (!av || !parse_value(*av, agent)) {
      problem = "agent " + v.agent_key_id() + " is unknown";
    } else {
      auto h = batch::record_hash(*plain);
      auto agent_key = crypto::PublicKey::from_bytes(as_bytes(agent.public_key()));
      const auto& hdr = b.header();
      crypto::Signature sig{};
      if (b.signature().size() == sig.size())
        std::memcpy(sig.data(), b.signature().data(), sig.size());
      if (std::string(h.begin(), h.end()) != v.record_hash()) {
        problem = "stored record does not hash to its recorded hash";
      } else if (static_cast<int>(v.index()) >= hdr.record_hashes_size() ||
                 hdr.record_hashes(static_cast<int>(v.index())) != v.record_hash()) {
        problem = "record hash is not in the signed batch header at its index";
      } else if (!agent_key || !crypto::verify(*agent_key, batch::kBatchDomain,
                                               batch::canonical_header_bytes(hdr), sig)) {
        problem = "batch signature does not verify with the agent's key";
      }
    }
    p->set_signature_valid(problem.empty());
    p->set_check_error(problem);
    ver = v.previous_version();
  }
  auto e = entry_for(c, "provenance_check");
  e.set_dataset(req.dataset());
  add_ref(e, "record", req.record_key());
  e.set_record_count(static_cast<uint64_t>(out->versions_size()));
  // Nothing is revealed unless its audit entry committed.
  if (auto s = ctx.audit(std::move(e)); !s) {
    resp.clear_body();
    return tl::unexpected(from_error(s.error()));
  }
  return {};
}

}  // namespace gongshu::daemon
