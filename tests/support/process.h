// Running the real `atelier` binary from tests: blocking runs with captured
// output, and background processes that a test can signal and reap.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace atelier::test {

struct ProcResult {
  int exit_code = -1;  // -signal if killed
  std::string out, err;
  // Peak resident memory of the process, or of the largest descendant it waited
  // for (an exec'd atelier-ml counts as the process itself), from wait4.
  long max_rss_kb = 0;
};

// Runs `atelier ARGS...` to completion.
ProcResult run_atelier(const std::vector<std::string>& args);

class BackgroundProc {
 public:
  explicit BackgroundProc(const std::vector<std::string>& args, const std::string& log_file);
  // Any program (argv[0] searched on PATH), e.g. `ip netns exec NS ...`.
  static BackgroundProc program(const std::vector<std::string>& argv, const std::string& log_file);
  BackgroundProc(BackgroundProc&& o) noexcept
      : pid_(o.pid_), reaped_(o.reaped_), status_(o.status_) {
    o.pid_ = -1;
  }
  ~BackgroundProc();  // SIGKILL + reap if still running
  BackgroundProc(const BackgroundProc&) = delete;
  BackgroundProc& operator=(const BackgroundProc&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig);
  int wait();  // exit code, or -signal
  bool running();

 private:
  BackgroundProc() = default;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

// Runs a program (argv[0] searched on PATH) to completion.
ProcResult run_program(const std::vector<std::string>& argv);

// Pids of the children of `parent` (from /proc), e.g. a supervisor's workers.
std::vector<pid_t> child_pids(pid_t parent);

}  // namespace atelier::test
