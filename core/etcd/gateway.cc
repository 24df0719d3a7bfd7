#include "core/etcd/gateway.h"

#include <charconv>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/util/bytes.h"
#include "core/util/encoding.h"

namespace gongshu::etcd::gateway {
namespace {

using nlohmann::json;

std::string b64(std::string_view bytes) { return base64_encode(as_bytes(bytes)); }

tl::unexpected<Error> corrupt(std::string_view what) {
  return fail(ErrorCode::kCorrupt, "etcd reply: " + std::string(what));
}

Result<json> parse(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return corrupt("not JSON");
  if (!j.is_object()) return corrupt("not a JSON object");
  return j;
}

// An int64 field: the gateway writes them as strings; absent means 0.
Result<int64_t> int_field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return int64_t{0};
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return corrupt(std::string(name) + " is not an integer");
  const auto& s = it->get_ref<const std::string&>();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    return corrupt(std::string(name) + " is not an integer: \"" + s.substr(0, 32) + "\"");
  }
  return v;
}

// A bytes field (base64); absent means empty.
Result<std::string> bytes_field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return corrupt(std::string(name) + " is not a string");
  auto decoded = base64_decode(it->get_ref<const std::string&>());
  if (!decoded) return corrupt(std::string(name) + ": " + decoded.error().message());
  return std::string(as_chars(*decoded));
}

Result<const json*> object_field(const json& obj, const char* name, bool required) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required) return corrupt(std::string("no ") + name);
    return static_cast<const json*>(nullptr);
  }
  if (!it->is_object()) return corrupt(std::string(name) + " is not an object");
  return &*it;
}

Result<int64_t> header_revision(const json& reply) {
  GONGSHU_TRY(const json* header, object_field(reply, "header", false));
  if (header == nullptr) return int64_t{0};
  return int_field(*header, "revision");
}

Result<KeyValue> read_kv(const json& j) {
  if (!j.is_object()) return corrupt("a kvs entry is not an object");
  KeyValue kv;
  GONGSHU_TRY(kv.key, bytes_field(j, "key"));
  GONGSHU_TRY(kv.value, bytes_field(j, "value"));
  GONGSHU_TRY(kv.create_revision, int_field(j, "create_revision"));
  GONGSHU_TRY(kv.mod_revision, int_field(j, "mod_revision"));
  GONGSHU_TRY(kv.version, int_field(j, "version"));
  GONGSHU_TRY(kv.lease, int_field(j, "lease"));
  return kv;
}

Result<RangeResult> read_range_object(const json& reply) {
  RangeResult out;
  GONGSHU_TRY(out.revision, header_revision(reply));
  auto it = reply.find("kvs");
  if (it != reply.end() && !it->is_null()) {
    if (!it->is_array()) return corrupt("kvs is not an array");
    out.kvs.reserve(it->size());
    for (const auto& e : *it) {
      GONGSHU_TRY(KeyValue kv, read_kv(e));
      out.kvs.push_back(std::move(kv));
    }
  }
  return out;
}

Result<DeleteResult> read_delete_object(const json& reply) {
  DeleteResult out;
  GONGSHU_TRY(out.revision, header_revision(reply));
  GONGSHU_TRY(out.deleted, int_field(reply, "deleted"));
  return out;
}

const char* cmp_name(Cmp c) {
  switch (c) {
    case Cmp::kEqual:
      return "EQUAL";
    case Cmp::kNotEqual:
      return "NOT_EQUAL";
    case Cmp::kGreater:
      return "GREATER";
    case Cmp::kLess:
      return "LESS";
  }
  return "EQUAL";
}

json range_json(std::string_view key, const std::optional<std::string>& range_end) {
  json j = {{"key", b64(key)}};
  if (range_end) j["range_end"] = b64(*range_end);
  return j;
}

json put_json(std::string_view key, std::string_view value, std::optional<LeaseId> lease) {
  json j = {{"key", b64(key)}, {"value", b64(value)}};
  if (lease) j["lease"] = std::to_string(lease->value);
  return j;
}

json op_json(const Op& op) {
  switch (op.kind) {
    case Op::Kind::kPut:
      return {{"request_put", put_json(op.key, op.value, op.lease)}};
    case Op::Kind::kDelete:
      return {{"request_delete_range", range_json(op.key, op.range_end)}};
    case Op::Kind::kRange:
      return {{"request_range", range_json(op.key, op.range_end)}};
  }
  return json::object();
}

json compare_json(const Compare& c) {
  json j = {{"key", b64(c.key)}, {"result", cmp_name(c.cmp)}};
  if (c.range_end) j["range_end"] = b64(*c.range_end);
  switch (c.field) {
    case Field::kValue:
      j["target"] = "VALUE";
      j["value"] = b64(c.value);
      break;
    case Field::kCreateRevision:
      j["target"] = "CREATE";
      j["create_revision"] = std::to_string(c.number);
      break;
    case Field::kModRevision:
      j["target"] = "MOD";
      j["mod_revision"] = std::to_string(c.number);
      break;
    case Field::kVersion:
      j["target"] = "VERSION";
      j["version"] = std::to_string(c.number);
      break;
  }
  return j;
}

}  // namespace

std::string range_request(std::string_view key, const std::optional<std::string>& range_end) {
  return range_json(key, range_end).dump();
}

std::string put_request(std::string_view key, std::string_view value,
                        std::optional<LeaseId> lease) {
  return put_json(key, value, lease).dump();
}

std::string delete_request(std::string_view key, const std::optional<std::string>& range_end) {
  return range_json(key, range_end).dump();
}

std::string txn_request(const Txn& txn) {
  json compares = json::array(), success = json::array(), failure = json::array();
  for (const auto& c : txn.compares()) compares.push_back(compare_json(c));
  for (const auto& op : txn.success()) success.push_back(op_json(op));
  for (const auto& op : txn.failure()) failure.push_back(op_json(op));
  return json{{"compare", compares}, {"success", success}, {"failure", failure}}.dump();
}

std::string lease_grant_request(int64_t ttl_s) {
  return json{{"TTL", std::to_string(ttl_s)}}.dump();
}

std::string lease_request(LeaseId id, bool keys) {
  json j = {{"ID", std::to_string(id.value)}};
  if (keys) j["keys"] = true;
  return j.dump();
}

Result<RangeResult> read_range(std::string_view body) {
  GONGSHU_TRY(json reply, parse(body));
  return read_range_object(reply);
}

Result<int64_t> read_put(std::string_view body) {
  GONGSHU_TRY(json reply, parse(body));
  return header_revision(reply);
}

Result<DeleteResult> read_delete(std::string_view body) {
  GONGSHU_TRY(json reply, parse(body));
  return read_delete_object(reply);
}

Result<TxnResult> read_txn(std::string_view body) {
  GONGSHU_TRY(json reply, parse(body));
  TxnResult out;
  GONGSHU_TRY(out.revision, header_revision(reply));
  auto ok = reply.find("succeeded");
  if (ok != reply.end() && !ok->is_null()) {
    if (!ok->is_boolean()) return corrupt("succeeded is not a boolean");
    out.succeeded = ok->get<bool>();
  }
  auto it = reply.find("responses");
  if (it == reply.end() || it->is_null()) return out;
  if (!it->is_array()) return corrupt("responses is not an array");
  for (const auto& r : *it) {
    if (!r.is_object()) return corrupt("a response is not an object");
    OpResult op;
    GONGSHU_TRY(const json* put, object_field(r, "response_put", false));
    GONGSHU_TRY(const json* del, object_field(r, "response_delete_range", false));
    GONGSHU_TRY(const json* range, object_field(r, "response_range", false));
    if (put != nullptr) {
      op.kind = Op::Kind::kPut;
      GONGSHU_TRY(op.revision, header_revision(*put));
    } else if (del != nullptr) {
      op.kind = Op::Kind::kDelete;
      GONGSHU_TRY(DeleteResult d, read_delete_object(*del));
      op.deleted = d.deleted;
      op.revision = d.revision;
    } else if (range != nullptr) {
      op.kind = Op::Kind::kRange;
      GONGSHU_TRY(RangeResult rr, read_range_object(*range));
      op.kvs = std::move(rr.kvs);
      op.revision = rr.revision;
    } else {
      return corrupt("a response is neither put, delete nor range");
    }
    out.results.push_back(std::move(op));
  }
  return out;
}

Result<LeaseId> read_lease_grant(std::string_view body) {
  GONGSHU_TRY(json reply, parse(body));
  GONGSHU_TRY(int64_t id, int_field(reply, "ID"));
  if (id == 0) return corrupt("lease grant without an ID");
  return LeaseId{id};
}

Result<int64_t> read_keepalive(std::string_view body) {
  // A stream of {"result": ...} or {"error": ...} messages, one per line; we sent one request,
  // so the first message is ours.
  auto nl = body.find('\n');
  GONGSHU_TRY(json reply, parse(body.substr(0, nl)));
  GONGSHU_TRY(const json* error, object_field(reply, "error", false));
  if (error != nullptr) {
    auto message = error->find("message");
    return fail(ErrorCode::kUnavailable,
                "keepalive refused: " + (message != error->end() && message->is_string()
                                             ? message->get<std::string>()
                                             : error->dump()));
  }
  GONGSHU_TRY(const json* result, object_field(reply, "result", true));
  GONGSHU_TRY(int64_t ttl, int_field(*result, "TTL"));
  return ttl < 0 ? 0 : ttl;
}

Result<std::optional<LeaseInfo>> read_time_to_live(std::string_view body) {
  GONGSHU_TRY(json reply, parse(body));
  LeaseInfo info;
  GONGSHU_TRY(info.ttl_s, int_field(reply, "TTL"));
  if (info.ttl_s < 0) return std::optional<LeaseInfo>();
  GONGSHU_TRY(info.granted_ttl_s, int_field(reply, "grantedTTL"));
  auto keys = reply.find("keys");
  if (keys != reply.end() && !keys->is_null()) {
    if (!keys->is_array()) return corrupt("keys is not an array");
    for (const auto& k : *keys) {
      if (!k.is_string()) return corrupt("a key is not a string");
      auto decoded = base64_decode(k.get_ref<const std::string&>());
      if (!decoded) return corrupt("keys: " + decoded.error().message());
      info.keys.emplace_back(as_chars(*decoded));
    }
  }
  return std::optional<LeaseInfo>(std::move(info));
}

std::optional<Refusal> read_refusal(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Refusal r;
  auto code = j.find("code");
  if (code == j.end() || !code->is_number_integer()) return std::nullopt;
  r.code = code->get<int>();
  for (const char* name : {"message", "error"}) {
    auto m = j.find(name);
    if (m != j.end() && m->is_string() && !m->get_ref<const std::string&>().empty()) {
      r.message = m->get<std::string>();
      break;
    }
  }
  return r;
}

}  // namespace gongshu::etcd::gateway
