#include "tools/drill/plan.h"

#include <toml++/toml.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/util/i18n.h"

namespace gongshu::drill {
namespace {

const std::map<std::string, Action, std::less<>>& actions() {
  static const std::map<std::string, Action, std::less<>> m = {
      {"start-load", Action::kStartLoad},
      {"wait-until", Action::kWaitUntil},
      {"kill", Action::kKill},
      {"stop", Action::kStop},
      {"start", Action::kStart},
      {"revoke", Action::kRevoke},
      {"re-enroll", Action::kReenroll},
      {"tamper", Action::kTamper},
      {"reload-policy", Action::kReloadPolicy},
      {"verify", Action::kVerify},
      {"expect", Action::kExpect},
      {"pause", Action::kPause},
      {"rotate-daemon-key", Action::kRotateDaemonKey},
      {"backup", Action::kBackup},
      {"restore", Action::kRestore},
      {"grow-store", Action::kGrowStore},
      {"powercut-mount", Action::kPowercutMount},
      {"power-cut", Action::kPowerCut},
      {"cluster-start", Action::kClusterStart},
  };
  return m;
}

// The keys each action takes besides `do` (and `what`, a free comment for people).
const std::set<std::string>& allowed_keys(Action a) {
  static const std::map<Action, std::set<std::string>> m = {
      {Action::kStartLoad, {"records", "batch", "interval_ms"}},
      {Action::kWaitUntil, {"condition", "at_least", "timeout_ms", "figure"}},
      {Action::kKill, {"target", "signal"}},
      {Action::kStop, {"target"}},
      {Action::kStart, {"target"}},
      {Action::kRevoke, {"agent"}},
      {Action::kReenroll, {"agent"}},
      {Action::kTamper, {"kinds"}},
      {Action::kReloadPolicy, {"broken"}},
      {Action::kVerify, {}},
      {Action::kExpect, {"that"}},
      {Action::kPause, {"ms"}},
      {Action::kRotateDaemonKey, {}},
      {Action::kBackup, {}},
      {Action::kRestore, {}},
      {Action::kGrowStore, {"mb"}},
      {Action::kPowercutMount, {"target", "lie_about_fsync"}},
      {Action::kPowerCut, {"target", "within_ms"}},
      {Action::kClusterStart, {"nodes", "lease_ttl_s"}},
  };
  return m.at(a);
}

const std::set<std::string> kConditions = {"drained", "load-done",  "stored",     "acknowledged",
                                           "refused", "store-full", "new-leader", "rejoined"};
const std::set<std::string> kSignals = {"KILL", "TERM", "INT", "HUP", "STOP", "CONT"};

tl::unexpected<Error> at(const std::string& file, const toml::node& n, const std::string& why) {
  return fail(ErrorCode::kInvalidArgument,
              file + ":" + std::to_string(n.source().begin.line) + ": " + why);
}

bool is_target(const std::string& t) {
  return t == "daemon" || t == "leader" || t == "old-leader" || t == "a" || t == "b";
}

Result<Expectation> parse_expectation(const std::string& text) {
  std::istringstream in(text);
  std::string figure, op, value, rest;
  in >> figure >> op >> value >> rest;
  static const std::map<std::string, Op> ops = {{"==", Op::kEq}, {"!=", Op::kNe}, {"<", Op::kLt},
                                                {"<=", Op::kLe}, {">", Op::kGt},  {">=", Op::kGe}};
  Expectation e;
  e.text = text;
  e.figure = figure;
  auto o = ops.find(op);
  bool name_ok = !figure.empty() && std::all_of(figure.begin(), figure.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  size_t used = 0;
  try {
    e.value = std::stod(value, &used);
  } catch (...) {
    used = 0;
  }
  if (!name_ok || o == ops.end() || value.empty() || used != value.size() || !rest.empty()) {
    return fail(
        ErrorCode::kInvalidArgument,
        trf("`that` must read `figure op number` (op one of == != < <= > >=), not \"{}\"", text));
  }
  e.op = o->second;
  return e;
}

Result<uint64_t> get_uint(const std::string& file, const toml::node& n, const std::string& key,
                          uint64_t max) {
  // is_integer() before value<int64_t>(), which casts a float such as 1e30 (undefined).
  auto v = n.is_integer() ? n.value<int64_t>() : std::nullopt;
  if (!v || *v < 0 || uint64_t(*v) > max) {
    return at(file, n, trf("`{}` must be an integer from 0 to {}", key, max));
  }
  return uint64_t(*v);
}

Result<std::string> get_string(const std::string& file, const toml::node& n,
                               const std::string& key) {
  if (!n.is_string()) return at(file, n, trf("`{}` must be a string", key));
  return *n.value<std::string>();
}

Result<Step> parse_step(const std::string& file, const toml::table& t) {
  const toml::node* d = t.get("do");
  if (!d) return at(file, t, tr("a step needs `do` (one of start-load, wait-until, kill, ...)"));
  GONGSHU_TRY(std::string name, get_string(file, *d, "do"));
  auto a = actions().find(name);
  if (a == actions().end()) return at(file, *d, trf("unknown step `{}`", name));
  Step s;
  s.action = a->second;
  s.line = int(t.source().begin.line);
  const auto& allowed = allowed_keys(s.action);
  for (const auto& [k, node] : t) {
    std::string key(k.str());
    if (key == "do" || key == "what") continue;
    if (!allowed.count(key)) {
      return at(file, node, trf("step `{}` takes no `{}`", name, key));
    }
    if (key == "records") {
      GONGSHU_TRY(s.records, get_uint(file, node, key, 10'000'000));
    } else if (key == "batch") {
      GONGSHU_TRY(s.batch, get_uint(file, node, key, 100'000));
      if (s.batch == 0) return at(file, node, tr("`batch` must be at least 1"));
    } else if (key == "interval_ms" || key == "timeout_ms" || key == "ms") {
      GONGSHU_TRY(uint64_t v, get_uint(file, node, key, 3'600'000));
      (key == "interval_ms" ? s.interval_ms : key == "timeout_ms" ? s.timeout_ms : s.ms) = v;
    } else if (key == "within_ms") {
      GONGSHU_TRY(s.within_ms, get_uint(file, node, key, 600'000));
    } else if (key == "nodes") {
      GONGSHU_TRY(s.nodes, get_uint(file, node, key, 5));
      if (s.nodes < 3) return at(file, node, tr("`nodes` must be 3 to 5"));
    } else if (key == "lease_ttl_s") {
      GONGSHU_TRY(s.lease_ttl_s, get_uint(file, node, key, 60));
      if (s.lease_ttl_s < 2) return at(file, node, tr("`lease_ttl_s` must be 2 to 60"));
    } else if (key == "lie_about_fsync") {
      if (!node.is_boolean()) return at(file, node, tr("`lie_about_fsync` must be true or false"));
      s.lie_about_fsync = *node.value<bool>();
    } else if (key == "mb") {
      GONGSHU_TRY(s.mb, get_uint(file, node, key, 1 << 20));
      if (s.mb == 0) return at(file, node, tr("`mb` must be at least 1"));
    } else if (key == "at_least") {
      GONGSHU_TRY(s.at_least, get_uint(file, node, key, 1'000'000'000));
    } else if (key == "target" || key == "agent") {
      GONGSHU_TRY(std::string v, get_string(file, node, key));
      if (!is_target(v) ||
          (key == "agent" && (v == "daemon" || v == "leader" || v == "old-leader"))) {
        return at(file, node,
                  key == "agent"
                      ? tr("`agent` must be \"a\" (agency sjz-gongan) or \"b\" (agency "
                           "sjz-shichang)")
                      : tr("`target` must be \"daemon\", \"leader\" (a cluster's), "
                           "\"old-leader\" (start only: the leader a kill step lost), \"a\" "
                           "(agency sjz-gongan) or \"b\" (agency sjz-shichang)"));
      }
      (key == "target" ? s.target : s.agent) = v;
    } else if (key == "signal") {
      GONGSHU_TRY(s.signal, get_string(file, node, key));
      if (!kSignals.count(s.signal)) return at(file, node, trf("unknown signal `{}`", s.signal));
    } else if (key == "condition") {
      GONGSHU_TRY(s.condition, get_string(file, node, key));
      if (!kConditions.count(s.condition)) {
        return at(file, node,
                  trf("unknown condition `{}` (drained, load-done, stored, acknowledged, "
                      "refused, store-full, new-leader, rejoined)",
                      s.condition));
      }
    } else if (key == "figure") {
      GONGSHU_TRY(s.figure, get_string(file, node, key));
    } else if (key == "kinds") {
      const auto* arr = node.as_array();
      if (!arr || arr->empty()) return at(file, node, tr("`kinds` must be a non-empty array"));
      for (const auto& k2 : *arr) {
        GONGSHU_TRY(std::string kind, get_string(file, k2, "kinds"));
        const auto& known = tamper_kinds();
        if (std::find(known.begin(), known.end(), kind) == known.end()) {
          return at(file, k2, trf("unknown tamper kind `{}`", kind));
        }
        s.kinds.push_back(kind);
      }
    } else if (key == "broken") {
      if (!node.is_boolean()) return at(file, node, tr("`broken` must be true or false"));
      s.broken = *node.value<bool>();
    } else if (key == "that") {
      GONGSHU_TRY(std::string text, get_string(file, node, key));
      auto e = parse_expectation(text);
      if (!e) return at(file, node, e.error().message());
      s.expect = *e;
    }
  }
  auto need = [&](bool ok, const std::string& what) -> Status {
    if (!ok) return at(file, t, trf("step `{}` needs {}", name, what));
    return {};
  };
  switch (s.action) {
    case Action::kStartLoad:
      GONGSHU_RETURN_IF_ERROR(need(s.records > 0, tr("`records` (per agent, at least 1)")));
      break;
    case Action::kWaitUntil:
      GONGSHU_RETURN_IF_ERROR(need(!s.condition.empty(), "`condition`"));
      break;
    case Action::kKill:
    case Action::kStop:
    case Action::kStart:
    case Action::kPowercutMount:
    case Action::kPowerCut:
      GONGSHU_RETURN_IF_ERROR(need(!s.target.empty(), "`target`"));
      if (s.target == "old-leader" && s.action != Action::kStart)
        return at(file, t, tr("target \"old-leader\" is for `start` only"));
      break;
    case Action::kRevoke:
    case Action::kReenroll:
      GONGSHU_RETURN_IF_ERROR(need(!s.agent.empty(), "`agent`"));
      break;
    case Action::kTamper:
      if (s.kinds.empty()) s.kinds = tamper_kinds();
      break;
    case Action::kExpect:
      GONGSHU_RETURN_IF_ERROR(need(s.expect.has_value(), "`that`"));
      break;
    case Action::kGrowStore:
      GONGSHU_RETURN_IF_ERROR(need(s.mb > 0, tr("`mb` (the store's new size in MiB)")));
      break;
    default:
      break;
  }
  return s;
}

}  // namespace

std::string_view action_name(Action a) {
  for (const auto& [name, x] : actions()) {
    if (x == a) return name;
  }
  return "?";
}

bool Expectation::holds(double v) const {
  switch (op) {
    case Op::kEq:
      return v == value;
    case Op::kNe:
      return v != value;
    case Op::kLt:
      return v < value;
    case Op::kLe:
      return v <= value;
    case Op::kGt:
      return v > value;
    case Op::kGe:
      return v >= value;
  }
  return false;
}

const std::vector<std::string>& tamper_kinds() {
  static const std::vector<std::string> k = {"flip-entry", "flip-checkpoint", "truncate",
                                             "drop-entry"};
  return k;
}

Result<Plan> parse_plan(std::string_view text, const std::string& file) {
  if (text.size() > kMaxPlanBytes) {
    return fail(ErrorCode::kResourceExhausted,
                trf("{}: larger than {} bytes", file, kMaxPlanBytes));
  }
  toml::table doc;
  try {
    doc = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument, file + ":" + std::to_string(e.source().begin.line) +
                                                 ": " + std::string(e.description()));
  }
  Plan p;
  p.file = file;
  for (const auto& [k, node] : doc) {
    std::string key(k.str());
    if (key == "name" || key == "summary_zh" || key == "summary_en") {
      GONGSHU_TRY(std::string v, get_string(file, node, key));
      (key == "name" ? p.name : key == "summary_zh" ? p.summary_zh : p.summary_en) = v;
    } else if (key == "store_mb") {
      GONGSHU_TRY(p.store_mb, get_uint(file, node, key, 1 << 20));
      if (p.store_mb == 0) return at(file, node, tr("`store_mb` must be at least 1"));
    } else if (key == "step") {
      const auto* arr = node.as_array();
      if (!arr || !arr->is_array_of_tables()) {
        return at(file, node, tr("`step` must be an array of tables ([[step]])"));
      }
      for (const auto& st : *arr) {
        GONGSHU_TRY(Step s, parse_step(file, *st.as_table()));
        p.steps.push_back(std::move(s));
      }
    } else {
      return at(file, node, trf("unknown key `{}`", key));
    }
  }
  if (p.name.empty() || p.summary_zh.empty() || p.summary_en.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                trf("{}:1: a plan needs `name`, `summary_zh` and `summary_en`", file));
  }
  if (p.steps.empty()) {
    return fail(ErrorCode::kInvalidArgument, trf("{}:1: a plan needs steps", file));
  }
  return p;
}

Result<Plan> load_plan(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(ErrorCode::kNotFound, path + ": " + ec.message());
  if (size > kMaxPlanBytes) {
    return fail(ErrorCode::kResourceExhausted,
                trf("{}: larger than {} bytes", path, kMaxPlanBytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return fail(ErrorCode::kIo, trf("{}: cannot read", path));
  return parse_plan(ss.str(), path);
}

Result<std::vector<Plan>> load_plans(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".toml") files.push_back(e.path().string());
  }
  if (ec) return fail(ErrorCode::kNotFound, dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Plan> plans;
  for (const auto& f : files) {
    GONGSHU_TRY(Plan p, load_plan(f));
    plans.push_back(std::move(p));
  }
  return plans;
}

}  // namespace gongshu::drill
