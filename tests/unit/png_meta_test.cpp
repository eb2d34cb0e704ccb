// PNG encode/decode through libpng and the strict metadata reader. Every PNG
// here is built in the test: by encode_png, by libpng's simplified writer (for
// 16-bit and palette files our encoder does not write), or chunk by chunk with
// real CRCs, so each hostile file breaks exactly one rule. Also checks that
// libpng itself sees our text chunks before IDAT.
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "media/png_io.h"
#include "media/png_meta.h"

using namespace atelier::media;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

Image pattern(int w, int h, int channels) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  img.pixels.resize(size_t(w) * h * channels);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = std::uint8_t(i * 37 + i / 7);
  return img;
}

void put32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(std::uint8_t(v >> s));
}

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A chunk with its real CRC unless `crc` is given.
Bytes chunk(std::string_view type, const Bytes& data, std::optional<std::uint32_t> crc = {}) {
  Bytes out;
  put32(out, std::uint32_t(data.size()));
  out.insert(out.end(), type.begin(), type.end());
  out.insert(out.end(), data.begin(), data.end());
  uLong c = crc32(0L, Z_NULL, 0);
  c = crc32(c, reinterpret_cast<const Bytef*>(type.data()), 4);
  if (!data.empty()) c = crc32(c, data.data(), uInt(data.size()));
  put32(out, crc.value_or(std::uint32_t(c)));
  return out;
}

const Bytes kSig = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

Bytes ihdr_data(std::uint32_t w, std::uint32_t h, std::uint8_t depth = 8, std::uint8_t color = 0) {
  Bytes d;
  put32(d, w);
  put32(d, h);
  d.insert(d.end(), {depth, color, 0, 0, 0});
  return d;
}

Bytes zlib(const Bytes& raw) {
  uLongf n = compressBound(uLong(raw.size()));
  Bytes out(n);
  EXPECT_EQ(compress2(out.data(), &n, raw.data(), uLong(raw.size()), 9), Z_OK);
  out.resize(n);
  return out;
}

// One 8-bit gray pixel: filter byte 0, sample 0x80.
Bytes idat() {
  return chunk("IDAT", zlib({0, 0x80}));
}
Bytes iend() {
  return chunk("IEND", {});
}
Bytes ihdr() {
  return chunk("IHDR", ihdr_data(1, 1));
}

// A valid 1x1 gray PNG with `middle` between IHDR and IDAT.
Bytes png_with(const Bytes& middle) {
  return cat({kSig, ihdr(), middle, idat(), iend()});
}

Bytes text_data(std::string_view keyword, std::string_view text) {
  Bytes d = bytes_of(keyword);
  d.push_back(0);
  d.insert(d.end(), text.begin(), text.end());
  return d;
}

Bytes ztxt_data(std::string_view keyword, const Bytes& compressed, std::uint8_t method = 0) {
  Bytes d = bytes_of(keyword);
  d.push_back(0);
  d.push_back(method);
  d.insert(d.end(), compressed.begin(), compressed.end());
  return d;
}

Bytes itxt_data(std::string_view keyword, std::uint8_t flag, std::string_view lang,
                std::string_view translated, const Bytes& text, std::uint8_t method = 0) {
  Bytes d = bytes_of(keyword);
  d.insert(d.end(), {0, flag, method});
  d.insert(d.end(), lang.begin(), lang.end());
  d.push_back(0);
  d.insert(d.end(), translated.begin(), translated.end());
  d.push_back(0);
  d.insert(d.end(), text.begin(), text.end());
  return d;
}

// `raw_size` zero bytes deflated, streamed so the test never holds them.
Bytes zeros_deflated(size_t raw_size) {
  z_stream zs{};
  EXPECT_EQ(deflateInit(&zs, 9), Z_OK);
  const Bytes zeros(1 << 20, 0);
  Bytes out, buf(1 << 16);
  size_t left = raw_size;
  int flush = Z_NO_FLUSH;
  do {
    const size_t n = std::min(left, zeros.size());
    left -= n;
    flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    zs.next_in = const_cast<Bytef*>(zeros.data());
    zs.avail_in = uInt(n);
    do {
      zs.next_out = buf.data();
      zs.avail_out = uInt(buf.size());
      deflate(&zs, flush);
      out.insert(out.end(), buf.data(), buf.data() + (buf.size() - zs.avail_out));
    } while (zs.avail_out == 0);
  } while (flush != Z_FINISH);
  deflateEnd(&zs);
  return out;
}

std::string meta_error(const Bytes& b, std::string_view name = "x.png") {
  try {
    read_png_metadata(b, name);
  } catch (const ImageError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string decode_error(const Bytes& b, int want = 0) {
  try {
    decode_png(b, want, "x.png");
  } catch (const ImageError& e) {
    return e.what();
  }
  return "(no error)";
}

// Chunk types in file order, for checking where the text chunks landed.
std::vector<std::string> chunk_types(const Bytes& png) {
  std::vector<std::string> out;
  for (size_t pos = 8; pos + 12 <= png.size();) {
    const std::uint32_t len =
        (std::uint32_t(png[pos]) << 24) | (png[pos + 1] << 16) | (png[pos + 2] << 8) | png[pos + 3];
    out.emplace_back(reinterpret_cast<const char*>(&png[pos + 4]), 4);
    pos += 12 + len;
  }
  return out;
}

// --- libpng's own view of the text chunks (full read API, header only) ---

struct MemReader {
  const Bytes* bytes;
  size_t pos;
};

void mem_read(png_structp png, png_bytep out, size_t n) {
  auto* r = static_cast<MemReader*>(png_get_io_ptr(png));
  if (r->bytes->size() - r->pos < n) png_error(png, "read past end");
  std::memcpy(out, r->bytes->data() + r->pos, n);
  r->pos += n;
}

void collect_texts(png_structp png, png_infop info, std::vector<PngText>* out) {
  png_textp texts = nullptr;
  const int n = png_get_text(png, info, &texts, nullptr);
  for (int i = 0; i < n; ++i) {
    const bool intl = texts[i].compression == PNG_ITXT_COMPRESSION_NONE ||
                      texts[i].compression == PNG_ITXT_COMPRESSION_zTXt;
    const size_t len = intl ? texts[i].itxt_length : texts[i].text_length;
    out->push_back({texts[i].key, std::string(texts[i].text, len), intl});
  }
}

// Reads up to the first IDAT with png_read_info, so a text chunk shows up
// here only if it precedes the image data. Only trivially destructible locals:
// png_error longjmps back to setjmp.
bool libpng_header_texts(const Bytes* bytes, std::vector<PngText>* out) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return false;
  }
  MemReader reader{bytes, 0};
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &reader, mem_read);
  png_read_info(png, info);
  collect_texts(png, info, out);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "png-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

const std::string kChinese = "一只猫坐在窗台上，阳光明媚。负面：模糊";

}  // namespace

// --- encode / decode ---

TEST(PngIo, RoundTripsRgbRgbaAndGray) {
  for (const int channels : {3, 4, 1}) {
    SCOPED_TRACE(channels);
    const Image img = pattern(7, 5, channels);
    const Bytes png = encode_png(img);
    const Image back = decode_png(png, 0, "mem.png");
    EXPECT_EQ(back.width, 7);
    EXPECT_EQ(back.height, 5);
    EXPECT_EQ(back.channels, channels);
    EXPECT_EQ(back.pixels, img.pixels);
  }
}

TEST(PngIo, EncodingIsDeterministic) {
  const Image img = pattern(16, 9, 4);
  const std::vector<PngText> texts = {{"parameters", "a cat\nSteps: 20", false},
                                      {"Comment", kChinese, true}};
  const Bytes a = encode_png(img, texts);
  const Bytes b = encode_png(img, texts);
  EXPECT_EQ(a, b);
  EXPECT_EQ(encode_png(img), encode_png(img));
  // No chunk that varies with time or environment.
  for (const std::string& t : chunk_types(a)) EXPECT_NE(t, "tIME");
}

TEST(PngIo, ConvertsChannelsOnRequest) {
  const Image gray = pattern(3, 2, 1);
  const Image rgb = decode_png(encode_png(gray), 3, "g.png");
  ASSERT_EQ(rgb.channels, 3);
  for (size_t i = 0; i < gray.pixels.size(); ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(rgb.pixels[i * 3 + c], gray.pixels[i]);

  const Image rgb_src = pattern(3, 2, 3);
  const Image rgba = decode_png(encode_png(rgb_src), 4, "c.png");
  ASSERT_EQ(rgba.channels, 4);
  for (size_t i = 0; i < 6; ++i) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(rgba.pixels[i * 4 + c], rgb_src.pixels[i * 3 + c]);
    EXPECT_EQ(rgba.pixels[i * 4 + 3], 255);
  }

  // Alpha is dropped, not composited: colour samples come back unchanged.
  const Image rgba_src = pattern(3, 2, 4);
  const Image dropped = decode_png(encode_png(rgba_src), 3, "a.png");
  ASSERT_EQ(dropped.channels, 3);
  ASSERT_EQ(dropped.pixels.size(), 18u);
  for (size_t i = 0; i < 6; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(dropped.pixels[i * 3 + c], rgba_src.pixels[i * 4 + c]);
}

TEST(PngIo, Decodes16BitAndPaletteFiles) {
  // 16-bit linear gray (libpng writes gAMA 1.0): black and white stay exact.
  png_image w;
  std::memset(&w, 0, sizeof w);
  w.version = PNG_IMAGE_VERSION;
  w.width = 2;
  w.height = 1;
  w.format = PNG_FORMAT_LINEAR_Y;
  const std::uint16_t samples[2] = {0, 65535};
  size_t size = 0;
  ASSERT_TRUE(png_image_write_to_memory(&w, nullptr, &size, 0, samples, 0, nullptr));
  Bytes png16(size);
  ASSERT_TRUE(png_image_write_to_memory(&w, png16.data(), &size, 0, samples, 0, nullptr));
  png16.resize(size);
  const Image g = decode_png(png16, 0, "g16.png");
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, (Bytes{0, 255}));

  // A palette file comes back as RGB with the palette's colours.
  std::memset(&w, 0, sizeof w);
  w.version = PNG_IMAGE_VERSION;
  w.width = 3;
  w.height = 1;
  w.format = PNG_FORMAT_RGB_COLORMAP;
  w.colormap_entries = 3;
  const std::uint8_t colormap[9] = {255, 0, 0, 0, 255, 0, 10, 20, 30};
  const std::uint8_t indices[3] = {2, 0, 1};
  size = 0;
  ASSERT_TRUE(png_image_write_to_memory(&w, nullptr, &size, 0, indices, 0, colormap));
  Bytes pal(size);
  ASSERT_TRUE(png_image_write_to_memory(&w, pal.data(), &size, 0, indices, 0, colormap));
  pal.resize(size);
  EXPECT_EQ(read_png_metadata(pal, "pal.png").width, 3);
  const Image rgb = decode_png(pal, 0, "pal.png");
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels, (Bytes{10, 20, 30, 255, 0, 0, 0, 255, 0}));
}

TEST(PngIo, TextChunksPrecedeIdatAndLibpngReadsThem) {
  const std::vector<PngText> texts = {{"parameters", "a cat\nSteps: 20, Seed: 1", false},
                                      {"Title", "café", false},
                                      {"Description", kChinese, true}};
  const Bytes png = encode_png(pattern(4, 4, 3), texts);

  const std::vector<std::string> types = chunk_types(png);
  const auto idat = std::find(types.begin(), types.end(), "IDAT") - types.begin();
  EXPECT_EQ(std::count(types.begin(), types.begin() + idat, "tEXt"), 2);
  EXPECT_EQ(std::count(types.begin(), types.begin() + idat, "iTXt"), 1);

  std::vector<PngText> seen;
  ASSERT_TRUE(libpng_header_texts(&png, &seen));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].keyword, "parameters");
  EXPECT_EQ(seen[0].text, texts[0].text);
  EXPECT_EQ(seen[1].text, "caf\xE9");  // Latin-1 in the file
  EXPECT_TRUE(seen[2].international);
  EXPECT_EQ(seen[2].text, kChinese);

  // And libpng still decodes the image.
  EXPECT_EQ(decode_png(png, 0, "t.png").pixels, pattern(4, 4, 3).pixels);
}

TEST(PngIo, WritesAtomicallyAndReadsBack) {
  TempDir dir;
  const fs::path file = dir.path() / "out.png";
  const Image img = pattern(5, 3, 4);
  write_png(file, img, {{"parameters", "x", false}});
  write_png(file, img, {{"parameters", "y", false}});  // replaces the first
  EXPECT_EQ(read_png(file).pixels, img.pixels);
  EXPECT_EQ(find_text(read_png_metadata_file(file), "parameters"), "y");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);  // no temporary file left behind

  try {
    read_png(dir.path() / "missing.png");
    FAIL() << "no error";
  } catch (const ImageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir.path() / "missing.png").string(), 0), 0u);
  }
  EXPECT_THROW(write_png(dir.path() / "no-such-dir" / "a.png", img), ImageError);
}

TEST(PngIo, EncodeRefusesInvalidInput) {
  const auto error = [](const Image& img, const std::vector<PngText>& t = {}) -> std::string {
    try {
      encode_png(img, t);
    } catch (const ImageError& e) {
      return e.what();
    }
    return "(no error)";
  };
  Image short_pixels = pattern(4, 4, 3);
  short_pixels.pixels.pop_back();
  EXPECT_NE(error(short_pixels).find("expected 48"), std::string::npos);
  Image two = pattern(2, 2, 2);
  EXPECT_NE(error(two).find("channels"), std::string::npos);
  Image empty;
  EXPECT_NE(error(empty).find("size 0x0"), std::string::npos);

  const Image ok = pattern(1, 1, 1);
  for (const std::string& bad :
       {std::string(), std::string(80, 'k'), std::string(" lead"), std::string("trail "),
        std::string("two  spaces"), std::string("tab\tkey"), std::string("cjk一")}) {
    SCOPED_TRACE(bad);
    const std::string e = error(ok, {{bad, "v", false}});
    EXPECT_EQ(e.rfind("encode_png: text keyword", 0), 0u) << e;
  }
  EXPECT_NE(error(ok, {{"k", std::string("a\0b", 3), false}}).find("NUL"), std::string::npos);
  EXPECT_NE(error(ok, {{"k", kChinese, false}}).find("Latin-1"), std::string::npos);
  EXPECT_NE(error(ok, {{"k", "\xC3\x28", true}}).find("UTF-8"), std::string::npos);
  EXPECT_EQ(error(ok, {{"k", "café", false}, {"key two", kChinese, true}}), "(no error)");
}

TEST(PngIo, DecodeRefusesHugeImagesBeforeAllocating) {
  // Valid headers (and CRCs) for images whose pixels would need 40 GB and
  // 1 GiB; the pixel data is one tiny IDAT. The metadata reader accepts them.
  const Bytes huge = cat({kSig, chunk("IHDR", ihdr_data(100000, 100000, 8, 2)), idat(), iend()});
  EXPECT_EQ(read_png_metadata(huge, "h.png").width, 100000);
  EXPECT_NE(decode_error(huge).find("exceeds the limit of 16384 per side"), std::string::npos)
      << decode_error(huge);
  const Bytes big = cat({kSig, chunk("IHDR", ihdr_data(16384, 16384, 8, 6)), idat(), iend()});
  EXPECT_NE(decode_error(big).find("over the limit of 268435456"), std::string::npos)
      << decode_error(big);
  // As RGB the 16384x16384 RGBA file would still need 1 GiB while decoding.
  EXPECT_NE(decode_error(big, 3).find("over the limit"), std::string::npos);
}

TEST(PngIo, DecodeRefusesGarbageNamingTheSource) {
  EXPECT_EQ(decode_error({}).rfind("x.png: ", 0), 0u);
  EXPECT_EQ(decode_error(bytes_of("GIF89a not a png at all")).rfind("x.png: ", 0), 0u);
  Bytes cut = encode_png(pattern(8, 8, 3));
  cut.resize(cut.size() / 2);
  EXPECT_EQ(decode_error(cut).rfind("x.png: ", 0), 0u);
  EXPECT_EQ(decode_error(encode_png(pattern(2, 2, 3)), 2).rfind("x.png: want_channels", 0), 0u);
}

// --- metadata reader: accepted files ---

TEST(PngMeta, ReadsAllThreeTextChunkKinds) {
  const Bytes png = png_with(cat({
      chunk("tEXt", text_data("Author", "Ren\xE9")),  // Latin-1 é
      chunk("zTXt", ztxt_data("Comment", zlib(bytes_of("compressed \xB5")))),
      chunk("iTXt", itxt_data("parameters", 0, "zh-CN", "参数", bytes_of(kChinese))),
      chunk("iTXt", itxt_data("Description", 1, "", "", zlib(bytes_of(kChinese)))),
      chunk("tEXt", text_data("Empty", "")),
  }));
  const PngInfo info = read_png_metadata(png, "m.png");
  EXPECT_EQ(info.width, 1);
  EXPECT_EQ(info.height, 1);
  ASSERT_EQ(info.texts.size(), 5u);
  EXPECT_EQ(info.texts[0].text, "René");
  EXPECT_FALSE(info.texts[0].international);
  EXPECT_EQ(info.texts[1].text, "compressed µ");
  EXPECT_EQ(info.texts[2].keyword, "parameters");
  EXPECT_EQ(info.texts[2].text, kChinese);
  EXPECT_TRUE(info.texts[2].international);
  EXPECT_EQ(info.texts[3].text, kChinese);
  EXPECT_EQ(info.texts[4].text, "");
}

TEST(PngMeta, ChineseItxtRoundTripsThroughEncoder) {
  const Bytes png = encode_png(pattern(3, 3, 3), {{"parameters", kChinese, true}});
  const PngInfo info = read_png_metadata(png, "c.png");
  ASSERT_EQ(info.texts.size(), 1u);
  EXPECT_TRUE(info.texts[0].international);
  EXPECT_EQ(find_text(info, "parameters"), kChinese);
}

TEST(PngMeta, FindTextReturnsTheFirstMatch) {
  const Bytes png = encode_png(
      pattern(1, 1, 1),
      {{"a", "1", false}, {"parameters", "first", false}, {"parameters", "second", true}});
  const PngInfo info = read_png_metadata(png, "f.png");
  EXPECT_EQ(find_text(info, "parameters"), "first");
  EXPECT_EQ(find_text(info, "missing"), std::nullopt);
  EXPECT_EQ(find_text(info, "A"), std::nullopt);  // keywords are case-sensitive
}

TEST(PngMeta, AcceptsTextAfterIdatAndUnknownAncillaryChunks) {
  const Bytes png = cat({kSig, ihdr(), chunk("prVt", bytes_of("whatever")), idat(),
                         chunk("tEXt", text_data("late", "after IDAT")), iend()});
  const PngInfo info = read_png_metadata(png, "l.png");
  EXPECT_EQ(find_text(info, "late"), "after IDAT");
}

// --- metadata reader: hostile files (each breaks one rule) ---

TEST(PngHostile, BadSignature) {
  Bytes png = png_with({});
  png[1] = 'Q';
  EXPECT_EQ(meta_error(png), "x.png: not a PNG file (bad signature)");
  EXPECT_EQ(meta_error({}), "x.png: not a PNG file (bad signature)");
  EXPECT_EQ(meta_error(kSig), "x.png: no chunks after the signature");
}

TEST(PngHostile, TruncatedChunks) {
  Bytes png = png_with({});
  png.resize(png.size() - 5);  // inside IEND's header
  EXPECT_NE(meta_error(png).find("truncated chunk at byte"), std::string::npos) << meta_error(png);
  Bytes cut = png_with(chunk("tEXt", text_data("k", "some text")));
  cut.resize(33 + 14);  // the tEXt chunk starts at byte 33
  EXPECT_EQ(meta_error(cut),
            "x.png: chunk 'tEXt' at byte 33: truncated: length 11 but 2 bytes remain");
}

TEST(PngHostile, CrcMismatch) {
  const Bytes png = png_with(chunk("tEXt", text_data("k", "v"), 0xDEADBEEF));
  EXPECT_EQ(meta_error(png, "out.png"), "out.png: chunk 'tEXt' at byte 33: CRC mismatch");
  Bytes flipped = png_with(chunk("tEXt", text_data("k", "v")));
  flipped[33 + 8] ^= 1;  // a data byte
  EXPECT_EQ(meta_error(flipped), "x.png: chunk 'tEXt' at byte 33: CRC mismatch");
}

TEST(PngHostile, LengthOver2To31) {
  Bytes png = cat({kSig, ihdr()});
  put32(png, 0x80000000u);
  png.insert(png.end(), {'t', 'E', 'X', 't', 0, 0, 0, 0});
  EXPECT_EQ(meta_error(png), "x.png: chunk 'tEXt' at byte 33: length 2147483648 exceeds 2^31-1");
}

TEST(PngHostile, InvalidChunkType) {
  const Bytes png = png_with(chunk("tE1t", {}));
  EXPECT_EQ(meta_error(png), "x.png: chunk 'tE\\x31t' at byte 33: invalid chunk type");
}

TEST(PngHostile, IhdrMissingOrWrongSize) {
  EXPECT_EQ(meta_error(cat({kSig, chunk("tEXt", text_data("k", "v")), ihdr(), idat(), iend()})),
            "x.png: chunk 'tEXt' at byte 8: the first chunk must be IHDR");
  Bytes d = ihdr_data(1, 1);
  d.pop_back();
  EXPECT_EQ(meta_error(cat({kSig, chunk("IHDR", d), idat(), iend()})),
            "x.png: chunk 'IHDR' at byte 8: IHDR must be 13 bytes, not 12");
  EXPECT_NE(meta_error(png_with(ihdr())).find("second IHDR"), std::string::npos);
}

TEST(PngHostile, IhdrInsaneValues) {
  const auto with = [](const Bytes& d) { return cat({kSig, chunk("IHDR", d), idat(), iend()}); };
  EXPECT_NE(meta_error(with(ihdr_data(0, 1))).find("invalid size 0x1"), std::string::npos);
  EXPECT_NE(meta_error(with(ihdr_data(1, 0x80000000u))).find("invalid size"), std::string::npos);
  EXPECT_NE(meta_error(with(ihdr_data(1, 1, 16, 3))).find("colour type 3 with bit depth 16"),
            std::string::npos);
  EXPECT_NE(meta_error(with(ihdr_data(1, 1, 8, 5))).find("colour type 5"), std::string::npos);
  Bytes interlace = ihdr_data(1, 1);
  interlace[12] = 2;
  EXPECT_NE(meta_error(with(interlace)).find("interlace"), std::string::npos);
}

TEST(PngHostile, IendMissingNonEmptyOrFollowedByData) {
  EXPECT_EQ(meta_error(cat({kSig, ihdr(), idat()})), "x.png: no IEND chunk (truncated file?)");
  const std::string iend_at = "x.png: chunk 'IEND' at byte " + std::to_string(33 + idat().size());
  EXPECT_EQ(meta_error(cat({kSig, ihdr(), idat(), chunk("IEND", {1})})),
            iend_at + ": IEND must be empty");
  // Decision: bytes after IEND are refused (see png_meta.h), even a whole chunk.
  EXPECT_EQ(meta_error(cat({png_with({}), bytes_of("zip")})), iend_at + ": 3 bytes after IEND");
  EXPECT_NE(meta_error(cat({png_with({}), chunk("tEXt", text_data("k", "v"))})).find("after IEND"),
            std::string::npos);
}

TEST(PngHostile, IdatMissingOrSplit) {
  EXPECT_EQ(meta_error(cat({kSig, ihdr(), iend()})),
            "x.png: chunk 'IEND' at byte 33: no IDAT chunk before IEND");
  EXPECT_NE(
      meta_error(cat({kSig, ihdr(), idat(), chunk("tEXt", text_data("k", "v")), idat(), iend()}))
          .find("not consecutive"),
      std::string::npos);
}

TEST(PngHostile, ZtxtBombStopsAtTheCap) {
  // 100 MB of zeros deflate to about 100 KB.
  const Bytes bomb = zeros_deflated(100u << 20);
  ASSERT_LT(bomb.size(), 200000u);
  EXPECT_EQ(meta_error(png_with(chunk("zTXt", ztxt_data("bomb", bomb)))),
            "x.png: chunk 'zTXt' at byte 33: text exceeds 8 MiB");
  EXPECT_EQ(meta_error(png_with(chunk("iTXt", itxt_data("bomb", 1, "", "", bomb)))),
            "x.png: chunk 'iTXt' at byte 33: text exceeds 8 MiB");
  // Just under the cap is fine (NUL-free: zeros would be refused as NUL text,
  // so use a compressible run of 'a').
  const Bytes eight = zlib(Bytes(kMaxTextChunkBytes - 16, 'a'));
  EXPECT_EQ(meta_error(png_with(chunk("zTXt", ztxt_data("k", eight)))), "(no error)");
}

TEST(PngHostile, TotalTextCap) {
  const Bytes six = zlib(Bytes(6u << 20, 'b'));
  const Bytes two = chunk("zTXt", ztxt_data("k", six));
  EXPECT_EQ(meta_error(png_with(cat({two, two}))), "(no error)");
  const std::string e = meta_error(png_with(cat({two, two, two})));
  EXPECT_NE(e.find("text chunks exceed 16 MiB in total"), std::string::npos) << e;
}

TEST(PngHostile, BadKeywords) {
  EXPECT_EQ(meta_error(png_with(chunk("tEXt", text_data("", "v")))),
            "x.png: chunk 'tEXt' at byte 33: empty keyword");
  EXPECT_EQ(meta_error(png_with(chunk("tEXt", text_data(std::string(80, 'k'), "v")))),
            "x.png: chunk 'tEXt' at byte 33: keyword longer than 79 bytes");
  EXPECT_EQ(meta_error(png_with(chunk("tEXt", text_data(std::string(79, 'k'), "v")))),
            "(no error)");
  EXPECT_EQ(meta_error(png_with(chunk("tEXt", bytes_of("no separator")))),
            "x.png: chunk 'tEXt' at byte 33: no NUL after the keyword");
  EXPECT_EQ(meta_error(png_with(chunk("tEXt", text_data("bad\x07key", "v")))),
            "x.png: chunk 'tEXt' at byte 33: keyword holds byte 0x07, not printable Latin-1");
  EXPECT_NE(meta_error(png_with(chunk("iTXt", itxt_data("k\xA0", 0, "", "", {})))).find("0xa0"),
            std::string::npos);
}

TEST(PngHostile, InvalidUtf8InItxt) {
  EXPECT_EQ(meta_error(png_with(chunk("iTXt", itxt_data("k", 0, "", "", {'o', 'k', 0xC3, 0x28})))),
            "x.png: chunk 'iTXt' at byte 33: text is not valid UTF-8");
  // Overlong encoding of '/', and a UTF-16 surrogate.
  EXPECT_NE(
      meta_error(png_with(chunk("iTXt", itxt_data("k", 0, "", "", {0xC0, 0xAF})))).find("UTF-8"),
      std::string::npos);
  EXPECT_NE(meta_error(png_with(chunk("iTXt", itxt_data("k", 1, "", "", zlib({0xED, 0xA0, 0x80})))))
                .find("UTF-8"),
            std::string::npos);
  EXPECT_EQ(meta_error(png_with(chunk("iTXt", itxt_data("k", 0, "", "\xFF", {})))),
            "x.png: chunk 'iTXt' at byte 33: translated keyword is not valid UTF-8");
  EXPECT_EQ(meta_error(png_with(chunk("iTXt", itxt_data("k", 0, "en_US", "", {})))),
            "x.png: chunk 'iTXt' at byte 33: language tag holds byte 0x5f");
}

TEST(PngHostile, MalformedCompressedAndTextFields) {
  EXPECT_EQ(meta_error(png_with(chunk("zTXt", ztxt_data("k", zlib(bytes_of("v")), 1)))),
            "x.png: chunk 'zTXt' at byte 33: unknown compression method 1");
  EXPECT_EQ(meta_error(png_with(chunk("zTXt", text_data("k", "")))),
            "x.png: chunk 'zTXt' at byte 33: missing compression method");
  EXPECT_EQ(meta_error(png_with(chunk("iTXt", itxt_data("k", 2, "", "", {})))),
            "x.png: chunk 'iTXt' at byte 33: invalid compression flag 2");
  EXPECT_EQ(meta_error(png_with(chunk("iTXt", itxt_data("k", 0, "", "", {}, 8)))),
            "x.png: chunk 'iTXt' at byte 33: unknown compression method 8");
  EXPECT_EQ(meta_error(png_with(chunk("iTXt", bytes_of(std::string("k\0\0\0en", 6))))),
            "x.png: chunk 'iTXt' at byte 33: no NUL after the language tag");
  EXPECT_EQ(meta_error(png_with(chunk("iTXt", bytes_of(std::string("k\0\0\0en\0tk", 9))))),
            "x.png: chunk 'iTXt' at byte 33: no NUL after the translated keyword");

  Bytes z = zlib(bytes_of("hello hello hello"));
  Bytes truncated(z.begin(), z.end() - 6);
  EXPECT_EQ(meta_error(png_with(chunk("zTXt", ztxt_data("k", truncated)))),
            "x.png: chunk 'zTXt' at byte 33: compressed text is truncated");
  Bytes trailing = z;
  trailing.push_back('!');
  EXPECT_EQ(meta_error(png_with(chunk("zTXt", ztxt_data("k", trailing)))),
            "x.png: chunk 'zTXt' at byte 33: bytes after the end of the compressed text");
  Bytes corrupt = z;
  corrupt[0] = 0x00;  // not a zlib header
  EXPECT_NE(
      meta_error(png_with(chunk("zTXt", ztxt_data("k", corrupt)))).find("corrupt compressed text"),
      std::string::npos);
  EXPECT_EQ(meta_error(png_with(chunk("tEXt", bytes_of(std::string("k\0a\0b", 5))))),
            "x.png: chunk 'tEXt' at byte 33: text contains a NUL byte");
  EXPECT_EQ(meta_error(png_with(chunk("zTXt", ztxt_data("k", zlib({'a', 0}))))),
            "x.png: chunk 'zTXt' at byte 33: text contains a NUL byte");
}

TEST(PngHostile, EveryErrorNamesTheSource) {
  const std::vector<Bytes> bad = {{},
                                  kSig,
                                  cat({kSig, ihdr()}),
                                  png_with(chunk("tEXt", {})),
                                  png_with(chunk("zTXt", {0})),
                                  cat({png_with({}), Bytes{0}})};
  for (const Bytes& b : bad) {
    const std::string e = meta_error(b, "dir/some file.png");
    EXPECT_EQ(e.rfind("dir/some file.png: ", 0), 0u) << e;
  }
  try {
    read_png_metadata_file("/nonexistent/dir/file.png");
    FAIL() << "no error";
  } catch (const ImageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/dir/file.png: ", 0), 0u);
  }
}

TEST(PngHostile, FileReaderRefusesAnOversizedTextChunkFromItsHeader) {
  // The chunk's header alone decides: the file is never read whole.
  const fs::path dir = fs::temp_directory_path() / ("png-meta-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path big = dir / "big.png";
  const Bytes huge = png_with(chunk("tEXt", text_data("k", std::string(9u << 20, 'a'))));
  std::ofstream(big, std::ios::binary)
      .write(reinterpret_cast<const char*>(huge.data()), std::streamsize(huge.size()));
  try {
    read_png_metadata_file(big);
    ADD_FAILURE() << "no error";
  } catch (const ImageError& e) {
    EXPECT_EQ(std::string(e.what()), big.string() +
                                         ": chunk 'tEXt' at byte 33: 9437186 bytes, over the "
                                         "8 MiB limit for a text");
  }
  // A text just under the cap still reads from a file.
  const fs::path fine = dir / "fine.png";
  const Bytes ok =
      png_with(chunk("zTXt", ztxt_data("k", zlib(Bytes(kMaxTextChunkBytes - 16, 'a')))));
  std::ofstream(fine, std::ios::binary)
      .write(reinterpret_cast<const char*>(ok.data()), std::streamsize(ok.size()));
  EXPECT_EQ(read_png_metadata_file(fine).texts.at(0).text.size(), kMaxTextChunkBytes - 16);
  fs::remove_all(dir);
}
