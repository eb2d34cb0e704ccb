// Safetensors reading and writing, and the half-precision conversions (the
// format and the invariants a parsed file keeps are in safetensors.h).
//
// The header is read by a schema-directed SAX handler rather than into a JSON
// DOM: memory then stays proportional to what the header legitimately
// describes, duplicate keys (which a DOM merges silently) are seen, and the
// first thing out of place stops the parse. Sizes a header declares are only
// compared with the bytes actually present; nothing is allocated from them.
#include "ml/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "common/json_nesting.h"

namespace atelier::ml {

namespace {

constexpr std::string_view kMetadataKey = "__metadata__";
// The schema needs three levels (header, tensor entry, shape); one spare.
constexpr std::size_t kMaxJsonDepth = 4;
// Names and values quoted in messages are cut here: a hostile header can hold
// a 100 MB string, and an error message is not the place to echo it.
constexpr std::size_t kQuoteMax = 80;

struct DTypeRow {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {DType::F64, "F64", 8},   {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},   {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeRow& row(DType d) {
  for (const auto& r : kDTypes)
    if (r.dtype == d) return r;
  throw std::invalid_argument("unknown DType value " + std::to_string(static_cast<int>(d)));
}

// Byte offset of the first byte that breaks UTF-8 (overlong forms, surrogates
// and code points past U+10FFFF included), or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (s.size() - i < len) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

// 'text', with control bytes escaped and long text cut at a character boundary.
std::string quote(std::string_view s) {
  std::string out = "'";
  std::size_t n = s.size();
  if (n > kQuoteMax) {
    n = kQuoteMax;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F || c == '\\' || c == '\'') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < s.size()) out += "...";
  return out + "'";
}

std::string cut(std::string s, std::size_t max) {
  if (s.size() > max) s.resize(max), s += "...";
  return s;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// The product of non-negative dimensions, or nullopt when it overflows. Taken
// left to right as the reference reader does, so [2^62, 0] is 0 elements and
// [2^62, 8, 0] an overflow; reader and writer share it so they agree.
std::optional<std::uint64_t> element_count(const std::vector<int64_t>& shape) {
  std::uint64_t n = 1;
  for (const int64_t d : shape)
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) return std::nullopt;
  return n;
}

std::string range_text(std::uint64_t begin, std::uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// One tensor entry as the header states it, before its offsets are checked.
struct RawTensor {
  std::string name;
  std::optional<DType> dtype;
  bool has_shape = false, has_offsets = false;
  std::vector<int64_t> shape;
  std::uint64_t offsets[2] = {0, 0};
  std::size_t offset_count = 0;
};

// nlohmann SAX handler that accepts exactly the safetensors header schema.
// Every callback either advances the state or records `error` and returns
// false, which stops the parser at once.
class HeaderHandler {
 public:
  using json = nlohmann::json;

  explicit HeaderHandler(const ReadLimits& limits) : limits_(limits) {}

  std::string error;
  std::vector<RawTensor> tensors;
  std::map<std::string, std::string> metadata;
  bool done() const { return state_ == State::Done; }

  bool null() { return unexpected("null"); }
  bool boolean(bool) { return unexpected("a boolean"); }
  bool binary(json::binary_t&) { return unexpected("binary data"); }

  bool number_integer(json::number_integer_t v) {
    if (v >= 0) return number_unsigned(static_cast<json::number_unsigned_t>(v));
    if (state_ == State::Shape)
      return fail(tensor() + "shape has a negative dimension " + std::to_string(v));
    if (state_ == State::Offsets)
      return fail(tensor() + "data_offsets holds a negative offset " + std::to_string(v));
    return unexpected("a number");
  }

  bool number_unsigned(json::number_unsigned_t v) {
    if (state_ == State::Shape) {
      if (v > static_cast<std::uint64_t>(std::numeric_limits<int64_t>::max()))
        return fail(tensor() + "shape dimension " + std::to_string(v) + " is too large");
      if (static_cast<std::int64_t>(current().shape.size()) >= std::max(limits_.max_rank, 0))
        return fail(tensor() + "shape has more than " + std::to_string(limits_.max_rank) +
                    " dimensions (the rank limit)");
      current().shape.push_back(static_cast<int64_t>(v));
      return true;
    }
    if (state_ == State::Offsets) {
      RawTensor& t = current();
      if (t.offset_count == 2) return fail(tensor() + "data_offsets holds more than 2 integers");
      t.offsets[t.offset_count++] = v;
      return true;
    }
    return unexpected("a number");
  }

  bool number_float(json::number_float_t, const json::string_t& raw) {
    if (state_ == State::Shape)
      return fail(tensor() + "shape dimension " + cut(raw, 40) + " is not an integer");
    if (state_ == State::Offsets)
      return fail(tensor() + "data_offsets value " + cut(raw, 40) + " is not an integer");
    return unexpected("a number");
  }

  bool string(json::string_t& s) {
    if (state_ == State::TensorValue && field_ == Field::Dtype) {
      current().dtype = dtype_from_name(s);
      if (!current().dtype) return fail(tensor() + "unknown dtype " + quote(s));
      state_ = State::Tensor;
      return true;
    }
    if (state_ == State::MetadataValue) {
      metadata.emplace(std::move(key_), std::move(s));
      state_ = State::Metadata;
      return true;
    }
    return unexpected("a string");
  }

  bool start_object(std::size_t) {
    switch (state_) {
      case State::Start:
        state_ = State::Top;
        return true;
      case State::TopValue:
        if (key_ == kMetadataKey) {
          state_ = State::Metadata;
        } else {
          tensors.emplace_back().name = std::move(key_);
          seen_fields_ = 0;
          state_ = State::Tensor;
        }
        return true;
      default:
        return unexpected("an object");
    }
  }

  bool start_array(std::size_t) {
    if (state_ == State::TensorValue && field_ == Field::Shape) {
      state_ = State::Shape;
      return true;
    }
    if (state_ == State::TensorValue && field_ == Field::Offsets) {
      state_ = State::Offsets;
      return true;
    }
    return unexpected("an array");
  }

  bool end_array() {
    if (state_ == State::Shape) {
      current().has_shape = true;
    } else if (state_ == State::Offsets) {
      if (current().offset_count != 2)
        return fail(tensor() + "data_offsets holds " + std::to_string(current().offset_count) +
                    " integers, not 2");
      current().has_offsets = true;
    } else {
      return fail("unexpected end of array");  // the parser does not let this happen
    }
    state_ = State::Tensor;
    return true;
  }

  bool key(json::string_t& k) {
    switch (state_) {
      case State::Top:
        if (!top_keys_.insert(k).second)
          return fail(k == kMetadataKey ? "duplicate __metadata__"
                                        : "duplicate tensor name " + quote(k));
        if (k != kMetadataKey && tensors.size() >= limits_.max_tensors)
          return fail("more than " + std::to_string(limits_.max_tensors) +
                      " tensors (the tensor limit)");
        key_ = std::move(k);
        state_ = State::TopValue;
        return true;
      case State::Tensor: {
        if (k == "dtype")
          field_ = Field::Dtype;
        else if (k == "shape")
          field_ = Field::Shape;
        else if (k == "data_offsets")
          field_ = Field::Offsets;
        else
          return fail(tensor() + "unknown field " + quote(k));
        const unsigned bit = 1u << static_cast<unsigned>(field_);
        if (seen_fields_ & bit) return fail(tensor() + "duplicate field " + quote(k));
        seen_fields_ |= bit;
        state_ = State::TensorValue;
        return true;
      }
      case State::Metadata:
        if (metadata.contains(k)) return fail("__metadata__: duplicate key " + quote(k));
        key_ = std::move(k);
        state_ = State::MetadataValue;
        return true;
      default:
        return fail("unexpected object key");  // the parser does not let this happen
    }
  }

  bool end_object() {
    switch (state_) {
      case State::Top:
        state_ = State::Done;
        return true;
      case State::Metadata:
        state_ = State::Top;
        return true;
      case State::Tensor: {
        const RawTensor& t = current();
        if (!t.dtype) return fail(tensor() + "missing field 'dtype'");
        if (!t.has_shape) return fail(tensor() + "missing field 'shape'");
        if (!t.has_offsets) return fail(tensor() + "missing field 'data_offsets'");
        state_ = State::Top;
        return true;
      }
      default:
        return fail("unexpected end of object");  // the parser does not let this happen
    }
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    // Drops the "[json.exception.parse_error.101] " prefix; keeps line and column.
    std::string what = ex.what();
    if (const auto at = what.find("] "); what.starts_with("[json.") && at != std::string::npos)
      what.erase(0, at + 2);
    return fail("header is not valid JSON: " + cut(std::move(what), 240));
  }

 private:
  enum class State {
    Start,          // before the header object
    Top,            // in the header object, between entries
    TopValue,       // after a top-level key (in key_)
    Tensor,         // in a tensor entry, between fields
    TensorValue,    // after a field key (in field_)
    Shape,          // in "shape": [...]
    Offsets,        // in "data_offsets": [...]
    Metadata,       // in "__metadata__", between entries
    MetadataValue,  // after a metadata key (in key_)
    Done,
  };
  enum class Field { Dtype, Shape, Offsets };

  RawTensor& current() { return tensors.back(); }
  std::string tensor() const { return "tensor " + quote(tensors.back().name) + ": "; }

  bool fail(std::string message) {
    error = std::move(message);
    return false;
  }

  // A value of the wrong kind; says where it was found and what belongs there.
  bool unexpected(const char* kind) {
    const std::string k = kind;
    switch (state_) {
      case State::Start:
        return fail("header is " + k + ", not a JSON object");
      case State::TopValue:
        if (key_ == kMetadataKey) return fail("__metadata__ is " + k + ", not an object");
        return fail("tensor " + quote(key_) + ": entry is " + k + ", not an object");
      case State::TensorValue:
        switch (field_) {
          case Field::Dtype:
            return fail(tensor() + "dtype is " + k + ", not a string");
          case Field::Shape:
            return fail(tensor() + "shape is " + k + ", not an array");
          case Field::Offsets:
            return fail(tensor() + "data_offsets is " + k + ", not an array");
        }
        break;
      case State::Shape:
        return fail(tensor() + "shape holds " + k + ", not a non-negative integer");
      case State::Offsets:
        return fail(tensor() + "data_offsets holds " + k + ", not a non-negative integer");
      case State::MetadataValue:
        return fail("__metadata__: value of " + quote(key_) + " is " + k + ", not a string");
      default:
        break;
    }
    return fail("unexpected " + k);  // the parser does not let this happen
  }

  const ReadLimits& limits_;
  State state_ = State::Start;
  Field field_ = Field::Dtype;
  unsigned seen_fields_ = 0;  // bit per Field, for the current tensor entry
  std::string key_;
  std::unordered_set<std::string> top_keys_;
};

std::uint64_t read_le64(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

// Closes a file descriptor on every path out of a scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

std::system_error io_error(int err, const std::filesystem::path& path, const std::string& what) {
  return std::system_error(err, std::generic_category(), path.string() + ": " + what);
}

}  // namespace

std::string_view dtype_name(DType d) {
  return row(d).name;
}
std::size_t dtype_size(DType d) {
  return row(d).size;
}

bool is_float_dtype(DType d) {
  return d == DType::F64 || d == DType::F32 || d == DType::F16 || d == DType::BF16;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& r : kDTypes)
    if (r.name == name) return r.dtype;
  return std::nullopt;
}

namespace {

struct OpenFile {
  int fd;
  std::uint64_t size;
};

// Opens a regular file for reading and checks its size against the limit.
OpenFile open_checked(const std::filesystem::path& path, const ReadLimits& limits, Fd& file) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  const int fd_out = file.fd;
  if (fd_out < 0) {
    if (errno == ENOENT) throw FormatError(name + ": no such file");
    throw FormatError(name + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd_out, &st) != 0) throw FormatError(name + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw FormatError(name + ": not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > limits.max_file_bytes)
    throw FormatError(name + ": file is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(limits.max_file_bytes));
  return {fd_out, size};
}

// Reads exactly out.size() bytes from the start of the file.
void read_exactly(int fd, std::vector<std::byte>& out, std::uint64_t file_size,
                  const std::string& name) {
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FormatError(name + ": cannot read: " + std::strerror(errno));
    if (n == 0)
      throw FormatError(name + ": file shrank while being read (" + std::to_string(got) + " of " +
                        std::to_string(file_size) + " bytes)");
    got += static_cast<std::size_t>(n);
  }
}

}  // namespace

SafetensorsFile SafetensorsFile::read(const std::filesystem::path& path, const ReadLimits& limits) {
  Fd file;
  const OpenFile f = open_checked(path, limits, file);
  std::vector<std::byte> bytes(f.size);
  read_exactly(file.fd, bytes, f.size, path.string());
  return parse(std::move(bytes), path.string(), limits);
}

SafetensorsFile SafetensorsFile::read_header(const std::filesystem::path& path,
                                             const ReadLimits& limits) {
  Fd file;
  const OpenFile f = open_checked(path, limits, file);
  const std::string name = path.string();
  if (f.size < 8)
    throw FormatError(name + ": file is " + std::to_string(f.size) +
                      " bytes, shorter than the 8-byte header length");
  std::vector<std::byte> len(8);
  read_exactly(file.fd, len, f.size, name);
  const std::uint64_t header_len = read_le64(len.data());
  if (header_len > limits.max_header_bytes || header_len > f.size - 8)
    return parse_impl(std::move(len), f.size, name, limits);  // reports the bad length
  std::vector<std::byte> bytes(8 + header_len);
  if (::lseek(file.fd, 0, SEEK_SET) != 0) throw FormatError(name + ": cannot seek");
  read_exactly(file.fd, bytes, f.size, name);
  SafetensorsFile out = parse_impl(std::move(bytes), f.size, name, limits);
  out.header_only_ = true;
  return out;
}

SafetensorsFile SafetensorsFile::parse(std::vector<std::byte> bytes, std::string source_name,
                                       const ReadLimits& limits) {
  const std::uint64_t size = bytes.size();
  return parse_impl(std::move(bytes), size, std::move(source_name), limits);
}

SafetensorsFile SafetensorsFile::parse_impl(std::vector<std::byte> bytes, std::uint64_t size,
                                            std::string source_name, const ReadLimits& limits) {
  const auto error = [&](const std::string& what) {
    return FormatError(source_name + ": " + what);
  };
  if (size > limits.max_file_bytes)
    throw error("file is " + std::to_string(size) + " bytes, over the limit of " +
                std::to_string(limits.max_file_bytes));
  if (size < 8)
    throw error("file is " + std::to_string(size) +
                " bytes, shorter than the 8-byte header length");
  const std::uint64_t header_len = read_le64(bytes.data());
  if (header_len > limits.max_header_bytes)
    throw error("header length " + std::to_string(header_len) + " is over the limit of " +
                std::to_string(limits.max_header_bytes) + " bytes");
  if (header_len > size - 8)
    throw error("header length " + std::to_string(header_len) + " runs past the end of the file (" +
                std::to_string(size - 8) + " bytes follow the length)");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data()) + 8, header_len);
  const std::uint64_t buffer_size = size - 8 - header_len;

  if (header.empty()) throw error("header is empty");
  if (const auto at = invalid_utf8_at(header); at != std::string_view::npos) {
    static constexpr char kHex[] = "0123456789abcdef";
    const auto c = static_cast<unsigned char>(header[at]);
    throw error(std::string("header is not valid UTF-8 (byte 0x") + kHex[c >> 4] + kHex[c & 0xF] +
                " at header offset " + std::to_string(at) + ")");
  }
  // As the reference reader does: no leading whitespace, no other JSON value.
  if (header.front() != '{')
    throw error("header is not a JSON object (it starts with " + quote(header.substr(0, 1)) + ")");
  // nlohmann's lexer takes a NUL byte for the end of input, so "{}\0junk" would
  // pass; JSON allows no raw NUL anywhere, so refuse it here.
  if (const auto at = header.find('\0'); at != std::string_view::npos)
    throw error("header holds a NUL byte at header offset " + std::to_string(at));
  if (json_nesting_depth(header) > kMaxJsonDepth)
    throw error("header JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");

  HeaderHandler handler(limits);
  const bool ok = nlohmann::json::sax_parse(header.data(), header.data() + header.size(), &handler,
                                            nlohmann::json::input_format_t::json, true, false);
  if (!ok || !handler.done())
    throw error(handler.error.empty() ? "header is not valid JSON" : handler.error);

  // Per tensor: the shape's byte count, then the offsets against the buffer.
  std::vector<TensorInfo> infos;
  infos.reserve(handler.tensors.size());  // bounded by the header actually present
  for (RawTensor& raw : handler.tensors) {
    const std::string where = "tensor " + quote(raw.name) + ": ";
    const DType dtype = *raw.dtype;
    const std::optional<std::uint64_t> elements = element_count(raw.shape);
    if (!elements)
      throw error(where + "shape " + shape_text(raw.shape) +
                  " has more elements than fit in 64 bits (overflow)");
    std::uint64_t needed;
    if (__builtin_mul_overflow(*elements, dtype_size(dtype), &needed))
      throw error(where + std::string(dtype_name(dtype)) + " " + shape_text(raw.shape) +
                  " needs more bytes than fit in 64 bits (overflow)");
    const auto [begin, end] = std::pair(raw.offsets[0], raw.offsets[1]);
    if (begin > end)
      throw error(where + "data_offsets " + range_text(begin, end) + ": begin is after end");
    if (end > buffer_size)
      throw error(where + "data_offsets " + range_text(begin, end) +
                  " run beyond the end of the data buffer (" + std::to_string(buffer_size) +
                  " bytes); the file may be truncated");
    if (end - begin != needed)
      throw error(where + "data_offsets " + range_text(begin, end) + " hold " +
                  std::to_string(end - begin) + " bytes but " + std::string(dtype_name(dtype)) +
                  " " + shape_text(raw.shape) + " needs " + std::to_string(needed));
    infos.push_back(TensorInfo{std::move(raw.name), dtype, std::move(raw.shape),
                               static_cast<std::size_t>(begin), static_cast<std::size_t>(end)});
  }
  handler.tensors.clear();

  // The ranges, in offset order, must tile [0, buffer_size) exactly. Ties are
  // empty tensors; the name keeps their order deterministic.
  std::sort(infos.begin(), infos.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  std::size_t covered = 0;
  const TensorInfo* last = nullptr;  // the tensor that ends at `covered`
  for (const TensorInfo& t : infos) {
    if (t.begin < covered)
      throw error("tensor " + quote(t.name) + ": data_offsets " + range_text(t.begin, t.end) +
                  " overlap tensor " + quote(last->name) + " " +
                  range_text(last->begin, last->end));
    if (t.begin > covered)
      throw error("hole in the data buffer: bytes [" + std::to_string(covered) + ", " +
                  std::to_string(t.begin) + ") before tensor " + quote(t.name) +
                  " belong to no tensor");
    covered = t.end;
    last = &t;
  }
  if (covered != buffer_size)
    throw error("trailing bytes in the data buffer: bytes [" + std::to_string(covered) + ", " +
                std::to_string(buffer_size) + ")" +
                (last ? " after the last tensor " + quote(last->name) : std::string()) +
                " belong to no tensor");

  SafetensorsFile file;
  file.bytes_ = std::move(bytes);
  file.data_start_ = static_cast<std::size_t>(8 + header_len);
  file.tensors_ = std::move(infos);
  file.metadata_ = std::move(handler.metadata);
  file.by_name_.resize(file.tensors_.size());
  for (std::size_t i = 0; i < file.by_name_.size(); ++i) file.by_name_[i] = i;
  std::sort(file.by_name_.begin(), file.by_name_.end(), [&](std::size_t a, std::size_t b) {
    return file.tensors_[a].name < file.tensors_[b].name;
  });
  return file;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = std::lower_bound(
      by_name_.begin(), by_name_.end(), name,
      [&](std::size_t i, std::string_view n) { return std::string_view(tensors_[i].name) < n; });
  if (it == by_name_.end() || tensors_[*it].name != name) return nullptr;
  return &tensors_[*it];
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& t) const {
  if (header_only_) throw std::logic_error(t.name + ": read_header() holds no tensor data");
  const std::size_t buffer_size = bytes_.size() - data_start_;
  if (t.begin > t.end || t.end > buffer_size)
    throw std::out_of_range("tensor '" + t.name + "' does not fit this file's data buffer");
  return {bytes_.data() + data_start_ + t.begin, t.end - t.begin};
}

std::vector<std::byte> serialize_safetensors(std::vector<TensorToWrite> tensors,
                                             const std::map<std::string, std::string>& metadata) {
  using json = nlohmann::json;
  const auto check_utf8 = [](std::string_view s, const std::string& what) {
    if (invalid_utf8_at(s) != std::string_view::npos)
      throw std::invalid_argument(what + " is not valid UTF-8");
  };
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorToWrite& a, const TensorToWrite& b) { return a.name < b.name; });

  // The header is assembled by hand so that its field order is the reference
  // writer's ("__metadata__" first; dtype, shape, data_offsets) and so that a
  // million tensors do not cost a million ordered-object lookups.
  std::string header = "{";
  if (!metadata.empty()) {
    for (const auto& [k, v] : metadata) {
      check_utf8(k, "metadata key " + quote(k));
      check_utf8(v, "metadata value of " + quote(k));
    }
    header += "\"__metadata__\":" + json(metadata).dump();
  }
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    const std::string where = "tensor " + quote(t.name);
    check_utf8(t.name, where + ": name");
    if (t.name == kMetadataKey) throw std::invalid_argument(where + ": the name is reserved");
    if (i > 0 && tensors[i - 1].name == t.name)
      throw std::invalid_argument(where + ": duplicate tensor name");
    if (std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; }))
      throw std::invalid_argument(where + ": negative dimension in shape " + shape_text(t.shape));
    // Counted as the reader counts, so the writer accepts exactly what it reads.
    const std::optional<std::uint64_t> elements = element_count(t.shape);
    std::uint64_t needed;
    if (!elements || __builtin_mul_overflow(*elements, dtype_size(t.dtype), &needed))
      throw std::invalid_argument(where + ": shape " + shape_text(t.shape) + " overflows");
    if (t.bytes.size() != needed)
      throw std::invalid_argument(where + ": " + std::to_string(t.bytes.size()) +
                                  " bytes given but " + std::string(dtype_name(t.dtype)) + " " +
                                  shape_text(t.shape) + " needs " + std::to_string(needed));
    if (header.size() > 1) header += ',';
    header += json(t.name).dump();
    header += ":{\"dtype\":\"";
    header += dtype_name(t.dtype);
    header += "\",\"shape\":[";
    for (std::size_t k = 0; k < t.shape.size(); ++k)
      header += (k ? "," : "") + std::to_string(t.shape[k]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + needed) + "]}";
    offset += needed;
  }
  header += '}';
  // Padding to 8 keeps the buffer 8-aligned relative to the file start, so
  // tensor data can be mapped and read in place.
  header.append((8 - header.size() % 8) % 8, ' ');

  std::vector<std::byte> out;
  out.reserve(8 + header.size() + offset);
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i, n >>= 8) out.push_back(static_cast<std::byte>(n & 0xFF));
  const auto* h = reinterpret_cast<const std::byte*>(header.data());
  out.insert(out.end(), h, h + header.size());
  for (const TensorToWrite& t : tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  return out;
}

void write_safetensors(const std::filesystem::path& path, std::vector<TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::vector<std::byte> bytes = serialize_safetensors(std::move(tensors), metadata);
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  // Unique within the process and between processes; rename() replaces the
  // target in one step, so a reader sees the old file or the new one, whole.
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path tmp =
      dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter.fetch_add(1)));

  Fd file{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  if (file.fd < 0) throw io_error(errno, path, "cannot create " + tmp.string());
  const auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(file.release());
    ::unlink(tmp.c_str());
    return io_error(err, path, what);
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(file.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail("cannot write " + tmp.string());
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(file.fd) != 0) throw fail("cannot fsync " + tmp.string());
  if (::close(file.release()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw io_error(err, path, "cannot close " + tmp.string());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw io_error(err, path, "cannot rename " + tmp.string() + " over it");
  }
  // The rename is durable only once the folder is synced.
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0) throw io_error(errno, path, "cannot open folder " + dir.string());
  if (::fsync(d.fd) != 0 && errno != EINVAL)  // some file systems cannot sync folders
    throw io_error(errno, path, "cannot fsync folder " + dir.string());
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1F;
  const std::uint32_t mant = h & 0x3FF;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float.
    const float v = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -v : v;
  }
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));  // inf, NaN
  return std::bit_cast<float>(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000);
  x &= 0x7FFFFFFFu;
  if (x > 0x7F800000u)  // NaN: quiet, keeps the top of the payload
    return sign | 0x7E00 | static_cast<std::uint16_t>((x >> 13) & 0x3FF);
  // 65520 is halfway between 65504 (largest half, odd mantissa) and 2^16, so
  // it and everything above round to infinity.
  if (x >= 0x477FF000u) return sign | 0x7C00;
  if (x >= 0x38800000u) {  // normal in half (>= 2^-14)
    const std::uint32_t mant = x & 0x7FFFFF;
    std::uint32_t h = (((x >> 23) - 127 + 15) << 10) | (mant >> 13);
    const std::uint32_t rest = mant & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // a carry moves into the exponent
    return sign | static_cast<std::uint16_t>(h);
  }
  // 2^-25 is halfway between 0 and the smallest subnormal (even: 0).
  if (x <= 0x33000000u) return sign;
  // Subnormal: the value in units of 2^-24 is m >> (126 - e), 14 <= shift <= 24.
  const std::uint32_t e = x >> 23;
  const std::uint32_t m = (x & 0x7FFFFF) | 0x800000;
  const std::uint32_t shift = 126 - e;
  std::uint32_t h = m >> shift;
  const std::uint32_t rest = m & ((1u << shift) - 1);
  const std::uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (h & 1))) ++h;  // 0x400 is the smallest normal
  return sign | static_cast<std::uint16_t>(h);
}

float bf16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

std::uint16_t float_to_bf16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u)  // NaN: quiet, so truncation cannot make it inf
    return static_cast<std::uint16_t>((x >> 16) | 0x40);
  const std::uint32_t rounding = 0x7FFF + ((x >> 16) & 1);
  return static_cast<std::uint16_t>((x + rounding) >> 16);
}

}  // namespace atelier::ml
