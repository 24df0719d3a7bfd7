#include "core/cluster/values.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace gongshu::cluster {
namespace {

using nlohmann::json;

constexpr size_t kMaxValueBytes = 64 * 1024;

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Error corrupt(std::string_view what, std::string_view why) {
  return Error(ErrorCode::kCorrupt, std::string(what) + ": " + std::string(why));
}

Result<json> parse_object(std::string_view what, std::string_view text) {
  if (text.size() > kMaxValueBytes) {
    return tl::unexpected(corrupt(
        what, "value of " + std::to_string(text.size()) + " bytes is over the 64 KiB limit"));
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return tl::unexpected(corrupt(what, "value is not JSON"));
  if (!j.is_object()) return tl::unexpected(corrupt(what, "value is not a JSON object"));
  return j;
}

Result<std::string> get_node(std::string_view what, const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) {
    return tl::unexpected(
        corrupt(what, std::string("\"") + field + "\" is missing or not a string"));
  }
  std::string s = it->get<std::string>();
  if (!valid_name(s)) {
    return tl::unexpected(corrupt(what, std::string("\"") + field + "\" is not a node id"));
  }
  return s;
}

Result<Endpoints> get_endpoints(std::string_view what, const json& j) {
  Endpoints out;
  auto it = j.find("endpoints");
  if (it == j.end()) return out;
  if (!it->is_object()) return tl::unexpected(corrupt(what, "\"endpoints\" is not an object"));
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return tl::unexpected(corrupt(what, "endpoint \"" + k + "\" is not a string"));
    }
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

template <typename T>
Result<T> get_integer(std::string_view what, const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number_integer() ||
      (std::is_unsigned_v<T> && !it->is_number_unsigned() && it->get<int64_t>() < 0)) {
    return tl::unexpected(
        corrupt(what, std::string("\"") + field + "\" is missing or not a valid integer"));
  }
  if (std::is_signed_v<T> && it->is_number_unsigned() &&
      it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return tl::unexpected(corrupt(what, std::string("\"") + field + "\" is out of range"));
  }
  return it->get<T>();
}

json endpoints_json(const Endpoints& e) {
  json out = json::object();
  for (const auto& [k, v] : e) out[k] = v;
  return out;
}

}  // namespace

Status check_name(std::string_view what, std::string_view name) {
  if (valid_name(name)) return {};
  return fail(ErrorCode::kInvalidArgument, "cluster: " + std::string(what) + " \"" +
                                               std::string(name) +
                                               "\" must be 1-64 characters of A-Z a-z 0-9 . _ -");
}

Result<Keys> Keys::create(std::string_view cluster) {
  GONGSHU_RETURN_IF_ERROR(check_name("cluster name", cluster));
  return Keys("/gongshu/" + std::string(cluster) + "/");
}

bool SyncValue::contains(std::string_view node) const {
  return std::find(members.begin(), members.end(), node) != members.end();
}

std::string_view role_name(Role role) { return role == Role::kPrimary ? "primary" : "replica"; }

std::string encode(const LeaderValue& v) {
  return json{{"node", v.node}, {"endpoints", endpoints_json(v.endpoints)}}.dump();
}

std::string encode(const SyncValue& v) {
  return json{{"term", v.term}, {"members", v.members}}.dump();
}

std::string encode(const MemberValue& v) {
  return json{{"applied_seq", v.applied.seq},
              {"applied_term", v.applied.term},
              {"role", role_name(v.role)},
              {"endpoints", endpoints_json(v.endpoints)}}
      .dump();
}

Result<LeaderValue> decode_leader(std::string_view text) {
  constexpr std::string_view what = "leader";
  GONGSHU_TRY(json j, parse_object(what, text));
  LeaderValue v;
  GONGSHU_TRY(v.node, get_node(what, j, "node"));
  GONGSHU_TRY(v.endpoints, get_endpoints(what, j));
  return v;
}

Result<SyncValue> decode_sync(std::string_view text) {
  constexpr std::string_view what = "sync";
  GONGSHU_TRY(json j, parse_object(what, text));
  SyncValue v;
  GONGSHU_TRY(v.term, get_integer<int64_t>(what, j, "term"));
  auto it = j.find("members");
  if (it == j.end() || !it->is_array()) {
    return tl::unexpected(corrupt(what, "\"members\" is missing or not an array"));
  }
  for (const auto& m : *it) {
    if (!m.is_string() || !valid_name(m.get<std::string>())) {
      return tl::unexpected(corrupt(what, "a member is not a node id"));
    }
    v.members.push_back(m.get<std::string>());
  }
  return v;
}

Result<MemberValue> decode_member(std::string_view text) {
  constexpr std::string_view what = "member";
  GONGSHU_TRY(json j, parse_object(what, text));
  MemberValue v;
  GONGSHU_TRY(v.applied.seq, get_integer<uint64_t>(what, j, "applied_seq"));
  GONGSHU_TRY(v.applied.term, get_integer<int64_t>(what, j, "applied_term"));
  auto role = j.find("role");
  if (role == j.end() || !role->is_string() || (*role != "primary" && *role != "replica")) {
    return tl::unexpected(corrupt(what, "\"role\" is not \"primary\" or \"replica\""));
  }
  v.role = *role == "primary" ? Role::kPrimary : Role::kReplica;
  GONGSHU_TRY(v.endpoints, get_endpoints(what, j));
  return v;
}

const MemberView* ClusterView::member(std::string_view node) const {
  for (const auto& m : members) {
    if (m.node == node) return &m;
  }
  return nullptr;
}

bool ClusterView::may_stand(std::string_view node) const {
  return !sync || sync->value.contains(node);
}

Applied ClusterView::best_applied() const {
  Applied best;
  for (const auto& m : members) best = std::max(best, m.value.applied);
  return best;
}

std::optional<uint64_t> ClusterView::behind(std::string_view node) const {
  const MemberView* me = member(node);
  if (!me) return std::nullopt;
  const Applied best = best_applied();
  const Applied mine = me->value.applied;
  if (mine >= best) return 0;
  const uint64_t by_seq = best.seq > mine.seq ? best.seq - mine.seq : 0;
  return std::max<uint64_t>(by_seq, 1);
}

Result<ClusterView> parse_view(const Keys& keys, const std::vector<etcd::KeyValue>& kvs,
                               int64_t revision) {
  ClusterView view;
  view.revision = revision;
  const std::string leader = keys.leader();
  const std::string sync = keys.sync();
  const std::string members = keys.members();
  for (const auto& kv : kvs) {
    if (kv.key == leader) {
      auto v = decode_leader(kv.value);
      if (!v) return tl::unexpected(std::move(v.error()).with_context("cluster: key " + leader));
      view.leader = LeaderView{std::move(*v), kv.create_revision, kv.lease};
    } else if (kv.key == sync) {
      auto v = decode_sync(kv.value);
      if (!v) return tl::unexpected(std::move(v.error()).with_context("cluster: key " + sync));
      view.sync = SyncView{std::move(*v), kv.mod_revision};
    } else if (kv.key.size() > members.size() && kv.key.compare(0, members.size(), members) == 0) {
      std::string node = kv.key.substr(members.size());
      if (!valid_name(node)) {
        view.unreadable.push_back(kv.key + ": not a node id");
        continue;
      }
      auto v = decode_member(kv.value);
      if (!v) {
        view.unreadable.push_back(kv.key + ": " + v.error().message());
        continue;
      }
      view.members.push_back(MemberView{std::move(node), std::move(*v), kv.lease});
    }
  }
  std::sort(view.members.begin(), view.members.end(),
            [](const MemberView& a, const MemberView& b) { return a.node < b.node; });
  return view;
}

}  // namespace gongshu::cluster
