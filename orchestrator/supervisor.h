// The supervisor: keeps `atelier worker` processes running per kind within the
// CPU slots, and is the enforcer of what workers only do cooperatively.
//  - spawns a pool per kind that has work (threads per worker x processes never
//    exceeds cpu_slots), restarts crashed workers with exponential backoff;
//  - when a worker dies, its job that was running ends `crashed` (it counts) and
//    the jobs it had claimed but not started go back `released` (they do not);
//  - SIGKILLs a worker whose lease expired without a heartbeat (frozen);
//  - cancel: SIGTERM after cancel_grace_ms, SIGKILL after twice that;
//  - drain: SIGTERM to all (workers finish or release their jobs), SIGKILL
//    after drain_grace_ms, no new spawns.
// It manages only the processes it spawned itself.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "clock.h"
#include "store.h"
#include "worker_slot.h"

namespace atelier {

struct SupervisorOptions {
  std::string exe;     // the atelier binary
  std::string ml_exe;  // atelier-ml: runs the kinds in ml_kinds
  std::set<std::string> ml_kinds;
  std::vector<std::string> worker_args;  // global flags before "worker", e.g. {"-w", DIR}
  std::string log_dir;                   // worker process logs go here
  std::map<std::string, int> pools;      // kind -> processes (default: cpu_slots / threads)
  std::map<std::string, int> threads;    // kind -> threads one worker uses (default 1)
  int cpu_slots = 1;
  int64_t cancel_grace_ms = 10'000;
  int64_t drain_grace_ms = 30'000;
  int64_t restart_backoff_base_ms = 500;
  int64_t restart_backoff_max_ms = 30'000;
};

struct ChildInfo {
  pid_t pid;
  std::string kind, worker_id;
};

class Supervisor {
 public:
  Supervisor(Store& store, const Clock& clock, SupervisorOptions opts);
  ~Supervisor();  // SIGKILLs and reaps any child still alive
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  void tick();  // reap, enforce, spawn
  void begin_drain();
  bool draining() const { return draining_; }
  bool idle() const { return children_.empty(); }
  std::vector<ChildInfo> children() const;
  int restarts() const { return restarts_; }
  static std::string worker_id_for(pid_t pid);

 private:
  struct Child {
    pid_t pid;
    std::string kind, worker_id;
    WorkerSlot slot;
    int64_t started_at;
    bool term_sent = false;
  };
  struct Pool {
    int failures = 0;
    int64_t next_spawn_at = 0;
  };
  void reap();
  void on_exit(Child& c, int status);
  void enforce();
  void spawn_wanted();
  void spawn(const std::string& kind);
  void retire_idle_worker_for(const std::string& kind, const std::vector<std::string>& ready);
  int threads_of(const std::string& kind) const;

  Store& store_;
  const Clock& clock_;
  SupervisorOptions opts_;
  std::vector<Child> children_;
  std::map<std::string, Pool> pools_;
  bool draining_ = false;
  int64_t drain_kill_at_ = 0;
  int restarts_ = 0;
  int spawned_ = 0;
  bool warned_slots_ = false;
};

}  // namespace atelier
