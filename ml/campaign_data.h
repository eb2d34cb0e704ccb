// The example campaign's inputs, made from the datasets cache (docs/campaign.md):
// - brand/: 60 Noto-style (emoji-datasource-google) images of product-like
//   subjects, 12 from each of food-fruit, food-vegetable, food-sweet, drink and
//   clothing, all base emoji of the base model's training split, chosen in
//   FNV-1a order of their code points (as bench/lora/brand_set.py chooses them),
//   with a licence.txt (Apache-2.0) and no captions;
// - protected/: the Twemoji images of every base emoji held out of base-model
//   training, the campaign's registry of protected works (CC-BY 4.0).
// Invariant: the same datasets give the same files, byte for byte; writing again
// over an earlier result changes nothing.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace atelier::ml {

struct CampaignData {
  std::vector<std::filesystem::path> brand, protected_works;
  std::vector<std::string> brand_names;  // the emoji names, in file order
};

inline constexpr int kBrandPerSubcategory = 12;
const std::vector<std::string>& brand_subcategories();

// Writes DIR/brand and DIR/protected; throws std::runtime_error naming the
// dataset folder when it is missing (scripts/fetch_datasets.sh fetches it).
CampaignData write_campaign_data(const std::filesystem::path& dir);

}  // namespace atelier::ml
