// The dashboard's static files (dashboard/static/), embedded at build time.
#pragma once
#include <string_view>

namespace atelier::dashboard {

struct StaticFile {
  std::string_view name, content_type, body;
};
const StaticFile* find_static(std::string_view name);

}  // namespace atelier::dashboard
