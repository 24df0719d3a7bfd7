#include "core/cluster/values.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

bool SyncValue::eligible(std::string_view node) const {
  return sync_count == 0 || contains(node) || (!leader.empty() && leader == node);
}

std::string encode_applied(Applied a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%020lld.%020llu", static_cast<long long>(a.term),
                static_cast<unsigned long long>(a.seq));
  return buf;
}

Result<Applied> decode_applied(std::string_view text) {
  auto digits = [](std::string_view s) {
    return s.size() == 20 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (text.size() != 41 || text[20] != '.' || !digits(text.substr(0, 20)) ||
      !digits(text.substr(21))) {
    return tl::unexpected(corrupt("applied", "value is not <term>.<seq> of 20 digits each"));
  }
  Applied a;
  const std::string term(text.substr(0, 20)), seq(text.substr(21));
  errno = 0;
  const unsigned long long t = std::strtoull(term.c_str(), nullptr, 10);
  const unsigned long long q = std::strtoull(seq.c_str(), nullptr, 10);
  if (errno != 0 || t > static_cast<unsigned long long>(INT64_MAX))
    return tl::unexpected(corrupt("applied", "value is out of range"));
  a.term = static_cast<int64_t>(t);
  a.seq = q;
  return a;
}

std::string_view role_name(Role role) { return role == Role::kPrimary ? "primary" : "replica"; }

std::string encode(const LeaderValue& v) {
  return json{{"node", v.node}, {"endpoints", endpoints_json(v.endpoints)}}.dump();
}

std::string encode(const SyncValue& v) {
  json j{{"term", v.term}, {"members", v.members}, {"sync_count", v.sync_count}};
  if (!v.leader.empty()) j["leader"] = v.leader;
  return j.dump();
}

std::string encode(const FailoverValue& v) {
  return json{{"to", v.to},
              {"accept_loss", v.accept_loss},
              {"from_seq", v.from.seq},
              {"from_term", v.from.term},
              {"sync_revision", v.sync_revision},
              {"sync_term", v.sync_term},
              {"sync_members", v.sync_members},
              {"requested_by", v.requested_by},
              {"asked", v.asked}}
      .dump();
}

Result<FailoverValue> decode_failover(std::string_view text) {
  constexpr std::string_view what = "failover";
  GONGSHU_TRY(json j, parse_object(what, text));
  FailoverValue v;
  GONGSHU_TRY(v.to, get_node(what, j, "to"));
  auto al = j.find("accept_loss");
  if (al == j.end() || !al->is_boolean())
    return tl::unexpected(corrupt(what, "\"accept_loss\" is missing or not a boolean"));
  v.accept_loss = al->get<bool>();
  GONGSHU_TRY(v.from.seq, get_integer<uint64_t>(what, j, "from_seq"));
  GONGSHU_TRY(v.from.term, get_integer<int64_t>(what, j, "from_term"));
  GONGSHU_TRY(v.sync_revision, get_integer<int64_t>(what, j, "sync_revision"));
  GONGSHU_TRY(v.sync_term, get_integer<int64_t>(what, j, "sync_term"));
  auto sm = j.find("sync_members");
  if (sm == j.end() || !sm->is_array())
    return tl::unexpected(corrupt(what, "\"sync_members\" is missing or not an array"));
  for (const auto& m : *sm) {
    if (!m.is_string() || !valid_name(m.get<std::string>()))
      return tl::unexpected(corrupt(what, "a sync member is not a node id"));
    v.sync_members.push_back(m.get<std::string>());
  }
  for (auto [field, out] : {std::pair{"requested_by", &v.requested_by}, {"asked", &v.asked}}) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_string() || it->get<std::string>().size() > 256)
      return tl::unexpected(
          corrupt(what, std::string("\"") + field + "\" is missing or not a short string"));
    *out = it->get<std::string>();
  }
  return v;
}

std::string encode(const MemberValue& v) {
  json j{{"applied_seq", v.applied.seq},
         {"applied_term", v.applied.term},
         {"role", role_name(v.role)},
         {"endpoints", endpoints_json(v.endpoints)}};
  if (v.reseed)
    j["reseed"] = json{{"at_ms", v.reseed->at_ms},
                       {"reason", v.reseed->reason},
                       {"from_term", v.reseed->from_term},
                       {"from_seq", v.reseed->from_seq}};
  return j.dump();
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
  if (j.contains("leader")) {
    GONGSHU_TRY(v.leader, get_node(what, j, "leader"));
  }
  if (j.contains("sync_count")) {
    GONGSHU_TRY(uint64_t n, get_integer<uint64_t>(what, j, "sync_count"));
    if (n > 64) return tl::unexpected(corrupt(what, "\"sync_count\" is out of range"));
    v.sync_count = static_cast<uint32_t>(n);
  } else {
    v.sync_count = static_cast<uint32_t>(v.members.size());
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
  // Informational only: a malformed one is left out rather than making the member unreadable
  // (elections read member keys).
  if (auto rs = j.find("reseed"); rs != j.end() && rs->is_object()) {
    auto at = get_integer<int64_t>(what, *rs, "at_ms");
    auto term = get_integer<int64_t>(what, *rs, "from_term");
    auto seq = get_integer<uint64_t>(what, *rs, "from_seq");
    auto reason = rs->find("reason");
    if (at && term && seq && reason != rs->end() && reason->is_string() &&
        reason->get<std::string>().size() <= 32)
      v.reseed = ReseedRecord{*at, reason->get<std::string>(), *term, *seq};
  }
  return v;
}

const MemberView* ClusterView::member(std::string_view node) const {
  for (const auto& m : members) {
    if (m.node == node) return &m;
  }
  return nullptr;
}

const FailoverView* ClusterView::failover_for(std::string_view node) const {
  if (!failover || failover->value.to != node) return nullptr;
  if (failover->value.sync_revision != (sync ? sync->mod_revision : 0)) return nullptr;
  return &*failover;
}

bool ClusterView::failover_elsewhere(std::string_view node) const {
  return failover && failover->value.to != node;
}

bool ClusterView::may_stand(std::string_view node) const {
  return !sync || sync->value.eligible(node) || failover_for(node) != nullptr;
}

bool ClusterView::all_rivals(std::string_view node) const {
  return !failover_for(node) && (!sync || sync->value.sync_count == 0);
}

std::vector<std::string> ClusterView::rivals(std::string_view node) const {
  std::vector<std::string> out;
  if (failover_for(node)) return out;
  if (all_rivals(node)) {
    for (const auto& [n, a] : applied)
      if (n != node) out.push_back(n);
    for (const auto& m : members)
      if (m.node != node && !applied.count(m.node)) out.push_back(m.node);
  } else {
    for (const auto& m : sync->value.members)
      if (m != node) out.push_back(m);
    if (!sync->value.leader.empty() && sync->value.leader != node &&
        !sync->value.contains(sync->value.leader))
      out.push_back(sync->value.leader);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::string> ClusterView::ahead_of(std::string_view node, Applied mine) const {
  for (const auto& r : rivals(node)) {
    auto it = applied.find(r);
    if (it != applied.end() && it->second > mine) return r;
  }
  return std::nullopt;
}

Applied ClusterView::best_applied() const {
  Applied best;
  for (const auto& m : members) best = std::max(best, m.value.applied);
  return best;
}

std::optional<uint64_t> ClusterView::behind(std::string_view node) const {
  const MemberView* me = member(node);
  if (!me) return std::nullopt;
  Applied best = me->value.applied;
  for (const auto& r : rivals(node)) {
    if (const MemberView* m = member(r)) best = std::max(best, m->value.applied);
  }
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
  const std::string applied = keys.applied_prefix();
  const std::string failover = keys.failover();
  for (const auto& kv : kvs) {
    if (kv.key == leader) {
      auto v = decode_leader(kv.value);
      if (!v) return tl::unexpected(std::move(v.error()).with_context("cluster: key " + leader));
      view.leader = LeaderView{std::move(*v), kv.create_revision, kv.lease};
    } else if (kv.key == sync) {
      auto v = decode_sync(kv.value);
      if (!v) return tl::unexpected(std::move(v.error()).with_context("cluster: key " + sync));
      view.sync = SyncView{std::move(*v), kv.mod_revision};
    } else if (kv.key == failover) {
      auto v = decode_failover(kv.value);
      if (!v) {  // not fatal: without it the election goes on by the sync set alone
        view.unreadable.push_back(kv.key + ": " + v.error().message());
        continue;
      }
      view.failover = FailoverView{std::move(*v), kv.mod_revision};
    } else if (kv.key.size() > applied.size() && kv.key.compare(0, applied.size(), applied) == 0) {
      std::string node = kv.key.substr(applied.size());
      auto v = decode_applied(kv.value);
      if (!valid_name(node) || !v) {
        view.unreadable.push_back(kv.key + ": not a node's applied position");
        continue;
      }
      view.applied[node] = *v;
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
