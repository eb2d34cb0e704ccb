// ENQUEUE: the whole in-process path of a submission (parse, validate, expand,
// one submit transaction) for an N-job matrix, plus the CLI's wall time for the
// same spec as a reference that includes process start.
#include <chrono>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include "bench_phases.h"
#include "child_procs.h"
#include "orchestrator/workspace.h"
#include "pipelines/spec.h"

namespace atelier::bench {

namespace {
std::string int_list(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(i);
  return s + "]";
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}
}  // namespace

std::string matrix_spec_text(int jobs) {
  // Two lists keep the spec small and exercise the cartesian product; a prime
  // count falls back to one list of N values.
  int a = static_cast<int>(std::sqrt(static_cast<double>(jobs)));
  while (a > 1 && jobs % a != 0) --a;
  std::string text =
      "version: 1\n"
      "name: queue-bench\n"
      "stages:\n"
      "  - id: noop\n"
      "    kind: sleep\n"
      "    with: {ms: 0}\n"
      "    matrix:\n";
  if (a > 1) text += "      a: " + int_list(a) + "\n";
  text += "      b: " + int_list(jobs / std::max(a, 1)) + "\n";
  return text;
}

EnqueueResult run_enqueue(const BenchOptions& o, const std::filesystem::path& ws_dir,
                          const std::filesystem::path& cli_ws_dir) {
  EnqueueResult r;
  const std::string text = matrix_spec_text(o.jobs);
  {
    Workspace ws = Workspace::init(ws_dir);
    const std::filesystem::path spec_path = ws_dir / "queue_bench.yaml";
    write_file(spec_path, text);
    auto store = ws.open_store();
    const std::string actor = current_actor();
    using clock = std::chrono::steady_clock;
    auto ms = [](clock::time_point a, clock::time_point b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    const auto t0 = clock::now();
    PipelineSpec spec = parse_spec(text, spec_path.string(), {});
    const auto t1 = clock::now();
    NewRun run = expand_spec(spec, ws.config().max_attempts);
    run.spec_path = spec_path.string();
    run.submitter = actor;
    const auto t2 = clock::now();
    SubmitResult s = store->submit_run(run);
    const auto t3 = clock::now();
    r.in_process_ms = ms(t0, t3);
    r.parse_ms = ms(t0, t1);
    r.expand_ms = ms(t1, t2);
    r.submit_ms = ms(t2, t3);
    if (run.jobs.size() != static_cast<size_t>(o.jobs))
      throw std::runtime_error("the spec expanded to " + std::to_string(run.jobs.size()) +
                               " jobs, not " + std::to_string(o.jobs));
    r.run_id = s.run_id;
  }
  Workspace::init(cli_ws_dir);
  const std::filesystem::path cli_spec = cli_ws_dir / "queue_bench.yaml";
  write_file(cli_spec, text);
  r.cli_submit_ms =
      run_timed({o.atelier.string(), "-w", cli_ws_dir.string(), "submit", cli_spec.string()},
                cli_ws_dir / "submit.log");
  return r;
}

}  // namespace atelier::bench
