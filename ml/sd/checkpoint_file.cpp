// Checkpoint files into Weights (see checkpoint_file.h).
#include "ml/sd/checkpoint_file.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "ml/safetensors.h"
#include "ml/sd/sd_family.h"
#include "ml/tensor_io.h"

namespace atelier::ml::sd {

namespace {

// Pickle protocol 2+ starts with 0x80; torch.save's zip container with "PK".
bool looks_like_pickle(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char head[2] = {0, 0};
  in.read(head, 2);
  if (in.gcount() < 1) return false;
  const auto b0 = static_cast<unsigned char>(head[0]);
  return b0 == 0x80 || (head[0] == 'P' && head[1] == 'K');
}

}  // namespace

std::string stored_float_dtype(const SafetensorsFile& header) {
  std::set<DType> floats;
  for (const TensorInfo& t : header.tensors())
    if (is_float_dtype(t.dtype)) floats.insert(t.dtype);
  if (floats.size() > 1) return "mixed";
  if (floats.count(DType::F16)) return "fp16";
  if (floats.count(DType::BF16)) return "bf16";
  return "fp32";
}

CheckpointFile read_checkpoint(const std::filesystem::path& path) {
  return read_checkpoint(path, {});
}

SafetensorsFile check_checkpoint_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  const std::string ext = path.extension().string();
  if (ext == ".ckpt" || ext == ".pt" || ext == ".pth" || ext == ".bin" || looks_like_pickle(path))
    throw WeightError(source +
                      ": a pickle checkpoint is refused (loading one runs code it contains); "
                      "convert it to .safetensors with a tool you trust and point at that file");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw WeightError(source + ": no such checkpoint file");
  try {
    return SafetensorsFile::read_header(path);
  } catch (const FormatError& e) {
    throw WeightError(e.what());
  }
}

CheckpointFile read_checkpoint(const std::filesystem::path& path,
                               const std::vector<std::string>& prefixes) {
  const std::string source = path.string();
  // Only the header is held whole; each tensor is read into its own buffer and
  // widened there, so loading an fp16 file peaks at the float32 weights plus
  // one tensor, not the file plus the weights.
  SafetensorsFile file = check_checkpoint_file(path);
  std::ifstream in(path, std::ios::binary);
  unsigned char len_bytes[8] = {};
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  const std::uint64_t data_start = 8 + header_len;
  auto read_tensor = [&](const TensorInfo& info) {
    auto t = torch::empty(info.shape, torch::TensorOptions().dtype(torch_dtype(info.dtype)));
    const auto n = static_cast<std::streamsize>(info.end - info.begin);
    if (n != static_cast<std::streamsize>(t.nbytes()))
      throw WeightError(source + ": tensor '" + info.name + "': " + std::to_string(n) +
                        " bytes do not hold its shape");
    in.seekg(static_cast<std::streamoff>(data_start + info.begin));
    if (n > 0 && !in.read(static_cast<char*>(t.data_ptr()), n))
      throw WeightError(source + ": tensor '" + info.name + "': the file ends inside its data");
    return t;
  };
  std::map<std::string, torch::Tensor> tensors;
  for (const TensorInfo& info : file.tensors()) {
    if (!prefixes.empty() &&
        std::none_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return info.name.rfind(p, 0) == 0; }))
      continue;
    torch::Tensor t = read_tensor(info);
    tensors.emplace(info.name, is_float_dtype(info.dtype) ? t.to(torch::kFloat32) : t);
  }
  return {Weights(normalise_names(std::move(tensors)), source), file.metadata(),
          stored_float_dtype(file)};
}

}  // namespace atelier::ml::sd
