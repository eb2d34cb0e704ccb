// Word tokenizer: see tokenizer.h for the normalisation rules.
#include "ml/tokenizer.h"

#include <algorithm>
#include <unordered_map>

namespace atelier::ml {

Tokenizer::Tokenizer(std::vector<std::string> words) : vocab_(std::move(words)) {
  for (size_t i = 0; i < vocab_.size(); ++i) ids_.emplace(vocab_[i], static_cast<int64_t>(i) + 3);
}

std::vector<std::string> Tokenizer::words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : text) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<unsigned char>(c - 'A' + 'a');
      keep = true;
    }
    if (keep) {
      cur.push_back(static_cast<char>(c));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::vector<int64_t> Tokenizer::encode(std::string_view text, int max_tokens) const {
  std::vector<int64_t> ids(static_cast<size_t>(max_tokens), kPad);
  if (max_tokens <= 0) return ids;
  ids[0] = kBos;
  size_t n = 1;
  for (const auto& w : words(text)) {
    if (n >= ids.size()) break;
    auto it = ids_.find(w);
    ids[n++] = it == ids_.end() ? kUnk : it->second;
  }
  return ids;
}

std::vector<std::string> Tokenizer::unknown_words(std::string_view text) const {
  std::vector<std::string> out;
  for (auto& w : words(text))
    if (!ids_.count(w)) out.push_back(std::move(w));
  return out;
}

Tokenizer Tokenizer::build(const std::vector<std::string>& texts, int min_count) {
  std::unordered_map<std::string, int> counts;
  for (const auto& t : texts)
    for (auto& w : words(t)) ++counts[w];
  std::vector<std::pair<std::string, int>> v(counts.begin(), counts.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> vocab;
  for (auto& [w, c] : v)
    if (c >= min_count) vocab.push_back(w);
  return Tokenizer(std::move(vocab));
}

}  // namespace atelier::ml
