// bench_policy: how fast policy decisions are, against a policy of 200 rules and a catalog of
// 1,000 datasets, beside the trivial baseline of one hash-map lookup of the dataset id (what
// the daemon spends just finding the dataset). Also the masking rate of rows.
//
//   bench_policy [--decisions N] [--seed S]
//
// Targets (policy issue): >= 1,000,000 decisions/s on one core; p99 <= 10 us.
// Latency is sampled per decision with steady_clock, whose own cost (printed) is included.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/catalog/dataset.h"
#include "core/crypto/secret_bytes.h"
#include "core/policy/decide.h"
#include "core/policy/mask_profile.h"
#include "core/policy/policy.h"

namespace {

using namespace gongshu;
using policy::Action;
using policy::Role;
using Clock = std::chrono::steady_clock;

constexpr int kRules = 200;
constexpr int kDatasets = 1000;
constexpr int kAgencies = 30;
constexpr int64_t kNow = 1772424000000;  // 2026-03-02T12:00:00+08:00

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Gen {
  std::mt19937_64 rng;
  size_t pick(size_t n) { return size_t(rng() % n); }
  bool chance(int percent) { return int(pick(100)) < percent; }

  std::string agency(size_t i) { return "agency-" + std::to_string(i); }
  std::string dataset(size_t i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "ds.%04zu", i);
    return buf;
  }
  template <size_t N>
  std::string subset(const char* const (&names)[N], size_t min = 1) {
    std::string out;
    for (size_t i = 0; i < N; ++i) {
      if (chance(50)) out += (out.empty() ? "\"" : ", \"") + std::string(names[i]) + "\"";
    }
    for (size_t i = 0; out.empty() && i < min; ++i) out = "\"" + std::string(names[pick(N)]) + "\"";
    return "[" + out + "]";
  }
  std::string datasets_list() {
    std::string out;
    for (size_t i = 0, n = 1 + pick(20); i < n; ++i)
      out += (i ? ", \"" : "\"") + dataset(pick(kDatasets)) + "\"";
    return "[" + out + "]";
  }
  std::string agencies_list() {
    std::string out;
    for (size_t i = 0, n = 1 + pick(5); i < n; ++i)
      out += (i ? ", \"" : "\"") + agency(pick(kAgencies)) + "\"";
    return "[" + out + "]";
  }
};

const char* const kGrades[] = {"core",      "important", "general-4",
                               "general-3", "general-2", "general-1"};
const char* const kOpens[] = {"unconditional", "conditional", "closed"};
const char* const kShares[] = {"unconditional", "conditional", "none"};
const char* const kCategories[] = {"population", "legal_person", "credit", "e_licence",
                                   "economy",    "geo",          "topic"};
const char* const kDataActions[] = {"read", "query_subject", "download", "export", "aggregate"};
const char* const kAllRoles[] = {"public",  "agent",     "agency",  "operator",
                                 "officer", "applicant", "licensed"};
const char* const kCatalogRoles[] = {"public",   "agent",   "agency",
                                     "operator", "officer", "applicant"};
const char* const kAllActions[] = {"catalog", "read",      "query_subject", "download",
                                   "export",  "aggregate", "ingest",        "correct",
                                   "destroy", "provenance"};
const char* const kPurposes[] = {"research", "subsidy", "audit"};

// A policy of kRules rules drawn from the shapes real rules have (each within the guards).
std::string make_policy(Gen& g) {
  std::string s = R"([policy]
version = "bench-1"
[[grade]]
id = "core"
name = "核心数据"
max_rows = 100
[[grade]]
id = "important"
name = "重要数据"
max_rows = 1000
[[grade]]
id = "general-4"
name = "4"
[[grade]]
id = "general-3"
name = "3"
[[grade]]
id = "general-2"
name = "2"
[[grade]]
id = "general-1"
name = "1"
[[mask]]
id = "raw"
[mask.pii]
citizen_id = "keep"
name = "keep"
[[mask]]
id = "anon"
record_key = "token"
[mask.pii]
citizen_id = "token"
address = "region"
birth_date = "year"
[[rate]]
id = "r"
requests_per_minute = 100
)";
  for (int i = 0; i < kRules; ++i) {
    std::string r = "\n[[rule]]\nid = \"r" + std::to_string(i) + "\"\n";
    const size_t shape = g.pick(10);
    auto opt = [&](int percent, const std::string& line) {
      if (g.chance(percent)) r += line + "\n";
    };
    switch (shape) {
      case 0:
      case 1:  // deny on some attribute
        r += "effect = \"deny\"\nroles = " + g.subset(kAllRoles) +
             "\nactions = " + g.subset(kAllActions) + "\n";
        switch (g.pick(5)) {
          case 0:
            r += "grades = " + g.subset(kGrades) + "\n";
            break;
          case 1:
            r += "datasets = " + g.datasets_list() + "\n";
            break;
          case 2:
            r += "pii = [\"biometric\"]\nprovider = \"other\"\n";
            break;
          case 3:
            r += "categories = " + g.subset(kCategories) + "\nopen = [\"closed\"]\n";
            break;
          default:
            r += "agencies = " + g.agencies_list() + "\n";
        }
        break;
      case 2:  // agency, unconditional sharing
        r += "effect = \"allow\"\nroles = [\"agency\"]\nactions = " + g.subset(kDataActions) +
             "\nprovider = \"other\"\nshare = [\"unconditional\"]\nmask = \"anon\"\n";
        opt(50, "require_purpose = true");
        opt(30, "agencies = " + g.agencies_list());
        opt(30, "datasets = " + g.datasets_list());
        opt(30, "grades = " + g.subset(kGrades));
        break;
      case 3:  // agency, conditional sharing
        r += "effect = \"allow\"\nroles = [\"agency\"]\nactions = " + g.subset(kDataActions) +
             "\nprovider = \"other\"\nshare = [\"unconditional\", \"conditional\"]\n"
             "agreement = \"share\"\nmask = \"anon\"\n";
        opt(40, "datasets = " + g.datasets_list());
        opt(30, "categories = " + g.subset(kCategories));
        break;
      case 4:  // own data
        r += "effect = \"allow\"\nroles = [\"agency\"]\nactions = " + g.subset(kAllActions) +
             "\nprovider = \"self\"\nmask = \"raw\"\n";
        opt(30, "agencies = " + g.agencies_list());
        break;
      case 5:  // open data
        r += "effect = \"allow\"\nroles = [\"public\", \"applicant\"]\nactions = [\"download\", "
             "\"catalog\"]\nopen = [\"unconditional\"]\nmask = \"anon\"\nrate = \"r\"\n";
        opt(40, "categories = " + g.subset(kCategories));
        opt(30, "datasets = " + g.datasets_list());
        break;
      case 6:  // conditional open data
        r += "effect = \"allow\"\nroles = [\"applicant\"]\nactions = [\"read\", \"download\", "
             "\"aggregate\"]\nopen = [\"conditional\"]\nagreement = \"open\"\nmask = \"anon\"\n"
             "k_threshold = 10\n";
        opt(30, "purposes = [\"research\", \"audit\"]");
        break;
      case 7:  // licensed operation
        r += "effect = \"allow\"\nroles = [\"licensed\"]\nactions = [\"aggregate\"]\n"
             "agreement = \"licence\"\nmask = \"anon\"\nk_threshold = 10\n";
        opt(50, "max_grade = \"important\"");
        break;
      case 8:  // staff
        r += "effect = \"allow\"\nroles = [\"operator\"]\nactions = " + g.subset(kAllActions) +
             "\nmask = \"anon\"\n";
        opt(30, "hours = \"08:00-20:00\"");
        opt(50, "require_purpose = true");
        break;
      default:  // catalogs
        r += "effect = \"allow\"\nroles = " + g.subset(kCatalogRoles) +
             "\nactions = [\"catalog\"]\nopen = [\"unconditional\", \"conditional\"]\n";
        opt(30, "datasets = " + g.datasets_list());
    }
    s += r;
  }
  return s;
}

v1::DatasetEntry make_entry(Gen& g, size_t i) {
  static const v1::PiiKind kKinds[] = {v1::PII_NONE,        v1::PII_CITIZEN_ID, v1::PII_NAME,
                                       v1::PII_ADDRESS,     v1::PII_BIRTH_DATE, v1::PII_NONE,
                                       v1::PII_CREDIT_CODE, v1::PII_NONE};
  v1::DatasetEntry e;
  e.set_id(g.dataset(i));
  e.set_provider_agency(g.agency(g.pick(kAgencies)));
  e.set_grade(kGrades[g.pick(6)]);
  e.set_open_attribute(kOpens[g.pick(3)]);
  e.set_share_attribute(kShares[g.pick(3)]);
  e.set_category(kCategories[g.pick(7)]);
  for (size_t f = 0, n = 3 + g.pick(8); f < n; ++f) {
    auto* spec = e.add_fields();
    spec->set_name("f" + std::to_string(f));
    spec->set_pii(kKinds[g.pick(8)]);
  }
  if (g.chance(3)) e.add_fields()->set_pii(v1::PII_BIOMETRIC);
  return e;
}

struct Sample {
  policy::Request request;
  std::vector<policy::Agreement> agreements;
};

uint64_t percentile(std::vector<uint64_t>& v, double p) {
  const size_t i = std::min(v.size() - 1, size_t(p * double(v.size())));
  std::nth_element(v.begin(), v.begin() + long(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = 5'000'000;
  uint64_t seed = 43697;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--decisions") && i + 1 < argc) {
      n = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: bench_policy [--decisions N] [--seed S]\n");
      return 2;
    }
  }
  if (n < 1000) n = 1000;
  Gen g{std::mt19937_64(seed)};

  // The policy: 200 rules, loaded through the real loader.
  const std::string text = make_policy(g);
  std::vector<policy::PolicySource> sources = {{"bench.toml", text}};
  auto t0 = Clock::now();
  auto pol = policy::Policy::parse(sources);
  const double load_s = seconds_since(t0);
  if (!pol) {
    std::fprintf(stderr, "bench_policy: %s\n", pol.error().message().c_str());
    return 1;
  }

  // The catalog: 1,000 datasets.
  std::vector<v1::DatasetEntry> entries;
  std::vector<policy::DatasetAttrs> attrs;
  for (size_t i = 0; i < kDatasets; ++i) {
    entries.push_back(make_entry(g, i));
    auto a = policy::DatasetAttrs::from_entry(entries.back());
    if (!a) {
      std::fprintf(stderr, "bench_policy: %s\n", a.error().message().c_str());
      return 1;
    }
    attrs.push_back(std::move(*a));
  }

  // 4,096 requests: every role and action, own and other agencies, with and without purposes
  // and agreements (some covering the dataset, some not).
  constexpr size_t kSamples = 4096;
  std::vector<Sample> samples(kSamples);
  std::vector<std::string> agency_names;
  for (size_t i = 0; i < kAgencies; ++i) agency_names.push_back(g.agency(i));
  for (Sample& s : samples) {
    const policy::DatasetAttrs& d = attrs[g.pick(kDatasets)];
    policy::Request& r = s.request;
    r.role = Role(g.pick(policy::kRoleCount));
    r.action = Action(g.pick(policy::kActionCount));
    r.dataset = &d;
    r.principal = "k-123456";
    if (r.role == Role::kAgency || r.role == Role::kAgent)
      r.agency = g.chance(30) ? std::string_view(d.provider)
                              : std::string_view(agency_names[g.pick(kAgencies)]);
    r.purpose = g.chance(80) ? kPurposes[g.pick(3)] : "";
    r.now_ms = kNow + int64_t(g.pick(24)) * 3'600'000;
    for (size_t k = 0, m = g.pick(3); k < m; ++k) {
      policy::Agreement a;
      a.id = "AG-" + std::to_string(k);
      a.kind = policy::AgreementKind(g.pick(3));
      a.status =
          g.chance(80) ? policy::AgreementStatus::kActive : policy::AgreementStatus::kRevoked;
      a.holder = a.kind == policy::AgreementKind::kShare ? std::string(r.agency) : "k-123456";
      a.scope.push_back({g.chance(70) ? d.id : g.dataset(g.pick(kDatasets)), {"*"}});
      a.purposes = {"research", "audit"};
      a.valid_from_ms = kNow - 86'400'000;
      a.valid_to_ms = kNow + (g.chance(80) ? 86'400'000 : -1);
      if (g.chance(50)) a.rows_remaining = g.pick(5000);
      s.agreements.push_back(std::move(a));
    }
    r.agreements = s.agreements;
  }

  // Baseline: one hash-map lookup of the dataset id per request.
  std::unordered_map<std::string, size_t> by_id;
  for (size_t i = 0; i < attrs.size(); ++i) by_id.emplace(attrs[i].id, i);
  uint64_t sink = 0;
  t0 = Clock::now();
  for (uint64_t i = 0; i < n; ++i)
    sink += by_id.find(samples[i % kSamples].request.dataset->id)->second;
  const double map_rate = double(n) / seconds_since(t0);

  // Throughput.
  uint64_t allowed = 0;
  t0 = Clock::now();
  for (uint64_t i = 0; i < n; ++i)
    allowed += policy::decide(*pol, samples[i % kSamples].request).allowed();
  const double decide_s = seconds_since(t0);
  const double decide_rate = double(n) / decide_s;

  // Latency, one decision at a time.
  const uint64_t m = std::min<uint64_t>(n, 2'000'000);
  std::vector<uint64_t> ns(m), overhead(m);
  for (uint64_t i = 0; i < m; ++i) {
    const auto a = Clock::now();
    const auto b = Clock::now();
    overhead[i] = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  for (uint64_t i = 0; i < m; ++i) {
    const policy::Request& r = samples[(i * 7919) % kSamples].request;
    const auto a = Clock::now();
    sink += policy::decide(*pol, r).allowed();
    const auto b = Clock::now();
    ns[i] = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  const uint64_t p50 = percentile(ns, 0.50), p99 = percentile(ns, 0.99),
                 p999 = percentile(ns, 0.999), worst = *std::max_element(ns.begin(), ns.end());
  const uint64_t clock_p50 = percentile(overhead, 0.50);

  // explain(), which builds a reason for every rule: for the operators' tool, not the hot path.
  const uint64_t ne = std::min<uint64_t>(n / 50, 100'000);
  t0 = Clock::now();
  for (uint64_t i = 0; i < ne; ++i)
    sink += policy::explain(*pol, samples[i % kSamples].request).rules.size();
  const double explain_rate = double(ne) / seconds_since(t0);

  // Masking: a household row under a desensitising and an anonymising (token) profile.
  v1::DatasetEntry household;
  household.set_id("population.household");
  household.set_subject_kind("person");
  struct F {
    const char* name;
    v1::PiiKind pii;
  };
  for (F f : {F{"citizen_id", v1::PII_CITIZEN_ID}, F{"name", v1::PII_NAME},
              F{"birth_date", v1::PII_BIRTH_DATE}, F{"address", v1::PII_ADDRESS},
              F{"household_size", v1::PII_NONE}}) {
    auto* s = household.add_fields();
    s->set_name(f.name);
    s->set_pii(f.pii);
  }
  const catalog::DatasetSchema schema(household);
  v1::Record row;
  row.set_dataset("population.household");
  row.set_record_key("HH-000123");
  row.set_subject_id("130102199003071234");
  auto add = [&](const char* name) {
    auto* f = row.add_fields();
    f->set_name(name);
    return f->mutable_value();
  };
  add("citizen_id")->set_text("130102199003071234");
  add("name")->set_text("张三丰");
  add("birth_date")->set_date_days(7370);
  add("address")->set_text("河北省石家庄市长安区中山东路39号");
  add("household_size")->set_integer(4);
  policy::MaskProfile desens("desensitise");
  desens.set_kind(v1::PII_CITIZEN_ID, *policy::parse_mask_op("keep_ends:6:4"));
  desens.set_kind(v1::PII_NAME, *policy::parse_mask_op("keep_first:1"));
  desens.set_kind(v1::PII_ADDRESS, *policy::parse_mask_op("region"));
  desens.set_kind(v1::PII_BIRTH_DATE, *policy::parse_mask_op("year"));
  const policy::RecordMasker desens_masker(desens, schema);
  const policy::RecordMasker anon_masker(*pol->mask("anon"), schema);
  const auto key = crypto::SecretBytes::random(32);
  const uint64_t rows = 300'000;
  auto mask_rate = [&](const policy::RecordMasker& masker) {
    v1::Record r;
    const auto start = Clock::now();
    for (uint64_t i = 0; i < rows; ++i) {
      r = row;
      masker.mask(r, key);
      sink += r.fields_size();
    }
    return double(rows) / seconds_since(start);
  };
  v1::Record copy;
  t0 = Clock::now();
  for (uint64_t i = 0; i < rows; ++i) {
    copy = row;
    sink += copy.fields_size();
  }
  const double copy_rate = double(rows) / seconds_since(t0);
  const double desens_rate = mask_rate(desens_masker);
  const double anon_rate = mask_rate(anon_masker);

  std::printf(
      "policy decisions: %d rules, %d datasets, %zu distinct requests, %llu decisions "
      "(%.1f%% allowed; sink %llu)\n",
      kRules, kDatasets, kSamples, (unsigned long long)n, 100.0 * double(allowed) / double(n),
      (unsigned long long)(sink & 0xFFFF));
  std::printf("  policy load (parse + compile)   %10.2f ms\n", load_s * 1e3);
  std::printf("  baseline: hash-map lookup       %12.0f lookups/s   (finding the dataset)\n",
              map_rate);
  std::printf(
      "  decide()                        %12.0f decisions/s %5.1f%% of the lookup rate   "
      "target >= 1,000,000\n",
      decide_rate, 100 * decide_rate / map_rate);
  std::printf(
      "  latency p50 / p99 / p99.9 / max %6llu / %llu / %llu / %llu ns   target p99 <= "
      "10,000 ns (includes ~%llu ns of clock reads)\n",
      (unsigned long long)p50, (unsigned long long)p99, (unsigned long long)p999,
      (unsigned long long)worst, (unsigned long long)clock_p50);
  std::printf("  explain() (every rule, reasons) %12.0f explanations/s\n", explain_rate);
  std::printf("  baseline: copy a household row  %12.0f rows/s\n", copy_rate);
  std::printf("  copy + mask, desensitising      %12.0f rows/s\n", desens_rate);
  std::printf("  copy + mask, anonymising/tokens %12.0f rows/s\n", anon_rate);
  const bool ok = decide_rate >= 1'000'000 && p99 <= 10'000;
  std::printf("  %s\n", ok ? "targets met" : "TARGETS MISSED");
  return ok ? 0 : 1;
}
