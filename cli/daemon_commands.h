// The commands of the serving side: `serve` (supervisor, scheduler and
// dashboard), schedules, API tokens and the audit log. Registered on the CLI app by
// add_daemon_commands; cli_main.cpp asks dispatch() whether one was given.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/workspace.h"

namespace atelier::cli {

struct ServeArgs {
  std::string bind = "127.0.0.1";
  int port = 8080;
  std::string workers;  // "kind=N,..."
  bool no_open_read = false;
  double rate_limit = 100;  // requests per second per client; 0: no limit
  // Connection and login limits (dashboard/server.h, login_throttle.h).
  int max_threads = 64;
  int max_connections = 512, max_connections_per_client = 16;
  int max_streams = 0;  // 0: 32, or fewer than half of max_threads when that is less
  int max_streams_per_client = 8;
  double header_timeout_s = 10, body_timeout_s = 20;
  int max_failed_logins = 10;
  double login_window_s = 60;
};
int cmd_serve(const Globals& g, const ServeArgs& a);

struct ScheduleArgs {
  std::string name, spec, cron, timezone = "UTC", missed = "skip";
  std::vector<std::string> sets;
  bool disabled = false;
};

int cmd_schedule_add(const Globals& g, const ScheduleArgs& a);
int cmd_schedule_list(const Globals& g);
int cmd_schedule_rm(const Globals& g, const std::string& name);
int cmd_schedule_run_now(const Globals& g, const std::string& name);
// How a schedule's spec is submitted (the scheduler's SubmitSchedule).
ScheduledSubmit submit_scheduled(const Workspace& ws, Store& store, const ScheduleRow& s,
                                 const std::string& key);

int cmd_token_create(const Globals& g, const std::string& role, const std::string& name);
int cmd_token_list(const Globals& g);
int cmd_token_revoke(const Globals& g, int64_t id);

int cmd_audit_list(const Globals& g, int limit);
int cmd_audit_verify(const Globals& g, const std::optional<std::string>& expect_head);

class DaemonCommands {
 public:
  void add_to(CLI::App& app);
  // The exit code of the command given, or nullopt when it was none of these.
  std::optional<int> dispatch(const Globals& g);

 private:
  CLI::App *serve_ = nullptr, *schedule_add_ = nullptr, *schedule_list_ = nullptr,
           *schedule_rm_ = nullptr, *schedule_run_now_ = nullptr, *token_create_ = nullptr,
           *token_list_ = nullptr, *token_revoke_ = nullptr, *audit_ = nullptr,
           *audit_verify_ = nullptr;
  ServeArgs serve_args_;
  ScheduleArgs schedule_;
  std::string name_, role_ = "viewer", token_name_;
  int64_t token_id_ = 0;
  int audit_limit_ = 50;
  std::optional<std::string> expect_head_;
};

}  // namespace atelier::cli
