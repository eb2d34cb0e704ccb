// The `sleep` kind, for tests and chaos drills: waits `ms` milliseconds in
// slices so cancellation is seen promptly; fails its first `fail_times`
// attempts; SIGKILLs its own worker during its first `crash_times` attempts;
// with `output: true` stores a small text asset naming the job and its inputs (deterministic,
// so a job run twice would show up as the same file, never as a second asset).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "../job_kind.h"
#include "common/errors.h"
#include "kinds/sleep.h"
#include "orchestrator/ids.h"

namespace atelier {
namespace {

class SleepKind final : public JobKind {
 public:
  void check_params(const json& params) const override { sleep_kind().parse(params); }
  void run(JobContext& ctx) override {
    const SleepParams p = sleep_kind().parse(ctx.params());
    const int64_t ms = p.ms, fail_times = p.fail_times, crash_times = p.crash_times;
    const bool ignore_cancel = p.ignore_cancel;
    if (ctx.attempt() <= crash_times) {
      ctx.log().warn("crashing the worker on purpose (attempt {} of crash_times {})", ctx.attempt(),
                     crash_times);
      ::kill(::getpid(), SIGKILL);
    }
    if (ms > 0) ctx.log().info("sleeping {} ms", ms);
    using clock = std::chrono::steady_clock;
    const auto end = clock::now() + std::chrono::milliseconds(ms);
    for (auto now = clock::now(); now < end; now = clock::now()) {
      if (!ignore_cancel) ctx.check_cancelled();
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
      std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(20)));
      ctx.progress(1.0 - static_cast<double>((end - clock::now()).count()) /
                             std::max<int64_t>(1, ms * 1'000'000));
    }
    if (ctx.attempt() <= fail_times) {
      throw std::runtime_error("failing on purpose (attempt " + std::to_string(ctx.attempt()) +
                               " of fail_times " + std::to_string(fail_times) + ")");
    }
    if (p.output) {
      // Names the job and what it consumed, so duplicates and lineage both show.
      std::string text = "sleep output of " + job_ref(ctx.job_id()) + " (run " +
                         run_ref(ctx.lease().run_id) + ", stage " + ctx.lease().stage + ")\n";
      if (p.label) text += "label: " + *p.label + "\n";
      for (const JobInput& in : ctx.inputs()) text += "input " + in.role + ": " + in.sha256 + "\n";
      ctx.write_output("out.txt", text, "text/plain", "txt");
    }
  }
};

}  // namespace

std::unique_ptr<JobKind> make_sleep_kind() {
  return std::make_unique<SleepKind>();
}

}  // namespace atelier
