#include "supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "workspace.h"

namespace atelier {

Supervisor::Supervisor(Store& store, const Clock& clock, SupervisorOptions opts)
    : store_(store), clock_(clock), opts_(std::move(opts)) {}

Supervisor::~Supervisor() {
  for (Child& c : children_) ::kill(c.pid, SIGKILL);
  for (Child& c : children_) {
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    try {
      on_exit(c, status);
    } catch (const std::exception& e) {
      spdlog::error("supervisor: releasing jobs of worker {}: {}", c.worker_id, e.what());
    }
  }
}

std::string Supervisor::worker_id_for(pid_t pid) {
  return host_name() + ":" + std::to_string(pid);
}

std::vector<ChildInfo> Supervisor::children() const {
  std::vector<ChildInfo> out;
  for (const Child& c : children_) out.push_back({c.pid, c.kind, c.worker_id});
  return out;
}

int Supervisor::threads_of(const std::string& kind) const {
  auto it = opts_.threads.find(kind);
  return it == opts_.threads.end() ? 1 : std::max(0, it->second);
}

void Supervisor::tick() {
  reap();
  enforce();
  if (draining_) {
    if (!children_.empty() && clock_.now_ms() >= drain_kill_at_) {
      for (Child& c : children_) ::kill(c.pid, SIGKILL);
    }
    return;
  }
  spawn_wanted();
}

void Supervisor::begin_drain() {
  if (draining_) return;
  draining_ = true;
  drain_kill_at_ = clock_.now_ms() + opts_.drain_grace_ms;
  for (Child& c : children_) {
    ::kill(c.pid, SIGTERM);
    c.term_sent = true;
  }
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const Child& c) { return c.pid == pid; });
    if (it == children_.end()) continue;
    on_exit(*it, status);
    children_.erase(it);
  }
}

void Supervisor::on_exit(Child& c, int status) {
  std::string how = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                        : "exited with code " + std::to_string(WEXITSTATUS(status));
  // A worker this supervisor asked to stop (drain, retire) that died of that
  // SIGTERM did as it was told: not a crash, no restart backoff.
  const bool clean = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                     (c.term_sent && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  const int64_t running = c.slot.current();
  for (const Lease& l : store_.leases_of(c.worker_id)) {
    const bool was_running = l.job_id == running;
    store_.fail(l.job_id, l.attempt, was_running ? FailKind::crashed : FailKind::released,
                "worker " + c.worker_id + " " + how +
                    (was_running ? " while running this job" : " before starting this job"));
  }
  store_.unregister_worker(c.worker_id);
  Pool& pool = pools_[c.kind];
  const int64_t t = clock_.now_ms();
  if (clean || t - c.started_at >= opts_.restart_backoff_max_ms) {
    pool.failures = 0;  // a clean exit or a long life resets the backoff
  }
  if (!clean) {
    ++pool.failures;
    int shift = std::min(pool.failures - 1, 20);
    pool.next_spawn_at =
        t + std::min(opts_.restart_backoff_base_ms << shift, opts_.restart_backoff_max_ms);
    if (!draining_) spdlog::warn("supervisor: worker {} ({}) {}", c.worker_id, c.kind, how);
  }
}

void Supervisor::enforce() {
  if (children_.empty()) return;
  const int64_t t = clock_.now_ms();
  for (const JobRow& j : store_.leased_jobs()) {
    if (!j.lease_owner) continue;
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const Child& c) { return c.worker_id == *j.lease_owner; });
    if (it == children_.end()) continue;
    if (j.lease_expires_at && *j.lease_expires_at < t) {
      spdlog::warn("supervisor: worker {} let the lease of j{} expire; killing it", it->worker_id,
                   j.id);
      ::kill(it->pid, SIGKILL);
    } else if (j.cancel_requested && j.cancel_requested_at) {
      const int64_t since = t - *j.cancel_requested_at;
      if (since >= 2 * opts_.cancel_grace_ms) {
        spdlog::warn("supervisor: j{} ignored cancel; killing worker {}", j.id, it->worker_id);
        ::kill(it->pid, SIGKILL);
      } else if (since >= opts_.cancel_grace_ms && !it->term_sent) {
        spdlog::info("supervisor: j{} still running after cancel; SIGTERM to {}", j.id,
                     it->worker_id);
        ::kill(it->pid, SIGTERM);
        it->term_sent = true;
      }
    }
  }
}

void Supervisor::spawn_wanted() {
  int used = 0;
  for (const Child& c : children_) used += threads_of(c.kind);
  const int64_t t = clock_.now_ms();
  // Kinds with ready jobs come first (kinds_with_work orders them so), so a
  // freed slot goes to a kind that can start work now.
  const std::vector<std::string> kinds = store_.kinds_with_work();
  const std::vector<std::string> ready = store_.kinds_ready();
  auto is_ready = [&](const std::string& k) {
    return std::find(ready.begin(), ready.end(), k) != ready.end();
  };
  // Round-robin one process per kind per pass, so one big pool cannot starve the others.
  // Once a kind with ready jobs is waiting for a slot, kinds whose jobs are only
  // waiting get none: the slot a retired idle worker frees must go to the ready
  // kind, or the two would trade it back and forth for ever.
  bool ready_kind_waits = false;
  bool progressed = true;
  while (progressed) {
    progressed = false;
    for (const std::string& kind : kinds) {
      if (ready_kind_waits && !is_ready(kind)) continue;
      auto want_it = opts_.pools.find(kind);
      // Without a configured pool a kind gets as many workers as the CPU slots hold.
      const int want = want_it != opts_.pools.end()
                           ? want_it->second
                           : std::max(1, opts_.cpu_slots / std::max(1, threads_of(kind)));
      const int have = static_cast<int>(std::count_if(
          children_.begin(), children_.end(), [&](const Child& c) { return c.kind == kind; }));
      if (have >= want || pools_[kind].next_spawn_at > t) continue;
      const int need = threads_of(kind);
      if (used + need > opts_.cpu_slots && !(used == 0 && children_.empty())) {
        // A kind with ready jobs and no worker must not wait forever behind idle
        // workers of other kinds: retire one that holds no job. Only for ready
        // jobs: a kind whose jobs still wait on others would take the slot of a
        // worker that is about to claim, and the two would evict each other.
        if (have == 0 && is_ready(kind)) {
          retire_idle_worker_for(kind, ready);
          ready_kind_waits = true;
        }
        if (!warned_slots_) {
          spdlog::warn("supervisor: cpu_slots={} reached; {} waits for a free slot",
                       opts_.cpu_slots, kind);
          warned_slots_ = true;
        }
        continue;
      }
      spawn(kind);
      used += need;
      progressed = true;
    }
  }
}

void Supervisor::retire_idle_worker_for(const std::string& kind,
                                        const std::vector<std::string>& ready) {
  std::vector<std::string> busy, idle;
  for (const JobRow& j : store_.leased_jobs())
    if (j.lease_owner) busy.push_back(*j.lease_owner);
  // Only a worker that has registered as idle: one still starting has not yet
  // installed its SIGTERM handler, and a signal then would either kill it as a
  // crash or (between fork and exec) be taken by this process's own handler and
  // lost, leaving it holding its slot for good.
  for (const WorkerRow& w : store_.list_workers())
    if (w.state == "idle") idle.push_back(w.id);
  for (Child& c : children_) {
    if (c.kind == kind || c.term_sent || threads_of(c.kind) == 0) continue;
    if (std::find(idle.begin(), idle.end(), c.worker_id) == idle.end()) continue;
    // Idle only for a moment: its kind has jobs to claim.
    if (std::find(ready.begin(), ready.end(), c.kind) != ready.end()) continue;
    if (std::find(busy.begin(), busy.end(), c.worker_id) != busy.end()) continue;
    spdlog::info("supervisor: retiring idle {} worker {} to free a slot for {}", c.kind,
                 c.worker_id, kind);
    ::kill(c.pid, SIGTERM);
    c.term_sent = true;
    return;
  }
}

void Supervisor::spawn(const std::string& kind) {
  WorkerSlot slot = WorkerSlot::create();
  std::vector<std::string> args{opts_.ml_kinds.count(kind) ? opts_.ml_exe : opts_.exe};
  args.insert(args.end(), opts_.worker_args.begin(), opts_.worker_args.end());
  for (const char* a : {"worker", "--kinds"}) args.push_back(a);
  args.push_back(kind);
  args.push_back("--slot-fd");
  args.push_back("3");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::filesystem::create_directories(opts_.log_dir);
  // Everything the child needs is prepared here: between fork and exec it may
  // only make async-signal-safe calls.
  const std::string log = opts_.log_dir + "/worker-" + kind + "-" + std::to_string(::getpid()) +
                          "-" + std::to_string(spawned_++) + ".log";
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    if (log_fd >= 0) ::close(log_fd);
    spdlog::error("supervisor: fork failed: {}", std::strerror(errno));
    return;
  }
  if (pid == 0) {
    // A worker must not outlive its supervisor: it drains when the parent dies.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(0);
    ::setpgid(0, 0);  // a terminal's Ctrl-C reaches the supervisor, which drains workers itself
    if (slot.fd() != 3) {
      ::dup2(slot.fd(), 3);
    } else {
      ::fcntl(3, F_SETFD, 0);
    }
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  slot.close_fd();
  if (log_fd >= 0) ::close(log_fd);
  if (pools_[kind].next_spawn_at > 0) ++restarts_;
  children_.push_back(Child{pid, kind, worker_id_for(pid), std::move(slot), clock_.now_ms()});
}

}  // namespace atelier
