// The strict PNG metadata reader (rules in png_meta.h). Every read is preceded
// by a bounds check against the chunk or the file; decompression goes through
// zlib with an output cap, so a small input can neither read out of bounds nor
// make us allocate more than the caps.
#include "media/png_meta.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/utf8.h"

namespace atelier::media {
namespace {

constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
constexpr std::uint32_t kMaxChunkLength = 0x7FFFFFFFu;
constexpr std::uint64_t kMaxFileBytes = 1ull << 30;

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}

bool is_letter(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool printable_latin1(std::uint8_t c) {
  return (c >= 32 && c <= 126) || c >= 161;
}

std::string hex_byte(std::uint8_t c) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[c >> 4] + digits[c & 15];
}

// A chunk type as it can be shown in a message: letters as they are, anything
// else escaped, so hostile bytes never reach a log verbatim.
std::string display_type(const std::uint8_t* t) {
  std::string s;
  for (int i = 0; i < 4; ++i) {
    if (is_letter(t[i]))
      s.push_back(static_cast<char>(t[i]));
    else
      s += "\\x" + hex_byte(t[i]).substr(2);
  }
  return s;
}

void append_latin1_as_utf8(std::span<const std::uint8_t> in, std::string& out) {
  for (const std::uint8_t c : in) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
}

class Reader {
 public:
  Reader(std::span<const std::uint8_t> bytes, std::string_view source)
      : b_(bytes), source_(source) {}

  PngInfo run() {
    if (b_.size() < sizeof kSignature || std::memcmp(b_.data(), kSignature, sizeof kSignature) != 0)
      file_fail("not a PNG file (bad signature)");
    PngInfo info;
    bool seen_ihdr = false, seen_idat = false, idat_done = false;
    size_t pos = sizeof kSignature;
    while (pos < b_.size()) {
      at_ = pos;
      const size_t left = b_.size() - pos;
      if (left < 12)
        file_fail("truncated chunk at byte " + std::to_string(pos) + ": " + std::to_string(left) +
                  " bytes left, a chunk needs at least 12");
      const std::uint8_t* type = b_.data() + pos + 4;
      type_ = display_type(type);
      const std::uint32_t length = be32(b_.data() + pos);
      if (!std::all_of(type, type + 4, is_letter)) chunk_fail("invalid chunk type");
      if (length > kMaxChunkLength)
        chunk_fail("length " + std::to_string(length) + " exceeds 2^31-1");
      if (length > left - 12)
        chunk_fail("truncated: length " + std::to_string(length) + " but " +
                   std::to_string(left - 12) + " bytes remain");
      const std::span<const std::uint8_t> data = b_.subspan(pos + 8, length);
      const std::uint32_t stored_crc = be32(b_.data() + pos + 8 + length);
      // One call over type and data: they are contiguous in the file.
      const uLong crc = ::crc32(::crc32(0L, Z_NULL, 0), type, uInt(4 + length));
      if (crc != stored_crc) chunk_fail("CRC mismatch");

      const std::string_view name(reinterpret_cast<const char*>(type), 4);
      if (!seen_ihdr) {
        if (name != "IHDR") chunk_fail("the first chunk must be IHDR");
        read_ihdr(data, info);
        seen_ihdr = true;
      } else if (name == "IHDR") {
        chunk_fail("second IHDR");
      } else if (name == "IDAT") {
        if (idat_done) chunk_fail("IDAT chunks are not consecutive");
        seen_idat = true;
      } else {
        if (seen_idat) idat_done = true;
        if (name == "IEND") {
          if (length != 0) chunk_fail("IEND must be empty");
          if (!seen_idat) chunk_fail("no IDAT chunk before IEND");
          const size_t end = pos + 12;
          if (end != b_.size()) chunk_fail(std::to_string(b_.size() - end) + " bytes after IEND");
          return info;
        }
        if (name == "tEXt") read_text(data, info);
        if (name == "zTXt") read_ztxt(data, info);
        if (name == "iTXt") read_itxt(data, info);
      }
      pos += 12 + size_t(length);
    }
    file_fail(seen_ihdr ? "no IEND chunk (truncated file?)" : "no chunks after the signature");
  }

 private:
  [[noreturn]] void file_fail(const std::string& what) const {
    throw ImageError(std::string(source_) + ": " + what);
  }
  [[noreturn]] void chunk_fail(const std::string& what) const {
    throw ImageError(std::string(source_) + ": chunk '" + type_ + "' at byte " +
                     std::to_string(at_) + ": " + what);
  }

  void read_ihdr(std::span<const std::uint8_t> d, PngInfo& info) const {
    if (d.size() != 13) chunk_fail("IHDR must be 13 bytes, not " + std::to_string(d.size()));
    const std::uint32_t w = be32(d.data()), h = be32(d.data() + 4);
    if (w == 0 || h == 0 || w > kMaxChunkLength || h > kMaxChunkLength)
      chunk_fail("invalid size " + std::to_string(w) + "x" + std::to_string(h));
    const int depth = d[8], color = d[9];
    bool ok = false;
    switch (color) {
      case 0:
        ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
        break;
      case 3:
        ok = depth == 1 || depth == 2 || depth == 4 || depth == 8;
        break;
      case 2:
      case 4:
      case 6:
        ok = depth == 8 || depth == 16;
        break;
      default:
        break;
    }
    if (!ok)
      chunk_fail("invalid colour type " + std::to_string(color) + " with bit depth " +
                 std::to_string(depth));
    if (d[10] != 0) chunk_fail("unknown compression method " + std::to_string(d[10]));
    if (d[11] != 0) chunk_fail("unknown filter method " + std::to_string(d[11]));
    if (d[12] > 1) chunk_fail("unknown interlace method " + std::to_string(d[12]));
    info.width = static_cast<int>(w);
    info.height = static_cast<int>(h);
  }

  // The keyword and the offset just past its NUL separator.
  size_t read_keyword(std::span<const std::uint8_t> d, std::string& keyword) const {
    const size_t limit = std::min<size_t>(d.size(), 80);
    const auto nul = std::find(d.begin(), d.begin() + limit, std::uint8_t{0});
    if (nul == d.begin() + limit)
      chunk_fail(d.size() < 80 ? "no NUL after the keyword" : "keyword longer than 79 bytes");
    const size_t n = static_cast<size_t>(nul - d.begin());
    if (n == 0) chunk_fail("empty keyword");
    for (size_t i = 0; i < n; ++i)
      if (!printable_latin1(d[i]))
        chunk_fail("keyword holds byte " + hex_byte(d[i]) + ", not printable Latin-1");
    keyword.clear();
    append_latin1_as_utf8(d.first(n), keyword);
    return n + 1;
  }

  void check_no_nul(std::string_view text) const {
    if (text.find('\0') != std::string_view::npos) chunk_fail("text contains a NUL byte");
  }

  // Budget left for the next text; the smaller of the two caps applies.
  size_t text_budget() const { return std::min(kMaxTextChunkBytes, kMaxTotalTextBytes - used_); }

  void add(PngInfo& info, std::string keyword, std::string text, bool international) {
    const size_t n = keyword.size() + text.size();
    if (n > kMaxTotalTextBytes - used_)
      chunk_fail("text chunks exceed " + std::to_string(kMaxTotalTextBytes >> 20) +
                 " MiB in total");
    used_ += n;
    info.texts.push_back(PngText{std::move(keyword), std::move(text), international});
  }

  void read_text(std::span<const std::uint8_t> d, PngInfo& info) {
    std::string keyword, text;
    const size_t at = read_keyword(d, keyword);
    if (d.size() - at > text_budget()) budget_fail();
    append_latin1_as_utf8(d.subspan(at), text);
    check_no_nul(text);
    add(info, std::move(keyword), std::move(text), false);
  }

  void read_ztxt(std::span<const std::uint8_t> d, PngInfo& info) {
    std::string keyword, latin1, text;
    size_t at = read_keyword(d, keyword);
    if (at >= d.size()) chunk_fail("missing compression method");
    if (d[at] != 0) chunk_fail("unknown compression method " + std::to_string(d[at]));
    ++at;
    inflate_text(d.subspan(at), latin1);
    check_no_nul(latin1);
    append_latin1_as_utf8(
        std::span(reinterpret_cast<const std::uint8_t*>(latin1.data()), latin1.size()), text);
    add(info, std::move(keyword), std::move(text), false);
  }

  void read_itxt(std::span<const std::uint8_t> d, PngInfo& info) {
    std::string keyword, text;
    size_t at = read_keyword(d, keyword);
    if (d.size() - at < 2) chunk_fail("missing compression flag and method");
    const std::uint8_t flag = d[at], method = d[at + 1];
    if (flag > 1) chunk_fail("invalid compression flag " + std::to_string(flag));
    if (method != 0) chunk_fail("unknown compression method " + std::to_string(method));
    at += 2;
    const auto rest = d.subspan(at);
    const auto lang_end = std::find(rest.begin(), rest.end(), std::uint8_t{0});
    if (lang_end == rest.end()) chunk_fail("no NUL after the language tag");
    for (auto it = rest.begin(); it != lang_end; ++it) {
      const std::uint8_t c = *it;
      if (!(is_letter(c) || (c >= '0' && c <= '9') || c == '-'))
        chunk_fail("language tag holds byte " + hex_byte(c));
    }
    const auto tkey = rest.subspan(static_cast<size_t>(lang_end - rest.begin()) + 1);
    const auto tkey_end = std::find(tkey.begin(), tkey.end(), std::uint8_t{0});
    if (tkey_end == tkey.end()) chunk_fail("no NUL after the translated keyword");
    const std::string_view translated(reinterpret_cast<const char*>(tkey.data()),
                                      static_cast<size_t>(tkey_end - tkey.begin()));
    if (!valid_utf8(translated)) chunk_fail("translated keyword is not valid UTF-8");
    const auto body = tkey.subspan(translated.size() + 1);
    if (flag == 1) {
      inflate_text(body, text);
    } else {
      if (body.size() > text_budget()) budget_fail();
      text.assign(reinterpret_cast<const char*>(body.data()), body.size());
    }
    if (!valid_utf8(text)) chunk_fail("text is not valid UTF-8");
    check_no_nul(text);
    add(info, std::move(keyword), std::move(text), true);
  }

  [[noreturn]] void budget_fail() const {
    if (text_budget() == kMaxTextChunkBytes)
      chunk_fail("text exceeds " + std::to_string(kMaxTextChunkBytes >> 20) + " MiB");
    chunk_fail("text chunks exceed " + std::to_string(kMaxTotalTextBytes >> 20) + " MiB in total");
  }

  // A zlib stream that must end exactly at the end of the chunk, inflated into
  // at most text_budget() bytes: the output buffer never grows past the cap.
  void inflate_text(std::span<const std::uint8_t> in, std::string& out) const {
    const size_t cap = text_budget();
    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) chunk_fail("cannot start zlib");
    struct End {
      z_stream* z;
      ~End() { inflateEnd(z); }
    } end{&zs};
    zs.next_in = const_cast<Bytef*>(in.data());  // zlib does not write through next_in
    zs.avail_in = static_cast<uInt>(in.size());  // a chunk is under 2^31 bytes
    out.clear();
    size_t produced = 0;
    for (;;) {
      if (produced == out.size()) {
        if (out.size() > cap) budget_fail();
        // One byte past the cap is room enough to notice the cap is exceeded.
        out.resize(std::min(cap + 1, std::max<size_t>(4096, out.size() * 2)));
      }
      zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      zs.avail_out = static_cast<uInt>(out.size() - produced);
      const int rc = inflate(&zs, Z_NO_FLUSH);
      produced = out.size() - zs.avail_out;
      if (produced > cap) budget_fail();
      if (rc == Z_STREAM_END) break;
      // Z_BUF_ERROR means no progress: fine when the output is full (it grows
      // next round), truncated input otherwise.
      if (rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_out == 0)) continue;
      if (rc == Z_BUF_ERROR) chunk_fail("compressed text is truncated");
      chunk_fail(std::string("corrupt compressed text") +
                 (zs.msg ? std::string(": ") + zs.msg : ""));
    }
    if (zs.avail_in != 0) chunk_fail("bytes after the end of the compressed text");
    out.resize(produced);
  }

  std::span<const std::uint8_t> b_;
  std::string_view source_;
  size_t at_ = 0;     // offset of the chunk being read
  std::string type_;  // its type, as display_type shows it
  size_t used_ = 0;   // UTF-8 bytes of keywords and texts so far
};

}  // namespace

PngInfo read_png_metadata(std::span<const std::uint8_t> bytes, std::string_view source_name) {
  return Reader(bytes, source_name).run();
}

namespace {
// Walks the chunk headers only, seeking over the data, and refuses a text chunk
// too long for any text it could hold before the file is read into memory: a
// PNG with a 100 MB text chunk costs a few reads, not 100 MB. Anything else
// wrong is left to the full reader, which reports it precisely.
void refuse_oversized_text_chunks(std::ifstream& in, std::uint64_t size, const std::string& name) {
  // A keyword, its separators and zlib's framing fit in this.
  constexpr std::uint64_t kSlack = 4096;
  std::uint8_t head[8];
  if (!in.read(reinterpret_cast<char*>(head), 8) || std::memcmp(head, kSignature, 8) != 0) return;
  std::uint64_t pos = 8;
  while (pos + 12 <= size) {
    in.seekg(static_cast<std::streamoff>(pos));
    if (!in.read(reinterpret_cast<char*>(head), 8)) return;
    const std::uint32_t length = be32(head);
    const std::string_view type(reinterpret_cast<const char*>(head + 4), 4);
    if ((type == "tEXt" || type == "zTXt" || type == "iTXt") &&
        length > kMaxTextChunkBytes + kSlack)
      throw ImageError(name + ": chunk '" + std::string(type) + "' at byte " + std::to_string(pos) +
                       ": " + std::to_string(length) + " bytes, over the " +
                       std::to_string(kMaxTextChunkBytes >> 20) + " MiB limit for a text");
    if (type == "IEND") return;
    pos += 12 + std::uint64_t(length);
  }
}
}  // namespace

PngInfo read_png_metadata_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(name + ": cannot open: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw ImageError(name + ": cannot determine the file size");
  if (std::uint64_t(size) > kMaxFileBytes) throw ImageError(name + ": file is over 1 GiB");
  in.seekg(0);
  refuse_oversized_text_chunks(in, std::uint64_t(size), name);
  in.clear();
  in.seekg(0);
  std::vector<std::uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (in.gcount() != size) throw ImageError(name + ": short read");
  return read_png_metadata(bytes, name);
}

std::optional<std::string> find_text(const PngInfo& info, std::string_view keyword) {
  for (const PngText& t : info.texts)
    if (t.keyword == keyword) return t.text;
  return std::nullopt;
}

std::vector<std::string> find_texts(const PngInfo& info, std::string_view keyword) {
  std::vector<std::string> out;
  for (const PngText& t : info.texts)
    if (t.keyword == keyword) out.push_back(t.text);
  return out;
}

}  // namespace atelier::media
