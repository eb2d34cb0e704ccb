#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace atelier::test {
namespace {

// Starts `atelier ARGS...` with stdout and stderr on the given descriptors and
// stdin on /dev/null. Everything is prepared before fork: tests fork from
// several threads, and the child may only make async-signal-safe calls.
pid_t spawn_program(std::vector<std::string> full, int out_fd, int err_fd) {
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::dup2(devnull, 0);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(devnull);
  return pid;
}

pid_t spawn_atelier(const std::vector<std::string>& args, int out_fd, int err_fd) {
  std::vector<std::string> full{ATELIER_BIN};
  full.insert(full.end(), args.begin(), args.end());
  return spawn_program(std::move(full), out_fd, err_fd);
}

int decode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

namespace {
ProcResult run_to_end(const std::vector<std::string>& argv) {
  char out_tmpl[] = "/tmp/atelier-out-XXXXXX";
  char err_tmpl[] = "/tmp/atelier-err-XXXXXX";
  int out_fd = ::mkostemp(out_tmpl, O_CLOEXEC);
  int err_fd = ::mkostemp(err_tmpl, O_CLOEXEC);
  pid_t pid = spawn_program(argv, out_fd, err_fd);
  ::close(out_fd);
  ::close(err_fd);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  ProcResult r{decode(status), slurp(out_tmpl), slurp(err_tmpl), usage.ru_maxrss};
  ::unlink(out_tmpl);
  ::unlink(err_tmpl);
  return r;
}
}  // namespace

ProcResult run_atelier(const std::vector<std::string>& args) {
  std::vector<std::string> full{ATELIER_BIN};
  full.insert(full.end(), args.begin(), args.end());
  return run_to_end(full);
}

ProcResult run_program(const std::vector<std::string>& argv) {
  return run_to_end(argv);
}

BackgroundProc BackgroundProc::program(const std::vector<std::string>& argv,
                                       const std::string& log_file) {
  BackgroundProc p;
  const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  p.pid_ = spawn_program(argv, fd, fd);
  ::close(fd);
  return p;
}

BackgroundProc::BackgroundProc(const std::vector<std::string>& args, const std::string& log_file) {
  const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = spawn_atelier(args, fd, fd);
  ::close(fd);
}

BackgroundProc::~BackgroundProc() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

void BackgroundProc::signal(int sig) {
  if (!reaped_) ::kill(pid_, sig);
}

int BackgroundProc::wait() {
  if (!reaped_) {
    ::waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  return decode(status_);
}

bool BackgroundProc::running() {
  if (reaped_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

std::vector<pid_t> child_pids(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') out.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

}  // namespace atelier::test
