// Run and job ids as users see them: "r12" and "j345", so every command that
// takes either can tell them apart.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace atelier {

enum class IdKind { run, job };

struct TypedId {
  IdKind kind;
  int64_t id;
};

inline std::string run_ref(int64_t id) {
  return "r" + std::to_string(id);
}
inline std::string job_ref(int64_t id) {
  return "j" + std::to_string(id);
}

// Parses "r12" or "j345". A bare number is taken as `bare` when given; anything
// else throws InputError naming the text.
TypedId parse_id(std::string_view text, const IdKind* bare = nullptr);
int64_t parse_run_id(std::string_view text);
int64_t parse_job_id(std::string_view text);

}  // namespace atelier
