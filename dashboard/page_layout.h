// The dashboard's HTML frame and small pieces every page uses. Invariant: text
// that came from a spec, a prompt, a params value, an error, a file name or a
// schedule passes through esc() (or esc_json()) before it is written; markup
// is only ever built from constants and escaped text. Pages link /static/ only:
// no CDN, no inline script (the Content-Security-Policy forbids it).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dashboard/http_types.h"

namespace atelier::dashboard {

std::string esc(std::string_view s);
std::string esc_json(const nlohmann::json& j, int indent = -1);
std::string time_text(int64_t ms);                        // "2026-12-03 02:00:05 UTC"
std::string time_text(const std::optional<int64_t>& ms);  // "-" when unset
std::string duration_text(int64_t ms);                    // "1.2 s", "3 min 4 s"
std::string state_badge(const std::string& state);

// A whole page: header with the navigation (`active` is the current section),
// who is signed in, and the body (already HTML). `csrf` is put in a <meta> tag
// so app.js can send it with live actions.
std::string page(const std::string& title, const std::string& active, const Principal& who,
                 const std::string& body);
std::string error_page(int status, const std::string& message);

// A form that posts an action (with the session's CSRF token) and comes back to
// `back` afterwards.
std::string action_form(const Principal& who, const std::string& action, const std::string& label,
                        const std::string& back, bool danger = false);

// "?a=1&before=9" links for keyset pages: the same filters plus before=ID.
std::string next_page_link(const std::string& base,
                           const std::vector<std::pair<std::string, std::string>>& filters,
                           std::optional<int64_t> next_before);

}  // namespace atelier::dashboard
