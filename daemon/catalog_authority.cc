#include "daemon/catalog_authority.h"

#include <algorithm>

#include "core/catalog/dataset.h"
#include "core/util/printable.h"
#include "daemon/catalog_workflow.h"

namespace gongshu::daemon {
namespace {

constexpr std::string_view kPrefix{"catalog_authority\0", 18};
constexpr size_t kMaxNote = 1000;
constexpr size_t kMaxName = 200;

std::string key_of(std::string_view item) {
  std::string k(kPrefix);
  k.append(item);
  return k;
}

bool item_id_ok(std::string_view s) {
  if (s.size() < 2 || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

std::string elements_text(const v1::CatalogAuthority& a) {
  std::string out;
  for (const auto& f : a.fields()) out += (out.empty() ? "field " : ", field ") + f;
  for (int k : a.pii())
    out += (out.empty() ? "pii " : ", pii ") + std::string(catalog::pii_kind_name(v1::PiiKind(k)));
  return out;
}

std::optional<v1::CatalogAuthority> read_one(const DaemonStore& store, const store::Txn& txn,
                                             const std::string& item) {
  auto v = store.db().meta.get(txn, key_of(item));
  v1::CatalogAuthority a;
  if (!v || !parse_value(*v, a)) return std::nullopt;
  return a;
}

}  // namespace

catalog::DataItem data_item(const v1::CatalogAuthority& a) {
  catalog::DataItem item;
  item.fields.assign(a.fields().begin(), a.fields().end());
  for (int k : a.pii()) item.pii.push_back(v1::PiiKind(k));
  return item;
}

Result<std::vector<v1::CatalogAuthority>> read_authorities(const DaemonStore& store,
                                                           const store::Txn& txn) {
  std::vector<v1::CatalogAuthority> out;
  auto cur = store.db().meta.cursor(txn);
  for (auto e = cur.seek(as_bytes(kPrefix)); e; e = cur.next()) {
    std::string_view k = as_chars(e->key);
    if (!k.starts_with(kPrefix)) break;
    v1::CatalogAuthority a;
    if (!parse_value(e->value, a))
      return fail(ErrorCode::kCorrupt, "authoritative source " +
                                           printable(k.substr(kPrefix.size())) + " does not parse");
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<v1::CatalogAuthority>> authoritative_for(const DaemonStore& store,
                                                            const store::Txn& txn,
                                                            std::string_view field,
                                                            v1::PiiKind pii) {
  GONGSHU_TRY(auto all, read_authorities(store, txn));
  std::vector<v1::CatalogAuthority> out;
  for (auto& a : all) {
    if (catalog::item_covers(data_item(a), field, pii)) out.push_back(std::move(a));
  }
  return out;
}

Reply catalog_authority_set(ApiContext& ctx, const Caller& c,
                            const v1::CatalogAuthoritySetRequest& req, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "name authoritative sources", {"reviewer", "operator"}); !r) return r;
  v1::CatalogAuthority a = req.authority();
  if (!item_id_ok(a.item()))
    return refuse(v1::API_BAD_REQUEST,
                  "data item id '" + printable(a.item()) + "' must be 2..64 of [a-z0-9_.-]");
  if (auto s = checked_text("a note", a.note(), kMaxNote); !s)
    return refuse(v1::API_BAD_REQUEST, s.error().message());
  if (!req.remove()) {
    if (auto s = checked_text("the data item's name", a.name(), kMaxName); !s)
      return refuse(v1::API_BAD_REQUEST, s.error().message());
    if (auto s = catalog::validate_item(data_item(a)); !s)
      return refuse(v1::API_BAD_REQUEST, "data item " + a.item() + ": " + s.error().message());
  }
  const std::string action = req.remove() ? "catalog_authority_remove" : "catalog_authority_set";
  auto r = catalog_change(ctx, c, action, a.dataset(), [&](store::WriteTxn& txn) -> Status {
    DaemonStore& store = ctx.store;
    if (c.role == "reviewer") {
      v1::Agency agency;
      auto v = store.db().agencies.get(txn, c.agency);
      if (!v || !parse_value(*v, agency) || agency.region_code() != ctx.options.city_region) {
        return fail(ErrorCode::kPermissionDenied,
                    "authoritative sources are named by a city reviewer (region " +
                        ctx.options.city_region + ") or an operator; reviewer " + c.key_id +
                        " of " + c.agency + " is of region " + agency.region_code());
      }
    }
    std::optional<v1::CatalogAuthority> before = read_one(store, txn, a.item());
    auto e = entry_for(c, action);
    add_ref(e, "catalog_authority", a.item());
    if (req.remove()) {
      if (!before)
        return fail(ErrorCode::kNotFound,
                    "no authoritative source is named for data item " + a.item());
      e.set_dataset(before->dataset());
      e.set_detail("item " + a.item() + " (" + before->name() + ": " + elements_text(*before) +
                   ") no longer sourced from " + before->dataset() + "; note: " + a.note());
      GONGSHU_RETURN_IF_ERROR(store.db().meta.del(txn, key_of(a.item())));
      GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
      a = *before;
      return {};
    }
    auto v = store.db().catalog.get(txn, a.dataset());
    v1::DatasetEntry source;
    if (!v || !parse_value(*v, source))
      return fail(ErrorCode::kNotFound,
                  "dataset '" + printable(a.dataset()) + "' is not in the catalog");
    if (source.status() != "approved")
      return fail(ErrorCode::kInvalidArgument,
                  "dataset '" + a.dataset() + "' is " + source.status() +
                      ": only an approved dataset is named an authoritative source");
    if (auto missing = catalog::missing_element(source, data_item(a)))
      return fail(ErrorCode::kInvalidArgument, "dataset '" + a.dataset() + "' does not hold " +
                                                   *missing + " of data item " + a.item() +
                                                   ": a source holds the whole item");
    a.set_provider(source.provider_agency());
    a.set_set_by(c.key_id);
    a.set_set_by_role(c.role);
    a.set_set_at_ms(store.clock().now_ms());
    e.set_dataset(a.dataset());
    std::string detail = "item " + a.item() + " (" + a.name() + ": " + elements_text(a) + ") ";
    if (before && before->dataset() != a.dataset())
      detail += "sourced from " + before->dataset() + " -> " + a.dataset();
    else
      detail += "sourced from " + a.dataset();
    if (before && elements_text(*before) != elements_text(a))
      detail += "; elements were " + elements_text(*before);
    e.set_detail(detail + " (provider " + a.provider() + "); note: " + a.note());
    GONGSHU_RETURN_IF_ERROR(
        store.db().meta.put(txn, key_of(a.item()), as_bytes(a.SerializeAsString())));
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!r) return r;
  *resp.mutable_catalog_authorities()->add_authorities() = std::move(a);
  return {};
}

Reply catalog_authority_list(ApiContext& ctx, const Caller& c,
                             const v1::CatalogAuthorityListRequest& req, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "list authoritative sources",
                           {"operator", "officer", "reviewer", "agency"});
      !r)
    return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto all = read_authorities(ctx.store, *txn);
  if (!all) return tl::unexpected(from_error(all.error()));
  auto* out = resp.mutable_catalog_authorities();
  for (auto& a : *all) {
    const catalog::DataItem item = data_item(a);
    if (!req.field().empty() && !catalog::item_covers(item, req.field(), v1::PII_NONE)) continue;
    if (req.pii() != v1::PII_NONE && !catalog::item_covers(item, "", req.pii())) continue;
    if (!req.dataset().empty() && a.dataset() != req.dataset()) continue;
    *out->add_authorities() = std::move(a);
  }
  return {};
}

}  // namespace gongshu::daemon
