#include "workers/kind_registry.h"

namespace atelier {

std::unique_ptr<JobKind> KindRegistry::make(std::string_view name) const {
  for (const auto& [n, f] : entries_)
    if (n == name) return f();
  return nullptr;
}

size_t KindRegistry::count(std::string_view name) const {
  size_t c = 0;
  for (const auto& e : entries_) c += e.first == name;
  return c;
}

std::vector<std::string> KindRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.first);
  return out;
}

KindRegistry& process_kinds() {
  static KindRegistry r;
  return r;
}

std::unique_ptr<JobKind> make_kind(const std::string& name) {
  return process_kinds().make(name);
}

}  // namespace atelier
