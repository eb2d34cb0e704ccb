// Conversions between safetensors entries and torch tensors.
#include "ml/tensor_io.h"

#include <cstring>

namespace atelier::ml {

torch::Dtype torch_dtype(DType d) {
  switch (d) {
    case DType::F64:
      return torch::kFloat64;
    case DType::F32:
      return torch::kFloat32;
    case DType::F16:
      return torch::kFloat16;
    case DType::BF16:
      return torch::kBFloat16;
    case DType::I64:
      return torch::kInt64;
    case DType::I32:
      return torch::kInt32;
    case DType::I16:
      return torch::kInt16;
    case DType::I8:
      return torch::kInt8;
    case DType::U8:
      return torch::kUInt8;
    case DType::BOOL:
      return torch::kBool;
  }
  return torch::kFloat32;
}

torch::Tensor to_tensor(const SafetensorsFile& f, const TensorInfo& info) {
  auto t = torch::empty(info.shape, torch::TensorOptions().dtype(torch_dtype(info.dtype)));
  auto bytes = f.data(info);
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

torch::Tensor to_float_tensor(const SafetensorsFile& f, const TensorInfo& info,
                              const std::string& source) {
  switch (info.dtype) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::F64:
      return to_tensor(f, info).to(torch::kFloat32);
    default:
      throw FormatError(source + ": tensor '" + info.name + "' has dtype " +
                        std::string(dtype_name(info.dtype)) + ", expected a float type");
  }
}

void save_tensors(const std::filesystem::path& path, const NamedTensors& tensors,
                  const std::map<std::string, std::string>& metadata, bool half) {
  std::vector<torch::Tensor> keep;  // owns the bytes the spans point into
  std::vector<TensorToWrite> out;
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().to(torch::kCPU);
    DType d = DType::F32;
    if (c.is_floating_point()) {
      c = c.to(half ? torch::kFloat16 : torch::kFloat32);
      d = half ? DType::F16 : DType::F32;
    } else if (c.scalar_type() == torch::kInt64) {
      d = DType::I64;
    } else {
      throw std::invalid_argument("save_tensors: unsupported dtype for '" + name + "'");
    }
    c = c.contiguous();
    keep.push_back(c);
    out.push_back({name, d, c.sizes().vec(),
                   std::span<const std::byte>(static_cast<const std::byte*>(c.data_ptr()),
                                              static_cast<size_t>(c.nbytes()))});
  }
  write_safetensors(path, std::move(out), metadata);
}

}  // namespace atelier::ml
