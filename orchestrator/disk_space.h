// A full disk (ENOSPC, EDQUOT) as its own failure class. A job that fails
// because a file system it writes to is full is not at fault: it waits for
// space without spending an attempt (docs/queue.md "A full disk"). This file
// tells such failures from others, measures free space with statvfs, and
// decides when a file system seen full has room again.
// Invariant: classification only ever says "disk full" for errno ENOSPC or
// EDQUOT, or for the texts the C library, SQLite and spdlog give those errors
// (libraries that report a failed write by message only).
#pragma once
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atelier {

// True when `e` (or an exception nested in it) says a file system is full.
bool is_disk_full(const std::exception& e);
// The same judgement on an error's text alone (a job's recorded error).
bool is_disk_full_message(std::string_view text);
// The file named by the error, when it names one (std::filesystem_error).
std::optional<std::filesystem::path> disk_full_path(const std::exception& e);

struct FreeSpace {
  int64_t available_bytes = 0;  // to unprivileged users (f_bavail)
  int64_t capacity_bytes = 0;
  int64_t available_inodes = -1;  // -1: the file system does not count them
};
// statvfs of the file system holding `dir`; nullopt when it cannot be read.
std::optional<FreeSpace> free_space(const std::filesystem::path& dir);

// Whether a file system seen full with `seen_free` bytes available has room
// again: at least clamp(capacity / 100, 1 MiB, 64 MiB) more bytes, and a free
// inode. A job that needs more than that fails again and records the new level.
bool has_room(const FreeSpace& now, int64_t seen_free);

// Of the folders a worker writes (the asset store, its temp folder, the attempt
// logs), the one to name for a disk-full error: the folder holding the file the
// error names, else the one with the least space available.
struct FullFolder {
  std::filesystem::path dir;
  int64_t free_bytes = -1;  // -1: statvfs failed
};
FullFolder full_folder(const std::exception& e, const std::vector<std::filesystem::path>& dirs);

}  // namespace atelier
