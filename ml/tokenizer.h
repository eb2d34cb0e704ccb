// A word-level tokenizer for the small text encoder. Text is lower-cased (ASCII)
// and split on anything that is not a letter, digit or non-ASCII byte, so
// "Flag: Germany" and "flag germany" give the same tokens. Ids 0..2 are
// reserved ([PAD], [UNK], [BOS]); every encoding starts with [BOS], so an empty
// prompt (the unconditional input for guidance) is one token, never zero.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace atelier::ml {

class Tokenizer {
 public:
  static constexpr int kPad = 0, kUnk = 1, kBos = 2;

  Tokenizer() = default;
  explicit Tokenizer(std::vector<std::string> words);  // ids 3.. in order given

  // Lower-cased words of `text`, in order.
  static std::vector<std::string> words(std::string_view text);
  // [BOS] + word ids, cut at max_tokens, padded with [PAD] to max_tokens.
  std::vector<int64_t> encode(std::string_view text, int max_tokens) const;
  // Words of `text` that are not in the vocabulary (for warnings).
  std::vector<std::string> unknown_words(std::string_view text) const;

  int size() const { return static_cast<int>(vocab_.size()) + 3; }
  const std::vector<std::string>& vocabulary() const { return vocab_; }

  // Builds a vocabulary from texts: every word seen at least min_count times,
  // most frequent first, ties alphabetically (deterministic).
  static Tokenizer build(const std::vector<std::string>& texts, int min_count = 1);

 private:
  std::vector<std::string> vocab_;
  std::map<std::string, int64_t, std::less<>> ids_;
};

}  // namespace atelier::ml
