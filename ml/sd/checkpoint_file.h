// Reading a checkpoint file into Weights: safetensors only. A pickle file
// (.ckpt/.pt/.bin, or any file that starts like a pickle or a zip) is refused
// with a message saying how to convert it; it is never unpickled, since
// unpickling runs code the file chooses.
//
// Float tensors (F16, BF16, F32, F64) are widened once to float32, the dtype
// the CPU kernels compute in; integer tensors (position_ids buffers) stay as
// stored. Old SD 1.x names are brought to today's layout (normalise_names).
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "ml/safetensors.h"
#include "ml/sd/weights.h"

namespace atelier::ml::sd {

struct CheckpointFile {
  Weights weights;
  std::map<std::string, std::string> metadata;  // the safetensors __metadata__
  std::string dtype;                            // stored_float_dtype of the file
};

// Throws WeightError naming the file (refused format, malformed safetensors).
CheckpointFile read_checkpoint(const std::filesystem::path& path);
// The checks read_checkpoint makes before reading any tensor (a pickle
// refused, the header whole and consistent with the file's size), for a
// caller that wants a bad file named before other work; returns the header.
SafetensorsFile check_checkpoint_file(const std::filesystem::path& path);
// How a file stores its floats, over all its tensors: "fp32", "fp16", "bf16"
// or "mixed".
std::string stored_float_dtype(const SafetensorsFile& header);
// Only the tensors whose names start with one of the prefixes (empty: all),
// with those prefixes kept in the names.
CheckpointFile read_checkpoint(const std::filesystem::path& path,
                               const std::vector<std::string>& prefixes);

}  // namespace atelier::ml::sd
