// Term rules: whole words in English and other spaced scripts, case folding beyond
// ASCII, multi-word phrases, Chinese and Japanese text without word separators (and
// what a Chinese rule does not match), invalid UTF-8, and the rule list's errors.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "checks/terms.h"

using namespace atelier::checks;

namespace {

std::vector<TermRule> rules(std::initializer_list<const char*> terms) {
  std::vector<TermRule> r;
  for (const char* t : terms) r.push_back({t, "fail", ""});
  return r;
}

// The matched texts, in order.
std::vector<std::string> matches(const std::vector<TermRule>& r, std::string_view text) {
  std::vector<std::string> out;
  for (const auto& h : find_terms(r, text, "prompt")) out.push_back(h.match);
  return out;
}

bool hit(const char* term, std::string_view text) {
  return !matches(rules({term}), text).empty();
}

std::string parse_error(const nlohmann::json& j) {
  try {
    parse_term_rules(j);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Terms, EnglishWholeWordsOnly) {
  const auto hits = find_terms(rules({"Nike"}), "I love Nike shoes", "caption");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].term, "Nike");
  EXPECT_EQ(hits[0].verdict, "fail");
  EXPECT_EQ(hits[0].field, "caption");
  EXPECT_EQ(hits[0].offset, 7u);
  EXPECT_EQ(hits[0].length, 4u);
  EXPECT_EQ(hits[0].match, "Nike");

  for (const char* yes : {"nike", "NIKE", "NiKe air", "Nike's new shoe", "(nike)", "#nike",
                          "buy nike.", "\"Nike\"", "nike-branded", "x/nike/y"})
    EXPECT_TRUE(hit("nike", yes)) << yes;
  for (const char* no : {"Nikesh", "nikes", "unike", "Nike2", "nike_shoes", "2nike", "snikers"})
    EXPECT_FALSE(hit("nike", no)) << no;
}

TEST(Terms, MultiWordTermsMatchAcrossAnyWhitespace) {
  for (const char* yes :
       {"Mickey Mouse", "a mickey   mouse toy", "MICKEY\n\tMOUSE", "Mickey Mouse!"})
    EXPECT_TRUE(hit("Mickey Mouse", yes)) << yes;
  for (const char* no : {"MickeyMouse", "Mickey-Mouse", "Mickey Mousetrap", "Mickey, Mouse"})
    EXPECT_FALSE(hit("Mickey Mouse", no)) << no;
  // Whitespace around and inside the term is not significant.
  EXPECT_TRUE(hit("  mickey \t mouse ", "Mickey Mouse"));
  const auto h = find_terms(rules({"mickey mouse"}), "see Mickey  \n Mouse run", "prompt");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].offset, 4u);
  EXPECT_EQ(h[0].match, "Mickey  \n Mouse");
}

TEST(Terms, UnicodeCaseFoldingLatinGreekCyrillic) {
  EXPECT_TRUE(hit("Café", "CAFÉ AU LAIT"));
  EXPECT_TRUE(hit("CAFÉ", "un café"));
  EXPECT_FALSE(hit("café", "cafe")) << "accents are significant";
  EXPECT_FALSE(hit("café", "cafés"));
  EXPECT_FALSE(hit("cafe", "cafe\u0301")) << "a combining accent continues the word";
  EXPECT_TRUE(hit("Größe", "GRÖSSE GRÖßE"));
  EXPECT_FALSE(hit("größe", "GROESSE"));
  // Greek: final sigma folds like sigma; tonos letters fold to their small forms.
  EXPECT_TRUE(hit("Σωκράτης", "ΣΩΚΡΆΤΗΣ"));
  EXPECT_TRUE(hit("ΣΩΚΡΆΤΗΣ", "ο σωκράτης είπε"));
  // Cyrillic, with a longer word that must not match.
  EXPECT_TRUE(hit("Москва", "Я ЛЮБЛЮ МОСКВА!"));
  EXPECT_FALSE(hit("Москва", "Москвами"));
  EXPECT_TRUE(hit("ёлка", "ЁЛКА"));
  // Full-width Latin is Latin.
  EXPECT_TRUE(hit("nike", "ＮＩＫＥ鞋"));

  EXPECT_EQ(fold_case(U'Σ'), U'σ');
  EXPECT_EQ(fold_case(U'ς'), U'σ');
  EXPECT_EQ(fold_case(U'Ж'), U'ж');
  EXPECT_EQ(fold_case(U'Ÿ'), U'ÿ');
  EXPECT_EQ(fold_case(U'ẞ'), U'ß');
  EXPECT_EQ(fold_case(U'Ａ'), U'a');
  EXPECT_EQ(fold_case(U'Ա'), U'ա');
  EXPECT_EQ(fold_case(U'耐'), U'耐');
  EXPECT_TRUE(is_word_char(U'é'));
  EXPECT_TRUE(is_word_char(U'_'));
  EXPECT_FALSE(is_word_char(U'™'));
  EXPECT_FALSE(is_word_char(U'。'));
  EXPECT_FALSE(is_word_char(U'😀'));
  EXPECT_TRUE(is_unspaced_script(U'耐'));
  EXPECT_TRUE(is_unspaced_script(U'ナ'));
  EXPECT_TRUE(is_unspaced_script(U'한'));
  EXPECT_FALSE(is_unspaced_script(U'n'));
  EXPECT_TRUE(is_space(U'\u3000'));
}

TEST(Terms, PunctuationAndSymbolsAreBoundaries) {
  EXPECT_TRUE(hit("disney", "Disney® and Disney™"));
  EXPECT_EQ(matches(rules({"disney"}), "Disney® and Disney™").size(), 2u);
  EXPECT_TRUE(hit("nike", "Nike😀"));
  EXPECT_TRUE(hit("nike", "«nike»"));
  // A term that ends in punctuation has no boundary check at that end.
  EXPECT_TRUE(hit("C++", "I write C++."));
  EXPECT_TRUE(hit("C++", "c++20"));
  EXPECT_FALSE(hit("C++", "abc++"));
  EXPECT_TRUE(hit("#ad", "nice#ad"));
}

TEST(Terms, ChineseMatchesWithoutWordSeparators) {
  const auto h = find_terms(rules({"迪士尼"}), "我爱迪士尼乐园", "prompt");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].offset, 6u) << "byte offset: 我 and 爱 are three bytes each";
  EXPECT_EQ(h[0].length, 9u);
  EXPECT_EQ(h[0].match, "迪士尼");
  EXPECT_TRUE(hit("耐克", "买耐克鞋"));
  EXPECT_TRUE(hit("迪士尼", "Disney迪士尼Land"));
  // A Han character beside a Latin word is a boundary for the Latin term.
  EXPECT_TRUE(hit("nike", "Nike耐克"));
  EXPECT_TRUE(hit("nike", "耐克nike"));
  EXPECT_TRUE(hit("nike", "买nike鞋"));
  EXPECT_FALSE(hit("nike", "买nikes鞋"));
  // Mixed terms: the Latin end is checked, the Han end is not.
  EXPECT_TRUE(hit("Hello Kitty凯蒂猫", "hello kitty凯蒂猫玩具"));
  EXPECT_FALSE(hit("Hello Kitty凯蒂猫", "ohello kitty凯蒂猫"));
  // Japanese and Korean likewise.
  EXPECT_TRUE(hit("ナイキ", "ナイキのシューズ"));
  EXPECT_TRUE(hit("나이키", "나이키를 샀다"));
}

TEST(Terms, WhatAChineseRuleDoesNotMatch) {
  // Not across a space or punctuation, not in another order, not the traditional form.
  EXPECT_FALSE(hit("迪士尼", "迪 士尼"));
  EXPECT_FALSE(hit("迪士尼", "迪，士尼"));
  EXPECT_FALSE(hit("迪士尼", "尼士迪"));
  EXPECT_FALSE(hit("华纳", "華納兄弟"));
  EXPECT_FALSE(hit("迪士尼", "迪士"));
  // With no word boundaries, a one-character rule fires inside every longer word...
  EXPECT_EQ(matches(rules({"士"}), "护士和迪士尼").size(), 2u);
  // ...unless an "allow" rule names the longer word: hits wholly inside it are dropped.
  std::vector<TermRule> r = {{"士", "fail", "soldier"}, {"护士", "allow", ""}};
  auto h = find_terms(r, "护士和士兵", "prompt");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].offset, 9u) << "the 士 of 士兵, not the one inside 护士";
  EXPECT_EQ(h[0].reason, "soldier");
  EXPECT_TRUE(find_terms(r, "护士", "prompt").empty()) << "allow rules make no hits";
}

TEST(Terms, HitsOfOneRuleDoNotOverlapAndAreOrdered) {
  const auto h = find_terms(rules({"哈哈"}), "哈哈哈哈哈", "prompt");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].offset, 0u);
  EXPECT_EQ(h[1].offset, 6u);
  // Different rules may overlap; order is by offset, then rule order.
  const auto two = find_terms(rules({"mouse", "mickey mouse", "mickey"}), "Mickey Mouse", "p");
  ASSERT_EQ(two.size(), 3u);
  EXPECT_EQ(two[0].term, "mickey mouse");
  EXPECT_EQ(two[1].term, "mickey");
  EXPECT_EQ(two[2].term, "mouse");
}

TEST(Terms, InvalidUtf8IsNeverALetter) {
  EXPECT_TRUE(hit("nike",
                  "\xff"
                  "nike\xfe"));
  const auto h = find_terms(rules({"nike"}), "\xffnike", "prompt");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].offset, 1u);
  EXPECT_FALSE(hit("nike", "ni\xffke"));
  EXPECT_TRUE(hit("nike", "nike\xe4\xb8")) << "a truncated sequence at the end";
  EXPECT_TRUE(hit("nike", "\xc0\xaenike")) << "an overlong encoding is invalid bytes";
  EXPECT_TRUE(hit("迪士尼", "\xed\xa0\x80迪士尼")) << "an encoded surrogate is invalid bytes";
  // Random bytes: no crash, and every hit points inside the text.
  std::mt19937 rng(7);
  const auto r =
      parse_term_rules(nlohmann::json::parse(R"(["ab", "迪士尼", "x y", {"term": "é"}])"));
  const std::string alphabet = "ab xy\xe8\xbf\xaa\xc3\xa9\xff\x80";
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 40, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    for (const auto& h : find_terms(r, s, "prompt")) {
      ASSERT_LE(h.offset + h.length, s.size());
      ASSERT_EQ(h.match, s.substr(h.offset, h.length));
    }
  }
}

TEST(Terms, EmptyListsAndTexts) {
  EXPECT_TRUE(find_terms({}, "anything at all", "prompt").empty());
  EXPECT_TRUE(find_terms(rules({"nike"}), "", "prompt").empty());
  EXPECT_TRUE(parse_term_rules(nlohmann::json::array()).empty());
}

TEST(Terms, ParsesRules) {
  const auto r = parse_term_rules(nlohmann::json::parse(
      R"(["Nike", {"term": "Mickey Mouse", "verdict": "warn", "reason": "Disney character"},
         {"term": "护士", "verdict": "allow"}])"));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].term, "Nike");
  EXPECT_EQ(r[0].verdict, "fail");
  EXPECT_EQ(r[1].verdict, "warn");
  EXPECT_EQ(r[1].reason, "Disney character");
  EXPECT_EQ(r[2].verdict, "allow");
}

TEST(Terms, RuleErrorsNameTheItemAndField) {
  using nlohmann::json;
  EXPECT_NE(parse_error(json::object()).find("terms: expected a list"), std::string::npos);
  EXPECT_NE(parse_error(json{"ok", 3}).find("terms[1]: expected a string or an object"),
            std::string::npos);
  EXPECT_NE(parse_error(json{json{{"verdict", "warn"}}}).find("terms[0].term: missing"),
            std::string::npos);
  EXPECT_NE(parse_error(json{"a", json{{"term", "x"}, {"verdict", "block"}}})
                .find("terms[1].verdict: expected \"warn\", \"fail\" or \"allow\", got \"block\""),
            std::string::npos);
  EXPECT_NE(parse_error(json{json{{"term", "x"}, {"severity", "warn"}}})
                .find("terms[0].severity: unknown field"),
            std::string::npos);
  EXPECT_NE(parse_error(json{json{{"term", "x"}, {"reason", 5}}})
                .find("terms[0].reason: expected a string"),
            std::string::npos);
  EXPECT_NE(parse_error(json{"x", " \t "}).find("terms[1].term: empty"), std::string::npos);
  EXPECT_NE(
      parse_error(json{"x", "y", std::string("bad\xff")}).find("terms[2].term: not valid UTF-8"),
      std::string::npos);
}
