// CLIP's BPE tokenizer (see clip_tokenizer.h). BPE runs on ids: every symbol
// BPE can form (a byte, a byte with '</w>', a merge result) is a vocabulary
// entry, so pairs are looked up as (id, id) and a merge yields the result's id.
#include "ml/sd/clip_tokenizer.h"

#include <unicode/uchar.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "ml/sd/clip_text_cleanup.h"
#include "ml/sd/utf8.h"

namespace atelier::ml::sd {
namespace {

namespace fs = std::filesystem;

// The merges OpenAI's code keeps (49152 - 256 - 2 = 48,894); its vocabulary is
// then 256 bytes + 256 bytes with '</w>' + the merges + 2 special tokens.
constexpr size_t kMergesUsed = 49152 - 256 - 2;
constexpr std::string_view kStartName = "<|startoftext|>";
constexpr std::string_view kEndName = "<|endoftext|>";

// The 188 printable bytes, in byte order, then the other 68.
std::vector<uint8_t> byte_order() {
  std::vector<uint8_t> order;
  for (int b = 0; b < 256; ++b) {
    if (clip_byte_char(static_cast<uint8_t>(b)) == static_cast<char32_t>(b)) order.push_back(b);
  }
  for (int b = 0; b < 256; ++b) {
    if (clip_byte_char(static_cast<uint8_t>(b)) != static_cast<char32_t>(b)) order.push_back(b);
  }
  return order;
}

std::string byte_symbol(uint8_t b) {
  std::string s;
  append_utf8(s, clip_byte_char(b));
  return s;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TokenizerError(file.string() + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string gunzip(const fs::path& file) {
  std::string packed = read_file(file);
  if (packed.size() < 18 || static_cast<uint8_t>(packed[0]) != 0x1F ||
      static_cast<uint8_t>(packed[1]) != 0x8B) {
    throw TokenizerError(file.string() + ": not a gzip file");
  }
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    throw TokenizerError(file.string() + ": zlib could not start");
  }
  z.next_in = reinterpret_cast<Bytef*>(packed.data());
  z.avail_in = static_cast<uInt>(packed.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended mid-stream
  }
  std::string why = z.msg ? z.msg : (rc == Z_STREAM_END ? "" : "the data ends too early");
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    throw TokenizerError(file.string() + ": corrupt gzip data (" + why + ")");
  }
  return out;
}

// Lines 1.. of a merges text (line 0 is a header), at most kMergesUsed, each
// "left right".
std::vector<std::pair<std::string, std::string>> parse_merges(const std::string& text,
                                                              const fs::path& file) {
  std::vector<std::pair<std::string, std::string>> merges;
  size_t pos = text.find('\n');
  size_t line_no = 1;
  while (pos != std::string::npos && pos + 1 < text.size() && merges.size() < kMergesUsed) {
    size_t start = pos + 1;
    pos = text.find('\n', start);
    std::string_view line(text.data() + start,
                          (pos == std::string::npos ? text.size() : pos) - start);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() && pos == std::string::npos) break;  // a final newline
    size_t space = line.find(' ');
    if (space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos) {
      throw TokenizerError(file.string() + ": line " + std::to_string(line_no) +
                           ": expected two symbols separated by one space, found \"" +
                           std::string(line.substr(0, 80)) + "\"");
    }
    merges.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }
  if (merges.empty()) throw TokenizerError(file.string() + ": holds no merges");
  return merges;
}

bool is_letter(char32_t c) {
  int8_t t = u_charType(static_cast<UChar32>(c));
  return t == U_UPPERCASE_LETTER || t == U_LOWERCASE_LETTER || t == U_TITLECASE_LETTER ||
         t == U_MODIFIER_LETTER || t == U_OTHER_LETTER;
}

bool is_number(char32_t c) {
  int8_t t = u_charType(static_cast<UChar32>(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

// Whether `s` at i spells `word` case-insensitively (simple case folding, as
// the pattern's IGNORECASE compares: 'ſ' matches 's').
bool matches_at(const std::u32string& s, size_t i, std::string_view word) {
  if (i + word.size() > s.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    auto folded =
        static_cast<char32_t>(u_foldCase(static_cast<UChar32>(s[i + k]), U_FOLD_CASE_DEFAULT));
    if (folded != static_cast<char32_t>(word[k])) return false;
  }
  return true;
}

}  // namespace

char32_t clip_byte_char(uint8_t byte) {
  if ((byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE) {
    return byte;
  }
  // The other 68 bytes, in increasing order, to U+0100...
  int n = 0;
  for (int b = 0; b < byte; ++b) {
    if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)) ++n;
  }
  return 0x100 + n;
}

ClipTokenizer::ClipTokenizer(const std::vector<std::pair<std::string, std::string>>& merges,
                             const std::unordered_map<std::string, int64_t>& vocab,
                             std::string source, bool special_literals)
    : source_(std::move(source)), special_literals_(special_literals), ids_(vocab) {
  int64_t max_id = -1;
  for (const auto& [tok, id] : vocab) {
    if (id < 0 || id >= std::numeric_limits<int32_t>::max()) {
      throw TokenizerError(source_ + ": token \"" + tok + "\" has id " + std::to_string(id));
    }
    max_id = std::max(max_id, id);
  }
  tokens_.resize(static_cast<size_t>(max_id + 1));
  for (const auto& [tok, id] : vocab) tokens_[id] = tok;

  auto need = [&](const std::string& tok, const std::string& why) {
    auto it = ids_.find(tok);
    if (it == ids_.end()) {
      throw TokenizerError(source_ + ": \"" + tok + "\" (" + why + ") is not in the vocabulary");
    }
    return it->second;
  };
  for (int b = 0; b < 256; ++b) {
    std::string sym = byte_symbol(static_cast<uint8_t>(b));
    byte_id_[b] = need(sym, "byte " + std::to_string(b));
    byte_end_id_[b] = need(sym + "</w>", "byte " + std::to_string(b) + " ending a word");
  }
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    std::string why = "merge " + std::to_string(r + 1) + " \"" + a + " " + b + "\"";
    auto left = static_cast<uint64_t>(need(a, why));
    auto right = static_cast<uint64_t>(need(b, why));
    // A pair listed twice keeps its later rank, as a dict built from the list does.
    merges_[left << 32 | right] = Merge{static_cast<int64_t>(r), need(a + b, why)};
  }
  bos_ = need(std::string(kStartName), "start of text");
  eos_ = need(std::string(kEndName), "end of text");
}

int64_t ClipTokenizer::token_id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

const std::string& ClipTokenizer::token(int64_t id) const {
  static const std::string none;
  return id >= 0 && id < vocab_size() ? tokens_[id] : none;
}

std::vector<int64_t> ClipTokenizer::bpe(const std::string& piece) const {
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(piece); it != cache_.end()) return it->second;
  }
  std::vector<int64_t> word;
  word.reserve(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) {
    auto b = static_cast<uint8_t>(piece[i]);
    word.push_back(i + 1 == piece.size() ? byte_end_id_[b] : byte_id_[b]);
  }
  std::vector<int64_t> next;
  while (word.size() > 1) {
    const Merge* best = nullptr;
    int64_t first = 0, second = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it =
          merges_.find(static_cast<uint64_t>(word[i]) << 32 | static_cast<uint64_t>(word[i + 1]));
      if (it != merges_.end() && (!best || it->second.rank < best->rank)) {
        best = &it->second;
        first = word[i];
        second = word[i + 1];
      }
    }
    if (!best) break;
    next.clear();
    for (size_t i = 0; i < word.size();) {
      if (word[i] == first && i + 1 < word.size() && word[i + 1] == second) {
        next.push_back(best->id);
        i += 2;
      } else {
        next.push_back(word[i++]);
      }
    }
    word.swap(next);
  }
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() > (1u << 16)) cache_.clear();  // bounds memory on endless distinct input
  cache_.emplace(piece, word);
  return word;
}

std::vector<int64_t> ClipTokenizer::encode(std::string_view text) const {
  static constexpr std::string_view kContractions[] = {"s", "t", "re", "ve", "m", "ll", "d"};
  std::u32string s = utf8_to_code_points(clip_clean_text(text));
  std::vector<int64_t> ids;
  auto emit = [&](size_t from, size_t to) {
    for (int64_t id : bpe(code_points_to_utf8(std::u32string_view(s).substr(from, to - from)))) {
      ids.push_back(id);
    }
  };
  for (size_t i = 0; i < s.size();) {
    char32_t c = s[i];
    if (c == U' ') {
      ++i;
      continue;
    }
    if (special_literals_ && c == U'<') {
      if (matches_at(s, i, kStartName)) {
        ids.push_back(bos_);
        i += kStartName.size();
        continue;
      }
      if (matches_at(s, i, kEndName)) {
        ids.push_back(eos_);
        i += kEndName.size();
        continue;
      }
    }
    if (c == U'\'') {
      bool done = false;
      for (std::string_view ending : kContractions) {
        if (matches_at(s, i + 1, ending)) {
          emit(i, i + 1 + ending.size());
          i += 1 + ending.size();
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    size_t j = i + 1;
    if (is_letter(c)) {
      while (j < s.size() && is_letter(s[j])) ++j;
    } else if (!is_number(c)) {
      while (j < s.size() && s[j] != U' ' && !is_letter(s[j]) && !is_number(s[j])) ++j;
    }
    emit(i, j);
    i = j;
  }
  return ids;
}

std::vector<int64_t> ClipTokenizer::frame(const std::vector<int64_t>& ids, Padding p,
                                          int length) const {
  if (length < 2) throw std::invalid_argument("a token row needs room for its start and end");
  std::vector<int64_t> row;
  row.reserve(static_cast<size_t>(length));
  row.push_back(bos_);
  size_t keep = std::min(ids.size(), static_cast<size_t>(length - 2));
  row.insert(row.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(keep));
  row.push_back(eos_);
  row.resize(static_cast<size_t>(length), pad_id(p));
  return row;
}

TokenRows ClipTokenizer::tokenize(const std::vector<std::string>& texts, Padding p,
                                  int length) const {
  TokenRows rows;
  rows.batch = static_cast<int64_t>(texts.size());
  rows.length = length;
  rows.ids.reserve(texts.size() * static_cast<size_t>(length));
  for (const std::string& t : texts) {
    std::vector<int64_t> ids = encode(t);
    std::vector<int64_t> row = frame(ids, p, length);
    rows.end_index.push_back(1 + static_cast<int64_t>(std::min(ids.size(), row.size() - 2)));
    rows.ids.insert(rows.ids.end(), row.begin(), row.end());
  }
  return rows;
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids) const {
  static const auto byte_of = [] {
    std::unordered_map<char32_t, uint8_t> m;
    for (int b = 0; b < 256; ++b) m.emplace(clip_byte_char(static_cast<uint8_t>(b)), b);
    return m;
  }();
  std::string joined;
  for (int64_t id : ids) {
    joined += id >= 0 && id < vocab_size() ? tokens_[id] : "<unk:" + std::to_string(id) + ">";
  }
  std::string bytes;
  for (char32_t c : utf8_to_code_points(joined)) {
    auto it = byte_of.find(c);
    bytes.push_back(static_cast<char>(it == byte_of.end() ? '?' : it->second));
  }
  std::string text = code_points_to_utf8(utf8_to_code_points(bytes));
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 4, "</w>") == 0) {
      out.push_back(' ');
      i += 4;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

std::unique_ptr<ClipTokenizer> load_clip_tokenizer_bpe_gz(const fs::path& file,
                                                          bool special_literals) {
  if (!fs::is_regular_file(file)) throw TokenizerError(file.string() + ": no such file");
  auto merges = parse_merges(gunzip(file), file);
  std::unordered_map<std::string, int64_t> vocab;
  std::vector<std::string> order;
  for (uint8_t b : byte_order()) order.push_back(byte_symbol(b));
  for (size_t i = 0, n = order.size(); i < n; ++i) order.push_back(order[i] + "</w>");
  for (const auto& [a, b] : merges) order.push_back(a + b);
  order.emplace_back(kStartName);
  order.emplace_back(kEndName);
  for (size_t id = 0; id < order.size(); ++id) vocab[order[id]] = static_cast<int64_t>(id);
  return std::make_unique<ClipTokenizer>(merges, vocab, file.string(), special_literals);
}

std::unique_ptr<ClipTokenizer> load_clip_tokenizer_hf(const fs::path& dir, bool special_literals) {
  fs::path vocab_file = dir / "vocab.json", merges_file = dir / "merges.txt";
  for (const fs::path& f : {vocab_file, merges_file}) {
    if (!fs::is_regular_file(f)) throw TokenizerError(f.string() + ": no such file");
  }
  std::unordered_map<std::string, int64_t> vocab;
  try {
    nlohmann::json j = nlohmann::json::parse(read_file(vocab_file));
    if (!j.is_object()) throw TokenizerError(vocab_file.string() + ": not a JSON object");
    for (const auto& [tok, id] : j.items()) {
      if (!id.is_number_integer()) {
        throw TokenizerError(vocab_file.string() + ": the id of \"" + tok + "\" is not an integer");
      }
      vocab[tok] = id.get<int64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerError(vocab_file.string() + ": not valid JSON (" + e.what() + ")");
  }
  auto merges = parse_merges(read_file(merges_file), merges_file);
  return std::make_unique<ClipTokenizer>(merges, vocab, dir.string(), special_literals);
}

std::unique_ptr<ClipTokenizer> load_clip_tokenizer(const fs::path& dir, bool special_literals) {
  if (!fs::exists(dir))
    throw TokenizerError("CLIP tokenizer folder " + dir.string() + " does not exist");
  if (!fs::is_directory(dir)) throw TokenizerError(dir.string() + ": not a folder");
  bool vocab = fs::exists(dir / "vocab.json"), merges = fs::exists(dir / "merges.txt");
  if (vocab && merges) return load_clip_tokenizer_hf(dir, special_literals);
  if (fs::exists(dir / "bpe_simple_vocab_16e6.txt.gz")) {
    return load_clip_tokenizer_bpe_gz(dir / "bpe_simple_vocab_16e6.txt.gz", special_literals);
  }
  if (vocab != merges) {
    throw TokenizerError(dir.string() + ": has " + (vocab ? "vocab.json" : "merges.txt") +
                         " but not " + (vocab ? "merges.txt" : "vocab.json"));
  }
  throw TokenizerError(dir.string() +
                       ": no CLIP tokenizer files (looked for bpe_simple_vocab_16e6.txt.gz, or "
                       "vocab.json with merges.txt)");
}

}  // namespace atelier::ml::sd
