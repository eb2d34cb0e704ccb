#include "workers/generation/lora_syntax.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace atelier {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Collapses runs of spaces left where tags were removed, and spaces before
// commas ("a <lora:x>, b" -> "a, b").
std::string tidy(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    if (c == ',' && !out.empty() && out.back() == ' ') out.pop_back();
    out.push_back(c);
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ',')) out.pop_back();
  size_t start = 0;
  while (start < out.size() && (out[start] == ',' || out[start] == ' ')) ++start;
  return out.substr(start);
}

}  // namespace

ParsedPrompt parse_prompt_loras(const std::string& prompt) {
  ParsedPrompt out;
  std::string rest;
  size_t i = 0;
  while (i < prompt.size()) {
    const auto open = prompt.find("<lora:", i);
    if (open == std::string::npos) {
      rest += prompt.substr(i);
      break;
    }
    const auto close = prompt.find('>', open);
    if (close == std::string::npos)
      throw std::invalid_argument("prompt: '" + prompt.substr(open) +
                                  "' has no closing '>' (expected <lora:NAME:SCALE>)");
    rest += prompt.substr(i, open - i);
    const std::string tag = prompt.substr(open, close - open + 1);
    const std::string body = prompt.substr(open + 6, close - open - 6);
    PromptLora l;
    const auto colon = body.find(':');
    l.name = trim(body.substr(0, colon));
    if (colon != std::string::npos) {
      const std::string num = trim(body.substr(colon + 1));
      char* end = nullptr;
      const double v = std::strtod(num.c_str(), &end);
      if (num.empty() || !end || *end != '\0' || !std::isfinite(v))
        throw std::invalid_argument(
            "prompt: " + tag + ": '" + num +
            "' is not a number (expected <lora:NAME> or <lora:NAME:SCALE>)");
      l.scale = v;
    }
    if (l.name.empty()) throw std::invalid_argument("prompt: " + tag + " names no LoRA");
    out.loras.push_back(std::move(l));
    rest += ' ';
    i = close + 1;
  }
  out.prompt = tidy(rest);
  return out;
}

}  // namespace atelier
