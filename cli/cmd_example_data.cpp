// `atelier example-data DIR`: writes the example campaign's inputs from the
// datasets cache (ml/campaign_data.h): DIR/brand (60 product images in the brand
// style) and DIR/protected (the registry of protected works). Safe to re-run.
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "ml/campaign_data.h"

namespace atelier::cli {

int cmd_example_data(const Globals& g, const std::string& dir) {
  ml::CampaignData d;
  try {
    d = ml::write_campaign_data(dir);
  } catch (const std::exception& e) {
    throw InputError(std::string(e.what()) + " (fetch the datasets: scripts/fetch_datasets.sh)");
  }
  const auto root = std::filesystem::absolute(dir);
  if (g.json) {
    std::cout << json{{"brand", (root / "brand").string()},
                      {"brand_images", d.brand.size()},
                      {"brand_names", d.brand_names},
                      {"protected", (root / "protected").string()},
                      {"protected_works", d.protected_works.size()}}
                     .dump()
              << "\n";
  } else {
    std::cout << d.brand.size() << " brand images in " << (root / "brand").string() << "\n"
              << d.protected_works.size() << " protected works in " << (root / "protected").string()
              << "\n";
  }
  return 0;
}

}  // namespace atelier::cli
