// Resolves what a job consumes before it runs, and records it as lineage:
//  - its upstream inputs: the one asset a for_each job was made for
//    (params._inputs), else the outputs of the jobs it depends on;
//  - ${stage.assets} / ${stage.model} references anywhere in its params, replaced by
//    the assets themselves ({sha256, path, media_type});
//  - files imported at submission (a `files` param: [{sha256, source, licence}]).
// Throws InputError when a reference cannot be satisfied (no job dead-ends on
// a half-resolved param).
#pragma once
#include "job_context.h"

namespace atelier {

void resolve_inputs(JobContext& ctx, Store& store, const AssetStore& files);

}  // namespace atelier
