// Every declared kind has exactly one implementation, registered by the binary
// its declaration names; no implementation runs an undeclared kind.
#include <gtest/gtest.h>

#include <set>

#include "kinds/catalog.h"
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
