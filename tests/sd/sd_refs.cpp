// Test access to the shared SD references (see sd_refs.h).
#include "sd_refs.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "ml/safetensors.h"
#include "ml/tensor_io.h"

namespace atelier::test::sd {

std::filesystem::path layouts_dir() {
  return std::filesystem::path(ATELIER_EXTERNAL_REFS) / "sd-layouts";
}

bool have_layouts() {
  return std::filesystem::exists(layouts_dir() / "tiny" / "index.json");
}

std::map<std::string, torch::Tensor> read_all(const std::filesystem::path& file) {
  auto f = ml::SafetensorsFile::read(file);
  std::map<std::string, torch::Tensor> out;
  for (const auto& info : f.tensors()) {
    out.emplace(info.name, ml::is_float_dtype(info.dtype)
                               ? ml::to_float_tensor(f, info, file.string())
                               : ml::to_tensor(f, info));
  }
  return out;
}

std::vector<InventoryRow> read_inventory(const std::filesystem::path& file) {
  std::ifstream in(file);
  nlohmann::json j = nlohmann::json::parse(in);
  const nlohmann::json& rows = j.is_array() ? j : j.at("tensors");
  std::vector<InventoryRow> out;
  for (const auto& r : rows)
    out.push_back({r.at("name").get<std::string>(), r.at("shape").get<std::vector<int64_t>>(),
                   r.value("kind", "param")});
  return out;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace atelier::test::sd
