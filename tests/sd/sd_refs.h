// Test access to ../shared/external-refs/sd-layouts: the tiny random-weight
// checkpoints, the upstream code's outputs for them, and the full-size key
// inventories. Tests that need them skip (naming the folder) when the folder
// is not beside the checkout; none of that data is committed.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace atelier::test::sd {

// ATELIER_EXTERNAL_REFS + "/sd-layouts"
std::filesystem::path layouts_dir();
bool have_layouts();
#define SKIP_WITHOUT_SD_LAYOUTS()                                \
  if (!::atelier::test::sd::have_layouts())                      \
  GTEST_SKIP() << "needs " << ::atelier::test::sd::layouts_dir() \
               << " (the shared external references beside the checkout)"

// Every tensor of a safetensors file, as stored (floats widened to float32).
std::map<std::string, torch::Tensor> read_all(const std::filesystem::path& file);
// Names and shapes of a key inventory (sd15.json, ...), parameters and buffers.
struct InventoryRow {
  std::string name;
  std::vector<int64_t> shape;
  std::string kind;  // "param" or "buffer"
};
std::vector<InventoryRow> read_inventory(const std::filesystem::path& file);

// Largest absolute difference, for messages; asserts equal shapes.
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace atelier::test::sd
