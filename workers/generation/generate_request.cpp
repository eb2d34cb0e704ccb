#include "workers/generation/generate_request.h"

#include <cstdio>
#include <cstdlib>

#include "common/errors.h"

namespace atelier {
namespace {

using nlohmann::json;

// `size` as 64, "64" or "64x64" (square only: the models are square).
int parse_size(const json& v) {
  if (v.is_null()) return 0;
  int w = 0, h = 0;
  if (v.is_number_integer()) {
    w = h = v.get<int>();
  } else if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (std::sscanf(s.c_str(), "%dx%d", &w, &h) != 2) {
      char* end = nullptr;
      w = h = static_cast<int>(std::strtol(s.c_str(), &end, 10));
      if (!end || *end) w = h = 0;
    }
  }
  if (w <= 0 || w != h)
    throw InputError("generate: param 'size' must be N or \"NxN\" (square), got " + v.dump());
  return w;
}

}  // namespace

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
    r.sampler = ml::parse_sampler(p.sampler);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("generate: param 'sampler': ") + e.what());
  }
  r.size = parse_size(p.size);
  return r;
}

}  // namespace atelier
