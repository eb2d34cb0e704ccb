#include "worker_loop.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "common/errors.h"
#include "heartbeat.h"
#include "input_resolver.h"
#include "job_kind.h"
#include "orchestrator/disk_space.h"
#include "orchestrator/ids.h"
#include "orchestrator/supervisor.h"
#include "orchestrator/wakeup.h"
#include "orchestrator/worker_slot.h"

namespace atelier {
namespace {

using steady = std::chrono::steady_clock;

FailKind fail_kind_for(JobStopped::Reason r) {
  switch (r) {
    case JobStopped::Reason::cancelled:
      return FailKind::cancelled;
    case JobStopped::Reason::timeout:
      return FailKind::timeout;
    case JobStopped::Reason::draining:
      return FailKind::released;
    case JobStopped::Reason::lease_lost:
      return FailKind::error;  // fenced out anyway
  }
  return FailKind::error;
}

class Worker {
 public:
  Worker(const Workspace& ws, const WorkerOptions& opts, std::atomic<int64_t>& stop)
      : ws_(ws),
        opts_(opts),
        stop_(stop),
        clock_(system_clock()),
        store_(ws.open_store(clock_)),
        assets_(ws.asset_store()),
        id_(Supervisor::worker_id_for(::getpid())),
        host_(host_name()),
        slot_(WorkerSlot::attach(opts.slot_fd)),
        waiter_(ws.open_waiter()),
        hb_(ws, id_, ws.config().lease_ms, ws.config().effective_heartbeat_ms()) {}

  int run() {
    std::string kinds_text;
    for (const auto& k : opts_.kinds) kinds_text += (kinds_text.empty() ? "" : ",") + k;
    store_->register_worker(WorkerInfo{id_, host_name(), kinds_text, static_cast<int>(::getpid())});
    spdlog::info("worker {} serving {}", id_, kinds_text);
    const int max_batch = std::max(1, ws_.config().claim_batch);
    int batch = 1;
    while (stop_ == 0) {
      waiter_->drain();
      ClaimRequest req{id_,   static_cast<int>(::getpid()), opts_.kinds,
                       batch, ws_.config().lease_ms,        ws_.logs_dir().string()};
      std::vector<Lease> leases = store_->claim(req);
      if (leases.empty()) {
        batch = 1;
        idle_wait();
        continue;
      }
      hb_.set_worker_state("busy", leases.front().job_id);
      double running_ms = 0;
      bool slow = run_batch(leases, running_ms);
      // The jobs' own time, not the store's: on a shared database the commits
      // wait for each other, and counting that wait would shrink the batch and
      // so multiply the commits (each job then paying its own).
      const double per_job_ms = running_ms / leases.size();
      if (slow || per_job_ms >= 2.0) {
        batch = 1;
      } else if (static_cast<int>(leases.size()) == batch) {
        batch = std::min(batch * 2, max_batch);
      }
      hb_.set_worker_state("idle", std::nullopt);
    }
    store_->unregister_worker(id_);
    spdlog::info("worker {} stopped", id_);
    return 0;
  }

 private:
  void idle_wait() {
    int64_t wait_ms = opts_.idle_wait_max_ms;
    if (auto next = store_->next_ready_at(opts_.kinds)) {
      const int64_t until = *next - clock_->now_ms();
      // Ready now but not claimable means paused or at its limit: a resume or a
      // finished job of that kind wakes us, so only the safety net applies.
      if (until > 0) wait_ms = std::min(until, wait_ms);
    }
    if (probe_for_space()) wait_ms = std::min(wait_ms, ws_.config().disk_probe_ms);
    if (stop_ == 0) waiter_->wait(wait_ms, opts_.stop_fd);
  }

  // Checks the folders of this host seen full; where space is back, their jobs
  // are released at once instead of at the end of their disk-full backoff.
  // Returns true while one is still full (so the next look is soon).
  bool probe_for_space() {
    bool still_full = false;
    for (const DiskFullRow& d : store_->disk_full()) {
      if (d.host != host_) continue;
      const auto f = free_space(d.path);
      if (!f || !has_room(*f, d.free_bytes)) {
        still_full = true;
        continue;
      }
      const int released = store_->space_returned(d.host, d.path);
      if (released >= 0)
        spdlog::info("space is back at {} ({} bytes available): {} job(s) released", d.path,
                     f->available_bytes, released);
    }
    return still_full;
  }

  // What a job that met a full disk records: the folder (of those this worker
  // writes, or the one the error names), its free space now, and the error.
  DiskFullRow disk_full_seen(const std::exception& e) const {
    const FullFolder where = full_folder(e, {assets_.root(), assets_.tmp_dir(), ws_.logs_dir()});
    DiskFullRow seen;
    seen.host = host_;
    seen.path = where.dir.string();
    seen.free_bytes = where.free_bytes;
    seen.error =
        "disk full at " + seen.path + " (waiting for space; no attempt spent): " + e.what();
    return seen;
  }

  // Returns true if any job was slow (so the next claim takes one job); adds
  // the time spent running jobs (not committing them) to running_ms.
  bool run_batch(const std::vector<Lease>& leases, double& running_ms) {
    std::vector<std::shared_ptr<JobSignals>> signals;
    for (const Lease& l : leases) signals.push_back(hb_.track(l));
    bool slow = false;
    auto first_pending = steady::now();
    for (size_t i = 0; i < leases.size(); ++i) {
      const Lease& l = leases[i];
      if (stop_ != 0) {
        // Draining: give back what we claimed but did not start.
        flush();
        store_->fail(l.job_id, l.attempt, FailKind::released,
                     "worker " + id_ + " is shutting down");
        hb_.untrack(l.job_id);
        continue;
      }
      if (pending_.empty()) first_pending = steady::now();
      const auto t0 = steady::now();
      run_one(l, *signals[i]);
      const auto took = steady::now() - t0;
      running_ms += std::chrono::duration<double, std::milli>(took).count();
      if (took > std::chrono::milliseconds(20)) slow = true;
      // Quick jobs' completions are committed together; anything older than 2 ms goes now.
      if (i + 1 == leases.size() || steady::now() - first_pending > std::chrono::milliseconds(2))
        flush();
    }
    flush();
    return slow;
  }

  // A job that would consume upstream outputs but has none, because a check gate
  // upstream quarantined them all, is skipped rather than run on nothing.
  std::optional<std::string> gated_out(const JobContext& ctx) {
    if (ctx.params().contains("_inputs")) return std::nullopt;  // for_each: its one asset
    for (const JobInput& in : ctx.inputs())
      if (in.role == "input") return std::nullopt;
    const int64_t held = store_->quarantined_upstream(ctx.job_id());
    if (held == 0) return std::nullopt;
    return "skipped: the check gate upstream quarantined all " + std::to_string(held) +
           " of its input asset(s)";
  }

  void run_one(const Lease& l, JobSignals& sig) {
    sig.stop_at_ms = &stop_;
    sig.drain_grace_ms = ws_.config().drain_grace_ms;
    if (l.timeout_ms > 0) sig.deadline_ms = clock_->now_ms() + l.timeout_ms;
    JobContext ctx(l, assets_, sig, *clock_, *store_, ws_.config());
    slot_.set_current(l.job_id);
    std::optional<std::pair<FailKind, std::string>> failure;
    std::optional<DiskFullRow> disk_full;  // set: the job waits for space, no attempt spent
    try {
      std::unique_ptr<JobKind> kind = make_kind(l.kind);
      if (!kind) throw InputError("this worker has no implementation of kind '" + l.kind + "'");
      resolve_inputs(ctx, *store_, assets_);
      if (auto why = gated_out(ctx)) {
        ctx.log().info("{}", *why);
        slot_.set_current(0);
        Completion c{l.job_id, l.attempt, {}, {}};
        c.skipped = std::move(why);
        pending_.push_back(std::move(c));
        return;
      }
      kind->run(ctx);
      // A lease lost while running means someone else owns the job now: do not
      // write anything (the completion would be refused anyway).
      ctx.check_cancelled();
    } catch (const JobStopped& e) {
      failure = {fail_kind_for(e.reason), e.what()};
    } catch (const InputError& e) {
      failure = {FailKind::invalid, e.what()};
    } catch (const std::exception& e) {
      if (is_disk_full(e)) {
        disk_full = disk_full_seen(e);
        failure = {FailKind::disk_full, disk_full->error};
      } else {
        failure = {FailKind::error, e.what()};
      }
    }
    slot_.set_current(0);
    if (!failure) {
      Completion c{l.job_id, l.attempt, ctx.outputs(), ctx.lineage(), std::move(ctx.spawned()),
                   ctx.checks()};
      c.models = ctx.models();
      pending_.push_back(std::move(c));
      return;
    }
    flush();
    try {
      ctx.log().error("{}: {}", to_string(failure->first), failure->second);
    } catch (const std::exception& e) {
      // The attempt log's own disk may be the full one: the store still hears of it.
      spdlog::warn("{} attempt {}: attempt log not written: {}", job_ref(l.job_id), l.attempt,
                   e.what());
    }
    if (disk_full) spdlog::warn("{} attempt {}: {}", job_ref(l.job_id), l.attempt, failure->second);
    const FenceResult r = disk_full
                              ? store_->wait_for_space(l.job_id, l.attempt, *disk_full)
                              : store_->fail(l.job_id, l.attempt, failure->first, failure->second);
    if (r == FenceResult::lost) {
      spdlog::warn("{} attempt {}: lease was taken over; failure not recorded", job_ref(l.job_id),
                   l.attempt);
    }
    hb_.untrack(l.job_id);
  }

  void flush() {
    if (pending_.empty()) return;
    std::vector<FenceResult> r = store_->complete(pending_);
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (r[i] == FenceResult::lost) {
        spdlog::warn("{} attempt {}: lease was taken over; completion refused",
                     job_ref(pending_[i].job_id), pending_[i].attempt);
      }
      hb_.untrack(pending_[i].job_id);
    }
    pending_.clear();
  }

  const Workspace& ws_;
  const WorkerOptions& opts_;
  std::atomic<int64_t>& stop_;  // non-zero: told to stop at that time
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<Store> store_;
  AssetStore assets_;
  std::string id_;
  std::string host_;  // the host part of id_: disk_full rows of this host are ours to probe
  WorkerSlot slot_;
  std::unique_ptr<Waiter> waiter_;
  Heartbeater hb_;
  std::vector<Completion> pending_;
};

}  // namespace

int run_worker(const Workspace& ws, const WorkerOptions& opts, std::atomic<int64_t>& stop_at_ms) {
  Worker w(ws, opts, stop_at_ms);
  return w.run();
}

}  // namespace atelier
