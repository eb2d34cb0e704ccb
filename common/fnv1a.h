// FNV-1a 64: a small fixed hash for keys that must be the same in every
// process and on every host (dataset splits, advisory lock keys), never for
// security.
#pragma once

#include <cstdint>
#include <string_view>

namespace atelier {

inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace atelier
