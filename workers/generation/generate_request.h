// The sampler request for a `generate` job or `atelier generate`, from the
// kind's typed parameters (kinds/generate.h): one conversion for both.
#pragma once
#include "kinds/generate.h"
#include "ml/generator.h"

namespace atelier {

// Throws InputError naming the parameter (sampler, size) it cannot read.
ml::GenerateRequest generate_request(const GenerateParams& p);
// `size` as N or "WxH" (width, height); {0, 0} when null. InputError naming
// the param otherwise.
std::pair<int, int> parse_image_size(const nlohmann::json& size);
// Atelier's own models draw squares only.
void require_square_size(const nlohmann::json& size);

}  // namespace atelier
