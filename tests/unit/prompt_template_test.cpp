// Prompt templating as pure logic: variables, escaped braces, variant groups
// (every combination, or a reproducible sampled draw), wildcard lists read from
// files in a temp folder, UTF-8 (Chinese text) and every error message, exactly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "common/errors.h"
#include "pipelines/prompt_template.h"

using namespace atelier;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> texts(const std::vector<Expansion>& es) {
  std::vector<std::string> out;
  for (const Expansion& e : es) out.push_back(e.text);
  return out;
}

std::vector<std::string> all(const std::string& tmpl, const json& vars = json::object(),
                             const WildcardLists& lists = {}, size_t limit = 1000) {
  return texts(expand_prompt(PromptTemplate::parse(tmpl), vars, lists, VariantMode::combinatorial,
                             0, limit));
}

std::string one(const std::string& tmpl, const json& vars = json::object()) {
  const auto out = all(tmpl, vars);
  return out.size() == 1 ? out[0] : "(" + std::to_string(out.size()) + " expansions)";
}

std::string parse_error(const std::string& tmpl) {
  try {
    PromptTemplate::parse(tmpl);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string expand_error(const std::string& tmpl, const json& vars, size_t limit = 1000) {
  try {
    expand_prompt(PromptTemplate::parse(tmpl), vars, {}, VariantMode::combinatorial, 0, limit);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "(no error)";
}

class WildcardDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("atelier-prompt-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  std::string load_error(const std::string& tmpl) {
    try {
      load_wildcards(PromptTemplate::parse(tmpl), dir_);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  }
  fs::path dir_;
};

TEST(PromptTemplate, SubstitutesVariables) {
  const auto t = PromptTemplate::parse("a {product} on the {scene}, {product} again");
  EXPECT_EQ(t.variables(), (std::vector<std::string>{"product", "scene"}));
  EXPECT_EQ(t.variant_groups(), 0u);
  EXPECT_TRUE(t.wildcards().empty());
  EXPECT_EQ(
      one("a {product} on the {scene}, {product} again", {{"product", "mug"}, {"scene", "beach"}}),
      "a mug on the beach, mug again");
  EXPECT_EQ(one("plain text, no syntax"), "plain text, no syntax");
  EXPECT_EQ(one(""), "");
}

TEST(PromptTemplate, NumbersAndBooleansUseTheirJsonText) {
  EXPECT_EQ(one("{n} steps at cfg {cfg}, hdr {hdr}", {{"n", 30}, {"cfg", 7.5}, {"hdr", true}}),
            "30 steps at cfg 7.5, hdr true");
  EXPECT_EQ(expand_error("{tags}", {{"tags", json::array({"a"})}}),
            "prompt column 1: variable 'tags' is a list; a prompt can only use text, numbers or "
            "true/false");
  EXPECT_EQ(expand_error("x {v}", {{"v", nullptr}}),
            "prompt column 3: variable 'v' is empty (null); a prompt can only use text, numbers "
            "or true/false");
}

TEST(PromptTemplate, DoubledBracesAreLiteral) {
  EXPECT_EQ(one("{{literal}} {v} }}{{", {{"v", "x"}}), "{literal} x }{");
  EXPECT_EQ(one("{{{v}}}", {{"v", "x"}}), "{x}");
}

TEST(PromptTemplate, VariantsExpandEveryCombinationLastGroupFastest) {
  const auto t = PromptTemplate::parse("{red|blue} {cat|dog|} {{x}}");
  EXPECT_EQ(t.variant_groups(), 2u);
  const auto out = expand_prompt(t, json::object(), {}, VariantMode::combinatorial, 0, 6);
  EXPECT_EQ(texts(out), (std::vector<std::string>{"red cat {x}", "red dog {x}", "red  {x}",
                                                  "blue cat {x}", "blue dog {x}", "blue  {x}"}));
  EXPECT_EQ(out[4].choices, (json{{"variant_0", "blue"}, {"variant_1", "dog"}}));
  EXPECT_EQ(out[2].choices, (json{{"variant_0", "red"}, {"variant_1", ""}}));
  EXPECT_EQ(out[0].seed, 0u);
}

TEST(PromptTemplate, EmptyAlternativesAndSpacesAreKept) {
  EXPECT_EQ(
      all("a {|very }big {dog | cat}"),
      (std::vector<std::string>{"a big dog ", "a big  cat", "a very big dog ", "a very big  cat"}));
}

TEST(PromptTemplate, ChineseTextWorks) {
  EXPECT_EQ(all("一杯{热|冰}咖啡，{product}", {{"product", "拿铁"}}),
            (std::vector<std::string>{"一杯热咖啡，拿铁", "一杯冰咖啡，拿铁"}));
  EXPECT_EQ(one("{产品}，{{好}}", {{"产品", "茶"}}), "茶，{好}");
}

TEST(PromptTemplate, SampledDrawIsReproducibleAndDiffersAcrossJobs) {
  const auto t = PromptTemplate::parse("{a|b|c|d|e|f|g|h}{1|2|3|4|5|6|7|8}{x|y|z}");
  const auto draw = [&](uint64_t seed, uint64_t index) {
    const auto out = expand_prompt(t, json::object(), {}, VariantMode::sampled, seed, 1, index);
    EXPECT_EQ(out.size(), 1u);
    return out.at(0);
  };
  const Expansion first = draw(42, 3);
  const Expansion again = draw(42, 3);
  EXPECT_EQ(first.text, again.text);
  EXPECT_EQ(first.choices, again.choices);
  EXPECT_EQ(first.seed, prompt_sample_seed(42, 3));
  EXPECT_EQ(first.choices.size(), 3u);
  EXPECT_EQ(first.text, first.choices["variant_0"].get<std::string>() +
                            first.choices["variant_1"].get<std::string>() +
                            first.choices["variant_2"].get<std::string>());

  std::set<std::string> seen;
  std::set<uint64_t> seeds;
  for (uint64_t i = 0; i < 20; ++i) {
    seen.insert(draw(42, i).text);
    seeds.insert(draw(42, i).seed);
  }
  EXPECT_EQ(seeds.size(), 20u);
  EXPECT_GE(seen.size(), 10u);  // 192 combinations: 20 draws repeating this much is ~impossible
  EXPECT_NE(prompt_sample_seed(42, 0), prompt_sample_seed(43, 0));

  // Pinned: a recorded seed must replay the same prompt on every build and platform.
  EXPECT_EQ(prompt_sample_seed(42, 3), 6929744946294666246u);
  EXPECT_EQ(draw(42, 3).text, "a8y");
}

TEST(PromptTemplate, ParsesWildcardNames) {
  const auto t = PromptTemplate::parse("snake_case __a_b__ ___c-2__ __a_b__ __init is__ ____");
  EXPECT_EQ(t.wildcards(), (std::vector<std::string>{"a_b", "c-2"}));
  EXPECT_EQ(parse_error("{red|__colors__}"),
            "prompt column 6: wildcard '__colors__' inside a {a|b} group; alternatives are plain "
            "text");
}

TEST(PromptTemplate, DetectsTemplateSyntax) {
  EXPECT_FALSE(has_template_syntax("a plain prompt, snake_case, __ and ____"));
  EXPECT_FALSE(has_template_syntax("一杯热咖啡"));
  EXPECT_TRUE(has_template_syntax("a {x}"));
  EXPECT_TRUE(has_template_syntax("a } b"));
  EXPECT_TRUE(has_template_syntax("a __colors__ b"));
}

TEST(PromptTemplate, UnknownVariableNamesTheMatrix) {
  EXPECT_EQ(expand_error("a {x}", {{"b", 1}, {"a", "z"}}),
            "prompt column 3: unknown variable 'x' in prompt; the stage's matrix has: a, b");
  EXPECT_EQ(expand_error("一{产品}", json::object()),
            "prompt column 2: unknown variable '产品' in prompt; the stage has no matrix "
            "variables");
}

TEST(PromptTemplate, BraceErrorsGiveCodePointColumns) {
  EXPECT_EQ(parse_error("一杯{热|冰"),
            "prompt column 3: '{' is never closed; write '{{' for a literal brace");
  EXPECT_EQ(parse_error("咖啡} x"),
            "prompt column 3: '}' closes nothing; write '}}' for a literal brace");
  EXPECT_EQ(parse_error("ab {}"),
            "prompt column 4: '{}' names no variable; write '{{}}' for literal braces");
  EXPECT_EQ(parse_error("ab {a b}"),
            "prompt column 4: '{a b}' is not a variable name (names have no spaces); write {a|b} "
            "for a choice, or '{{' and '}}' for literal braces");
}

TEST(PromptTemplate, NestedGroupsAreRejected) {
  EXPECT_EQ(parse_error("{a|{b}}"),
            "prompt column 4: '{' inside the group opened at column 1; groups cannot nest (write "
            "{a|b} or {name}, and '{{' outside groups for a literal brace)");
  EXPECT_EQ(parse_error("x {a|{{b}}"),
            "prompt column 6: '{' inside the group opened at column 3; groups cannot nest (write "
            "{a|b} or {name}, and '{{' outside groups for a literal brace)");
}

TEST(PromptTemplate, InvalidUtf8IsRejected) {
  EXPECT_EQ(parse_error("一a\xC0\xAF"),
            "prompt column 3: the prompt is not UTF-8 text (byte 0xC0 here)");
  EXPECT_EQ(parse_error("ab\xED\xA0\x80"),  // a UTF-16 surrogate
            "prompt column 3: the prompt is not UTF-8 text (byte 0xED here)");
  EXPECT_EQ(parse_error("ab\xE4\xB8"),  // truncated
            "prompt column 3: the prompt is not UTF-8 text (byte 0xE4 here)");
  EXPECT_EQ(parse_error("\xFF"), "prompt column 1: the prompt is not UTF-8 text (byte 0xFF here)");
}

TEST(PromptTemplate, CombinationLimit) {
  EXPECT_EQ(all("{a|b}{c|d}{e|f}", json::object(), {}, 8).size(), 8u);
  EXPECT_EQ(expand_error("{a|b}{c|d}{e|f}", json::object(), 7),
            "this prompt makes 8 combinations of its variants and wildcards, over the limit of 7; "
            "use sampled variants or fewer alternatives");
  std::string huge;
  for (int i = 0; i < 70; ++i) huge += "{a|b}";
  EXPECT_EQ(expand_error(huge, json::object(), 100),
            "this prompt makes more than 18446744073709551615 combinations of its variants and "
            "wildcards, over the limit of 100; use sampled variants or fewer alternatives");
  // Sampled mode makes one prompt whatever the size.
  EXPECT_EQ(
      expand_prompt(PromptTemplate::parse(huge), json::object(), {}, VariantMode::sampled, 1, 1)
          .size(),
      1u);
}

TEST_F(WildcardDir, ListsComeFromFilesBesideTheSpec) {
  write("colors.txt", "\xEF\xBB\xBF# palette\r\n红色\r\n\r\n  light blue  \r\n   \n# more\nGreen");
  write("unused.txt", "never read\n");
  const auto t = PromptTemplate::parse("a __colors__ {cat|dog}, __colors__ eyes");
  const WildcardLists lists = load_wildcards(t, dir_);
  EXPECT_EQ(lists, (WildcardLists{{"colors", {"红色", "light blue", "Green"}}}));

  const auto out = expand_prompt(t, json::object(), lists, VariantMode::combinatorial, 0, 100);
  EXPECT_EQ(texts(out),
            (std::vector<std::string>{"a 红色 cat, 红色 eyes", "a 红色 dog, 红色 eyes",
                                      "a light blue cat, light blue eyes",
                                      "a light blue dog, light blue eyes",
                                      "a Green cat, Green eyes", "a Green dog, Green eyes"}));
  EXPECT_EQ(out[3].choices, (json{{"__colors__", "light blue"}, {"variant_0", "dog"}}));

  const auto sampled = expand_prompt(t, json::object(), lists, VariantMode::sampled, 7, 100, 2);
  ASSERT_EQ(sampled.size(), 1u);
  EXPECT_EQ(sampled[0].choices.size(), 2u);
  EXPECT_EQ(sampled[0].text, "a " + sampled[0].choices["__colors__"].get<std::string>() + " " +
                                 sampled[0].choices["variant_0"].get<std::string>() + ", " +
                                 sampled[0].choices["__colors__"].get<std::string>() + " eyes");
}

TEST_F(WildcardDir, ListErrorsNameTheFile) {
  EXPECT_EQ(
      load_error("__sizes__"),
      (dir_ / "sizes.txt").string() +
          ": wildcard list not found (a wildcard __name__ reads name.txt in the spec's folder)");
  write("empty.txt", "# nothing yet\r\n\r\n   \n");
  EXPECT_EQ(load_error("__empty__"),
            (dir_ / "empty.txt").string() +
                ": wildcard list has no entries (only blank lines or # comments)");
  write("bad.txt", "ok\n红\xFFx\n");
  EXPECT_EQ(load_error("__bad__"), (dir_ / "bad.txt").string() +
                                       ":2: not UTF-8 text (byte 0xFF at column 2); save the "
                                       "file as UTF-8");
  fs::create_directories(dir_ / "folder.txt");
  EXPECT_EQ(load_error("__folder__"),
            (dir_ / "folder.txt").string() + ": wildcard list is not a regular file");
}

TEST(PromptTemplate, WildcardWithoutLoadedListIsAnError) {
  try {
    expand_prompt(PromptTemplate::parse("x __colors__"), json::object(), {},
                  VariantMode::combinatorial, 0, 10);
    FAIL() << "no error";
  } catch (const TemplateError& e) {
    EXPECT_STREQ(e.what(), "prompt column 3: wildcard '__colors__' has no list loaded");
    EXPECT_EQ(e.column(), 3u);
  }
}

}  // namespace
