// `atelier worker`: one worker process; normally spawned by a supervisor.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "cli_util.h"
#include "common/errors.h"
#include "kinds/catalog.h"
#include "provenance/workspace_key.h"
#include "workers/worker_loop.h"

namespace atelier::cli {
namespace {

std::atomic<int64_t> g_stop_at{0};
static_assert(std::atomic<int64_t>::is_always_lock_free);
int g_stop_pipe[2] = {-1, -1};

void on_signal(int) {
  if (g_stop_at.load() != 0) return;
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);  // async-signal-safe, as is write()
  g_stop_at.store(static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000);
  const char byte = 1;
  [[maybe_unused]] auto n = ::write(g_stop_pipe[1], &byte, 1);
}

}  // namespace

int cmd_worker(const Globals& g, const std::string& kinds, const std::optional<std::string>& db,
               const std::optional<std::string>& assets, int slot_fd) {
  // On another host, --db names the shared store: a folder without a workspace
  // becomes this host's own (logs, config), joined to the existing store.
  const auto dir = Workspace::resolve_dir(g.workspace);
  Workspace ws = db && !std::filesystem::exists(dir / "atelier.yaml")
                     ? provenance::init_workspace(dir, db, assets, /*create_store=*/false)
                     : Workspace::open(dir);
  if (db) ws.set_store_url(*db);
  if (assets) ws.set_assets_path(*assets);
  WorkerOptions opts;
  opts.slot_fd = slot_fd;
  size_t start = 0;
  while (start <= kinds.size()) {
    size_t end = kinds.find(',', start);
    std::string k = kinds.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!find_kind(k))
      throw InputError("--kinds " + kinds + ": unknown kind '" + k +
                       "' (known: " + known_kinds_list() + ")");
    opts.kinds.push_back(k);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (::pipe2(g_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
  opts.stop_fd = g_stop_pipe[0];
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  return run_worker(ws, opts, g_stop_at);
}

}  // namespace atelier::cli
