// Every declared kind has exactly one implementation, registered by the binary
// its declaration names; no implementation runs an undeclared kind.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>

#include "kinds/catalog.h"
#include "pipelines/spec.h"
#include "workers/kind_registry.h"

using namespace atelier;

TEST(KindRegistry, ExactlyOneImplementationPerDeclaredKindInItsBinary) {
  KindRegistry light, ml, both;
  register_light_kinds(light);
  register_ml_kinds(ml);
  register_light_kinds(both);
  register_ml_kinds(both);
  for (const KindSpec& k : kind_catalog()) {
    EXPECT_EQ(both.count(k.name), 1u) << k.name;
    const KindRegistry& own = k.binary == kLightBinary ? light : ml;
    EXPECT_EQ(own.count(k.name), 1u) << k.name << " is not registered by " << k.binary;
    EXPECT_NE(own.make(k.name), nullptr) << k.name;
  }
  for (const std::string& n : both.names()) EXPECT_NE(find_kind(n), nullptr) << n;
  EXPECT_EQ(both.names().size(), kind_catalog().size());
  for (const std::string& n : light.names()) EXPECT_EQ(find_kind(n)->binary, kLightBinary) << n;
  for (const std::string& n : ml.names()) EXPECT_EQ(find_kind(n)->binary, kMlBinary) << n;
}

TEST(KindRegistry, ParsedParamsKeepDefaultsAndRefuseLikeTheValidator) {
  const auto& decl = *find_kind("generate");
  const ParamSpec* count = decl.param("count");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->default_value, 1);
  EXPECT_EQ(check_param_value(*count, 1001).value_or(""),
            "param 'count' must be in 1..1000, got 1001");
  EXPECT_EQ(check_param_value(*count, "x").value_or(""),
            "param 'count' must be an integer, got \"x\"");
  EXPECT_FALSE(check_param_value(*count, 1000).has_value());
}

namespace {

// Whether `f` throws, with its message.
std::optional<std::string> refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

bool has_ref(const nlohmann::json& v) {
  if (v.is_object()) {
    if (v.contains("$ref")) return true;
    for (const auto& e : v)
      if (has_ref(e)) return true;
  } else if (v.is_array()) {
    for (const auto& e : v)
      if (has_ref(e)) return true;
  }
  return false;
}

}  // namespace

// What `atelier validate` accepts is exactly what each kind accepts when its
// job runs: every job of every example spec and spec fixture that validates is
// accepted by its kind's own parse, and a fixture the validator refuses never
// reaches a kind.
TEST(KindRegistry, EveryValidatedJobOfEveryExampleAndFixtureIsAcceptedByItsKind) {
  namespace fs = std::filesystem;
  KindRegistry all;
  register_light_kinds(all);
  register_ml_kinds(all);
  std::vector<fs::path> specs;
  for (const fs::path dir : {fs::path(ATELIER_EXAMPLES), fs::path(ATELIER_FIXTURES) / "valid_specs",
                             fs::path(ATELIER_FIXTURES) / "invalid_specs",
                             fs::path(ATELIER_FIXTURES) / "fuzz_regressions"})
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".yaml") specs.push_back(e.path());
  std::sort(specs.begin(), specs.end());
  ASSERT_GE(specs.size(), 50u);
  int jobs_checked = 0, valid_specs = 0;
  for (const fs::path& path : specs) {
    PipelineSpec spec;
    NewRun run;
    const auto invalid = refusal([&] {
      spec = load_spec(path, {}, {});
      run = expand_spec(spec, 3, 100'000);
    });
    if (path.parent_path().filename() == "valid_specs")
      EXPECT_FALSE(invalid) << path << ": " << invalid.value_or("");
    if (invalid) continue;  // refused by validation: no job is made
    ++valid_specs;
    for (const NewJob& j : run.jobs) {
      if (has_ref(*j.params)) continue;  // resolved when the job runs
      const auto kind = all.make(j.kind);
      ASSERT_NE(kind, nullptr) << j.kind;
      const auto why = refusal([&] { kind->check_params(*j.params); });
      EXPECT_FALSE(why) << path.filename() << " stage " << j.stage << " (" << j.kind
                        << ") validates but its kind refuses it: " << why.value_or("");
      ++jobs_checked;
    }
  }
  EXPECT_GE(valid_specs, 5);
  EXPECT_GE(jobs_checked, 10);
}
