#include "workspace.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "common/errors.h"
#include "sql/open_store.h"
#include "sql/pg_connection.h"
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
  for (auto* list : {&ws.config_.models, &ws.config_.import_roots, &ws.config_.export_roots})
    for (auto& m : *list)
      if (fs::path(m).is_relative()) m = (ws.dir_ / m).string();
  return ws;
}

Workspace Workspace::init(const fs::path& dir, const std::optional<std::string>& store,
                          const std::optional<std::string>& assets, bool create_store) {
  fs::create_directories(dir);
  fs::path cfg = dir / "atelier.yaml";
  if (store) sql::parse_store_url(*store, dir);  // refuse a bad URL before writing anything
  if (!fs::exists(cfg)) {
    std::string text = default_config_text();
    auto set = [&](const std::string& key, const std::optional<std::string>& v) {
      if (!v) return;
      const size_t at = text.find("\n" + key + ": ") + 1;
      const size_t end = text.find(' ', at + key.size() + 2);
      // Quoted: a URL may hold YAML's special characters.
      text.replace(at, end - at, key + ": " + json(*v).dump());
    };
    set("store", store);
    set("assets", assets);
    std::ofstream out(cfg);
    out << text;
    if (!out) throw InputError(cfg.string() + ": cannot write");
  }
  Workspace ws = open(dir);
  if (store && ws.config_.store != *store)
    throw InputError(cfg.string() + ": this workspace's store is " + ws.config_.store + ", not " +
                     *store + " (move it with `atelier migrate-store`)");
  if (assets && ws.config_.assets != *assets)
    throw InputError(cfg.string() + ": this workspace's assets are at " + ws.config_.assets +
                     ", not " + *assets);
  fs::create_directories(ws.assets_dir());
  fs::create_directories(ws.logs_dir());
  fs::create_directories(ws.tmp_dir());
  ws.open_store(system_clock(), create_store);
  return ws;
}

fs::path Workspace::db_path() const {
  const sql::StoreUrl u = sql::parse_store_url(config_.store, dir_);
  if (u.engine != sql::Engine::sqlite)
    throw InputError("this workspace's job database is not a file: " + describe_store());
  return u.file;
}

std::string Workspace::describe_store() const {
  const sql::StoreUrl u = sql::parse_store_url(config_.store, dir_);
  return u.engine == sql::Engine::sqlite ? u.file.string() : sql::pg_display_url(u.url);
}

bool Workspace::shared_store() const {
  return sql::parse_store_url(config_.store, dir_).engine != sql::Engine::sqlite;
}

std::unique_ptr<Waiter> Workspace::open_waiter() const {
  if (auto w = sql::open_listener(sql::parse_store_url(config_.store, dir_))) return w;
  return std::make_unique<WakeWaiter>(wake_file());
}

fs::path Workspace::tmp_dir() const {
  const fs::path assets = assets_dir().lexically_normal();
  const fs::path here = dir_.lexically_normal();
  const auto [end, _] = std::mismatch(here.begin(), here.end(), assets.begin(), assets.end());
  if (end == here.end()) return dir_ / "tmp";  // the assets are inside the workspace
  return assets / ".tmp";
}

fs::path Workspace::assets_dir() const {
  fs::path p = config_.assets;
  return p.is_absolute() ? p : dir_ / p;
}

std::unique_ptr<Store> Workspace::open_store(std::shared_ptr<Clock> clock, bool create) const {
  auto store =
      sql::open_store(sql::parse_store_url(config_.store, dir_), create, std::move(clock), config_);
  auto signal = std::make_shared<WakeSignal>(wake_file());
  store->set_ready_hook([signal] { signal->notify(); });
  return store;
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
