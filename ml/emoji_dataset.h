// The emoji image sets the registry packages ship (emoji-datasource-twitter and
// -google 16.0.0): one record per image, skin-tone variants included, with a
// caption built from emoji.json (name, short names, category, subcategory,
// skin tones). The held-out split is by base emoji, so every skin-tone variant
// of a held-out emoji is held out with it; it is a fixed hash of the base
// emoji's code points, so every tool that asks agrees.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace atelier::ml {

struct EmojiRecord {
  std::string base;                      // unified code points of the base emoji, e.g. "1F44B"
  std::string unified;                   // of this image (a skin-tone variant differs from base)
  std::string name;                      // lower-case, e.g. "waving hand sign: medium skin tone"
  std::vector<std::string> short_names;  // with spaces, e.g. "wave"
  std::string category;                  // e.g. "People & Body"
  std::string subcategory;               // e.g. "hand fingers open"
  std::filesystem::path image;
  bool held_out = false;
};

// The nine categories the quality classifier tells apart ("Component", the bare
// skin-tone swatches, is left out of every split).
const std::vector<std::string>& emoji_categories();
int category_index(const std::string& category);  // -1 if not one of them

// Where the datasets are unpacked: $ATELIER_DATASETS, else ~/.cache/atelier/datasets.
std::filesystem::path datasets_dir();
// The unpacked package folder of a style ("twitter" or "google").
std::filesystem::path emoji_package_dir(const std::string& style);

// Reads emoji.json and lists the 64x64 PNGs of `style`; throws std::runtime_error
// naming the file if the package is missing or malformed.
std::vector<EmojiRecord> load_emoji_records(const std::filesystem::path& package_dir,
                                            const std::string& style);

// True for base emoji held out of base-model training (about 8%).
bool is_held_out(const std::string& base_unified);
// FNV-1a 64 of the bytes: the fixed hash behind the split and every
// deterministic choice of images (bench/quality/emoji_data.py agrees).
uint64_t fnv1a64(std::string_view s);

}  // namespace atelier::ml
