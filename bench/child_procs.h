// Child processes of the benchmark: `atelier worker` pools that are always
// stopped (SIGTERM, then SIGKILL) even when a phase throws, and timed one-shot
// commands.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace atelier::bench {

// Starts argv[0] (a path) with stdin from /dev/null and stdout and stderr
// appended to `log`. Throws on failure to start.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log);

// Runs argv to completion; returns its wall time in ms. Throws when it exits non-zero.
double run_timed(const std::vector<std::string>& argv, const std::filesystem::path& log);

class WorkerPool {
 public:
  // `count` processes of `atelier -w ws_dir worker --kinds sleep`, logging to ws_dir/workers.log.
  WorkerPool(const std::filesystem::path& atelier, const std::filesystem::path& ws_dir, int count);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // SIGTERM to all, wait up to `grace_ms`, then SIGKILL whatever is left. Returns
  // how many exited with a non-zero status or by a signal.
  int stop(int grace_ms = 10'000);

 private:
  std::vector<pid_t> pids_;
};

}  // namespace atelier::bench
