// See daemon_commands.h: argument definitions of schedule, token and audit.
#include "daemon_commands.h"

namespace atelier::cli {

void DaemonCommands::add_to(CLI::App& app) {
  serve_ = app.add_subcommand(
      "serve", "supervisor, scheduler and web dashboard in one process (SIGTERM drains it)");
  serve_->add_option("--bind", serve_args_.bind, "address to listen on (default 127.0.0.1)");
  serve_->add_option("--port", serve_args_.port, "TCP port (0: any free one)")
      ->check(CLI::Range(0, 65535));
  serve_->add_option("--workers", serve_args_.workers, "worker processes per kind: kind=N,...");
  serve_
      ->add_option("--rate-limit", serve_args_.rate_limit,
                   "requests per second per client address, bursts of 4x (0: no limit)")
      ->check(CLI::Range(0.0, 1e9));
  serve_->add_flag("--no-open-read", serve_args_.no_open_read,
                   "reading needs a token even on loopback");
  // Limits per client count every address alike, loopback included.
  serve_
      ->add_option("--max-threads", serve_args_.max_threads,
                   "threads serving requests and live streams (default 64)")
      ->check(CLI::Range(2, 4096));
  serve_
      ->add_option("--max-connections", serve_args_.max_connections,
                   "open connections in all; beyond, 503 (default 512)")
      ->check(CLI::Range(1, 1'000'000));
  serve_
      ->add_option("--max-connections-per-client", serve_args_.max_connections_per_client,
                   "open connections per client address; beyond, 429 (default 16)")
      ->check(CLI::Range(1, 1'000'000));
  serve_
      ->add_option("--max-streams", serve_args_.max_streams,
                   "live update streams in all, below --max-threads; beyond, 503 (default 32, "
                   "or half of a smaller --max-threads)")
      ->check(CLI::Range(1, 4096));
  serve_
      ->add_option("--max-streams-per-client", serve_args_.max_streams_per_client,
                   "live update streams per client address; beyond, 429 (default 8)")
      ->check(CLI::Range(1, 4096));
  serve_
      ->add_option("--header-timeout", serve_args_.header_timeout_s,
                   "seconds for a request's headers to arrive, and a keep-alive "
                   "connection's idle time (default 10)")
      ->check(CLI::Range(0.001, 3600.0));
  serve_
      ->add_option("--body-timeout", serve_args_.body_timeout_s,
                   "seconds for a request's body to arrive after its headers (default 20)")
      ->check(CLI::Range(0.001, 3600.0));
  serve_
      ->add_option("--max-failed-logins", serve_args_.max_failed_logins,
                   "failed logins per client address and window before it gets 429 (default 10)")
      ->check(CLI::Range(1, 1'000'000));
  serve_
      ->add_option("--login-window", serve_args_.login_window_s,
                   "seconds of the failed-login window (default 60)")
      ->check(CLI::Range(1.0, 86400.0));
  auto* schedule = app.add_subcommand("schedule", "cron schedules that `atelier serve` fires");
  schedule->require_subcommand(1);
  schedule_add_ = schedule->add_subcommand("add", "submit SPEC at every time CRON names");
  schedule_add_->add_option("NAME", schedule_.name, "schedule name")->required();
  schedule_add_->add_option("SPEC", schedule_.spec, "pipeline spec (read again at each fire)")
      ->required();
  schedule_add_
      ->add_option("--cron", schedule_.cron,
                   "5 fields \"min hour day month weekday\" or @daily, @hourly...")
      ->required();
  schedule_add_->add_option("--tz", schedule_.timezone, "IANA time zone, e.g. Europe/Berlin");
  schedule_add_->add_option("--missed", schedule_.missed,
                            "fires missed while no serve ran: skip, or catch-up (run once)");
  schedule_add_->add_option("--set", schedule_.sets, "a spec param for every fire: key=value");
  schedule_add_->add_flag("--disabled", schedule_.disabled, "add it without firing");
  schedule_list_ = schedule->add_subcommand("list", "schedules, next and last fires");
  schedule_rm_ = schedule->add_subcommand("rm", "remove a schedule (its fire history stays)");
  schedule_rm_->add_option("NAME", name_, "schedule name")->required();
  schedule_run_now_ =
      schedule->add_subcommand("run-now", "submit a schedule's run now (cron times unchanged)");
  schedule_run_now_->add_option("NAME", name_, "schedule name")->required();

  auto* token = app.add_subcommand("token", "API tokens for the dashboard");
  token->require_subcommand(1);
  token_create_ = token->add_subcommand("create", "make a token; prints its secret once");
  token_create_->add_option("--role", role_, "admin (may act) or viewer (may read)")->required();
  token_create_->add_option("--name", token_name_, "who or what holds it");
  token_list_ = token->add_subcommand("list", "tokens (never their secrets)");
  token_revoke_ = token->add_subcommand("revoke", "revoke a token by id");
  token_revoke_->add_option("ID", token_id_, "token id (token list)")->required();

  audit_ = app.add_subcommand("audit", "the audit log of every action, newest first");
  audit_->add_option("--limit", audit_limit_, "entries")->check(CLI::Range(1, 1000000));
  audit_verify_ = audit_->add_subcommand("verify", "check the log's hash chain (exit 1 if broken)");
  audit_verify_->add_option("--expect-head", expect_head_,
                            "ID:HASH printed by an earlier verify: also catches entries removed "
                            "from the end");
}

std::optional<int> DaemonCommands::dispatch(const Globals& g) {
  if (*serve_) return cmd_serve(g, serve_args_);
  if (*schedule_add_) return cmd_schedule_add(g, schedule_);
  if (*schedule_list_) return cmd_schedule_list(g);
  if (*schedule_rm_) return cmd_schedule_rm(g, name_);
  if (*schedule_run_now_) return cmd_schedule_run_now(g, name_);
  if (*token_create_) return cmd_token_create(g, role_, token_name_);
  if (*token_list_) return cmd_token_list(g);
  if (*token_revoke_) return cmd_token_revoke(g, token_id_);
  if (*audit_verify_) return cmd_audit_verify(g, expect_head_);
  if (*audit_) return cmd_audit_list(g, audit_limit_);
  return std::nullopt;
}

}  // namespace atelier::cli
