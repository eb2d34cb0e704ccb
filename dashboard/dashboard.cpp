// See dashboard.h.
#include "dashboard/dashboard.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "dashboard/auth.h"
#include "dashboard/http_util.h"
#include "dashboard/page_layout.h"
#include "orchestrator/asset_store.h"
#include "orchestrator/tokens.h"

namespace atelier::dashboard {

StorePool::Lease StorePool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(s));
    }
  }
  return Lease(*this, open_());
}

void StorePool::give_back(std::unique_ptr<Store> s) {
  if (!s) return;
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(s));
}

Dashboard::Dashboard(const Workspace& ws, std::shared_ptr<Clock> clock, DashboardOptions options,
                     SubmitSchedule submit_schedule)
    : env_{ws, clock, options, std::move(submit_schedule),           {},
           {}, {},    {},      LoginThrottle(*clock, options.logins)},
      pool_([&ws, clock] { return ws.open_store(clock); }) {
  add_read_api(router_);
  add_actions(router_);
  add_pages(router_);
  add_live(router_);
  add_metrics(router_);
  if (env_.options.summary_ttl_ms > 0) refresher_ = std::thread([this] { refresh_summaries(); });
}

Dashboard::~Dashboard() {
  stop();
}

void Dashboard::stop() {
  {
    std::lock_guard lock(stop_mu_);
    env_.stopping = true;
  }
  stop_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  try {
    auto store = pool_.acquire();
    env_.logins.flush(*store, true);  // the windows still open: their counts so far
  } catch (const std::exception& e) {
    spdlog::warn("dashboard: writing the failed logins at stop: {}", e.what());
  }
}

// Keeps the overview's and /metrics' figures fresh off the request path, so no
// request waits on counting a million jobs.
void Dashboard::refresh_summaries() {
  auto store = env_.ws.open_store(env_.clock);
  std::unique_lock lock(stop_mu_);
  while (!env_.stopping) {
    lock.unlock();
    try {
      env_.overview_cache.put(overview_summary(*store, env_));
      env_.metrics_cache.put(metrics_text(*store));
      env_.logins.flush(*store);
    } catch (const std::exception& e) {
      spdlog::warn("dashboard: refreshing the overview: {}", e.what());
    }
    lock.lock();
    stop_cv_.wait_for(lock, std::chrono::milliseconds(env_.options.summary_ttl_ms),
                      [this] { return env_.stopping.load(); });
  }
}

namespace {

bool wants_json(const Request& req) {
  return !req.segments.empty() && (req.segments[0] == "api" || req.segments[0] == "metrics");
}

Reply failure(const Request& req, int status, const std::string& message) {
  if (wants_json(req)) return Reply::error(status, message);
  Reply r;
  r.status = status;
  r.body = error_page(status, message);
  return r;
}

// A request that offers a secret to be checked: a bearer token, or the login form.
bool presents_secret(const Request& req) {
  return req.authorization.rfind("Bearer ", 0) == 0 ||
         (req.method == "POST" && req.segments.size() == 1 && req.segments[0] == "login");
}

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Principal Dashboard::identify(Request& req, Store& store) {
  Principal p;
  if (req.authorization.rfind("Bearer ", 0) == 0) {
    if (auto t = authenticate_token(store, req.authorization.substr(7))) {
      p.name = t->name;
      p.role = t->role;
      p.token_id = t->id;
    } else {
      env_.logins.failed(store, req.client);
      throw Unauthorized(
          "the bearer token is not valid (revoked, or not a token of this workspace)");
    }
    return p;
  }
  if (auto sid = cookie_value(req.cookie, kSessionCookie)) {
    if (auto s = store.find_session(token_hash(*sid), env_.clock->now_ms())) {
      p.name = s->token_name;
      p.role = s->role;
      p.token_id = s->token_id;
      p.via_cookie = true;
      p.csrf = s->csrf;
    }
  }
  return p;
}

Reply Dashboard::handle(Request& req) {
  const std::string path = req.path.substr(0, req.path.find('?'));
  auto segments = split_path(path);
  if (!segments) return failure(req, 404, "not found");
  req.segments = std::move(*segments);
  std::map<std::string, std::string> params;
  bool known = false;
  const Route* route = router_.match(req.method, req.segments, params, known);
  if (!route) return failure(req, known ? 405 : 404, known ? "method not allowed" : "not found");
  try {
    auto store = pool_.acquire();
    env_.logins.flush(*store);
    if (presents_secret(req)) {
      if (const int64_t wait_ms = env_.logins.refused_for(req.client); wait_ms > 0) {
        const int64_t secs = (wait_ms + 999) / 1000;
        Reply r = failure(req, 429,
                          "too many failed logins from this address; try again in " +
                              std::to_string(secs) + " s");
        r.headers.emplace_back("Retry-After", std::to_string(secs));
        return r;
      }
    }
    const Principal who = identify(req, *store);
    const bool anonymous = who.role.empty();
    if (route->need == Need::read && anonymous &&
        !(env_.options.open_read && env_.options.loopback)) {
      if (!wants_json(req) && req.method == "GET")
        return Reply::redirect("/login?next=" + percent_encode(req.path));
      return failure(req, 401, "reading needs a token (Authorization: Bearer ...) or a login");
    }
    if (route->need == Need::act) {
      if (anonymous) return failure(req, 401, "this action needs an admin token or a login");
      if (!role_allows(who.role, "admin"))
        return failure(req, 403,
                       "this action needs an admin token; '" + who.name + "' is a " + who.role);
      if (who.via_cookie) {
        auto f = req.form.find("csrf");
        const std::string& sent = f != req.form.end() ? f->second : req.csrf_header;
        if (!same_secret(sent, who.csrf))
          return failure(req, 403, "the form's CSRF token is missing or wrong; reload the page");
      }
    }
    Ctx ctx{req, *store, who, std::move(params), env_};
    return route->handler(ctx);
  } catch (const Unauthorized& e) {
    return failure(req, 401, e.what());
  } catch (const Forbidden& e) {
    return failure(req, 403, e.what());
  } catch (const NotFound& e) {
    return failure(req, 404, e.what());
  } catch (const InputError& e) {
    return failure(req, 400, e.what());
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
    return failure(req, 500, "internal error (see the serve log)");
  }
}

}  // namespace atelier::dashboard
