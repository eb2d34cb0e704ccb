// AUTOMATIC1111's emphasis syntax and chunking (see prompt_weights.h). The
// parser works on code points, reading the prompt left to right one token at
// a time as A1111's pattern does: an escape, '(', '[', ":number)", ')', ']', a
// run of other text, or a lone ':'.
#include "ml/sd/prompt_weights.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "ml/sd/clip_text_cleanup.h"
#include "ml/sd/utf8.h"

namespace atelier::ml::sd {
namespace {

constexpr double kRoundMultiplier = 1.1;
constexpr double kSquareMultiplier = 1 / 1.1;

bool is_word_char(char32_t c) {
  if (c == U'_') return true;
  int8_t t = u_charType(static_cast<UChar32>(c));
  return t == U_UPPERCASE_LETTER || t == U_LOWERCASE_LETTER || t == U_TITLECASE_LETTER ||
         t == U_MODIFIER_LETTER || t == U_OTHER_LETTER || t == U_DECIMAL_DIGIT_NUMBER ||
         t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

bool is_syntax_char(char32_t c) {
  return c == U'\\' || c == U'(' || c == U')' || c == U'[' || c == U']' || c == U':';
}

// A weight's characters: '.' or a decimal digit of any script (as the
// pattern's \d); the digit's value, or -1 for '.', or -2 for neither.
int weight_char(char32_t c) {
  if (c == U'.') return -1;
  if (u_charType(static_cast<UChar32>(c)) == U_DECIMAL_DIGIT_NUMBER) {
    return u_charDigitValue(static_cast<UChar32>(c));
  }
  return -2;
}

// ":\s*([+-]?[.\d]+)\s*\)" at i; returns its length and the number's text
// (ASCII), or 0.
size_t match_weight(const std::u32string& s, size_t i, std::string& number) {
  if (s[i] != U':') return 0;
  size_t j = i + 1;
  while (j < s.size() && is_python_space(s[j])) ++j;
  number.clear();
  if (j < s.size() && (s[j] == U'+' || s[j] == U'-')) number.push_back(static_cast<char>(s[j++]));
  size_t digits_start = j;
  for (int v; j < s.size() && (v = weight_char(s[j])) != -2; ++j) {
    number.push_back(v == -1 ? '.' : static_cast<char>('0' + v));
  }
  if (j == digits_start) return 0;
  while (j < s.size() && is_python_space(s[j])) ++j;
  if (j >= s.size() || s[j] != U')') return 0;
  return j + 1 - i;
}

double parse_weight(const std::string& number, std::string_view prompt) {
  std::string_view n = number;
  if (!n.empty() && n.front() == '+') n.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
  bool one_dot = n.find('.') == n.rfind('.');
  if (ec != std::errc() || end != n.data() + n.size() || !one_dot ||
      n.find_first_of("0123456789") == std::string_view::npos) {
    throw PromptSyntaxError("prompt \"" + std::string(prompt.substr(0, 200)) +
                            "\": emphasis weight \"" + number + "\" is not a number");
  }
  return v;
}

// re.split(r"\s*\bBREAK\b\s*", text): the parts between BREAK keywords.
std::vector<std::u32string> split_at_break(const std::u32string& t) {
  static constexpr std::u32string_view kBreak = U"BREAK";
  std::vector<std::u32string> parts;
  size_t part_start = 0;  // also where the last match ended
  for (size_t k = t.find(kBreak); k != std::u32string::npos; k = t.find(kBreak, k + 1)) {
    if (k < part_start) continue;
    size_t after = k + kBreak.size();
    if ((k > 0 && is_word_char(t[k - 1])) || (after < t.size() && is_word_char(t[after]))) {
      continue;
    }
    size_t start = k;
    while (start > part_start && is_python_space(t[start - 1])) --start;
    size_t end = after;
    while (end < t.size() && is_python_space(t[end])) ++end;
    parts.push_back(t.substr(part_start, start - part_start));
    part_start = end;
    k = end - 1;  // the next search starts at `end`
  }
  parts.push_back(t.substr(part_start));
  return parts;
}

}  // namespace

std::vector<WeightedText> parse_prompt_attention(std::string_view prompt) {
  std::u32string s = utf8_to_code_points(prompt);
  std::vector<WeightedText> res;
  std::vector<size_t> round, square;
  auto multiply_range = [&](size_t start, double m) {
    for (size_t p = start; p < res.size(); ++p) res[p].weight *= m;
  };
  auto add_text = [&](const std::u32string& text) {
    std::vector<std::u32string> parts = split_at_break(text);
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) res.push_back({"BREAK", -1.0});
      res.push_back({code_points_to_utf8(parts[i]), 1.0});
    }
  };
  std::string number;
  for (size_t i = 0; i < s.size();) {
    char32_t c = s[i];
    if (c == U'\\') {
      // \( \) \[ \] \\ give the character; a lone backslash gives nothing.
      bool escape = i + 1 < s.size() && (s[i + 1] == U'(' || s[i + 1] == U')' || s[i + 1] == U'[' ||
                                         s[i + 1] == U']' || s[i + 1] == U'\\');
      res.push_back({escape ? code_points_to_utf8(s.substr(i + 1, 1)) : "", 1.0});
      i += escape ? 2 : 1;
    } else if (c == U'(') {
      round.push_back(res.size());
      ++i;
    } else if (c == U'[') {
      square.push_back(res.size());
      ++i;
    } else if (size_t n = match_weight(s, i, number)) {
      if (!round.empty()) {
        multiply_range(round.back(), parse_weight(number, prompt));
        round.pop_back();
      } else {
        add_text(s.substr(i, n));
      }
      i += n;
    } else if (c == U')' && !round.empty()) {
      multiply_range(round.back(), kRoundMultiplier);
      round.pop_back();
      ++i;
    } else if (c == U']' && !square.empty()) {
      multiply_range(square.back(), kSquareMultiplier);
      square.pop_back();
      ++i;
    } else if (c == U')' || c == U']' || c == U':') {
      add_text(s.substr(i, 1));
      ++i;
    } else {
      size_t j = i;
      while (j < s.size() && !is_syntax_char(s[j])) ++j;
      add_text(s.substr(i, j - i));
      i = j;
    }
  }
  // Brackets left open apply from where they opened to the end, in the order
  // they were opened, round before square (A1111's order: the products must
  // come out bit for bit the same, since equal weights are merged).
  for (size_t pos : round) multiply_range(pos, kRoundMultiplier);
  for (size_t pos : square) multiply_range(pos, kSquareMultiplier);
  if (res.empty()) res.push_back({"", 1.0});
  for (size_t i = 0; i + 1 < res.size();) {
    if (res[i].weight == res[i + 1].weight) {
      res[i].text += res[i + 1].text;
      res.erase(res.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    } else {
      ++i;
    }
  }
  return res;
}

PromptChunk empty_chunk(const ClipTokenizer& tok, Padding padding) {
  PromptChunk c;
  c.ids = tok.frame({}, padding, kChunkTokens + 2);
  c.multipliers.assign(kChunkTokens + 2, 1.0f);
  return c;
}

WeightedPrompt tokenize_weighted_prompt(const ClipTokenizer& tok, std::string_view prompt,
                                        Padding padding, int comma_padding_backtrack) {
  const int64_t comma = tok.token_id(",</w>");
  WeightedPrompt out;
  std::vector<int64_t> ids;
  std::vector<float> mults;
  int last_comma = -1;

  auto next_chunk = [&](bool is_last) {
    out.token_count += is_last ? static_cast<int>(ids.size()) : kChunkTokens;
    PromptChunk c;
    c.ids.reserve(kChunkTokens + 2);
    c.ids.push_back(tok.bos());
    c.ids.insert(c.ids.end(), ids.begin(), ids.end());
    c.ids.resize(kChunkTokens + 1, tok.eos());  // A1111 pads with the end id ...
    c.ids.push_back(tok.eos());
    c.multipliers.push_back(1.0f);
    c.multipliers.insert(c.multipliers.end(), mults.begin(), mults.end());
    c.multipliers.resize(kChunkTokens + 2, 1.0f);
    if (padding == Padding::zero) {  // ... and for OpenCLIP zeroes what follows the first
      for (size_t p = 1; p < c.ids.size(); ++p) {
        if (c.ids[p] == tok.eos()) {
          std::fill(c.ids.begin() + static_cast<std::ptrdiff_t>(p) + 1, c.ids.end(), 0);
          break;
        }
      }
    }
    out.chunks.push_back(std::move(c));
    ids.clear();
    mults.clear();
    last_comma = -1;
  };

  for (const WeightedText& part : parse_prompt_attention(prompt)) {
    if (part.is_break()) {
      next_chunk(false);
      continue;
    }
    const auto weight = static_cast<float>(part.weight);
    for (int64_t token : tok.encode(part.text)) {
      const int size = static_cast<int>(ids.size());
      if (token == comma) {
        last_comma = size;
      } else if (comma_padding_backtrack != 0 && size == kChunkTokens && last_comma != -1 &&
                 size - last_comma <= comma_padding_backtrack) {
        // The words after the last comma move to the next chunk whole.
        const auto cut = static_cast<std::ptrdiff_t>(last_comma + 1);
        std::vector<int64_t> moved_ids(ids.begin() + cut, ids.end());
        std::vector<float> moved_mults(mults.begin() + cut, mults.end());
        ids.resize(static_cast<size_t>(cut));
        mults.resize(static_cast<size_t>(cut));
        next_chunk(false);
        ids = std::move(moved_ids);
        mults = std::move(moved_mults);
      }
      if (static_cast<int>(ids.size()) == kChunkTokens) next_chunk(false);
      ids.push_back(token);
      mults.push_back(weight);
    }
  }
  if (!ids.empty() || out.chunks.empty()) next_chunk(true);
  return out;
}

void apply_emphasis(std::span<float> z, std::span<const float> multipliers, int64_t channels,
                    bool normalize) {
  if (channels <= 0 || z.size() != multipliers.size() * static_cast<size_t>(channels)) {
    throw std::invalid_argument("apply_emphasis: " + std::to_string(z.size()) +
                                " states do not match " + std::to_string(multipliers.size()) +
                                " multipliers x " + std::to_string(channels) + " channels");
  }
  auto mean = [&] {
    double sum = 0;
    for (float v : z) sum += v;
    return z.empty() ? 0.0 : sum / static_cast<double>(z.size());
  };
  const double before = normalize ? mean() : 0.0;
  for (size_t t = 0; t < multipliers.size(); ++t) {
    float* row = z.data() + t * static_cast<size_t>(channels);
    for (int64_t c = 0; c < channels; ++c) row[c] *= multipliers[t];
  }
  if (!normalize) return;
  // A zero mean after weighting would make A1111's ratio infinite; leave the
  // states as weighted instead.
  const double after = mean();
  if (after == 0.0) return;
  const auto scale = static_cast<float>(before / after);
  for (float& v : z) v *= scale;
}

}  // namespace atelier::ml::sd
