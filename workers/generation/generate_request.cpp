#include "workers/generation/generate_request.h"

#include <cstdio>
#include <cstdlib>

#include "common/errors.h"

namespace atelier {
namespace {

using nlohmann::json;

// `size` as 64, "64" or "64x48"; {0, 0} when null.
std::pair<int, int> size_of(const json& v) {
  if (v.is_null()) return {0, 0};
  int w = 0, h = 0;
  if (v.is_number_integer()) {
    w = h = v.get<int>();
  } else if (v.is_string()) {
    const auto s = v.get<std::string>();
    char tail = 0;
    if (std::sscanf(s.c_str(), "%dx%d%c", &w, &h, &tail) != 2) {
      char* end = nullptr;
      w = h = static_cast<int>(std::strtol(s.c_str(), &end, 10));
      if (!end || *end) w = h = 0;
    }
  }
  if (w <= 0 || h <= 0)
    throw InputError("generate: param 'size' must be N or \"WxH\", got " + v.dump());
  return {w, h};
}

}  // namespace

std::pair<int, int> parse_image_size(const json& v) {
  return size_of(v);
}

void require_square_size(const json& v) {
  const auto [w, h] = size_of(v);
  if (w != h)
    throw InputError("generate: param 'size' must be N or \"NxN\" (square) for this model, got " +
                     v.dump());
}

ml::GenerateRequest generate_request(const GenerateParams& p) {
  ml::GenerateRequest r;
  r.prompt = p.prompt;
  r.negative_prompt = p.negative;
  r.count = p.count;
  r.seed = p.seed;
  r.steps = p.steps;
  r.batch = p.batch;
  r.cfg = p.cfg;
  try {
    const ml::SamplerChoice c = ml::parse_sampler_choice(p.sampler);
    r.sampler = c.kind;
    r.grid = c.grid;
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("generate: param 'sampler': ") + e.what());
  }
  r.size = size_of(p.size).first;  // square: require_square_size, once the model is known
  return r;
}

}  // namespace atelier
