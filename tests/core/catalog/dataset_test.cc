#include "core/catalog/dataset.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/util/fd.h"

namespace gongshu::catalog {
namespace {

const char* kGood = R"(
[dataset]
id = "population.household"
name = "户籍人口信息"
provider = "sjz-gongan"
grade = "important"
open = "closed"
share = "conditional"
update_frequency = "daily"
subject = "person"
category = "population"

[[field]]
name = "citizen_id"
type = "text"
pii = "citizen_id"
required = true
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST_CASE("every shipped catalog entry parses and validates") {
  int n = 0;
  for (const auto& f :
       std::filesystem::directory_iterator(std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog")) {
    auto text = read_file(f.path().string(), 1 << 20);
    REQUIRE(text);
    auto e = parse_dataset_toml(as_chars(*text), f.path().string());
    INFO(f.path() << ": " << (e ? "" : e.error().message()));
    REQUIRE(e);
    CHECK(e->status() == "draft");
    ++n;
  }
  CHECK(n == 6);  // the six base databases of R-05
}

TEST_CASE("catalog entries are checked with file, line and reason") {
  auto e = parse_dataset_toml(kGood, "good.toml");
  REQUIRE(e);
  CHECK(e->fields(0).pii() == v1::PII_CITIZEN_ID);
  CHECK(e->fields(0).required());

  auto bad_grade = parse_dataset_toml(with(kGood, "\"important\"", "\"secret\""), "g.toml");
  REQUIRE(!bad_grade);
  CHECK(bad_grade.error().message().find("grade 'secret'") != std::string::npos);

  auto secret = parse_dataset_toml(
      with(kGood, "category = \"population\"", "category = \"population\"\nstate_secret = true"),
      "s.toml");
  REQUIRE(!secret);
  CHECK(secret.error().message().find("s.toml:12") != std::string::npos);
  CHECK(secret.error().message().find("R-01") != std::string::npos);

  auto biometric = parse_dataset_toml(
      std::string(kGood) + "\n[[field]]\nname = \"face\"\ntype = \"blob\"\npii = \"biometric\"\n",
      "b.toml");
  REQUIRE(!biometric);
  CHECK(biometric.error().message().find("R-09") != std::string::npos);
  auto with_basis = parse_dataset_toml(
      with(std::string(kGood) +
               "\n[[field]]\nname = \"face\"\ntype = \"blob\"\npii = \"biometric\"\n",
           "category = \"population\"",
           "category = \"population\"\nlegal_basis = \"《居民身份证法》\""),
      "b.toml");
  CHECK(with_basis);

  auto unknown = parse_dataset_toml(with(kGood, "grade =", "colour = \"red\"\ngrade ="), "u.toml");
  REQUIRE(!unknown);
  CHECK(unknown.error().message().find("unknown key 'colour'") != std::string::npos);

  auto syntax = parse_dataset_toml("[dataset\nid=", "x.toml");
  REQUIRE(!syntax);
  CHECK(syntax.error().message().rfind("x.toml:1", 0) == 0);

  auto dup = parse_dataset_toml(
      std::string(kGood) + "\n[[field]]\nname = \"citizen_id\"\ntype = \"text\"\n", "d.toml");
  REQUIRE(!dup);
  CHECK(dup.error().message().find("defined twice") != std::string::npos);
}

}  // namespace
}  // namespace gongshu::catalog
