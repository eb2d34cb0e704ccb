// Scaled JPEG decoding with libjpeg; see jpeg_reduced.h. libjpeg reports errors
// through error_exit, which longjmps here: the functions that call setjmp hold only
// trivially destructible locals, and every C++ object lives in the caller.
#include "media/jpeg_reduced.h"

#include <csetjmp>
#include <cstdio>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace atelier::media {
namespace {

// Headroom over the coefficient bound for libjpeg's other buffers (a few rows).
constexpr std::uint64_t kJpegWorkBytes = 16ull << 20;

struct ReadJob {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  std::jmp_buf jump;
  FILE* file = nullptr;
  bool created = false;
  bool cmyk = false;
  int factor = 1;  // the block mean after libjpeg's scaling
  char message[JMSG_LENGTH_MAX + 160] = {};
};

void on_error(j_common_ptr cinfo) {
  auto* job = reinterpret_cast<ReadJob*>(cinfo->client_data);
  char text[JMSG_LENGTH_MAX] = {};
  (*cinfo->err->format_message)(cinfo, text);
  std::snprintf(job->message, sizeof job->message, "%s", text);
  std::longjmp(job->jump, 1);
}

// Warnings (a truncated file, extra bytes) are not fatal, as in OpenCV.
void on_message(j_common_ptr, int) {}

bool begin(ReadJob* job, std::uint64_t max_pixels) {
  j_decompress_ptr cinfo = &job->cinfo;
  cinfo->err = jpeg_std_error(&job->err);
  job->err.error_exit = on_error;
  job->err.emit_message = on_message;
  if (setjmp(job->jump)) return false;
  jpeg_create_decompress(cinfo);
  job->created = true;
  cinfo->client_data = job;
  jpeg_stdio_src(cinfo, job->file);
  jpeg_read_header(cinfo, TRUE);
  const std::uint64_t w = cinfo->image_width, h = cinfo->image_height;
  if (w > std::uint64_t(kMaxImageSide) || h > std::uint64_t(kMaxImageSide) ||
      w * h * 4 > kMaxImagePixelBytes) {
    std::snprintf(job->message, sizeof job->message,
                  "the header declares %llux%llu pixels, over the limit of %d on a side; refused "
                  "before decoding",
                  static_cast<unsigned long long>(w), static_cast<unsigned long long>(h),
                  kMaxImageSide);
    return false;
  }
  if (jpeg_has_multiple_scans(cinfo)) {
    std::uint64_t coefficients = 0;
    for (int c = 0; c < cinfo->num_components; ++c) {
      const jpeg_component_info& ci = cinfo->comp_info[c];
      const std::uint64_t bw = (ci.width_in_blocks + ci.h_samp_factor - 1) / ci.h_samp_factor *
                               std::uint64_t(ci.h_samp_factor);
      const std::uint64_t bh = (ci.height_in_blocks + ci.v_samp_factor - 1) / ci.v_samp_factor *
                               std::uint64_t(ci.v_samp_factor);
      coefficients += bw * bh * sizeof(JBLOCK);
    }
    if (coefficients > kMaxJpegCoefficientBytes) {
      std::snprintf(job->message, sizeof job->message,
                    "a progressive JPEG of %llux%llu pixels needs %llu MiB of coefficients to "
                    "decode, over the bound of %llu MiB; refused before decoding (save it as "
                    "baseline JPEG or PNG)",
                    static_cast<unsigned long long>(w), static_cast<unsigned long long>(h),
                    static_cast<unsigned long long>(coefficients >> 20),
                    static_cast<unsigned long long>(kMaxJpegCoefficientBytes >> 20));
      return false;
    }
  }
  cinfo->mem->max_memory_to_use = static_cast<long>(kMaxJpegCoefficientBytes + kJpegWorkBytes);
  // libjpeg scales by 1/2, 1/4 or 1/8 in the DCT (and decodes faster); the block
  // mean does the rest. The smallest overall reduction wins, then the largest
  // DCT scale: a factor of 3 is a block mean of the full-size rows, not 2 x 2.
  const int needed = box_factor(w, h, max_pixels);
  int scale = 1, best = needed;
  for (int s = 2; s <= 8 && s <= needed; s *= 2) {
    const int total = s * box_factor((w + s - 1) / s, (h + s - 1) / s, max_pixels);
    if (total <= best) {
      best = total;
      scale = s;
    }
  }
  cinfo->scale_num = 1;
  cinfo->scale_denom = static_cast<unsigned>(scale);
  job->cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
  cinfo->out_color_space = job->cmyk ? JCS_CMYK : JCS_EXT_RGBA;
  jpeg_calc_output_dimensions(cinfo);
  job->factor = box_factor(cinfo->output_width, cinfo->output_height, max_pixels);
  return true;
}

bool read_rows(ReadJob* job, BoxReducer* reducer, JSAMPROW row) {
  j_decompress_ptr cinfo = &job->cinfo;
  if (setjmp(job->jump)) return false;
  jpeg_start_decompress(cinfo);
  const int w = static_cast<int>(cinfo->output_width);
  while (cinfo->output_scanline < cinfo->output_height) {
    const int y = static_cast<int>(cinfo->output_scanline);
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) break;
    if (job->cmyk) {
      // In place, as OpenCV does it (Adobe's inverted CMYK), alpha opaque.
      for (int x = 0; x < w; ++x) {
        JSAMPLE* p = row + 4 * x;
        const int k = p[3];
        for (int c = 0; c < 3; ++c) p[c] = static_cast<JSAMPLE>(k - (((255 - p[c]) * k) >> 8));
        p[3] = 255;
      }
    }
    reducer->add_row(y, row, w);
  }
  jpeg_abort_decompress(cinfo);  // nothing after the last row is needed
  return true;
}

}  // namespace

ReducedImage read_jpeg_reduced(const std::filesystem::path& path, std::uint64_t max_pixels) {
  const std::string name = path.string();
  auto job = std::make_unique<ReadJob>();
  struct Closer {
    ReadJob* j;
    ~Closer() {
      if (j->created) jpeg_destroy_decompress(&j->cinfo);
      if (j->file != nullptr) std::fclose(j->file);
    }
  } closer{job.get()};
  job->file = std::fopen(name.c_str(), "rb");
  if (job->file == nullptr) throw ImageError(name + ": cannot open: " + std::strerror(errno));
  if (!begin(job.get(), max_pixels)) throw ImageError(name + ": " + job->message);

  ReducedImage out;
  out.full_width = static_cast<int>(job->cinfo.image_width);
  out.full_height = static_cast<int>(job->cinfo.image_height);
  const int scaled_w = static_cast<int>(job->cinfo.output_width);
  const int scaled_h = static_cast<int>(job->cinfo.output_height);
  out.factor = static_cast<int>(job->cinfo.scale_denom) * job->factor;
  BoxReducer reducer(scaled_w, scaled_h, job->factor);
  std::vector<JSAMPLE> row(static_cast<size_t>(scaled_w) * 4);
  if (!read_rows(job.get(), &reducer, row.data()))
    throw ImageError(name + ": cannot decode JPEG: " + job->message);
  out.image = reducer.finish();
  return out;
}

}  // namespace atelier::media
