// AUTOMATIC1111 infotext: formatting as create_infotext does, parsing as
// parse_generation_parameters does (expected results worked out from that
// Python code), and the round trip between them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "media/infotext.h"

using namespace atelier::media;

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

Infotext sample() {
  Infotext t;
  t.prompt = "prompt";
  t.negative_prompt = "neg";
  t.params = {{"Steps", "20"},   {"Sampler", "Euler a"},       {"CFG scale", "7"}, {"Seed", "1"},
              {"Size", "32x32"}, {"Model hash", "abcd1234ef"}, {"Model", "name"}};
  return t;
}

void expect_same(const Infotext& a, const Infotext& b) {
  EXPECT_EQ(a.prompt, b.prompt);
  EXPECT_EQ(a.negative_prompt, b.negative_prompt);
  EXPECT_EQ(a.params, b.params);
}

}  // namespace

TEST(Infotext, FormatsLikeA1111) {
  EXPECT_EQ(format_infotext(sample()),
            "prompt\nNegative prompt: neg\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, "
            "Size: 32x32, Model hash: abcd1234ef, Model: name");
}

TEST(Infotext, RoundTrips) {
  const Infotext t = sample();
  const Infotext back = parse_infotext(format_infotext(t));
  expect_same(back, t);
  EXPECT_EQ(back.get("CFG scale"), "7");
  EXPECT_EQ(back.get("Size"), "32x32");  // not split into Size-1 / Size-2
  EXPECT_EQ(back.get("cfg scale"), std::nullopt);
}

TEST(Infotext, QuotesValuesWithCommasColonsAndQuotes) {
  Infotext t = sample();
  t.params.push_back({"Lora hashes", "add_detail: 7c6bad76eb54, more: 3b8aa1d351ef"});
  t.params.push_back({"Note", "say \"hi\" \\ there"});
  t.params.push_back({"Multi", "line one\nline two"});
  t.params.push_back({"Padded", " space "});
  t.params.push_back({"Empty", ""});
  t.params.push_back({"Wrapped", "\"quoted\""});
  const std::string text = format_infotext(t);
  EXPECT_NE(text.find(R"(Lora hashes: "add_detail: 7c6bad76eb54, more: 3b8aa1d351ef")"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(Note: "say \"hi\" \\ there")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(Multi: "line one\nline two")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(Padded: " space ")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(Empty: "")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(Wrapped: "\"quoted\"")"), std::string::npos) << text;
  EXPECT_NE(text.find("Sampler: Euler a,"), std::string::npos);  // plain values stay plain
  expect_same(parse_infotext(text), t);
}

TEST(Infotext, MultiLinePrompts) {
  Infotext t = sample();
  t.prompt = "a red apple,\nstill life\n\nstudio light";
  t.negative_prompt = "blurry\nlowres";
  const std::string text = format_infotext(t);
  EXPECT_EQ(
      text.rfind("a red apple,\nstill life\n\nstudio light\nNegative prompt: blurry\nlowres\n", 0),
      0u);
  expect_same(parse_infotext(text), t);
}

TEST(Infotext, NoNegativePrompt) {
  Infotext t = sample();
  t.negative_prompt.clear();
  const std::string text = format_infotext(t);
  EXPECT_EQ(text.find("Negative prompt"), std::string::npos);
  EXPECT_EQ(text.rfind("prompt\nSteps: 20, ", 0), 0u);
  expect_same(parse_infotext(text), t);

  // Nothing but parameters: an empty prompt.
  t.prompt.clear();
  EXPECT_EQ(format_infotext(t).rfind("Steps: 20", 0), 0u);
  expect_same(parse_infotext(format_infotext(t)), t);
}

TEST(Infotext, ParameterTextInsideThePromptStaysThere) {
  Infotext t = sample();
  t.prompt = "poster text\nSteps: 5, Sampler: DDIM, CFG scale: 3\nmore prompt";
  t.negative_prompt = "Seed: 1, Size: 2, Model: x";
  expect_same(parse_infotext(format_infotext(t)), t);
}

TEST(Infotext, LastLineWithFewerThanThreeParametersIsPrompt) {
  const Infotext t = parse_infotext("a cat\nSteps: 20, Seed: 1");
  EXPECT_EQ(t.prompt, "a cat\nSteps: 20, Seed: 1");
  EXPECT_TRUE(t.params.empty());
  const Infotext neg = parse_infotext("a cat\nNegative prompt: dog\nSteps: 20");
  EXPECT_EQ(neg.prompt, "a cat");
  EXPECT_EQ(neg.negative_prompt, "dog\nSteps: 20");
}

TEST(Infotext, ParsesVerbatimA1111Example) {
  // The example in the docstring of A1111's parse_generation_parameters.
  const char* text =
      "girl with an artist's beret, determined, blue eyes, desert scene, computer monitors, heavy "
      "makeup, by Alphonse Mucha and Charlie Bowater, ((eyeshadow)), (coquettish), detailed, "
      "intricate\n"
      "Negative prompt: ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy, "
      "disfigured, poorly drawn face, mutation, mutated, (extra_limb), (ugly), (poorly drawn "
      "hands), messy drawing\n"
      "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: "
      "45dee52b";
  const Infotext t = parse_infotext(text);
  EXPECT_EQ(t.prompt.rfind("girl with an artist's beret, determined,", 0), 0u);
  EXPECT_EQ(t.prompt.substr(t.prompt.size() - 19), "detailed, intricate");
  EXPECT_EQ(t.negative_prompt.rfind("ugly, fat, obese,", 0), 0u);
  EXPECT_EQ(t.negative_prompt.substr(t.negative_prompt.size() - 13), "messy drawing");
  EXPECT_EQ(t.params, (Params{{"Steps", "20"},
                              {"Sampler", "Euler a"},
                              {"CFG scale", "7"},
                              {"Seed", "965400086"},
                              {"Size", "512x512"},
                              {"Model hash", "45dee52b"}}));
  EXPECT_EQ(format_infotext(t), text);
}

TEST(Infotext, ParsesQuotedValuesAsJson) {
  const Infotext t = parse_infotext(
      "p\nSteps: 30, Lora hashes: \"detail: 7c6bad76eb54, style: 3b8aa1d351ef\", "
      "Emoji: \"\\u4e2d\\ud83d\\ude00\", Bad escape: \"x\\q\", Lone: \"\\ud800\", Quote only: \", "
      "Version: v1.7.0");
  EXPECT_EQ(t.get("Lora hashes"), "detail: 7c6bad76eb54, style: 3b8aa1d351ef");
  EXPECT_EQ(t.get("Emoji"), "中😀");
  EXPECT_EQ(t.get("Bad escape"), "\"x\\q\"");  // json.loads fails: kept as written
  EXPECT_EQ(t.get("Lone"), "\"\\ud800\"");     // a lone surrogate has no UTF-8 form
  EXPECT_EQ(t.get("Quote only"), "\"");
  EXPECT_EQ(t.get("Version"), "v1.7.0");
}

TEST(Infotext, FollowsRegexSearchSemantics) {
  // findall skips text that does not match: "junk" and " x" are not pairs;
  // single-letter keys are too short; "a:b" inside a value is not split.
  const Infotext t =
      parse_infotext("p\njunk, Steps: 20, x, K: 1, Sampler: Euler: a, CFG scale:7,Seed:  42");
  EXPECT_EQ(t.params,
            (Params{{"Steps", "20"}, {"Sampler", "Euler: a"}, {"CFG scale", "7"}, {"Seed", "42"}}));
}

TEST(Infotext, EmptyValuesDropAndRepeatedKeysKeepFirstPosition) {
  const Infotext t = parse_infotext("p\nSteps: 20, Seed: , Sampler: a, Steps: 30, CFG scale: 7");
  EXPECT_EQ(t.params, (Params{{"Steps", "30"}, {"Sampler", "a"}, {"CFG scale", "7"}}));
}

TEST(Infotext, StripsLinesAndHandlesCrLf) {
  const Infotext t = parse_infotext(
      "  \n  a cat  \r\n   Negative prompt:   dog \r\n\t Negative prompt: cow\r\n"
      "Steps: 1, Sampler: a, Seed: 3  \n\n");
  EXPECT_EQ(t.prompt, "a cat");
  EXPECT_EQ(t.negative_prompt, "dog\ncow");
  EXPECT_EQ(t.params, (Params{{"Steps", "1"}, {"Sampler", "a"}, {"Seed", "3"}}));
  // A1111 joins an empty first negative line without a separator.
  EXPECT_EQ(parse_infotext("p\nNegative prompt:\nx\nA1: 1, A2: 2, A3: 3").negative_prompt, "x");
  EXPECT_EQ(parse_infotext("").prompt, "");
  EXPECT_EQ(parse_infotext("   ").params.size(), 0u);
}

TEST(Infotext, ChinesePromptRoundTrips) {
  Infotext t = sample();
  t.prompt = "一只橘猫，坐在窗台上\n水彩风格";
  t.negative_prompt = "模糊，低分辨率";
  t.params.push_back({"风格", "水彩"});
  const Infotext back = parse_infotext(format_infotext(t));
  expect_same(back, t);
  EXPECT_EQ(back.get("风格"), "水彩");
}

TEST(Infotext, FormatRefusesKeysTheParserCannotRead) {
  for (const std::string key : {"", "S", "a:b", "a,b", " Steps", "-x", "new\nline", "q\"k"}) {
    SCOPED_TRACE(key);
    Infotext t = sample();
    t.params.push_back({key, "1"});
    EXPECT_THROW(format_infotext(t), std::invalid_argument);
  }
  Infotext ok = sample();
  ok.params.push_back({"Hires upscaler/x-2", "1"});
  EXPECT_EQ(parse_infotext(format_infotext(ok)).get("Hires upscaler/x-2"), "1");
}

TEST(Infotext, HostileLinesStayLinear) {
  // Quadratic scanning would take minutes on these.
  const std::string run(4u << 20, 'a');
  EXPECT_EQ(parse_infotext(run).prompt.size(), run.size());
  std::string repeated;
  for (int i = 0; i < 500000; ++i) repeated += "ab: c, ";
  const Infotext t = parse_infotext(repeated);
  EXPECT_EQ(t.params, (Params{{"ab", "c"}}));
  std::string distinct;
  for (int i = 0; i < 300000; ++i) distinct += "k" + std::to_string(i) + ": v, ";
  EXPECT_EQ(parse_infotext(distinct).params.size(), 300000u);
  std::string quotes = "k1: \"" + std::string(1u << 20, '\\');
  // The unterminated quote falls back to [^,]*, so k1 still counts.
  EXPECT_EQ(parse_infotext(quotes + ", k2: 1, k3: 2").params.size(), 3u);
}

// AUTOMATIC1111's own parser on real and edge-case infotexts
// (../shared/external-refs/a1111/infotext_cases.json: what
// parse_generation_parameters returns, before the UI's defaults): ours reads
// every case to the same prompt, negative prompt and fields, "Size" split into
// Size-1 and Size-2 as A1111 does. Skipped when the folder is absent.
TEST(Infotext, ReadsWhatAutomatic1111sParserReadsOnItsReferenceCases) {
  const std::filesystem::path file =
      std::filesystem::path(ATELIER_EXTERNAL_REFS) / "a1111" / "infotext_cases.json";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "needs " << file;
  std::ifstream in(file);
  const nlohmann::json cases = nlohmann::json::parse(in)["cases"];
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["title"].get<std::string>());
    const auto it = atelier::media::parse_infotext(c["text"].get<std::string>());
    std::map<std::string, std::string> got{{"Prompt", it.prompt},
                                           {"Negative prompt", it.negative_prompt}};
    for (const auto& [k, v] : it.params) {
      if (k == "Size" && v.find('x') != std::string::npos) {
        got["Size-1"] = v.substr(0, v.find('x'));
        got["Size-2"] = v.substr(v.find('x') + 1);
      } else {
        got[k] = v;
      }
    }
    std::map<std::string, std::string> want;
    for (const auto& [k, v] : c["expected_raw"].items())
      want[k] = v.is_string() ? v.get<std::string>() : v.dump();
    EXPECT_EQ(got, want);
  }
}
