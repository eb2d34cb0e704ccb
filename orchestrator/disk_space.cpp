// See disk_space.h.
#include "disk_space.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <system_error>

namespace atelier {
namespace fs = std::filesystem;

namespace {

bool full_errno(const std::error_code& ec) {
  if (ec.category() != std::generic_category() && ec.category() != std::system_category())
    return false;
  return ec.value() == ENOSPC || ec.value() == EDQUOT;
}

bool contains_nocase(std::string_view text, std::string_view word) {
  auto it = std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

// Applies `f` to `e` and to each exception nested inside it, until f says true.
template <typename F>
bool any_in_chain(const std::exception& e, F&& f) {
  if (f(e)) return true;
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    return any_in_chain(inner, f);
  } catch (...) {
  }
  return false;
}

// The nearest existing folder at or above `p`.
fs::path existing_dir(fs::path p) {
  std::error_code ec;
  while (!p.empty() && !fs::is_directory(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  return p;
}

bool is_under(const fs::path& p, const fs::path& dir) {
  const fs::path a = p.lexically_normal(), b = dir.lexically_normal();
  auto [end, _] = std::mismatch(b.begin(), b.end(), a.begin(), a.end());
  return end == b.end() || (std::next(end) == b.end() && end->empty());
}

}  // namespace

bool is_disk_full_message(std::string_view text) {
  // strerror(ENOSPC), strerror(EDQUOT), and SQLite's text for SQLITE_FULL.
  return contains_nocase(text, "No space left on device") ||
         contains_nocase(text, "Disk quota exceeded") ||
         contains_nocase(text, "database or disk is full");
}

bool is_disk_full(const std::exception& e) {
  return any_in_chain(e, [](const std::exception& x) {
    if (const auto* se = dynamic_cast<const std::system_error*>(&x))
      if (full_errno(se->code())) return true;
    return is_disk_full_message(x.what());
  });
}

std::optional<fs::path> disk_full_path(const std::exception& e) {
  std::optional<fs::path> out;
  any_in_chain(e, [&](const std::exception& x) {
    const auto* fe = dynamic_cast<const fs::filesystem_error*>(&x);
    if (!fe || fe->path1().empty()) return false;
    out = fe->path1();
    return true;
  });
  return out;
}

std::optional<FreeSpace> free_space(const fs::path& dir) {
  struct statvfs st {};
  if (::statvfs(existing_dir(dir).c_str(), &st) != 0) return std::nullopt;
  FreeSpace f;
  const auto unit = static_cast<int64_t>(st.f_frsize ? st.f_frsize : st.f_bsize);
  f.available_bytes = static_cast<int64_t>(st.f_bavail) * unit;
  f.capacity_bytes = static_cast<int64_t>(st.f_blocks) * unit;
  if (st.f_files > 0) f.available_inodes = static_cast<int64_t>(st.f_favail);
  return f;
}

bool has_room(const FreeSpace& now, int64_t seen_free) {
  constexpr int64_t MiB = 1 << 20;
  const int64_t margin = std::clamp<int64_t>(now.capacity_bytes / 100, MiB, 64 * MiB);
  if (now.available_inodes == 0) return false;
  return now.available_bytes >= std::max<int64_t>(seen_free, 0) + margin;
}

FullFolder full_folder(const std::exception& e, const std::vector<fs::path>& dirs) {
  FullFolder out;
  if (auto file = disk_full_path(e)) {
    // The most specific of our folders holding it (the temp folder may sit
    // inside the asset store), else the folder the file is in.
    fs::path best;
    for (const fs::path& d : dirs)
      if (is_under(*file, d) && d.lexically_normal().string().size() > best.string().size())
        best = d.lexically_normal();
    out.dir = best.empty() ? existing_dir(file->parent_path()) : best;
    if (auto f = free_space(out.dir)) out.free_bytes = f->available_bytes;
    return out;
  }
  for (const fs::path& d : dirs) {
    auto f = free_space(d);
    if (!f) continue;
    if (out.dir.empty() || out.free_bytes < 0 || f->available_bytes < out.free_bytes) {
      out.dir = d;
      out.free_bytes = f->available_bytes;
    }
  }
  if (out.dir.empty() && !dirs.empty()) out.dir = dirs.front();
  return out;
}

}  // namespace atelier
