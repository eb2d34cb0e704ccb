// Starting, timing and stopping the benchmark's child processes.
#include "child_procs.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace atelier::bench {

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

double run_timed(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = spawn(argv, log);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(argv[0] + " failed (see " + log.string() + ")");
  return ms;
}

WorkerPool::WorkerPool(const std::filesystem::path& atelier, const std::filesystem::path& ws_dir,
                       int count) {
  const std::filesystem::path log = ws_dir / "workers.log";
  try {
    for (int i = 0; i < count; ++i)
      pids_.push_back(
          spawn({atelier.string(), "-w", ws_dir.string(), "worker", "--kinds", "sleep"}, log));
  } catch (...) {
    stop();
    throw;
  }
}

WorkerPool::~WorkerPool() {
  stop();
}

int WorkerPool::stop(int grace_ms) {
  for (pid_t p : pids_) ::kill(p, SIGTERM);
  int bad = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  // Polled rather than blocking, so one stuck worker cannot hold the others' reaping.
  while (!pids_.empty()) {
    for (auto it = pids_.begin(); it != pids_.end();) {
      int status = 0;
      if (::waitpid(*it, &status, WNOHANG) == *it) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++bad;
        it = pids_.erase(it);
      } else {
        ++it;
      }
    }
    if (pids_.empty()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (pid_t p : pids_) {
        ::kill(p, SIGKILL);
        ::waitpid(p, nullptr, 0);
        ++bad;
      }
      pids_.clear();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return bad;
}

}  // namespace atelier::bench
