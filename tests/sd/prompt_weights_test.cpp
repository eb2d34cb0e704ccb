// AUTOMATIC1111's prompt emphasis and chunking. The parser cases are the
// examples in A1111's `modules/prompt_parser.py` parse_prompt_attention
// docstring and the rules of its wiki page "Features" (Attention/emphasis,
// BREAK); the chunking cases follow `modules/sd_hijack_clip.py`
// tokenize_line (75 tokens a chunk, comma_padding_backtrack 20). Chunking
// needs the real CLIP vocabulary (../shared/external-refs/clip-tokenizer) and
// skips without it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "ml/sd/clip_tokenizer.h"
#include "ml/sd/prompt_weights.h"
#include "ml/sd/utf8.h"

using namespace atelier::ml::sd;
namespace fs = std::filesystem;
using W = std::vector<WeightedText>;

namespace {

fs::path refs_dir() {
  return fs::path(ATELIER_EXTERNAL_REFS) / "clip-tokenizer";
}

// A vocabulary in CLIP's conventions (every byte symbol, alone and with
// "</w>", merges building a few whole words, the two special tokens last) in
// which the words these tests use are one token each, as in CLIP's own: the
// chunking rules count tokens, so they are tested with or without the real
// vocabulary beside the checkout.
std::unique_ptr<ClipTokenizer> small_vocabulary() {
  std::vector<std::pair<std::string, std::string>> merges;
  std::unordered_map<std::string, int64_t> vocab;
  auto add = [&](const std::string& token) { vocab.emplace(token, int64_t(vocab.size())); };
  for (int b = 0; b < 256; ++b)
    add(code_points_to_utf8(std::u32string(1, clip_byte_char(uint8_t(b)))));
  for (int b = 0; b < 256; ++b)
    add(code_points_to_utf8(std::u32string(1, clip_byte_char(uint8_t(b)))) + "</w>");
  // A word whose letters hold another's first pair comes first (BPE merges
  // by rank): "green" holds "re".
  for (const std::string word : {"green", "red", "apple", "pear", "cat", "dog"}) {
    std::string left(1, word[0]);
    for (size_t i = 1; i < word.size(); ++i) {
      const std::string right = std::string(1, word[i]) + (i + 1 == word.size() ? "</w>" : "");
      merges.emplace_back(left, right);
      left += right;
      if (!vocab.count(left)) add(left);
    }
  }
  add("<|startoftext|>");
  add("<|endoftext|>");
  return std::make_unique<ClipTokenizer>(merges, vocab, "small test vocabulary");
}

// CLIP's real vocabulary when it is beside the checkout, else the small one.
const ClipTokenizer& tok() {
  static const std::unique_ptr<ClipTokenizer> t =
      fs::exists(refs_dir() / "bpe_simple_vocab_16e6.txt.gz") ? load_clip_tokenizer(refs_dir())
                                                              : small_vocabulary();
  return *t;
}

std::string words(const std::string& word, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + word;
  return s;
}

}  // namespace

// The docstring examples of parse_prompt_attention, with A1111's exact values.
TEST(PromptAttention, DocstringExamples) {
  EXPECT_EQ(parse_prompt_attention("normal text"), (W{{"normal text", 1.0}}));
  EXPECT_EQ(parse_prompt_attention("an (important) word"),
            (W{{"an ", 1.0}, {"important", 1.1}, {" word", 1.0}}));
  EXPECT_EQ(parse_prompt_attention("(unbalanced"), (W{{"unbalanced", 1.1}}));
  EXPECT_EQ(parse_prompt_attention("\\(literal\\]"), (W{{"(literal]", 1.0}}));
  EXPECT_EQ(parse_prompt_attention("(unnecessary)(parens)"), (W{{"unnecessaryparens", 1.1}}));
  EXPECT_EQ(parse_prompt_attention("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky)))."),
            (W{{"a ", 1.0},
               {"house", 1.5730000000000004},
               {" ", 1.1},
               {"on", 1.0},
               {" a ", 1.1},
               {"hill", 0.55},
               {", sun, ", 1.1},
               {"sky", 1.4641000000000006},
               {".", 1.1}}));
}

// The wiki's rules: (x) x1.1, [x] /1.1, (x:w), nesting multiplies, escapes.
TEST(PromptAttention, WikiRules) {
  EXPECT_EQ(parse_prompt_attention("[word]"), (W{{"word", 1 / 1.1}}));
  EXPECT_EQ(parse_prompt_attention("((word))"), (W{{"word", 1.1 * 1.1}}));
  EXPECT_EQ(parse_prompt_attention("[[word]]"), (W{{"word", (1 / 1.1) * (1 / 1.1)}}));
  EXPECT_EQ(parse_prompt_attention("(word:1.5)"), (W{{"word", 1.5}}));
  EXPECT_EQ(parse_prompt_attention("(word : 0.25 )"), (W{{"word ", 0.25}}));
  EXPECT_EQ(parse_prompt_attention("((word:1.5))"), (W{{"word", 1.5 * 1.1}}));
  EXPECT_EQ(parse_prompt_attention("(a [b] c)"), (W{{"a ", 1.1}, {"b", 1.1 / 1.1}, {" c", 1.1}}));
  EXPECT_EQ(parse_prompt_attention("(neg:-1)"), (W{{"neg", -1.0}}));
  EXPECT_EQ(parse_prompt_attention("(x:+.5)"), (W{{"x", 0.5}}));
  EXPECT_EQ(parse_prompt_attention(""), (W{{"", 1.0}}));
}

// What A1111 makes of unbalanced or literal brackets, colons and backslashes.
TEST(PromptAttention, UnbalancedAndLiteralSyntax) {
  EXPECT_EQ(parse_prompt_attention("a) b]"), (W{{"a) b]", 1.0}}));
  EXPECT_EQ(parse_prompt_attention("[unclosed (both"),
            (W{{"unclosed ", 1 / 1.1}, {"both", 1.1 * (1 / 1.1)}}));
  EXPECT_EQ(parse_prompt_attention("time: 10:30"), (W{{"time: 10:30", 1.0}}));
  EXPECT_EQ(parse_prompt_attention("a:1.3) b"), (W{{"a:1.3) b", 1.0}}));  // nothing open
  EXPECT_EQ(parse_prompt_attention("(a:b)"), (W{{"a:b", 1.1}}));          // not a number
  EXPECT_EQ(parse_prompt_attention("a\\\\b \\c"), (W{{"a\\b c", 1.0}}));  // \\ kept, \ dropped
  EXPECT_EQ(parse_prompt_attention("\\(x:1.2\\)"), (W{{"(x:1.2)", 1.0}}));
  // Prompt editing is not this step's: it reads as emphasis and text.
  EXPECT_EQ(parse_prompt_attention("[cat:dog:0.5]"), (W{{"cat:dog:0.5", 1 / 1.1}}));
  EXPECT_THROW(parse_prompt_attention("(a:1.2.3)"), PromptSyntaxError);
  EXPECT_THROW(parse_prompt_attention("(a:.)"), PromptSyntaxError);
}

TEST(PromptAttention, BreakIsAWholeUpperCaseWordOutsideBrackets) {
  EXPECT_EQ(parse_prompt_attention("a cat  BREAK\ta dog"),
            (W{{"a cat", 1.0}, {"BREAK", -1.0}, {"a dog", 1.0}}));
  EXPECT_TRUE(parse_prompt_attention("a BREAK b")[1].is_break());
  EXPECT_EQ(parse_prompt_attention("BREAKfast, break, xBREAK, BREAK_1"),
            (W{{"BREAKfast, break, xBREAK, BREAK_1", 1.0}}));
  EXPECT_EQ(parse_prompt_attention("BREAK BREAK"),
            (W{{"", 1.0}, {"BREAK", -1.0}, {"", 1.0}, {"BREAK", -1.0}, {"", 1.0}}));
  EXPECT_EQ(parse_prompt_attention("x,BREAK,(y)"),
            (W{{"x,", 1.0}, {"BREAK", -1.0}, {",", 1.0}, {"y", 1.1}}));
  // Inside brackets the marker's weight is multiplied: A1111 then reads it as
  // the word "BREAK" with weight -1.1, not as a break.
  W inside = parse_prompt_attention("(a BREAK b)");
  EXPECT_EQ(inside, (W{{"a", 1.1}, {"BREAK", -1.1}, {"b", 1.1}}));
  EXPECT_FALSE(inside[1].is_break());
}

TEST(PromptChunks, ShortPromptIsOneChunkPaddedEitherWay) {
  const int64_t a = tok().encode("a")[0], cat = tok().encode("cat")[0];
  WeightedPrompt p = tokenize_weighted_prompt(tok(), "a (cat:1.5)", Padding::end_token);
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.token_count, 2);
  std::vector<int64_t> ids(77, tok().eos());
  ids[0] = tok().bos();
  ids[1] = a;
  ids[2] = cat;
  std::vector<float> mults(77, 1.0f);
  mults[2] = 1.5f;
  EXPECT_EQ(p.chunks[0].ids, ids);
  EXPECT_EQ(p.chunks[0].multipliers, mults);

  WeightedPrompt z = tokenize_weighted_prompt(tok(), "a (cat:1.5)", Padding::zero);
  std::fill(ids.begin() + 4, ids.end(), 0);
  EXPECT_EQ(z.chunks[0].ids, ids);
  EXPECT_EQ(z.chunks[0].multipliers, mults);
  // Equal to the plain tokenizer's row when there is no weighting.
  EXPECT_EQ(tokenize_weighted_prompt(tok(), "a cat", Padding::zero).chunks[0].ids,
            tok().frame(tok().encode("a cat"), Padding::zero));
}

TEST(PromptChunks, EmptyPromptAndLoneBreakGiveOneEmptyChunk) {
  for (const char* prompt : {"", "BREAK"}) {
    SCOPED_TRACE(prompt);
    WeightedPrompt p = tokenize_weighted_prompt(tok(), prompt, Padding::end_token);
    ASSERT_EQ(p.chunks.size(), 1u);
    EXPECT_EQ(p.chunks[0].ids, empty_chunk(tok(), Padding::end_token).ids);
    EXPECT_EQ(p.chunks[0].multipliers, std::vector<float>(77, 1.0f));
  }
  EXPECT_EQ(tokenize_weighted_prompt(tok(), "", Padding::end_token).token_count, 0);
  EXPECT_EQ(tokenize_weighted_prompt(tok(), "BREAK", Padding::end_token).token_count, 75);
  std::vector<int64_t> zero(77, 0);
  zero[0] = tok().bos();
  zero[1] = tok().eos();
  EXPECT_EQ(empty_chunk(tok(), Padding::zero).ids, zero);
}

TEST(PromptChunks, BreakStartsANewChunk) {
  WeightedPrompt p =
      tokenize_weighted_prompt(tok(), "a red apple BREAK [a green pear]", Padding::end_token);
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.token_count, 75 + 3);
  std::vector<int64_t> first = tok().frame(tok().encode("a red apple"), Padding::end_token);
  std::vector<int64_t> second = tok().frame(tok().encode("a green pear"), Padding::end_token);
  EXPECT_EQ(p.chunks[0].ids, first);
  EXPECT_EQ(p.chunks[1].ids, second);
  EXPECT_FLOAT_EQ(p.chunks[1].multipliers[1], static_cast<float>(1 / 1.1));
  EXPECT_FLOAT_EQ(p.chunks[1].multipliers[3], static_cast<float>(1 / 1.1));
  EXPECT_EQ(p.chunks[1].multipliers[4], 1.0f);
}

TEST(PromptChunks, LongPromptsSplitEvery75Tokens) {
  const int64_t cat = tok().encode("cat")[0];
  WeightedPrompt p = tokenize_weighted_prompt(tok(), words("cat", 80), Padding::end_token);
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.token_count, 80);
  EXPECT_EQ(std::count(p.chunks[0].ids.begin(), p.chunks[0].ids.end(), cat), 75);
  EXPECT_EQ(p.chunks[0].ids.back(), tok().eos());
  EXPECT_EQ(std::count(p.chunks[1].ids.begin(), p.chunks[1].ids.end(), cat), 5);
  // Exactly 75 tokens fill one chunk; the 76th starts a second.
  EXPECT_EQ(tokenize_weighted_prompt(tok(), words("cat", 75), Padding::end_token).chunks.size(),
            1u);
  EXPECT_EQ(tokenize_weighted_prompt(tok(), words("cat", 76), Padding::end_token).chunks.size(),
            2u);
}

TEST(PromptChunks, TextAfterACommaInTheLast20TokensMovesToTheNextChunk) {
  const int64_t cat = tok().encode("cat")[0], dog = tok().encode("dog")[0];
  const int64_t comma = tok().token_id(",</w>");
  // 70 cats, a comma at 70, 10 dogs: the 4 dogs that fit move with the rest.
  std::string prompt = words("cat", 70) + ", (" + words("dog", 10) + ")";
  WeightedPrompt p = tokenize_weighted_prompt(tok(), prompt, Padding::end_token);
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.token_count, 75 + 10);
  EXPECT_EQ(p.chunks[0].ids[71], comma);
  EXPECT_EQ(p.chunks[0].ids[72], tok().eos());  // padded after the comma
  EXPECT_EQ(p.chunks[0].multipliers[72], 1.0f);
  EXPECT_EQ(std::count(p.chunks[1].ids.begin(), p.chunks[1].ids.end(), dog), 10);
  EXPECT_FLOAT_EQ(p.chunks[1].multipliers[1], 1.1f);  // the moved tokens keep their weights
  EXPECT_FLOAT_EQ(p.chunks[1].multipliers[10], 1.1f);

  // With the comma 25 tokens back the chunk is cut at 75 as usual.
  WeightedPrompt far = tokenize_weighted_prompt(tok(), words("cat", 50) + ", " + words("dog", 30),
                                                Padding::end_token);
  ASSERT_EQ(far.chunks.size(), 2u);
  EXPECT_EQ(far.chunks[0].ids[51], comma);
  EXPECT_EQ(std::count(far.chunks[0].ids.begin(), far.chunks[0].ids.end(), dog), 24);
  EXPECT_EQ(std::count(far.chunks[1].ids.begin(), far.chunks[1].ids.end(), dog), 6);
  // And with the setting at 0 there is no moving at all.
  WeightedPrompt off = tokenize_weighted_prompt(tok(), prompt, Padding::end_token, 0);
  EXPECT_EQ(std::count(off.chunks[0].ids.begin(), off.chunks[0].ids.end(), dog), 4);
  EXPECT_EQ(off.token_count, 75 + 6);
  EXPECT_EQ(std::count(p.chunks[0].ids.begin(), p.chunks[0].ids.end(), cat), 70);
}

TEST(Emphasis, WeightsScaleTokensAndTheMeanIsRestored) {
  // 2 rows x 2 tokens x 2 channels.
  std::vector<float> z = {1, 2, 3, 4, -1, 0, 2, 2};
  std::vector<float> w = {1.0f, 2.0f, 1.0f, 0.5f};
  const double before = std::accumulate(z.begin(), z.end(), 0.0) / z.size();
  std::vector<float> plain = z;
  apply_emphasis(plain, w, 2, /*normalize=*/false);
  EXPECT_EQ(plain, (std::vector<float>{1, 2, 6, 8, -1, 0, 1, 1}));
  apply_emphasis(z, w, 2);
  const double after = std::accumulate(z.begin(), z.end(), 0.0) / z.size();
  EXPECT_NEAR(after, before, 1e-6);
  const float scale = z[0] / 1.0f;  // one factor for every element
  for (size_t i = 0; i < z.size(); ++i) EXPECT_NEAR(z[i], plain[i] * scale, 1e-6);
  EXPECT_NEAR(scale, 13.0 / 18.0, 1e-6);  // mean 13/8 before, 18/8 after weighting
  EXPECT_THROW(apply_emphasis(z, w, 3), std::invalid_argument);
}
