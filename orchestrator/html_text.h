// Text for HTML pages the orchestrator's callers render (the run report, the
// dashboard). Invariant: html_escape's output is safe both in element content
// and in quoted attribute values, so callers need one escape for either place.
#pragma once
#include <string>
#include <string_view>

namespace atelier {

// Escapes & < > " ' so that the text is safe in element content and in quoted
// attribute values.
std::string html_escape(std::string_view s);
// Standard base64 with padding (data: URIs).
std::string base64_encode(std::string_view bytes);

}  // namespace atelier
