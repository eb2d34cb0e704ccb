// The AUTOMATIC1111 prompt syntax for LoRAs: `<lora:NAME>` or `<lora:NAME:SCALE>`
// anywhere in a prompt. Pure text handling, no torch: the tags are taken out of
// the prompt the model sees (A1111 does the same) and returned in order.
#pragma once
#include <string>
#include <vector>

namespace atelier {

struct PromptLora {
  std::string name;
  double scale = 1.0;
};

struct ParsedPrompt {
  std::string prompt;  // without the tags, spaces around them collapsed
  std::vector<PromptLora> loras;
};

// Throws std::invalid_argument naming the tag for an empty name or a scale that
// is not a finite number (e.g. "<lora:style:strong>").
ParsedPrompt parse_prompt_loras(const std::string& prompt);

}  // namespace atelier
