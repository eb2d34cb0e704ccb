// PNG encode (libpng's full write API, for text chunks) and decode (libpng's
// simplified png_image API). libpng reports errors by longjmp: the write path
// keeps every C++ object outside the function that calls setjmp, and its
// callbacks catch their own exceptions before calling png_error; the read path
// lets png_image do its setjmp internally.
#include "media/png_io.h"

#include <fcntl.h>
#include <png.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "common/utf8.h"

namespace atelier::media {
namespace fs = std::filesystem;

namespace {

// Fixed so that the same pixels always give the same bytes; 6 is zlib's
// default trade-off and the images are small.
constexpr int kCompressionLevel = 6;

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw ImageError(std::string(source) + ": " + what);
}

bool printable_latin1(unsigned char c) {
  return (c >= 32 && c <= 126) || c >= 161;
}

// UTF-8 in, Latin-1 out; false where the input is not UTF-8 or holds a
// character above U+00FF.
bool utf8_to_latin1(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size();) {
    char32_t cp = 0;
    const size_t n = atelier::utf8_sequence(in, i, cp);
    if (n == 0 || cp > 0xFF) return false;
    out.push_back(static_cast<char>(cp));
    i += n;
  }
  return true;
}

// libpng's own keyword check rewrites what it dislikes (and only warns), so
// refuse up front anything it would change.
std::string keyword_problem(std::string_view latin1) {
  if (latin1.empty() || latin1.size() > 79) return "must be 1 to 79 characters";
  for (size_t i = 0; i < latin1.size(); ++i) {
    const auto c = static_cast<unsigned char>(latin1[i]);
    if (!printable_latin1(c)) return "holds a character that is not printable Latin-1";
    if (c == ' ' && (i == 0 || i + 1 == latin1.size() || latin1[i + 1] == ' '))
      return "has a leading, trailing or doubled space";
  }
  return {};
}

struct EncodeJob {
  png_uint_32 width = 0, height = 0;
  int color_type = 0;
  png_bytepp rows = nullptr;
  png_textp texts = nullptr;
  int num_texts = 0;
  std::vector<std::uint8_t>* out = nullptr;
  char message[160] = {};
};

void on_error(png_structp png, png_const_charp msg) {
  auto* job = static_cast<EncodeJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof job->message, "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

void on_write(png_structp png, png_bytep data, size_t n) {
  auto* job = static_cast<EncodeJob*>(png_get_io_ptr(png));
  bool ok = true;
  try {
    job->out->insert(job->out->end(), data, data + n);
  } catch (...) {
    ok = false;
  }
  // Outside the handler: png_error longjmps, which must not skip its cleanup.
  if (!ok) png_error(png, "out of memory");
}

// Without a flush callback libpng would fflush() the io pointer as a FILE*.
void on_flush(png_structp) {}

// Only trivially destructible locals here: png_error longjmps back to the
// setjmp below, skipping destructors. `png` and `info` are not modified between
// setjmp and a possible longjmp, so they need not be volatile.
bool run_encode(EncodeJob* job) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
  if (png == nullptr) {
    std::snprintf(job->message, sizeof job->message, "cannot create a libpng writer");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(job->message, sizeof job->message, "cannot create a libpng info struct");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, job, on_write, on_flush);
  png_set_compression_level(png, kCompressionLevel);
  png_set_IHDR(png, info, job->width, job->height, 8, job->color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (job->num_texts > 0) png_set_text(png, info, job->texts, job->num_texts);
  png_write_info(png, info);  // writes IHDR and the text chunks, so they precede IDAT
  png_write_image(png, job->rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

void check_shape(const Image& image, std::string_view source) {
  if (image.channels != 1 && image.channels != 3 && image.channels != 4)
    fail(source, "channels must be 1, 3 or 4, not " + std::to_string(image.channels));
  if (image.width < 1 || image.height < 1 || image.width > kMaxImageSide ||
      image.height > kMaxImageSide)
    fail(source, "size " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                     " is outside 1.." + std::to_string(kMaxImageSide));
  const std::uint64_t bytes =
      std::uint64_t(image.width) * std::uint64_t(image.height) * std::uint64_t(image.channels);
  if (bytes > kMaxImagePixelBytes)
    fail(source, std::to_string(bytes) + " bytes of pixels exceed the limit of " +
                     std::to_string(kMaxImagePixelBytes));
  if (image.pixels.size() != bytes)
    fail(source, "holds " + std::to_string(image.pixels.size()) + " pixel bytes, expected " +
                     std::to_string(bytes));
}

std::vector<std::uint8_t> encode_named(const Image& image, const std::vector<PngText>& texts,
                                       std::string_view source) {
  check_shape(image, source);

  // Converted strings live here, outside run_encode, for png_set_text to copy.
  std::vector<std::string> keys(texts.size()), values(texts.size());
  std::vector<png_text> entries(texts.size());
  static char empty[] = "";
  for (size_t i = 0; i < texts.size(); ++i) {
    const PngText& t = texts[i];
    if (!utf8_to_latin1(t.keyword, keys[i]))
      fail(source, "text keyword '" + t.keyword + "' is not representable in Latin-1");
    if (std::string p = keyword_problem(keys[i]); !p.empty())
      fail(source, "text keyword '" + t.keyword + "' " + p);
    // libpng takes C strings, so a NUL would silently cut the text short.
    if (t.text.find('\0') != std::string::npos)
      fail(source, "text '" + t.keyword + "' contains a NUL byte");
    if (t.international) {
      if (!valid_utf8(t.text)) fail(source, "text '" + t.keyword + "' is not valid UTF-8");
      values[i] = t.text;
    } else if (!utf8_to_latin1(t.text, values[i])) {
      fail(source, "text '" + t.keyword +
                       "' is not representable in Latin-1 (mark it international for iTXt)");
    }
    png_text& e = entries[i];
    e.compression = t.international ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
    e.key = keys[i].data();
    e.text = values[i].data();
    e.text_length = values[i].size();
    e.itxt_length = 0;
    e.lang = t.international ? empty : nullptr;
    e.lang_key = t.international ? empty : nullptr;
  }

  const size_t stride = size_t(image.width) * size_t(image.channels);
  std::vector<png_bytep> rows(size_t(image.height));
  // libpng's row pointers are non-const but the write path does not modify rows.
  auto* base = const_cast<png_bytep>(image.pixels.data());
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = base + y * stride;

  std::vector<std::uint8_t> out;
  out.reserve(image.pixels.size() / 2 + 1024);
  EncodeJob job;
  job.width = png_uint_32(image.width);
  job.height = png_uint_32(image.height);
  job.color_type = image.channels == 1   ? PNG_COLOR_TYPE_GRAY
                   : image.channels == 3 ? PNG_COLOR_TYPE_RGB
                                         : PNG_COLOR_TYPE_RGB_ALPHA;
  job.rows = rows.data();
  job.texts = entries.data();
  job.num_texts = static_cast<int>(entries.size());
  job.out = &out;
  if (!run_encode(&job)) fail(source, std::string("libpng: ") + job.message);
  return out;
}

std::vector<std::uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), "cannot open: " + std::string(std::strerror(errno)));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(path.string(), "cannot determine the file size");
  // A PNG at the pixel limit compresses to well under this; anything larger
  // is not an image we would decode.
  if (std::uint64_t(size) > 2 * kMaxImagePixelBytes) fail(path.string(), "file is too large");
  in.seekg(0);
  std::vector<std::uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (in.gcount() != size) fail(path.string(), "short read");
  return bytes;
}

void write_fully(int fd, const std::uint8_t* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "write");
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void fsync_folder(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open folder");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::system_error(err, std::generic_category(), "fsync folder");
}

}  // namespace

std::vector<std::uint8_t> encode_png(const Image& image, const std::vector<PngText>& texts) {
  return encode_named(image, texts, "encode_png");
}

void write_png(const fs::path& path, const Image& image, const std::vector<PngText>& texts) {
  const std::vector<std::uint8_t> bytes = encode_named(image, texts, path.string());
  static std::atomic<std::uint64_t> counter{0};
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // Same folder, so the rename cannot cross file systems.
  const fs::path tmp = dir / ("." + path.filename().string() + "." + std::to_string(::getpid()) +
                              "." + std::to_string(counter++) + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(path.string(), "cannot create " + tmp.string() + ": " + std::strerror(errno));
  bool open = true;
  try {
    write_fully(fd, bytes.data(), bytes.size());
    if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category(), "fsync");
    open = false;  // close() releases the descriptor even when it reports an error
    if (::close(fd) != 0) throw std::system_error(errno, std::generic_category(), "close");
  } catch (const std::system_error& e) {
    if (open) ::close(fd);
    std::error_code ignored;
    fs::remove(tmp, ignored);
    fail(path.string(), std::string(e.what()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    fail(path.string(), "cannot rename the temporary file: " + ec.message());
  }
  try {
    fsync_folder(dir);
  } catch (const std::system_error& e) {
    fail(path.string(), std::string(e.what()));
  }
}

Image decode_png(std::span<const std::uint8_t> bytes, int want_channels,
                 std::string_view source_name) {
  if (want_channels != 0 && want_channels != 3 && want_channels != 4)
    fail(source_name, "want_channels must be 0, 3 or 4, not " + std::to_string(want_channels));
  if (bytes.empty()) fail(source_name, "empty file");

  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  // png_image frees itself when a call fails or finish_read completes; this
  // covers the early returns in between. png_image_free is idempotent.
  struct Guard {
    png_image* p;
    ~Guard() { png_image_free(p); }
  } guard{&img};

  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()))
    fail(source_name, std::string("not a readable PNG: ") + img.message);

  // Checked on the header's numbers, before any pixel memory exists.
  if (img.width > png_uint_32(kMaxImageSide) || img.height > png_uint_32(kMaxImageSide))
    fail(source_name, "size " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                          " exceeds the limit of " + std::to_string(kMaxImageSide) + " per side");
  const bool has_alpha = (img.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  const bool has_color = (img.format & PNG_FORMAT_FLAG_COLOR) != 0;
  const int stored = has_alpha ? 4 : has_color ? 3 : 1;
  const int out_channels = want_channels == 0 ? stored : want_channels;
  // Alpha is dropped after decoding rather than composited by libpng, so the
  // decode itself runs with 4 channels then.
  const int decode_channels = (out_channels == 3 && has_alpha) ? 4 : out_channels;
  const std::uint64_t bytes_needed =
      std::uint64_t(img.width) * std::uint64_t(img.height) * std::uint64_t(decode_channels);
  if (bytes_needed > kMaxImagePixelBytes)
    fail(source_name, "decoding needs " + std::to_string(bytes_needed) +
                          " bytes of pixels, over the limit of " +
                          std::to_string(kMaxImagePixelBytes));

  img.format = decode_channels == 1   ? PNG_FORMAT_GRAY
               : decode_channels == 3 ? PNG_FORMAT_RGB
                                      : PNG_FORMAT_RGBA;
  Image out;
  out.width = static_cast<int>(img.width);
  out.height = static_cast<int>(img.height);
  out.channels = decode_channels;
  out.pixels.assign(static_cast<size_t>(bytes_needed), 0);
  if (!png_image_finish_read(&img, nullptr, out.pixels.data(), 0, nullptr))
    fail(source_name, std::string("cannot decode: ") + img.message);

  if (decode_channels != out_channels) {
    const size_t n = size_t(out.width) * size_t(out.height);
    for (size_t i = 0; i < n; ++i) std::memmove(&out.pixels[i * 3], &out.pixels[i * 4], 3);
    out.pixels.resize(n * 3);
    out.pixels.shrink_to_fit();
    out.channels = 3;
  }
  return out;
}

Image read_png(const fs::path& path, int want_channels) {
  const std::vector<std::uint8_t> bytes = read_all(path);
  return decode_png(bytes, want_channels, path.string());
}

}  // namespace atelier::media
