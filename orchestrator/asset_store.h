// The content-addressed file store: assets/<aa>/<sha256>.<ext>. A file is
// written to a temporary path, fsynced, then renamed into place (and the
// directory fsynced) before any database row names it; a crash leaves at most
// an orphan file, which the cleaner removes. Files are immutable once stored.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace atelier {

struct StoredFile {
  std::string sha256;
  std::string ext;
  int64_t bytes = 0;
  std::filesystem::path path;
};

class AssetStore {
 public:
  AssetStore(std::filesystem::path root, std::filesystem::path tmp_dir);

  StoredFile put_bytes(std::string_view data, const std::string& ext);
  StoredFile put_file(const std::filesystem::path& src, const std::string& ext);
  std::filesystem::path path_for(const std::string& sha256, const std::string& ext) const;
  const std::filesystem::path& root() const { return root_; }
  const std::filesystem::path& tmp_dir() const { return tmp_; }

 private:
  StoredFile commit_temp(const std::filesystem::path& tmp, const std::string& sha, int64_t bytes,
                         const std::string& ext);
  std::filesystem::path root_, tmp_;
};

std::string sha256_hex(std::string_view data);
std::string sha256_file(const std::filesystem::path& file);

}  // namespace atelier
