#include "asset_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <system_error>

#include "common/errors.h"

namespace atelier {
namespace fs = std::filesystem;

namespace {

std::string hex(const unsigned char* d, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[d[i] >> 4];
    s[2 * i + 1] = digits[d[i] & 15];
  }
  return s;
}

// A failed system call as a filesystem_error naming its file, so a full disk
// is told apart (orchestrator/disk_space.h) and the full folder named.
[[noreturn]] void io_error(const char* op, const fs::path& p, int err) {
  throw fs::filesystem_error(op, p, std::error_code(err, std::generic_category()));
}

void fsync_path(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) io_error("open", p, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) io_error("fsync", p, err);
}

fs::path temp_name(const fs::path& dir) {
  static std::atomic<uint64_t> counter{0};
  // The host's name too: other hosts write into a shared asset store's temp folder.
  static const std::string host = [] {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return std::string(name);
  }();
  return dir / ("put-" + host + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                ".tmp");
}

void write_all(int fd, const char* data, size_t n, const fs::path& p) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_error("write", p, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return hex(out, sizeof out);
}

std::string sha256_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot read");
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::string buf(1 << 16, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf.data()),
                              static_cast<unsigned long long>(in.gcount()));
  }
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  return hex(out, sizeof out);
}

AssetStore::AssetStore(fs::path root, fs::path tmp_dir)
    : root_(std::move(root)), tmp_(std::move(tmp_dir)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  fs::create_directories(root_);
  fs::create_directories(tmp_);
}

fs::path AssetStore::path_for(const std::string& sha, const std::string& ext) const {
  return root_ / sha.substr(0, 2) / (sha + (ext.empty() ? "" : "." + ext));
}

StoredFile AssetStore::commit_temp(const fs::path& tmp, const std::string& sha, int64_t bytes,
                                   const std::string& ext) {
  fs::path dest = path_for(sha, ext);
  try {
    fs::create_directories(dest.parent_path());
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);  // no folder for it (a full disk): give its space back
    throw;
  }
  if (fs::exists(dest)) {
    // Same content already stored (a retried job, or another job): keep the first.
    fs::remove(tmp);
  } else {
    fs::rename(tmp, dest);
    fsync_path(dest.parent_path(), O_RDONLY | O_DIRECTORY);
  }
  return {sha, ext, bytes, dest};
}

StoredFile AssetStore::put_bytes(std::string_view data, const std::string& ext) {
  fs::path tmp = temp_name(tmp_);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) io_error("create", tmp, errno);
  try {
    write_all(fd, data.data(), data.size(), tmp);
    if (::fsync(fd) != 0) io_error("fsync", tmp, errno);
  } catch (...) {
    ::close(fd);
    fs::remove(tmp);
    throw;
  }
  ::close(fd);
  return commit_temp(tmp, sha256_hex(data), static_cast<int64_t>(data.size()), ext);
}

StoredFile AssetStore::put_file(const fs::path& src, const std::string& ext) {
  fs::path tmp = temp_name(tmp_);
  try {
    fs::copy_file(src, tmp, fs::copy_options::overwrite_existing);
    fsync_path(tmp, O_RDONLY);
  } catch (...) {
    // A copy cut short (a full disk) must not keep the space it took.
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  return commit_temp(tmp, sha256_file(tmp), static_cast<int64_t>(fs::file_size(tmp)), ext);
}

}  // namespace atelier
