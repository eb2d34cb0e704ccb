// The sampler request for a `generate` job or `atelier generate`, from the
// kind's typed parameters (kinds/generate.h): one conversion for both.
#pragma once
#include "kinds/generate.h"
#include "ml/generator.h"

namespace atelier {

// Throws InputError naming the parameter (sampler, size) it cannot read.
ml::GenerateRequest generate_request(const GenerateParams& p);

}  // namespace atelier
