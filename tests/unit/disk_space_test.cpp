// Telling a full disk from other failures (orchestrator/disk_space.h): real
// ENOSPC from /dev/full, the errors the asset store throws, the texts SQLite
// and the C library give, and when a file system seen full has room again.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "orchestrator/asset_store.h"
#include "orchestrator/disk_space.h"

using namespace atelier;
namespace fs = std::filesystem;

namespace {
constexpr int64_t MiB = 1 << 20;
}

TEST(DiskSpace, AWriteToDevFullIsADiskFullError) {
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "/dev/full is not available here";
  const ssize_t n = ::write(fd, "x", 1);
  const int err = errno;
  ::close(fd);
  ASSERT_EQ(n, -1);
  ASSERT_EQ(err, ENOSPC);
  std::system_error e(err, std::generic_category(), "write /dev/full");
  EXPECT_TRUE(is_disk_full(e));
  EXPECT_FALSE(disk_full_path(e));  // a system_error names no file
}

TEST(DiskSpace, QuotaErrorsFilesystemErrorsAndNestedOnesCount) {
  EXPECT_TRUE(is_disk_full(std::system_error(EDQUOT, std::system_category(), "write")));
  const fs::path file = "/srv/assets/.tmp/put-h-1-0.tmp";
  fs::filesystem_error fe("write", file, std::error_code(ENOSPC, std::generic_category()));
  EXPECT_TRUE(is_disk_full(fe));
  EXPECT_EQ(disk_full_path(fe), file);
  try {
    try {
      throw fe;
    } catch (...) {
      std::throw_with_nested(std::runtime_error("storing out.png"));
    }
  } catch (const std::exception& e) {
    EXPECT_TRUE(is_disk_full(e));
    EXPECT_EQ(disk_full_path(e), file);
  }
}

TEST(DiskSpace, OtherErrorsAreNotDiskFull) {
  EXPECT_FALSE(is_disk_full(std::system_error(EACCES, std::generic_category(), "open")));
  EXPECT_FALSE(is_disk_full(std::system_error(EIO, std::generic_category(), "write")));
  EXPECT_FALSE(is_disk_full(std::runtime_error("unknown parameter 'images'")));
  EXPECT_FALSE(is_disk_full_message("sleep: failing attempt 1 of 2 on purpose"));
}

TEST(DiskSpace, TheTextsOfLibrariesThatReportByMessageCount) {
  // SQLite's SQLITE_FULL, spdlog's failed file sink, the C library's strerror.
  EXPECT_TRUE(is_disk_full(std::runtime_error("database or disk is full")));
  EXPECT_TRUE(
      is_disk_full_message("Failed writing to file /w/logs/j1/a1.log: No space left on device"));
  EXPECT_TRUE(is_disk_full_message("write /q/out.bin: disk quota exceeded"));
}

TEST(DiskSpace, TheAssetStoresErrorsNameTheirFile) {
  // A file where the store's temp folder should be: creating a temp file in it
  // fails (ENOTDIR), and the error names the file it tried.
  const fs::path root = fs::temp_directory_path() / ("disk-space-" + std::to_string(::getpid()));
  fs::remove_all(root);
  AssetStore store(root / "assets", root / "tmp");
  fs::remove_all(root / "tmp");
  {
    std::FILE* f = std::fopen((root / "tmp").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  try {
    store.put_bytes("hello", "txt");
    ADD_FAILURE() << "put_bytes into a file succeeded";
  } catch (const fs::filesystem_error& e) {
    EXPECT_EQ(e.path1().parent_path(), root / "tmp");
    EXPECT_FALSE(is_disk_full(e));
  }
  fs::remove_all(root);
}

TEST(DiskSpace, TheFullFolderIsTheMostSpecificOneHoldingTheFile) {
  const fs::path dir = fs::temp_directory_path();
  const fs::path assets = dir / "a-assets", tmp = assets / ".tmp", logs = dir / "a-logs";
  fs::filesystem_error fe("write", tmp / "put-1.tmp",
                          std::error_code(ENOSPC, std::generic_category()));
  EXPECT_EQ(full_folder(fe, {assets, tmp, logs}).dir, tmp);
  fs::filesystem_error other("write", dir / "scratch" / "f.bin",
                             std::error_code(ENOSPC, std::generic_category()));
  // Not one of ours: the nearest existing folder above the file.
  EXPECT_EQ(full_folder(other, {assets, tmp, logs}).dir, dir);
  // No file named: the folder with the least space (all on one file system here).
  std::runtime_error text("database or disk is full");
  FullFolder f = full_folder(text, {dir});
  EXPECT_EQ(f.dir, dir);
  EXPECT_GE(f.free_bytes, 0);
}

TEST(DiskSpace, RoomMeansClearlyMoreThanWhenItWasSeenFull) {
  // A small file system (a 4 MiB tmpfs): 1 MiB more than when it filled.
  EXPECT_FALSE(has_room({0, 4 * MiB, 100}, 0));
  EXPECT_FALSE(has_room({MiB - 1, 4 * MiB, 100}, 0));
  EXPECT_TRUE(has_room({MiB, 4 * MiB, 100}, 0));
  // A large one: 1% of it, at most 64 MiB more.
  const int64_t TiB = MiB * MiB;
  EXPECT_FALSE(has_room({500 * MiB + 63 * MiB, TiB, 100}, 500 * MiB));
  EXPECT_TRUE(has_room({500 * MiB + 64 * MiB, TiB, 100}, 500 * MiB));
  // Bytes but no inode left is still full; without an inode count (-1) bytes decide.
  EXPECT_FALSE(has_room({3 * MiB, 4 * MiB, 0}, 0));
  EXPECT_TRUE(has_room({3 * MiB, 4 * MiB, -1}, 0));
  // An unknown level (-1) counts as nothing available.
  EXPECT_TRUE(has_room({2 * MiB, 4 * MiB, 100}, -1));
}

TEST(DiskSpace, FreeSpaceReadsTheFileSystemOfTheNearestExistingFolder) {
  const fs::path dir = fs::temp_directory_path();
  auto here = free_space(dir);
  ASSERT_TRUE(here);
  EXPECT_GT(here->capacity_bytes, 0);
  EXPECT_LE(here->available_bytes, here->capacity_bytes);
  auto below = free_space(dir / "not" / "made" / "yet");
  ASSERT_TRUE(below);
  EXPECT_EQ(below->capacity_bytes, here->capacity_bytes);
}
