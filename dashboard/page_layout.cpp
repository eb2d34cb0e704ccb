// See page_layout.h.
#include "dashboard/page_layout.h"

#include "dashboard/http_util.h"
#include "orchestrator/html_text.h"
#include "orchestrator/time_text.h"

namespace atelier::dashboard {

std::string esc(std::string_view s) {
  return html_escape(s);
}

std::string esc_json(const nlohmann::json& j, int indent) {
  // Invalid UTF-8 from a job's params is shown replaced, never thrown.
  return html_escape(j.is_string()
                         ? j.get<std::string>()
                         : j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string time_text(int64_t ms) {
  return utc_text(ms);
}

std::string time_text(const std::optional<int64_t>& ms) {
  return ms ? time_text(*ms) : "-";
}

std::string duration_text(int64_t ms) {
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms < 60'000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", ms / 1000.0);
    return buf;
  }
  const int64_t s = ms / 1000;
  if (s < 3600) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
}

std::string state_badge(const std::string& state) {
  return "<span class=\"state s-" + esc(state) + "\" data-state=\"" + esc(state) + "\">" +
         esc(state) + "</span>";
}

std::string page(const std::string& title, const std::string& active, const Principal& who,
                 const std::string& body) {
  static const std::pair<const char*, const char*> kNav[] = {{"/", "Overview"},
                                                             {"/runs", "Runs"},
                                                             {"/jobs", "Jobs"},
                                                             {"/schedules", "Schedules"},
                                                             {"/audit", "Audit log"}};
  std::string nav;
  for (const auto& [href, label] : kNav)
    nav += std::string("<a href=\"") + href + "\"" + (active == label ? " class=\"on\"" : "") +
           ">" + label + "</a>";
  std::string user;
  if (who.role.empty()) {
    user = "<a href=\"/login\">Log in</a>";
  } else {
    user = "<span class=\"who\">" + esc(who.name) + " (" + esc(who.role) + ")</span>";
    if (who.via_cookie)
      user +=
          "<form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" "
          "name=\"csrf\" value=\"" +
          esc(who.csrf) + "\"><button>Log out</button></form>";
  }
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"csrf\" content=\"" +
         esc(who.csrf) + "\"><title>" + esc(title) +
         " · Atelier</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
         "<script src=\"/static/app.js\" defer></script></head><body>"
         "<header><a class=\"brand\" href=\"/\">Atelier</a><nav>" +
         nav + "</nav><div class=\"user\">" + user + "</div></header><main>" + body +
         "</main></body></html>\n";
}

std::string error_page(int status, const std::string& message) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         std::to_string(status) +
         " · Atelier</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body>"
         "<main><h1>" +
         std::to_string(status) + "</h1><p class=\"error\">" + esc(message) +
         "</p><p><a href=\"/\">Overview</a></p></main></body></html>\n";
}

std::string action_form(const Principal& who, const std::string& action, const std::string& label,
                        const std::string& back, bool danger) {
  if (!who.can_act()) return "";  // a viewer sees no buttons it could not use
  return "<form method=\"post\" action=\"" + esc(action) +
         "\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"" + esc(who.csrf) +
         "\"><input type=\"hidden\" name=\"back\" value=\"" + esc(back) + "\"><button" +
         (danger ? " class=\"danger\"" : "") + ">" + esc(label) + "</button></form>";
}

std::string next_page_link(const std::string& base,
                           const std::vector<std::pair<std::string, std::string>>& filters,
                           std::optional<int64_t> next_before) {
  if (!next_before) return "";
  std::string q;
  for (const auto& [k, v] : filters)
    if (!v.empty()) q += (q.empty() ? "?" : "&") + percent_encode(k) + "=" + percent_encode(v);
  q += (q.empty() ? "?" : "&") + std::string("before=") + std::to_string(*next_before);
  return "<p class=\"pager\"><a href=\"" + esc(base + q) + "\">Older &rarr;</a></p>";
}

}  // namespace atelier::dashboard
