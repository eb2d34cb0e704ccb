// emoji.json -> records; see emoji_dataset.h.
#include "ml/emoji_dataset.h"

#include "common/fnv1a.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace atelier::ml {

namespace fs = std::filesystem;

const std::vector<std::string>& emoji_categories() {
  static const std::vector<std::string> c = {
      "Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
      "Activities",        "Objects",       "Symbols",          "Flags"};
  return c;
}

int category_index(const std::string& category) {
  const auto& c = emoji_categories();
  auto it = std::find(c.begin(), c.end(), category);
  return it == c.end() ? -1 : static_cast<int>(it - c.begin());
}

fs::path datasets_dir() {
  if (const char* d = std::getenv("ATELIER_DATASETS"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "atelier" / "datasets";
}

fs::path emoji_package_dir(const std::string& style) {
  return datasets_dir() / ("emoji-datasource-" + style + "-16.0.0");
}

uint64_t fnv1a64(std::string_view s) {
  return atelier::fnv1a64(s);
}

bool is_held_out(const std::string& base_unified) {
  return fnv1a64(base_unified) % 100 < 8;
}

namespace {
std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}
std::string dashes_to_spaces(std::string s) {
  for (auto& c : s)
    if (c == '-' || c == '_') c = ' ';
  return s;
}
std::string tone_name(const std::string& code) {
  if (code == "1F3FB") return "light skin tone";
  if (code == "1F3FC") return "medium-light skin tone";
  if (code == "1F3FD") return "medium skin tone";
  if (code == "1F3FE") return "medium-dark skin tone";
  if (code == "1F3FF") return "dark skin tone";
  return {};
}
// "1F3FB-1F3FC" -> "light skin tone, medium-light skin tone"; identical tones once.
std::string tones_name(const std::string& key) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= key.size()) {
    auto end = key.find('-', start);
    if (end == std::string::npos) end = key.size();
    auto n = tone_name(key.substr(start, end - start));
    if (!n.empty() && std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    start = end + 1;
  }
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}
}  // namespace

std::vector<EmojiRecord> load_emoji_records(const fs::path& package_dir, const std::string& style) {
  const auto json_path = package_dir / "emoji.json";
  std::ifstream in(json_path);
  if (!in)
    throw std::runtime_error(json_path.string() +
                             ": not found (run scripts/fetch_datasets.sh to fetch the datasets)");
  nlohmann::json all;
  try {
    all = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(json_path.string() + ": " + e.what());
  }
  const auto img_dir = package_dir / "img" / style / "64";
  const std::string has_key = "has_img_" + style;
  std::vector<EmojiRecord> out;
  for (const auto& e : all) {
    const std::string category = e.value("category", "");
    if (category_index(category) < 0 || !e.value(has_key, false)) continue;
    EmojiRecord r;
    r.base = e.at("unified").get<std::string>();
    r.unified = r.base;
    r.name = lower(e.value("name", ""));
    for (const auto& s : e.value("short_names", nlohmann::json::array()))
      r.short_names.push_back(dashes_to_spaces(s.get<std::string>()));
    r.category = category;
    r.subcategory = dashes_to_spaces(e.value("subcategory", ""));
    r.image = img_dir / e.at("image").get<std::string>();
    r.held_out = is_held_out(r.base);
    const EmojiRecord base = r;
    out.push_back(r);
    if (e.contains("skin_variations") && e["skin_variations"].is_object()) {
      for (auto it = e["skin_variations"].begin(); it != e["skin_variations"].end(); ++it) {
        const auto& v = it.value();
        if (!v.value(has_key, false)) continue;
        EmojiRecord s = base;
        s.unified = v.at("unified").get<std::string>();
        s.image = img_dir / v.at("image").get<std::string>();
        const auto tones = tones_name(it.key());
        if (!tones.empty()) s.name += ": " + tones;
        out.push_back(std::move(s));
      }
    }
  }
  if (out.empty())
    throw std::runtime_error(json_path.string() + ": no " + style + " images listed");
  return out;
}

}  // namespace atelier::ml
