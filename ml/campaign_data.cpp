// See campaign_data.h.
#include "ml/campaign_data.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>

#include "ml/emoji_dataset.h"

namespace atelier::ml {

namespace fs = std::filesystem;

namespace {

std::string slug(const std::string& name) {
  std::string out;
  for (const char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum)
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// Copies unless the destination already holds the same bytes.
void copy_if_changed(const fs::path& from, const fs::path& to) {
  if (fs::exists(to) && fs::file_size(to) == fs::file_size(from)) {
    std::ifstream a(from, std::ios::binary), b(to, std::ios::binary);
    if (std::equal(std::istreambuf_iterator<char>(a), {}, std::istreambuf_iterator<char>(b)))
      return;
  }
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

// Base emoji only (no skin-tone variants), in FNV-1a order of their code points.
std::vector<EmojiRecord> base_records(const std::string& style) {
  std::vector<EmojiRecord> out;
  for (EmojiRecord& r : load_emoji_records(emoji_package_dir(style), style))
    if (r.unified == r.base) out.push_back(std::move(r));
  std::sort(out.begin(), out.end(), [](const EmojiRecord& a, const EmojiRecord& b) {
    return fnv1a64(a.unified) < fnv1a64(b.unified);
  });
  return out;
}

}  // namespace

const std::vector<std::string>& brand_subcategories() {
  static const std::vector<std::string> s = {"food-fruit", "food-vegetable", "food-sweet", "drink",
                                             "clothing"};
  return s;
}

CampaignData write_campaign_data(const fs::path& dir) {
  CampaignData data;
  const fs::path brand = dir / "brand", protected_dir = dir / "protected";
  fs::create_directories(brand);
  fs::create_directories(protected_dir);

  const auto google = base_records("google");
  for (const std::string& sub : brand_subcategories()) {
    std::string spaced = sub;  // records spell subcategories with spaces
    std::replace(spaced.begin(), spaced.end(), '-', ' ');
    int taken = 0;
    for (const EmojiRecord& r : google) {
      if (r.subcategory != spaced || r.held_out) continue;
      const fs::path to = brand / (slug(r.name) + ".png");
      copy_if_changed(r.image, to);
      data.brand.push_back(to);
      data.brand_names.push_back(r.name);
      if (++taken == kBrandPerSubcategory) break;
    }
    if (taken < kBrandPerSubcategory)
      throw std::runtime_error("subcategory " + sub + " has only " + std::to_string(taken) +
                               " training-split images in " + emoji_package_dir("google").string());
  }
  write_text(brand / "licence.txt",
             "Apache-2.0\nNoto Emoji graphics by Google (emoji-datasource-google 16.0.0)\n");

  for (const EmojiRecord& r : base_records("twitter")) {
    if (!r.held_out) continue;
    const fs::path to = protected_dir / (slug(r.name) + "-" + r.unified + ".png");
    copy_if_changed(r.image, to);
    data.protected_works.push_back(to);
  }
  write_text(protected_dir / "licence.txt",
             "CC-BY-4.0\nTwemoji graphics by Twitter, Inc. and other contributors "
             "(emoji-datasource-twitter 16.0.0)\n");
  return data;
}

}  // namespace atelier::ml
