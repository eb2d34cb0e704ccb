#include "workspace.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "errors.h"
#include "sqlite/sqlite_store.h"
#include "wakeup.h"

namespace atelier {
namespace fs = std::filesystem;

std::shared_ptr<Clock> system_clock() {
  static auto c = std::make_shared<SystemClock>();
  return c;
}

fs::path Workspace::resolve_dir(const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) return fs::absolute(*flag);
  if (const char* env = std::getenv("ATELIER_WORKSPACE"); env && *env) return fs::absolute(env);
  return fs::current_path();
}

Workspace Workspace::open(const fs::path& dir) {
  if (!fs::exists(dir)) {
    throw InputError(dir.string() + ": workspace folder does not exist (run `atelier init " +
                     dir.string() + "` to make one)");
  }
  if (!fs::exists(dir / "atelier.yaml")) {
    throw InputError(dir.string() +
                     ": not an Atelier workspace (no atelier.yaml; run "
                     "`atelier init " +
                     dir.string() + "` or pass -w DIR)");
  }
  Workspace ws;
  ws.dir_ = fs::canonical(dir);
  ws.config_ = load_config(ws.dir_ / "atelier.yaml");
  ws.config_.dir = ws.dir_.string();
  for (auto& m : ws.config_.models)
    if (fs::path(m).is_relative()) m = (ws.dir_ / m).string();
  return ws;
}

Workspace Workspace::init(const fs::path& dir) {
  fs::create_directories(dir);
  fs::path cfg = dir / "atelier.yaml";
  if (!fs::exists(cfg)) {
    std::ofstream out(cfg);
    out << default_config_text();
    if (!out) throw InputError(cfg.string() + ": cannot write");
  }
  Workspace ws = open(dir);
  fs::create_directories(ws.assets_dir());
  fs::create_directories(ws.logs_dir());
  fs::create_directories(ws.tmp_dir());
  auto store = ws.open_store(system_clock(), true);
  workspace_signing_key(ws.dir(), *store);
  return ws;
}

fs::path Workspace::db_path() const {
  const std::string& url = config_.store;
  const std::string prefix = "sqlite:";
  if (url.rfind(prefix, 0) != 0) {
    throw InputError(url + ": unsupported store URL (this build supports sqlite:PATH)");
  }
  fs::path p = url.substr(prefix.size());
  return p.is_absolute() ? p : dir_ / p;
}

fs::path Workspace::assets_dir() const {
  fs::path p = config_.assets;
  return p.is_absolute() ? p : dir_ / p;
}

std::unique_ptr<Store> Workspace::open_store(std::shared_ptr<Clock> clock, bool create) const {
  auto store =
      std::make_unique<sqlite::SqliteStore>(db_path(), create, std::move(clock), config_.retry);
  auto signal = std::make_shared<WakeSignal>(wake_file());
  store->set_ready_hook([signal] { signal->notify(); });
  return store;
}

provenance::KeyPair workspace_signing_key(const fs::path& dir, Store& store) {
  provenance::LoadedKey k;
  try {
    k = provenance::load_or_create_key_pair(dir / "keys");
  } catch (const provenance::KeyError& e) {
    throw InputError(std::string("signing key: ") + e.what());
  }
  if (k.created || !store.find_signing_key(k.key.key_id))
    store.add_signing_key({k.key.key_id, k.key.public_hex(), "workspace", "", 0});
  return std::move(k.key);
}

std::string current_actor() {
  if (const char* u = std::getenv("ATELIER_ACTOR"); u && *u) return u;
  if (passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  if (const char* u = std::getenv("USER"); u && *u) return u;
  return "uid:" + std::to_string(::geteuid());
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace atelier
