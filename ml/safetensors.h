// Safetensors files (https://github.com/huggingface/safetensors): a strict
// reader and a deterministic writer, with no torch dependency so the format
// layer can be tested and fuzzed on its own.
//
// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON (an
// object; writers pad it with trailing spaces), then the data buffer. Each
// JSON key names a tensor {"dtype", "shape", "data_offsets": [begin, end]},
// offsets relative to the buffer; the optional "__metadata__" maps strings to
// strings.
//
// Invariants of a SafetensorsFile that parse() or read() returned:
//  - every tensor's [begin, end) lies inside the data buffer and holds exactly
//    product(shape) * dtype_size bytes;
//  - the tensors, in file offset order, tile the buffer: no overlap, no hole,
//    no trailing byte;
//  - names are unique, valid UTF-8, and never "__metadata__";
//  - the header began with '{' (as the reference reader requires), held no NUL
//    byte, no duplicate key, no field outside the schema and no nesting deeper
//    than 4, and stayed within the ReadLimits.
// Anything else is a FormatError whose message starts with the source name
// and ": ", so a caller can show it as is.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace atelier::ml {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

std::string_view dtype_name(DType);  // "F32", as in the header
std::size_t dtype_size(DType);       // bytes per element
// The dtype a header names; nullopt for names this reader does not support.
std::optional<DType> dtype_from_name(std::string_view);
// F64, F32, F16 or BF16.
bool is_float_dtype(DType);

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::size_t begin, end;  // offsets into the data buffer, as in the header
};

// Bounds on what a file may ask of the reader; a hostile header cannot make it
// allocate or loop beyond these.
struct ReadLimits {
  std::size_t max_header_bytes = 100 * 1024 * 1024;
  std::size_t max_tensors = 1 << 20;
  int max_rank = 8;
  std::uint64_t max_file_bytes = 64ull << 30;
};

class FormatError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

class SafetensorsFile {
 public:
  // Reads the whole file. Its size is checked against max_file_bytes first.
  static SafetensorsFile read(const std::filesystem::path&, const ReadLimits& = {});
  // source_name prefixes every error message (usually the file path).
  static SafetensorsFile parse(std::vector<std::byte> bytes, std::string source_name,
                               const ReadLimits& = {});
  // Reads and checks only the header (names, shapes, offsets against the
  // file's size, metadata): cheap on a multi-gigabyte checkpoint. data()
  // throws std::logic_error on the result.
  static SafetensorsFile read_header(const std::filesystem::path&, const ReadLimits& = {});

  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // file offset order
  const TensorInfo* find(std::string_view name) const;                 // nullptr if absent
  // The tensor's bytes. No alignment is promised (the header length decides
  // it), so copy before reinterpreting as wider types. Throws
  // std::out_of_range for a TensorInfo that does not fit this file.
  std::span<const std::byte> data(const TensorInfo&) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  // `size` is the whole file's size; bytes hold the file or just its header.
  static SafetensorsFile parse_impl(std::vector<std::byte> bytes, std::uint64_t size,
                                    std::string source_name, const ReadLimits& limits);
  bool header_only_ = false;

  std::vector<std::byte> bytes_;  // the whole file
  std::size_t data_start_ = 0;    // 8 + header length
  std::vector<TensorInfo> tensors_;
  std::vector<std::size_t> by_name_;  // indices into tensors_, sorted by name
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;  // product(shape) * dtype_size bytes
};

// Tensors are laid out in name order and the header is compact JSON padded with
// spaces to a multiple of 8, so the same inputs give the same bytes.
// "__metadata__" is written only when metadata is non-empty. Throws
// std::invalid_argument for a byte count that does not match the shape, a
// negative dimension, a duplicate or reserved name, or a name or metadata string
// that is not valid UTF-8.
std::vector<std::byte> serialize_safetensors(std::vector<TensorToWrite> tensors,
                                             const std::map<std::string, std::string>& metadata);
// Atomic: writes a temporary file in the same folder, fsyncs it, renames it
// over the path and fsyncs the folder. I/O failures throw std::system_error.
void write_safetensors(const std::filesystem::path&, std::vector<TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata);

// IEEE binary16 and bfloat16 <-> float. Narrowing rounds to nearest, ties to
// even; overflow gives infinity; NaN stays NaN (quiet) with its sign.
float half_to_float(std::uint16_t);
float bf16_to_float(std::uint16_t);
std::uint16_t float_to_half(float);
std::uint16_t float_to_bf16(float);

}  // namespace atelier::ml
