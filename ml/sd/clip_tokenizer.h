// CLIP's byte-level BPE tokenizer, as the text encoders of Stable Diffusion
// 1.x, 2.x and SDXL were trained with it, loaded from files the user brings
// (none ship with Atelier): OpenAI/open_clip's `bpe_simple_vocab_16e6.txt.gz`,
// or a Hugging Face tokenizer folder (`vocab.json` + `merges.txt`, as in
// diffusers' `tokenizer/` and `tokenizer_2/`).
//
// Rules: clip_text_cleanup.h (ftfy subset, HTML references, whitespace,
// lower-case), then pieces by CLIP's pattern (special-token names, 's 't 're
// 've 'm 'll 'd, runs of Unicode letters, single Unicode number characters,
// runs of anything else but whitespace), each piece's UTF-8 bytes mapped to
// printable characters (bytes_to_unicode), then BPE by merge rank with '</w>'
// glued to the piece's last symbol.
//
// Special tokens: their ids come from the vocabulary (`<|startoftext|>`,
// `<|endoftext|>`). Written literally in a prompt they become those ids, as
// OpenAI's tokenizer and Hugging Face's CLIPTokenizer (SD 1.x) treat them;
// open_clip's own names (`<start_of_text>`) are plain text. A tokenizer built
// with special_literals = false treats both spellings as plain text.
//
// Invariants: every id encode() returns is < vocab_size(); a loaded tokenizer
// is immutable apart from its piece cache, which is guarded, so one instance
// may be shared between threads.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace atelier::ml::sd {

// Tokenizer files missing or malformed; the message names the folder or file.
class TokenizerError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// What fills a row after the end token.
enum class Padding {
  end_token,  // <|endoftext|> again: HF CLIPTokenizer as SD 1.x and SDXL's CLIP-L use it
  zero,       // id 0: open_clip.tokenize, SD 2.x and SDXL's OpenCLIP (bigG) encoder
};

// Fixed-length rows, row-major (batch x length), ready for a (B, length) tensor.
struct TokenRows {
  int64_t batch = 0;
  int64_t length = 0;
  std::vector<int64_t> ids;
  std::vector<int64_t> end_index;  // per row: where the end token is (the pooled position)
};

class ClipTokenizer {
 public:
  static constexpr int kContextLength = 77;

  // merges in rank order; vocab: token string (byte-mapped, '</w>' marked) -> id.
  ClipTokenizer(const std::vector<std::pair<std::string, std::string>>& merges,
                const std::unordered_map<std::string, int64_t>& vocab, std::string source,
                bool special_literals = true);

  // Text -> BPE ids, without start/end tokens and untruncated.
  std::vector<int64_t> encode(std::string_view text) const;
  int64_t bos() const { return bos_; }
  int64_t eos() const { return eos_; }
  int64_t pad_id(Padding p) const { return p == Padding::end_token ? eos_ : 0; }
  int64_t vocab_size() const { return static_cast<int64_t>(tokens_.size()); }
  // Id of a vocabulary string (",</w>"), or -1.
  int64_t token_id(const std::string& token) const;
  // The vocabulary string of an id ("cat</w>"), or "" when out of range.
  const std::string& token(int64_t id) const;

  // [bos] + ids[:length-2] + [eos], padded to `length`.
  std::vector<int64_t> frame(const std::vector<int64_t>& ids, Padding p,
                             int length = kContextLength) const;
  // encode + frame for each text: the (B, length) input of a CLIP text encoder.
  TokenRows tokenize(const std::vector<std::string>& texts, Padding p,
                     int length = kContextLength) const;

  // Ids back to text, for messages: '</w>' becomes a space, special ids their
  // names, padding zeros included as "!" (id 0 is a real token).
  std::string decode(const std::vector<int64_t>& ids) const;

  // Where the vocabulary came from (a file or folder path), for messages.
  const std::string& source() const { return source_; }

 private:
  std::vector<int64_t> bpe(const std::string& piece) const;

  std::string source_;
  bool special_literals_;
  std::vector<std::string> tokens_;               // id -> string
  std::unordered_map<std::string, int64_t> ids_;  // string -> id
  struct Merge {
    int64_t rank, id;
  };
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
  int64_t byte_id_[256];                        // symbol of each byte
  int64_t byte_end_id_[256];                    // the same with '</w>'
  int64_t bos_ = -1, eos_ = -1;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

// bytes_to_unicode: the printable character each byte stands for.
char32_t clip_byte_char(uint8_t byte);

// From `bpe_simple_vocab_16e6.txt.gz` (the vocabulary is built from the
// merges as OpenAI's code builds it: bytes, bytes with '</w>', the first
// 48,894 merges, then the two special tokens).
std::unique_ptr<ClipTokenizer> load_clip_tokenizer_bpe_gz(const std::filesystem::path& file,
                                                          bool special_literals = true);
// From a Hugging Face folder's vocab.json + merges.txt (first 48,894 merges).
std::unique_ptr<ClipTokenizer> load_clip_tokenizer_hf(const std::filesystem::path& dir,
                                                      bool special_literals = true);
// A folder holding either: vocab.json + merges.txt if present, else
// bpe_simple_vocab_16e6.txt.gz. TokenizerError names the folder and the files
// looked for when neither is there.
std::unique_ptr<ClipTokenizer> load_clip_tokenizer(const std::filesystem::path& dir,
                                                   bool special_literals = true);

}  // namespace atelier::ml::sd
