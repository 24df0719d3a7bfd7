// Policy files and agreement facts (core/policy/policy.h, agreement.h, toml_reader.h): policy
// directories are untrusted input to the daemon and to `gongshuctl policy check`. The input is
// parsed as one policy file and as an agreements file; a policy that loads decides and explains
// every role and action on the fuzz dataset, with the agreements that parsed.
#include "core/policy/decide.h"
#include "core/policy/policy.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::text(data, size);
  std::vector<policy::Agreement> agreements;
  if (auto parsed = policy::parse_agreements_toml(text, "agreements.toml")) {
    agreements = std::move(*parsed);
  }
  const policy::PolicySource source{"policy.toml", std::string(text)};
  auto policy = policy::Policy::parse(std::span(&source, 1));
  if (!policy) return 0;

  static const auto attrs = policy::DatasetAttrs::from_entry(fuzz::schema().entry());
  GONGSHU_CHECK(attrs.has_value());
  for (int role = 0; role < policy::kRoleCount; ++role) {
    for (int action = 0; action < policy::kActionCount; ++action) {
      policy::Request req;
      req.role = static_cast<policy::Role>(role);
      req.principal = "3f2a9c0d1e4b5a67";
      req.agency = "sjz-fuzz";
      req.action = static_cast<policy::Action>(action);
      req.dataset = &*attrs;
      req.purpose = "traffic-research";
      req.agreements = agreements;
      req.now_ms = fuzz::clock().now_ms();
      const policy::Decision d = policy::decide(*policy, req);
      const policy::Explanation e = policy::explain(*policy, req);
      GONGSHU_FUZZ_CHECK(e.decision.effect == d.effect && e.decision.rule == d.rule,
                         "explain() and decide() disagree");
      GONGSHU_FUZZ_CHECK(!d.allowed() || d.rule != nullptr, "allowed by no rule");
    }
  }
  return 0;
}
