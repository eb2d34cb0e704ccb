// The job-kind seam: a kind is a class with one run(job, context) entry point.
// It throws to fail (InputError: bad input, not retried; anything else: retried
// with backoff) and calls ctx.check_cancelled() at safe points.
#pragma once
#include <memory>
#include <string>

#include "job_context.h"

namespace atelier {

class JobKind {
 public:
  virtual ~JobKind() = default;
  virtual void run(JobContext& ctx) = 0;
  // Parses `params` exactly as run() does before it touches anything, throwing
  // InputError on what run() would refuse; `atelier validate` must accept no
  // less and no more (kind_registry_tests holds them to it).
  virtual void check_params(const nlohmann::json& params) const = 0;
};

// The implementation of a declared kind in this process (workers/kind_registry.h),
// or nullptr if this binary has none.
std::unique_ptr<JobKind> make_kind(const std::string& name);

}  // namespace atelier
