// torch::Tensor <-> safetensors. Reading copies each tensor out of the file's
// bytes (offsets inside a safetensors file need not be aligned) and widens
// F16/BF16/F64 to F32; writing stores F32 (or F16 on request).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ml/safetensors.h"

namespace atelier::ml {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// The torch dtype that holds a safetensors dtype's values as they are.
torch::Dtype torch_dtype(DType d);
// Float tensor from a floating-point entry (F32/F16/BF16/F64); throws FormatError
// naming the file and tensor for any other dtype.
torch::Tensor to_float_tensor(const SafetensorsFile& f, const TensorInfo& info,
                              const std::string& source);
// Any supported dtype, kept as is (integers stay integers).
torch::Tensor to_tensor(const SafetensorsFile& f, const TensorInfo& info);

void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors,
                  const std::map<std::string, std::string>& metadata, bool half = false);

}  // namespace atelier::ml
