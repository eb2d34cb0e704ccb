// Row-streamed PNG decoding with libpng's full read API; see png_reduced.h.
// libpng reports errors by longjmp, so the two functions that call setjmp hold
// only trivially destructible locals, and every C++ object (the reducer, the row
// buffer, the open file) lives in the caller.
#include "media/png_reduced.h"

#include <png.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace atelier::media {
namespace {

struct ReadJob {
  FILE* file = nullptr;
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_uint_32 width = 0, height = 0;
  int interlace = PNG_INTERLACE_NONE;
  size_t rowbytes = 0;
  char message[200] = {};
};

void on_error(png_structp png, png_const_charp msg) {
  auto* job = static_cast<ReadJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof job->message, "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

// Reads the header and sets the transformations that give 8-bit RGBA as the
// simplified API does for PNG_FORMAT_RGBA.
bool begin(ReadJob* job) {
  job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
  if (job->png == nullptr) {
    std::snprintf(job->message, sizeof job->message, "cannot create a libpng reader");
    return false;
  }
  job->info = png_create_info_struct(job->png);
  if (job->info == nullptr) {
    std::snprintf(job->message, sizeof job->message, "cannot create a libpng info struct");
    return false;
  }
  if (setjmp(png_jmpbuf(job->png))) return false;
  png_structp png = job->png;
  png_infop info = job->info;
  png_init_io(png, job->file);
  png_read_info(png, info);
  job->width = png_get_image_width(png, info);
  job->height = png_get_image_height(png, info);
  job->interlace = png_get_interlace_type(png, info);
  if (job->width > png_uint_32(kMaxImageSide) || job->height > png_uint_32(kMaxImageSide)) {
    std::snprintf(job->message, sizeof job->message, "size %ux%u exceeds the limit of %d per side",
                  unsigned(job->width), unsigned(job->height), kMaxImageSide);
    return false;
  }
  const std::uint64_t rgba = std::uint64_t(job->width) * job->height * 4;
  if (rgba > kMaxImagePixelBytes) {
    std::snprintf(job->message, sizeof job->message,
                  "decoding needs %llu bytes of pixels, over the limit of %llu",
                  static_cast<unsigned long long>(rgba),
                  static_cast<unsigned long long>(kMaxImagePixelBytes));
    return false;
  }
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  const bool alpha = (color & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS);
  png_set_expand(png);
  if ((color & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
  // As the simplified API: a file without gAMA is sRGB, or linear when 16-bit;
  // the output is sRGB. The first call sets the file's default, the second the
  // output's.
  png_set_alpha_mode(png, PNG_ALPHA_PNG, depth == 16 ? PNG_GAMMA_LINEAR : PNG_DEFAULT_sRGB);
  png_set_alpha_mode(png, PNG_ALPHA_PNG, PNG_DEFAULT_sRGB);
  if (depth == 16) png_set_scale_16(png);
  if (!alpha) png_set_add_alpha(png, 0xFF, PNG_FILLER_AFTER);
  png_read_update_info(png, info);
  job->rowbytes = png_get_rowbytes(png, info);
  if (job->rowbytes != size_t(job->width) * 4) {
    std::snprintf(job->message, sizeof job->message, "unexpected row layout (%zu bytes)",
                  job->rowbytes);
    return false;
  }
  return true;
}

// Every row of every pass into the reducer. Without png_set_interlace_handling an
// interlaced file yields each pass's own rows, skipping empty passes as libpng does.
bool read_rows(ReadJob* job, BoxReducer* reducer, png_bytep row) {
  if (setjmp(png_jmpbuf(job->png))) return false;
  const int w = static_cast<int>(job->width), h = static_cast<int>(job->height);
  if (job->interlace == PNG_INTERLACE_NONE) {
    for (int y = 0; y < h; ++y) {
      png_read_row(job->png, row, nullptr);
      reducer->add_row(y, row, w);
    }
  } else {
    for (int pass = 0; pass < 7; ++pass) {
      const int cols = static_cast<int>(PNG_PASS_COLS(job->width, pass));
      const int rows = static_cast<int>(PNG_PASS_ROWS(job->height, pass));
      if (cols == 0 || rows == 0) continue;
      for (int j = 0; j < rows; ++j) {
        png_read_row(job->png, row, nullptr);
        reducer->add_row(static_cast<int>(PNG_ROW_FROM_PASS_ROW(j, pass)), row, cols,
                         static_cast<int>(PNG_PASS_START_COL(pass)), 1 << PNG_PASS_COL_SHIFT(pass));
      }
    }
  }
  png_read_end(job->png, nullptr);
  return true;
}

}  // namespace

ReducedImage read_png_reduced(const std::filesystem::path& path, std::uint64_t max_pixels) {
  const std::string name = path.string();
  ReadJob job;
  struct Closer {
    ReadJob* j;
    ~Closer() {
      if (j->png != nullptr) png_destroy_read_struct(&j->png, &j->info, nullptr);
      if (j->file != nullptr) std::fclose(j->file);
    }
  } closer{&job};
  job.file = std::fopen(name.c_str(), "rb");
  if (job.file == nullptr) throw ImageError(name + ": cannot open: " + std::strerror(errno));
  if (!begin(&job)) throw ImageError(name + ": not a readable PNG: " + job.message);

  ReducedImage out;
  out.full_width = static_cast<int>(job.width);
  out.full_height = static_cast<int>(job.height);
  out.factor = box_factor(job.width, job.height, max_pixels);
  BoxReducer reducer(out.full_width, out.full_height, out.factor,
                     job.interlace == PNG_INTERLACE_NONE ? BoxReducer::Order::rows_in_order
                                                         : BoxReducer::Order::any_order);
  std::vector<png_byte> row(job.rowbytes);
  if (!read_rows(&job, &reducer, row.data()))
    throw ImageError(name + ": cannot decode: " + job.message);
  out.image = reducer.finish();
  return out;
}

}  // namespace atelier::media
