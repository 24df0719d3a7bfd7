#include "daemon/registry.h"

#include <algorithm>
#include <iterator>

#include "core/catalog/dataset.h"
#include "core/util/printable.h"
#include "daemon/catalog_workflow.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

bool is_agency_id(std::string_view s) {
  if (s.size() < 2 || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

}  // namespace

Reply agency_add(ApiContext& ctx, const Caller& c, const v1::Agency& in) {
  if (auto r = ctx.require(c, "add agencies", {"operator"}); !r) return r;
  if (!is_agency_id(in.id()))
    return refuse(v1::API_BAD_REQUEST, "agency id '" + in.id() + "' must be 2..64 of [a-z0-9_-]");
  if (in.name().empty() || in.name().size() > 200 || !is_printable(in.name()))
    return refuse(v1::API_BAD_REQUEST,
                  "agency name must be 1..200 bytes of UTF-8 text without control characters");
  static const char* kTypes[] = {"government", "public_service", "national_office"};
  if (std::find_if(std::begin(kTypes), std::end(kTypes),
                   [&](const char* t) { return in.type() == t; }) == std::end(kTypes)) {
    return refuse(v1::API_BAD_REQUEST,
                  "agency type '" + in.type() +
                      "' is not government, public_service or national_office (R-02)");
  }
  if (in.region_code().size() != 6 ||
      in.region_code().find_first_not_of("0123456789") != std::string::npos) {
    return refuse(v1::API_BAD_REQUEST, "region code '" + in.region_code() + "' is not 6 digits");
  }
  DaemonStore& store = ctx.store;
  v1::Agency a = in;
  a.set_created_at_ms(store.clock().now_ms());
  auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(
        store.db().agencies.insert(txn, a.id(), as_bytes(a.SerializeAsString())));
    auto e = entry_for(c, "agency_add");
    add_ref(e, "agency", a.id());
    e.set_detail(a.name() + " (" + a.type() + ", " + a.region_code() + ")");
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!s) {
    if (s.error().code() == ErrorCode::kAlreadyExists)
      return refuse(v1::API_CONFLICT, "agency " + a.id() + " already exists");
    return tl::unexpected(from_error(s.error()));
  }
  return {};
}

Reply agency_list(ApiContext& ctx, const Caller& c, const std::string& only,
                  v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "list agencies", {"operator", "officer"}); !r) return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto* out = resp.mutable_agencies();
  auto cur = ctx.store.db().agencies.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::Agency a;
    if (!parse_value(e->value, a)) continue;
    if (!only.empty() && a.id() != only) continue;
    *out->add_agencies() = a;
  }
  if (!only.empty() && out->agencies_size() == 0)
    return refuse(v1::API_NOT_FOUND, "no agency " + only);
  return {};
}

Reply catalog_add(ApiContext& ctx, const Caller& c, const v1::DatasetEntry& in,
                  v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "change the catalog", {"operator"}); !r) return r;
  v1::DatasetEntry entry = in;
  if (auto s = catalog::validate_dataset(entry); !s)
    return refuse(v1::API_BAD_REQUEST, s.error().message());
  DaemonStore& store = ctx.store;
  bool updated = false;
  auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
    const auto& db = store.db();
    if (!db.agencies.get(txn, entry.provider_agency())) {
      return fail(ErrorCode::kInvalidArgument,
                  "provider agency '" + entry.provider_agency() + "' is not registered");
    }
    if (auto v = db.catalog.get(txn, entry.id())) updated = true;
    // The authority's direct path (docs/catalog.md): approved as added, recorded as the
    // dataset's next version beside those of the review workflow (daemon/catalog_workflow.h).
    entry.set_status("approved");
    GONGSHU_TRY(uint64_t version, record_direct_add(ctx, c, txn, entry));
    entry.set_version(version);
    GONGSHU_RETURN_IF_ERROR(db.catalog.put(txn, entry.id(), as_bytes(entry.SerializeAsString())));
    GONGSHU_RETURN_IF_ERROR(store.create_data_key(txn, entry.id()));
    auto e = entry_for(c, updated ? "catalog_update" : "catalog_add");
    e.set_dataset(entry.id());
    add_ref(e, "catalog_version", std::to_string(version));
    e.set_detail(entry.name() + "; grade " + entry.grade() + ", open " + entry.open_attribute() +
                 ", share " + entry.share_attribute());
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  // The entry is stored; ingest validates against the catalog view, so say so if it could not
  // be brought up to date rather than answer as if the entry were in force.
  auto txn = store.env().begin_read();
  Status reloaded = txn ? ctx.catalog.reload(store, *txn) : Status(tl::unexpected(txn.error()));
  if (!reloaded) {
    return refuse(v1::API_INTERNAL, "catalog entry " + entry.id() +
                                        " is stored, but the catalog in force could not be "
                                        "reloaded: " +
                                        reloaded.error().message());
  }
  return catalog_show(ctx, c, entry.id(), resp);
}

Reply catalog_show(ApiContext& ctx, const Caller& c, const std::string& id, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "show the catalog", {"operator", "officer"}); !r) return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  const auto& db = ctx.store.db();
  auto* out = resp.mutable_datasets();
  auto cur = db.catalog.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::DatasetInfo info;
    if (!parse_value(e->value, *info.mutable_entry())) continue;
    if (!id.empty() && info.entry().id() != id) continue;
    if (auto v = db.datasets.get(*txn, info.entry().id())) {
      stored::DatasetState st;
      if (parse_value(*v, st)) {
        info.set_records(st.records());
        info.set_versions(st.versions());
        info.set_invalidated(st.invalidated());
      }
    }
    *out->add_datasets() = std::move(info);
  }
  if (!id.empty() && out->datasets_size() == 0)
    return refuse(v1::API_NOT_FOUND, "no dataset " + id);
  return {};
}

Reply agent_list(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "list agents", {"operator", "officer"}); !r) return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto* out = resp.mutable_agents();
  auto cur = ctx.store.db().principals.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    stored::Principal p;
    if (!parse_value(e->value, p) || p.role() != "agent") continue;
    auto* a = out->add_agents();
    auto key = crypto::PublicKey::from_bytes(as_bytes(p.public_key()));
    a->set_key_id(std::string(as_chars(e->key)));
    if (key) a->set_public_key(key->hex());
    a->set_agency(p.agency());
    a->set_hostname(p.hostname());
    a->set_enrolled_at_ms(p.created_at_ms());
    a->set_revoked(p.revoked());
    a->set_revoked_at_ms(p.revoked_at_ms());
    a->set_last_seen_ms(p.last_seen_ms());
    a->set_batches(p.batches());
    a->set_last_batch_seq(p.last_batch_seq());
  }
  return {};
}

Reply agent_revoke(ApiContext& ctx, const Caller& c, const std::string& key_id,
                   v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "revoke agents", {"operator"}); !r) return r;
  DaemonStore& store = ctx.store;
  // In force when this answers, or not made (ApiContext::update_principals).
  auto s = ctx.update_principals([&](store::WriteTxn& txn) -> Status {
    auto v = store.db().principals.get(txn, key_id);
    stored::Principal p;
    if (!v || !parse_value(*v, p) || p.role() != "agent")
      return fail(ErrorCode::kNotFound, "no agent with key id " + key_id);
    if (p.revoked())
      return fail(ErrorCode::kAlreadyExists, "agent " + key_id + " is already revoked");
    p.set_revoked(true);
    p.set_revoked_at_ms(store.clock().now_ms());
    GONGSHU_RETURN_IF_ERROR(
        store.db().principals.put(txn, key_id, as_bytes(p.SerializeAsString())));
    auto e = entry_for(c, "agent_revoke");
    add_ref(e, "agent", key_id);
    add_ref(e, "agency", p.agency());
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  return agent_list(ctx, c, resp);
}

}  // namespace gongshu::daemon
