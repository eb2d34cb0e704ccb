#include "orchestrator_loop.h"

#include <spdlog/spdlog.h>

namespace atelier {

namespace {
SupervisorOptions supervisor_options(const Workspace& ws, const OrchestratorOptions& o) {
  const WorkspaceConfig& c = ws.config();
  SupervisorOptions s;
  s.exe = o.exe;
  s.ml_exe = o.ml_exe;
  s.ml_kinds = o.ml_kinds;
  s.worker_args = {"-w", ws.dir().string()};
  s.log_dir = (ws.logs_dir() / "workers").string();
  s.pools = c.pools;
  for (const auto& [k, n] : o.pools) s.pools[k] = n;
  s.threads = o.threads;
  s.cpu_slots = c.effective_cpu_slots();
  s.cancel_grace_ms = c.cancel_grace_ms;
  s.drain_grace_ms = c.drain_grace_ms;
  s.restart_backoff_base_ms = c.restart_backoff_base_ms;
  s.restart_backoff_max_ms = c.restart_backoff_max_ms;
  return s;
}
}  // namespace

OrchestratorLoop::OrchestratorLoop(const Workspace& ws, std::shared_ptr<Clock> clock,
                                   OrchestratorOptions opts)
    : ws_(ws),
      clock_(std::move(clock)),
      store_(ws.open_store(clock_)),
      supervisor_(std::make_unique<Supervisor>(*store_, *clock_, supervisor_options(ws, opts))),
      rescuer_(*store_, *clock_, std::max<int64_t>(100, ws.config().lease_ms / 4)),
      cleaner_(*store_, *clock_,
               {ws.assets_dir(), ws.tmp_dir(), ws.logs_dir(), ws.config().orphan_grace_ms,
                ws.config().retention_days}),
      cleaner_interval_ms_(opts.cleaner_interval_ms) {
  for (const auto& [kind, limit] : ws.config().limits) store_->set_limit(kind, limit);
}

void OrchestratorLoop::tick() {
  supervisor_->tick();
  rescuer_.tick();
  const int64_t t = clock_->now_ms();
  // One cleaner for the whole database and asset store, on whichever host leads.
  if (t >= next_clean_at_ && !supervisor_->draining() && store_->hold_leadership("cleaner")) {
    next_clean_at_ = t + cleaner_interval_ms_;
    try {
      cleaner_.run_once();
    } catch (const std::exception& e) {
      spdlog::error("cleaner: {}", e.what());
    }
  }
}

}  // namespace atelier
