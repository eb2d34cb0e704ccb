// The long-lived worker process: claims jobs of the kinds it serves, runs them
// through their JobKind, reports completion or failure fenced by attempt, and
// sleeps on the wake file when there is nothing to do. Quick jobs are claimed
// and completed several per transaction (the batch doubles while jobs finish
// in under 2 ms and falls back to 1 for anything slower); every job still has
// its own lease, attempt and fencing. On SIGTERM it drains: no new claims, the
// running job may finish within drain_grace_ms, claimed jobs not started are
// released (they do not count as attempts). A job that meets a full disk
// (orchestrator/disk_space.h) waits for space without spending an attempt; an
// idle worker checks the folders of its host seen full every disk_probe_ms and
// releases the waiting jobs once there is room.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "orchestrator/workspace.h"

namespace atelier {

struct WorkerOptions {
  std::vector<std::string> kinds;
  int slot_fd = -1;                 // shared page from the supervisor (WorkerSlot), or -1
  int stop_fd = -1;                 // readable once told to stop (the signal handler's self-pipe)
  int64_t idle_wait_max_ms = 5000;  // safety net if a wake-up is ever missed
};

// Runs until `stop_at_ms` becomes non-zero (a signal handler stores the time it
// was told to stop). Returns the process exit code.
int run_worker(const Workspace& ws, const WorkerOptions& opts, std::atomic<int64_t>& stop_at_ms);

}  // namespace atelier
