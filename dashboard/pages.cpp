// The dashboard's HTML pages, rendered on the server from the same views as the
// JSON API (views.h): overview, runs, run detail, jobs, job detail, asset
// detail, schedules, audit log and login; plus the files they link: assets by
// sha256 and the embedded /static/ files. Every dynamic string goes through
// esc() (page_layout.h). Pages that change while open carry data-live with the
// stream app.js listens to; the elements it updates carry data-* hooks.
#include <fstream>
#include <map>
#include <mutex>

#include "common/errors.h"
#include "dashboard/auth.h"
#include "dashboard/dashboard.h"
#include "dashboard/http_util.h"
#include "dashboard/page_layout.h"
#include "dashboard/static_files.h"
#include "dashboard/views.h"
#include "orchestrator/asset_store.h"
#include "orchestrator/ids.h"

namespace atelier::dashboard {

using json = nlohmann::json;

namespace {

std::string s(const json& j) {
  return j.is_string() ? j.get<std::string>() : j.is_null() ? "" : j.dump();
}

std::string opt_time(const json& j) {
  return j.is_number() ? time_text(j.get<int64_t>()) : "-";
}

Reply html(std::string body) {
  Reply r;
  r.body = std::move(body);
  return r;
}

// Queue depth by kind (rows) and state (columns), with data hooks for app.js.
std::string queue_table(const json& queue, const json& paused) {
  static const char* kStates[] = {"waiting", "ready",     "leased", "succeeded",
                                  "dead",    "cancelled", "skipped"};
  std::map<std::string, std::map<std::string, int64_t>> by_kind;
  for (const json& q : queue) by_kind[q["kind"]][q["state"]] = q["count"];
  std::string out = "<table class=\"queue\" id=\"queue\"><tr><th>Kind</th>";
  for (const char* st : kStates) out += std::string("<th>") + st + "</th>";
  out += "</tr>";
  for (const auto& [kind, counts] : by_kind) {
    bool is_paused = false;
    for (const json& p : paused) is_paused = is_paused || p == kind;
    out += "<tr data-kind=\"" + esc(kind) + "\"><td>" + esc(kind) +
           (is_paused ? " <span class=\"state s-paused\">paused</span>" : "") + "</td>";
    for (const char* st : kStates) {
      auto it = counts.find(st);
      out += std::string("<td data-count=\"") + st + "\">" +
             std::to_string(it == counts.end() ? 0 : it->second) + "</td>";
    }
    out += "</tr>";
  }
  if (by_kind.empty()) out += "<tr><td colspan=\"8\" class=\"note\">no jobs yet</td></tr>";
  return out + "</table>";
}

// Jobs finished per bucket as an inline SVG bar chart (succeeded over failed).
std::string throughput_svg(const json& tp) {
  const json& buckets = tp["buckets"];
  const int64_t bucket_ms = tp["bucket_ms"];
  int64_t peak = 1;
  for (const json& b : buckets)
    peak = std::max<int64_t>(peak, b["succeeded"].get<int64_t>() + b["failed"].get<int64_t>());
  const int w = 720, h = 140, n = 36;
  const double bw = static_cast<double>(w) / n;
  std::string out = "<svg class=\"chart\" viewBox=\"0 0 " + std::to_string(w) + " " +
                    std::to_string(h + 20) + "\" role=\"img\" aria-label=\"jobs finished per " +
                    std::to_string(bucket_ms / 60000) + " minutes\">";
  int64_t first = 0;
  if (!buckets.empty()) first = buckets.back()["start"].get<int64_t>() - (n - 1) * bucket_ms;
  for (const json& b : buckets) {
    const int i = static_cast<int>((b["start"].get<int64_t>() - first) / bucket_ms);
    if (i < 0 || i >= n) continue;
    const double ok = b["succeeded"].get<double>() / peak * h;
    const double bad = b["failed"].get<double>() / peak * h;
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "<rect class=\"ok\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>"
                  "%lld succeeded, %lld failed</title></rect>",
                  i * bw + 1, h - ok - bad, bw - 2, ok,
                  static_cast<long long>(b["succeeded"].get<int64_t>()),
                  static_cast<long long>(b["failed"].get<int64_t>()));
    out += buf;
    std::snprintf(buf, sizeof buf,
                  "<rect class=\"bad\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                  i * bw + 1, h - bad, bw - 2, bad);
    out += buf;
  }
  out += "<text x=\"0\" y=\"" + std::to_string(h + 16) + "\">" +
         std::to_string(n * bucket_ms / 3600000) + " h ago</text><text x=\"" + std::to_string(w) +
         "\" y=\"" + std::to_string(h + 16) + "\" text-anchor=\"end\">now</text><text x=\"" +
         std::to_string(w) + "\" y=\"12\" text-anchor=\"end\">peak " + std::to_string(peak) +
         "</text></svg>";
  return out;
}

// The folders seen full (status's disk_full), as a warning above a page's
// content: jobs wait for space there without spending attempts.
std::string disk_full_banner(const json& full, const json& waiting, const char* whose) {
  std::string out;
  for (const json& d : full) {
    const std::string path = esc(s(d["path"]));
    out += "<p class=\"alert\" data-disk-full=\"" + path + "\"><b>Disk full</b>: <code>" + path +
           "</code> on " + esc(s(d["host"])) + " since " + esc(s(d["since"])) + " (last seen " +
           esc(s(d["seen_at"])) + "). " + esc(s(waiting)) + " job(s) " + whose;
    out += " wait for space; no attempt is spent while they do, and they go on when space is back.";
    out += "<br><small>" + esc(s(d["error"]).substr(0, 300)) + "</small></p>";
  }
  return out;
}

std::string run_rows(const json& runs) {
  std::string out =
      "<table><tr><th>Run</th><th>Name</th><th>State</th><th>Jobs</th><th>Submitted</th>"
      "<th>By</th></tr>";
  for (const json& r : runs) {
    std::string jobs;
    for (auto it = r["jobs"].begin(); it != r["jobs"].end(); ++it)
      jobs += esc(it.key()) + " " + s(it.value()) + " ";
    out += "<tr><td><a href=\"/runs/" + esc(s(r["run"])) + "\">" + esc(s(r["run"])) +
           "</a></td><td>" + esc(s(r["name"])) + "</td><td>" + state_badge(s(r["state"])) +
           "</td><td>" + jobs + "</td><td>" + opt_time(r["created_at"]) + "</td><td>" +
           esc(s(r["submitter"])) + "</td></tr>";
  }
  return out + "</table>";
}

std::string job_rows(const json& jobs) {
  std::string out =
      "<table class=\"jobs\"><tr><th>Job</th><th>Run</th><th>Stage</th><th>Kind</th><th>State</th>"
      "<th>Attempt</th><th>Progress</th><th>Error</th></tr>";
  for (const json& j : jobs) {
    const int pct = static_cast<int>(j["progress"].get<double>() * 100);
    out +=
        "<tr data-job=\"" + esc(s(j["job"])) + "\"><td><a href=\"/jobs/" + esc(s(j["job"])) +
        "\">" + esc(s(j["job"])) + "</a></td><td><a href=\"/runs/" + esc(s(j["run"])) + "\">" +
        esc(s(j["run"])) + "</a></td><td>" + esc(s(j["stage"])) + "</td><td>" + esc(s(j["kind"])) +
        "</td><td>" + state_badge(s(j["state"])) + "</td><td>" + s(j["attempt"]) + "/" +
        s(j["max_attempts"]) + "</td><td><progress max=\"100\" value=\"" + std::to_string(pct) +
        "\"></progress></td><td class=\"err\">" + esc(s(j["error"]).substr(0, 200)) + "</td></tr>";
  }
  return out + "</table>";
}

std::string filter_form(const std::string& action,
                        const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "<form method=\"get\" action=\"" + esc(action) + "\" class=\"filters\">";
  for (const auto& [name, value] : fields)
    out += "<label>" + esc(name) + " <input name=\"" + esc(name) + "\" value=\"" + esc(value) +
           "\" size=\"12\"></label> ";
  return out + "<button>Filter</button></form>";
}

std::string q(const Ctx& c, const char* k) {
  auto it = c.req.query.find(k);
  return it == c.req.query.end() ? "" : it->second;
}

Reply overview_page(Ctx& c) {
  const json o = overview_json(c);
  std::string body = "<h1>Overview</h1>" +
                     disk_full_banner(o["disk_full"], o["waiting_for_space"], "in all") +
                     "<section data-live=\"/api/v1/stream\">";
  body += "<h2>Queue</h2>" + queue_table(o["queue"], o["paused"]);
  body += "<h2>Throughput</h2>" + throughput_svg(o["throughput"]);
  body +=
      "<h2>Workers</h2><table id=\"workers\"><tr><th>Worker</th><th>Host</th><th>Kinds</th>"
      "<th>State</th><th>Job</th><th>Heartbeat</th></tr>";
  for (const json& w : o["workers"])
    body += "<tr><td>" + esc(s(w["id"])) + "</td><td>" + esc(s(w["host"])) + "</td><td>" +
            esc(s(w["kinds"])) + "</td><td>" + state_badge(s(w["state"])) + "</td><td>" +
            (w["job"].is_null()
                 ? "-"
                 : "<a href=\"/jobs/" + esc(s(w["job"])) + "\">" + esc(s(w["job"])) + "</a>") +
            "</td><td>" + opt_time(w["heartbeat_at"]) + "</td></tr>";
  if (o["workers"].empty())
    body += "<tr><td colspan=\"6\" class=\"note\">no workers running</td></tr>";
  body += "</table><h2>Recent runs</h2>" + run_rows(o["runs"]) + "</section>";
  return html(page("Overview", "Overview", c.who, body));
}

Reply runs_page(Ctx& c) {
  const json r = runs_json(c);
  std::string body = "<h1>Runs</h1>" + filter_form("/runs", {{"state", q(c, "state")}}) +
                     run_rows(r["runs"]) +
                     next_page_link("/runs", {{"state", q(c, "state")}, {"limit", q(c, "limit")}},
                                    r["next_before"].is_null()
                                        ? std::nullopt
                                        : std::optional<int64_t>(r["next_before"].get<int64_t>()));
  return html(page("Runs", "Runs", c.who, body));
}

Reply run_page(Ctx& c) {
  const int64_t id = run_param(c.param("run"));
  const json r = run_json(c, id);
  const std::string ref = s(r["run"]);
  std::string body = "<h1>Run " + esc(ref) + ": " + esc(s(r["name"])) + "</h1>" +
                     disk_full_banner(r["disk_full"], r["waiting_for_space"], "of this run");
  body += "<section data-live=\"/api/v1/stream?run=" + esc(ref) + "\" data-run=\"" + esc(ref) +
          "\"><p>State " + "<span id=\"run-state\">" + state_badge(s(r["state"])) +
          "</span> · submitted " + esc(s(r["created_at"])) + " by " + esc(s(r["submitter"])) +
          " · spec <code>" + esc(s(r["spec"])) + "</code>";
  if (!r["key"].is_null()) body += " · key <code>" + esc(s(r["key"])) + "</code>";
  body +=
      "</p><p class=\"actions\">" +
      action_form(c.who, "/api/v1/runs/" + ref + "/cancel", "Cancel run", "/runs/" + ref, true) +
      action_form(c.who, "/api/v1/runs/" + ref + "/retry", "Retry failed jobs", "/runs/" + ref) +
      " <a href=\"/jobs?run=" + esc(ref) + "\">All jobs</a></p>";
  // The stage graph: stages in order, each with counts and a progress bar.
  body += "<div class=\"stages\" id=\"stages\">";
  bool first = true;
  for (const json& name : r["stage_order"]) {
    if (!r["stages"].contains(name.get<std::string>())) continue;
    const std::string stage = name;
    const json& stage_counts = r["stages"][stage];
    int64_t total = 0, done = 0;
    std::string counts;
    for (auto c2 = stage_counts.begin(); c2 != stage_counts.end(); ++c2) {
      const int64_t n = c2.value();
      total += n;
      if (c2.key() != "waiting" && c2.key() != "ready" && c2.key() != "leased") done += n;
      counts += "<span data-count=\"" + esc(c2.key()) + "\">" + esc(c2.key()) + " " +
                std::to_string(n) + "</span> ";
    }
    if (!first) body += "<span class=\"arrow\">&rarr;</span>";
    first = false;
    const std::string kind = r["stage_kinds"].contains(stage) ? s(r["stage_kinds"][stage]) : "";
    body += "<div class=\"stage\" data-stage=\"" + esc(stage) + "\"><b>" + esc(stage) +
            "</b> <small>" + esc(kind) + "</small><div class=\"counts\">" + counts +
            "</div><progress max=\"" + std::to_string(std::max<int64_t>(total, 1)) + "\" value=\"" +
            std::to_string(done) + "\"></progress></div>";
  }
  body += "</div>";
  if (!r["running"].empty()) {
    body += "<h2>Running</h2><ul id=\"running\">";
    for (const json& j : r["running"])
      body += "<li><a href=\"/jobs/" + esc(s(j["job"])) + "\">" + esc(s(j["job"])) + "</a> " +
              esc(s(j["stage"])) + " <progress max=\"100\" value=\"" +
              std::to_string(static_cast<int>(j["progress"].get<double>() * 100)) +
              "\"></progress> " + esc(s(j["progress_msg"])) + "</li>";
    body += "</ul>";
  }
  if (!r["quarantined"].empty()) {
    body += "<h2>Quarantined</h2><ul class=\"quarantined\">";
    for (const json& qa : r["quarantined"]) {
      std::string why;
      for (const json& ch : qa["checks"])
        why += esc(s(ch["check"])) +
               (ch.contains("label") ? " (" + esc(s(ch["label"])) + ")" : "") + " ";
      body += "<li><a href=\"/asset/" + esc(s(qa["sha256"])) + "\"><code>" +
              esc(s(qa["sha256"]).substr(0, 12)) + "</code></a> " + why + "</li>";
    }
    body += "</ul>";
  }
  body += "<h2>Images (<span id=\"image-count\">" + std::to_string(r["images"].size()) +
          "</span>)</h2><div class=\"gallery\" id=\"gallery\">";
  for (const json& a : r["images"])
    body += "<a href=\"/asset/" + esc(s(a["sha256"])) + "\" data-sha=\"" + esc(s(a["sha256"])) +
            "\"><img loading=\"lazy\" src=\"/assets/" + esc(s(a["sha256"])) + "\" alt=\"" +
            esc(s(a["name"])) + "\" title=\"" + esc(s(a["stage"]) + " / " + s(a["name"])) + "\">" +
            (a["not_passed"].get<int>() > 0 ? "<span class=\"flag\">!</span>" : "") + "</a>";
  body += "</div>";
  if (r["more_images"].get<size_t>() > 0)
    body += "<p class=\"note\">and " + s(r["more_images"]) + " more (see the assets API)</p>";
  if (!r["videos"].empty()) {
    body += "<h2>Videos</h2><div class=\"videos\">";
    for (const json& v : r["videos"])
      body += "<figure><video controls preload=\"metadata\" src=\"/assets/" + esc(s(v["sha256"])) +
              "\"></video><figcaption><a href=\"/asset/" + esc(s(v["sha256"])) + "\">" +
              esc(s(v["name"])) + "</a></figcaption></figure>";
    body += "</div>";
  }
  body += "<h2>Params</h2><pre>" + esc_json(r["params"], 2) + "</pre></section>";
  return html(page("Run " + ref, "Runs", c.who, body));
}

Reply jobs_page(Ctx& c) {
  const json j = jobs_json(c);
  const std::vector<std::pair<std::string, std::string>> f = {
      {"run", q(c, "run")}, {"state", q(c, "state")}, {"kind", q(c, "kind")}};
  auto with_limit = f;
  with_limit.emplace_back("limit", q(c, "limit"));
  std::string body = "<h1>Jobs</h1>" + filter_form("/jobs", f) + job_rows(j["jobs"]) +
                     next_page_link("/jobs", with_limit,
                                    j["next_before"].is_null()
                                        ? std::nullopt
                                        : std::optional<int64_t>(j["next_before"].get<int64_t>()));
  return html(page("Jobs", "Jobs", c.who, body));
}

Reply job_page(Ctx& c) {
  const int64_t id = job_param(c.param("job"));
  const json j = job_json(c, id);
  const std::string ref = s(j["job"]);
  std::string body = "<h1>Job " + esc(ref) + "</h1><p>Run <a href=\"/runs/" + esc(s(j["run"])) +
                     "\">" + esc(s(j["run"])) + "</a> · stage " + esc(s(j["stage"])) + " · kind " +
                     esc(s(j["kind"])) + " · " + state_badge(s(j["state"])) + "</p>";
  body += "<p class=\"actions\">" +
          action_form(c.who, "/api/v1/jobs/" + ref + "/cancel", "Cancel", "/jobs/" + ref, true) +
          action_form(c.who, "/api/v1/jobs/" + ref + "/retry", "Retry", "/jobs/" + ref) + "</p>";
  if (!j["error"].is_null())
    body += "<h2>Error</h2><pre class=\"err\">" + esc(s(j["error"])) + "</pre>";
  body +=
      "<h2>Attempts</h2><table><tr><th>#</th><th>Worker</th><th>Outcome</th><th>Started</th>"
      "<th>Ended</th><th>Error</th></tr>";
  for (const json& a : j["attempts"])
    body += "<tr><td>" + s(a["attempt"]) + "</td><td>" + esc(s(a["worker"])) + "</td><td>" +
            state_badge(s(a["outcome"])) + "</td><td>" + opt_time(a["started_at"]) + "</td><td>" +
            opt_time(a["ended_at"]) + "</td><td class=\"err\">" + esc(s(a["error"])) + "</td></tr>";
  body += "</table><h2>Params</h2><pre>" + esc_json(j["params"], 2) + "</pre>";
  if (!j["outputs"].empty()) {
    body += "<h2>Outputs</h2><ul>";
    for (const json& a : j["outputs"])
      body += "<li><a href=\"/asset/" + esc(s(a["sha256"])) + "\">" + esc(s(a["name"])) +
              "</a> <small>" + esc(s(a["media_type"])) + ", " + s(a["bytes"]) +
              " bytes</small></li>";
    body += "</ul>";
  }
  body += "<h2>Log (last attempt)</h2><pre class=\"log\">" + esc(s(j["log_tail"])) + "</pre>";
  return html(page("Job " + ref, "Jobs", c.who, body));
}

std::string lineage_html(const json& n, int depth) {
  if (depth > 12) return "<li class=\"note\">...</li>";
  std::string label = esc(s(n["type"])) + " ";
  const std::string id = s(n["id"]);
  if (s(n["type"]) == "asset")
    label += "<a href=\"/asset/" + esc(id) + "\"><code>" + esc(id.substr(0, 12)) + "</code></a>";
  else if (s(n["type"]) == "job")
    label += "<a href=\"/jobs/" + esc(id) + "\">" + esc(id) + "</a>";
  else
    label += "<code>" + esc(id.substr(0, 12)) + "</code>";
  if (n.contains("role") && !s(n["role"]).empty())
    label = "<i>" + esc(s(n["role"])) + "</i> " + label;
  if (n.contains("info") && n["info"].contains("name")) label += " " + esc(s(n["info"]["name"]));
  if (n.contains("checks"))
    for (const json& ch : n["checks"])
      label += " <span class=\"v v-" + esc(s(ch["verdict"])) + "\">" + esc(s(ch["check"])) + ": " +
               esc(s(ch["verdict"])) + "</span>";
  std::string out = "<li>" + label;
  if (n.contains("children") && !n["children"].empty()) {
    out += "<ul>";
    for (const json& ch : n["children"]) out += lineage_html(ch, depth + 1);
    out += "</ul>";
  }
  return out + "</li>";
}

Reply asset_page(Ctx& c) {
  const std::string sha = c.param("sha");
  if (!is_sha256_hex(sha)) throw NotFound("no such asset");
  const json a = asset_json(c, sha);
  const std::string mt = s(a["media_type"]);
  std::string body = "<h1>Asset <code>" + esc(sha.substr(0, 16)) + "</code></h1>";
  if (mt.rfind("image/", 0) == 0)
    body += "<p><img class=\"asset\" src=\"/assets/" + esc(sha) + "\" alt=\"" + esc(s(a["name"])) +
            "\"></p>";
  else if (mt.rfind("video/", 0) == 0)
    body += "<p><video controls src=\"/assets/" + esc(sha) + "\"></video></p>";
  body += "<table><tr><th>sha256</th><td><code>" + esc(sha) +
          "</code></td></tr><tr><th>Name</th><td>" + esc(s(a["name"])) +
          "</td></tr><tr><th>Type</th><td>" + esc(mt) + ", " + s(a["bytes"]) + " bytes</td></tr>";
  if (!a["job"].is_null())
    body += "<tr><th>Made by</th><td><a href=\"/jobs/" + esc(s(a["job"])) + "\">" +
            esc(s(a["job"])) + "</a></td></tr>";
  // One row per import: the same bytes imported under two licences show both.
  for (const json& i : a["imports"])
    body += "<tr><th>Imported from</th><td><code>" + esc(s(i["source"])) + "</code> (" +
            esc(i["licence"].is_null() ? "no licence declared" : s(i["licence"])) + ")</td></tr>";
  body +=
      "</table><p><a href=\"/assets/" + esc(sha) + "\" download>Download</a></p><h2>Checks</h2>";
  if (a["checks"].empty())
    body += "<p class=\"note\">no checks recorded</p>";
  else {
    body +=
        "<table><tr><th>Check</th><th>Verdict</th><th>Label</th><th>Reason</th><th>Job</th></tr>";
    for (const json& ch : a["checks"])
      body += "<tr><td>" + esc(s(ch["check"])) + "</td><td><span class=\"v v-" +
              esc(s(ch["verdict"])) + "\">" + esc(s(ch["verdict"])) +
              (ch["quarantined"].get<bool>() ? ", quarantined" : "") + "</span></td><td>" +
              esc(ch.contains("label") ? s(ch["label"]) : "") + "</td><td>" +
              esc(ch.contains("reason") ? s(ch["reason"]) : "") + "</td><td>" + esc(s(ch["job"])) +
              "</td></tr>";
    body += "</table>";
  }
  body += "<h2>Lineage</h2><ul class=\"lineage\">" + lineage_html(a["lineage"], 0) + "</ul>";
  return html(page("Asset " + sha.substr(0, 12), "", c.who, body));
}

Reply schedules_page(Ctx& c) {
  const json sj = schedules_json(c);
  std::string body =
      "<h1>Schedules</h1><table><tr><th>Name</th><th>Cron</th><th>Zone</th><th>Missed</th>"
      "<th>Next</th><th>Recent fires</th><th>Spec</th><th></th></tr>";
  for (const json& sc : sj["schedules"]) {
    std::string fires;
    for (const json& f : sc["fires"])
      fires += opt_time(f["fire_at"]) + " " + state_badge(s(f["outcome"])) +
               (f["run"].is_null()
                    ? ""
                    : " <a href=\"/runs/" + esc(s(f["run"])) + "\">" + esc(s(f["run"])) + "</a>") +
               (s(f["detail"]).empty() ? "" : " <small>" + esc(s(f["detail"])) + "</small>") +
               "<br>";
    const std::string name = s(sc["name"]);
    body += "<tr><td>" + esc(name) + (sc["enabled"].get<bool>() ? "" : " (disabled)") +
            "</td><td><code>" + esc(s(sc["cron"])) + "</code></td><td>" + esc(s(sc["timezone"])) +
            "</td><td>" + esc(s(sc["missed"])) + "</td><td>" + opt_time(sc["next_fire_at"]) +
            "</td><td>" + fires + "</td><td><code>" + esc(s(sc["spec"])) + "</code></td><td>" +
            action_form(c.who, "/api/v1/schedules/" + percent_encode(name) + "/run-now", "Run now",
                        "/schedules") +
            action_form(c.who, "/api/v1/schedules/" + percent_encode(name) + "/delete", "Remove",
                        "/schedules", true) +
            "</td></tr>";
  }
  if (sj["schedules"].empty())
    body +=
        "<tr><td colspan=\"8\" class=\"note\">no schedules (atelier schedule add NAME SPEC --cron "
        "...)</td></tr>";
  body += "</table>";
  return html(page("Schedules", "Schedules", c.who, body));
}

Reply audit_page(Ctx& c) {
  const json a = audit_json(c);
  std::string body =
      "<h1>Audit log</h1><table><tr><th>#</th><th>When</th><th>Who</th><th>Action</th>"
      "<th>Target</th><th>Details</th></tr>";
  for (const json& e : a["events"])
    body += "<tr><td>" + s(e["id"]) + "</td><td>" + opt_time(e["at"]) + "</td><td>" +
            esc(s(e["actor"])) + "</td><td>" + esc(s(e["action"])) + "</td><td>" +
            esc(s(e["target"])) + "</td><td><code>" + esc_json(e["details"]) + "</code></td></tr>";
  body +=
      "</table>" + next_page_link("/audit", {{"limit", q(c, "limit")}},
                                  a["next_before"].is_null()
                                      ? std::nullopt
                                      : std::optional<int64_t>(a["next_before"].get<int64_t>()));
  body +=
      "<p class=\"note\">The log is hash-chained: <code>atelier audit verify</code> checks it.</p>";
  return html(page("Audit log", "Audit log", c.who, body));
}

Reply login_page(Ctx& c) {
  const std::string nonce = random_secret();
  const std::string next = is_local_path(q(c, "next")) ? q(c, "next") : "/";
  std::string body =
      "<h1>Log in</h1><form method=\"post\" action=\"/login\" class=\"login\"><input "
      "type=\"hidden\" "
      "name=\"login_nonce\" value=\"" +
      esc(nonce) + "\"><input type=\"hidden\" name=\"next\" value=\"" + esc(next) +
      "\"><label>API token <input type=\"password\" name=\"token\" autocomplete=\"off\" "
      "size=\"50\"></label> <button>Log in</button></form><p class=\"note\">Make a token with "
      "<code>atelier token create --role admin</code> (or viewer).</p>";
  Reply r = html(page("Log in", "", c.who, body));
  r.headers.emplace_back("Set-Cookie", login_cookie(nonce));
  return r;
}

// Only a regular file (not a link planted in the store) whose bytes still hash
// to its name is served. A file checked once is trusted while its size and
// modification time stay the same, so a video is hashed once, not per request.
bool served_file_is_intact(const std::filesystem::path& file, const std::string& sha) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(file, ec);
  if (ec || !fs::is_regular_file(st)) return false;
  const auto size = fs::file_size(file, ec);
  if (ec) return false;
  const auto mtime = fs::last_write_time(file, ec);
  if (ec) return false;
  struct Seen {
    std::uintmax_t size;
    fs::file_time_type mtime;
  };
  static std::mutex mu;
  static std::map<std::string, Seen> verified;
  {
    std::lock_guard lk(mu);
    auto it = verified.find(file.string());
    if (it != verified.end() && it->second.size == size && it->second.mtime == mtime) return true;
  }
  if (sha256_file(file) != sha) return false;
  std::lock_guard lk(mu);
  if (verified.size() > 100000) verified.clear();  // bounded; a re-check is cheap enough
  verified[file.string()] = {size, mtime};
  return true;
}

Reply asset_file(Ctx& c) {
  const std::string sha = c.param("sha");
  if (!is_sha256_hex(sha)) throw NotFound("not found");
  auto a = c.store.get_asset(sha);
  if (!a) throw NotFound("not found");
  Reply r;
  r.content_type = a->media_type;
  r.file = c.env.ws.asset_store().path_for(a->sha256, a->ext);
  if (!served_file_is_intact(r.file, sha))
    throw NotFound("the asset's file is missing from the store or does not match its hash");
  // Content-addressed: the bytes at this URL never change.
  r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  // An SVG or HTML asset must not run as a page of this site.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  if (a->media_type.rfind("image/", 0) != 0 && a->media_type.rfind("video/", 0) != 0 &&
      a->media_type.rfind("audio/", 0) != 0)
    r.headers.emplace_back("Content-Disposition",
                           attachment_disposition(sha.substr(0, 12) + "." + a->ext));
  return r;
}

Reply static_file(Ctx& c) {
  const StaticFile* f = find_static(c.param("file"));
  if (!f) throw NotFound("not found");
  Reply r;
  r.content_type = f->content_type;
  r.body = std::string(f->body);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace

void add_pages(Router& r) {
  r.add("GET", "/", Need::read, overview_page);
  r.add("GET", "/runs", Need::read, runs_page);
  r.add("GET", "/runs/{run}", Need::read, run_page);
  r.add("GET", "/jobs", Need::read, jobs_page);
  r.add("GET", "/jobs/{job}", Need::read, job_page);
  r.add("GET", "/asset/{sha}", Need::read, asset_page);
  r.add("GET", "/assets/{sha}", Need::read, asset_file);
  r.add("GET", "/schedules", Need::read, schedules_page);
  r.add("GET", "/audit", Need::read, audit_page);
  r.add("GET", "/login", Need::nothing, login_page);
  r.add("GET", "/static/{file}", Need::nothing, static_file);
}

}  // namespace atelier::dashboard
