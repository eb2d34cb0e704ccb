// AUTOMATIC1111's prompt emphasis syntax and its way of turning a prompt of
// any length into 77-token chunks for CLIP, so prompts written for that UI
// give the same conditioning here.
//
// Sources (public behaviour): the A1111 wiki, "Features: Attention/emphasis"
// and "BREAK keyword"; `modules/prompt_parser.py` parse_prompt_attention (its
// docstring examples are our tests); `modules/sd_hijack_clip.py` tokenize_line
// (chunking) and `modules/sd_emphasis.py` (how multipliers are applied).
//
// Syntax:
//   (text)        weight x 1.1          [text]      weight / 1.1
//   (text:1.3)    weight x 1.3 (spaces allowed around the number)
//   nesting multiplies; \( \) \[ \] \\ are literal characters; a lone '\'
//   disappears; ')' or ']' with nothing open is literal text; brackets still
//   open at the end apply to everything after them (`(unbalanced` is x1.1);
//   `BREAK` (upper case, as a whole word, outside brackets) ends the current
//   chunk. Inside brackets A1111 multiplies BREAK's marker weight, so it is
//   tokenized as the word "break" with a negative weight: kept as A1111 does.
// Not interpreted here (A1111 handles them before this step, and so must the
// caller): prompt editing [from:to:when], alternation [a|b], AND, <lora:...>
// and textual-inversion embedding names (these stay plain text).
//
// Chunking: up to 75 tokens per chunk; when a chunk is full and the next
// token is not a comma, the tokens after the chunk's last comma move to the
// next chunk if that comma is within the last 20 (comma_padding_backtrack);
// each chunk is padded to 75 and framed: 77 ids and 77 multipliers, 1.0 at
// start, end and padding. An empty prompt gives one chunk.
#pragma once
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ml/sd/clip_tokenizer.h"

namespace atelier::ml::sd {

// One run of prompt text and its weight. A BREAK marker is {"BREAK", -1.0}
// (exactly; see is_break).
struct WeightedText {
  std::string text;
  double weight = 1.0;
  bool is_break() const { return text == "BREAK" && weight == -1.0; }
  bool operator==(const WeightedText&) const = default;
};

// A bad attention weight ("(a:1.2.3)"): A1111 fails on it too.
class PromptSyntaxError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// parse_prompt_attention: the prompt as runs with their weights, adjacent runs
// of equal weight merged; never empty ({"", 1.0} for an empty prompt).
// Weights are computed in double in A1111's order, so they compare exactly
// with its values (1.3 * 1.1 * 1.1 = 1.5730000000000004).
std::vector<WeightedText> parse_prompt_attention(std::string_view prompt);

constexpr int kChunkTokens = 75;            // tokens per chunk, before start/end
constexpr int kCommaPaddingBacktrack = 20;  // A1111's default setting

struct PromptChunk {
  std::vector<int64_t> ids;        // 77: start, tokens, padding, end
  std::vector<float> multipliers;  // 77: 1.0 at start, end and padding
};

struct WeightedPrompt {
  std::vector<PromptChunk> chunks;  // at least one
  // A1111's count for its UI: 75 per finished chunk plus the last chunk's tokens.
  int token_count = 0;
};

// tokenize_line: the prompt's chunks. With Padding::end_token every slot after
// the tokens holds the end id (SD 1.x, SDXL CLIP-L). With Padding::zero the
// first end id follows the tokens and the rest are 0, as A1111 rewrites the
// rows for OpenCLIP (SD 2.x, SDXL bigG).
WeightedPrompt tokenize_weighted_prompt(const ClipTokenizer& tok, std::string_view prompt,
                                        Padding padding,
                                        int comma_padding_backtrack = kCommaPaddingBacktrack);

// A chunk holding no text (start, end, padding), which A1111 appends to the
// shorter prompts of a batch so that all have the same number of chunks.
PromptChunk empty_chunk(const ClipTokenizer& tok, Padding padding);

// How the multipliers reach the text encoder's output, A1111's "Original"
// emphasis: for one chunk's hidden states z (batch x 77 x channels, row-major,
// in place) and its multipliers (batch x 77):
//   m0 = mean(z);  z[b,t,:] *= w[b,t];  z *= m0 / mean(z)
// The mean is over every element of z (all rows of the batch together), so
// weights change the direction of the states but not their overall mean.
// Chunks are weighted one at a time, then concatenated along tokens. A1111
// means in float32; this sums in double (differences ~1e-7 relative).
// `normalize` false is A1111's "No norm" option (multiply only).
void apply_emphasis(std::span<float> z, std::span<const float> multipliers, int64_t channels,
                    bool normalize = true);

}  // namespace atelier::ml::sd
