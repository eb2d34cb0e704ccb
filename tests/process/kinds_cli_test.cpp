// Each job kind declared once (kinds/): every declared parameter of every kind
// that has a CLI command is a flag of that command with the same bounds and
// the same refusal as the spec validator's; `atelier kinds --json` lists them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kinds/catalog.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
using nlohmann::json;

namespace {

// What a command needs besides the parameter under test, so that only that
// parameter can be refused.
std::vector<std::string> base_args(const std::string& command) {
  if (command == "generate") return {"generate", "a cat"};
  if (command == "train-lora")
    return {"train-lora", "--images", "/nonexistent", "--out", "x.safetensors"};
  return {command};
}

// A value just outside a bound, as the command line and a spec write it.
std::string outside(double bound, double step, bool whole) {
  if (whole) return std::to_string(static_cast<long long>(bound) + static_cast<long long>(step));
  std::string s = json(bound + step).dump();
  if (s.size() > 2 && s.substr(s.size() - 2) == ".0") s.resize(s.size() - 2);
  return s;
}

}  // namespace

TEST(KindsCli, EveryDeclaredParameterIsAFlagWithTheSameBoundsAndMessage) {
  int commands = 0, checked = 0;
  for (const KindSpec& k : kind_catalog()) {
    if (k.command.empty()) continue;
    ++commands;
    const ProcResult help = run_atelier({k.command, "--help"});
    ASSERT_EQ(help.exit_code, 0) << k.command << help.err;
    for (const ParamSpec& p : k.params) {
      if (p.cli == CliForm::none) {
        EXPECT_FALSE(p.cli_note.empty()) << k.name << "." << p.name << " has no flag and no reason";
        continue;
      }
      if (p.cli == CliForm::positional) {
        EXPECT_NE(help.out.find(p.name), std::string::npos) << k.command << " " << p.name;
        continue;
      }
      EXPECT_NE(help.out.find(p.flag()), std::string::npos) << k.command << " lacks " << p.flag();
      if (!p.bounded()) continue;
      const bool whole = p.type == ParamType::integer;
      for (const auto& [bound, step] : std::vector<std::pair<double, double>>{
               {p.max, whole ? 1 : 0.5}, {p.min, whole ? -1 : -0.5}}) {
        if (bound <= -1e300 || bound >= 1e300) continue;
        const std::string v = outside(bound, step, whole);
        auto args = base_args(k.command);
        args.push_back(p.flag());
        args.push_back(v);
        const ProcResult r = run_atelier(args);
        EXPECT_EQ(r.exit_code, 2) << k.command << " " << p.flag() << " " << v << ": " << r.err;
        const auto why = check_param_value(p, json::parse(v));
        ASSERT_TRUE(why.has_value()) << p.name << " " << v;
        EXPECT_EQ(r.err, "atelier: " + k.name + ": " + *why + "\n") << k.command << " " << v;
        ++checked;
      }
    }
  }
  EXPECT_EQ(commands, 3);  // generate, train-lora, train-base
  EXPECT_GE(checked, 20);
}

TEST(KindsCli, GenerateCountRefusedAsValidateRefusesItInASpec) {
  TempWorkspace tw;
  const auto spec =
      tw.write_file("count.yaml",
                    "version: 1\nname: c\nstages:\n  - id: draw\n    kind: generate\n    with:\n"
                    "      prompt: a cat\n      count: 1001\n");
  const ProcResult v = run_atelier({"-w", tw.dir().string(), "validate", spec.string()});
  EXPECT_EQ(v.exit_code, 2);
  const std::string message = "param 'count' must be in 1..1000, got 1001";
  EXPECT_NE(v.err.find(spec.string() + ":8:14: stage 'draw': " + message), std::string::npos)
      << v.err;
  const ProcResult g = run_atelier({"generate", "a cat", "--count", "1001"});
  EXPECT_EQ(g.exit_code, 2);
  EXPECT_EQ(g.err, "atelier: generate: " + message + "\n");
}

TEST(KindsCli, KindsJsonListsEveryKindWithItsParameters) {
  const ProcResult r = run_atelier({"kinds", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json all = json::parse(r.out);
  ASSERT_EQ(all.size(), kind_catalog().size());
  for (const json& k : all) {
    const KindSpec* spec = find_kind(k["name"].get<std::string>());
    ASSERT_NE(spec, nullptr);
    EXPECT_EQ(k["binary"], spec->binary);
    ASSERT_EQ(k["params"].size(), spec->params.size());
    for (const json& p : k["params"]) {
      for (const char* field : {"name", "type", "default", "min", "max", "doc"})
        EXPECT_TRUE(p.contains(field)) << k["name"] << " " << p.dump();
    }
  }
  const json& gen =
      *std::find_if(all.begin(), all.end(), [](const json& k) { return k["name"] == "generate"; });
  const json& count = *std::find_if(gen["params"].begin(), gen["params"].end(),
                                    [](const json& p) { return p["name"] == "count"; });
  EXPECT_EQ(count["type"], "integer");
  EXPECT_EQ(count["default"], 1);
  EXPECT_EQ(count["min"], 1);
  EXPECT_EQ(count["max"], 1000);
  const ProcResult text = run_atelier({"kinds"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("count: integer, default 1, 1..1000"), std::string::npos) << text.out;
}
