// Keys, canonical manifests and Ed25519 signatures; see signing.h.
#include "provenance/signing.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace atelier::provenance {
namespace fs = std::filesystem;

namespace {

void init_sodium() {
  // Thread-safe and idempotent; needed before randombytes (key generation).
  if (sodium_init() < 0) throw KeyError("libsodium failed to initialise");
}

[[noreturn]] void sys_fail(const fs::path& p, const std::string& what) {
  throw KeyError(p.string() + ": " + what + ": " + std::strerror(errno));
}

void write_all(int fd, const void* data, size_t n, const fs::path& p) {
  const auto* b = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) sys_fail(p, "cannot write");
    b += w;
    n -= static_cast<size_t>(w);
  }
}

// A new file beside `final` with a name no other process uses, opened 0600.
int open_temp(const fs::path& final, fs::path& tmp) {
  std::random_device rd;
  tmp = final;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) sys_fail(tmp, "cannot create");
  return fd;
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // durability only; the files are in place either way
  ::fsync(fd);
  ::close(fd);
}

// Writes `data` to a temporary file and publishes it: by link(2) when
// `exclusive` (false if `final` already exists), else by rename(2).
bool publish(const fs::path& final, std::span<const std::uint8_t> data, mode_t mode,
             bool exclusive) {
  fs::path tmp;
  const int fd = open_temp(final, tmp);
  struct Cleanup {
    const fs::path& p;
    ~Cleanup() { ::unlink(p.c_str()); }  // after link() the final name stays
  } cleanup{tmp};
  try {
    write_all(fd, data.data(), data.size(), tmp);
    if (::fchmod(fd, mode) != 0) sys_fail(tmp, "cannot set the file mode");
    if (::fsync(fd) != 0) sys_fail(tmp, "cannot sync");
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (exclusive) {
    if (::link(tmp.c_str(), final.c_str()) != 0) {
      if (errno == EEXIST) return false;
      sys_fail(final, "cannot create");
    }
  } else if (::rename(tmp.c_str(), final.c_str()) != 0) {
    sys_fail(final, "cannot replace");
  }
  fsync_dir(final.parent_path());
  return true;
}

// Keeps the .pub file in step with the secret key (the secret key is the truth).
void write_public_file(const fs::path& dir, const KeyPair& k) {
  const std::string text = k.public_hex() + "\n";
  const fs::path p = public_key_file(dir);
  std::error_code ec;
  if (fs::file_size(p, ec) == text.size() && !ec) {
    std::string have(text.size(), '\0');
    if (FILE* f = std::fopen(p.c_str(), "rb")) {
      const size_t n = std::fread(have.data(), 1, have.size(), f);
      std::fclose(f);
      if (n == text.size() && have == text) return;
    }
  }
  publish(p, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), 0644,
          false);
}

KeyPair from_secret(std::span<const std::uint8_t> secret, const std::string& where) {
  KeyPair k;
  std::copy(secret.begin(), secret.end(), k.secret.begin());
  std::array<std::uint8_t, kSecretKeyBytes> check{};
  crypto_sign_seed_keypair(k.public_key.data(), check.data(), k.secret.data());
  if (sodium_memcmp(check.data(), k.secret.data(), kSecretKeyBytes) != 0) {
    sodium_memzero(check.data(), check.size());
    throw KeyError(where + ": not an Ed25519 secret key (its public half does not match its seed)");
  }
  sodium_memzero(check.data(), check.size());
  k.key_id = key_id_of(k.public_key);
  return k;
}

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 15]);
  }
  return s;
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex, std::size_t size) {
  if (hex.size() != size * 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> h{};
  crypto_hash_sha256(h.data(), bytes.data(), bytes.size());
  return to_hex(h);
}

std::string key_id_of(const PublicKey& pk) {
  return sha256_hex(pk).substr(0, 16);
}

KeyPair generate_key_pair() {
  init_sodium();
  KeyPair k;
  crypto_sign_keypair(k.public_key.data(), k.secret.data());
  k.key_id = key_id_of(k.public_key);
  return k;
}

fs::path secret_key_file(const fs::path& dir) {
  return dir / "workspace.ed25519";
}
fs::path public_key_file(const fs::path& dir) {
  return dir / "workspace.pub";
}

std::optional<KeyPair> load_key_pair(const fs::path& dir) {
  const fs::path p = secret_key_file(dir);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    sys_fail(p, "cannot open");
  }
  // One byte more than a key, to tell a longer file from a key.
  std::array<std::uint8_t, kSecretKeyBytes + 1> buf{};
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      sys_fail(p, "cannot read");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != kSecretKeyBytes) {
    sodium_memzero(buf.data(), buf.size());
    throw KeyError(p.string() + ": expected " + std::to_string(kSecretKeyBytes) +
                   " bytes (an Ed25519 secret key), found " +
                   (got > kSecretKeyBytes ? "more" : std::to_string(got)));
  }
  init_sodium();
  KeyPair k = from_secret(std::span(buf).first(kSecretKeyBytes), p.string());
  sodium_memzero(buf.data(), buf.size());
  return k;
}

LoadedKey load_or_create_key_pair(const fs::path& dir) {
  LoadedKey out;
  if (auto k = load_key_pair(dir)) {
    out.key = std::move(*k);
  } else {
    std::error_code ec;
    if (fs::create_directories(dir, ec))
      fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (!fs::is_directory(dir)) throw KeyError(dir.string() + ": cannot create the key folder");
    KeyPair made = generate_key_pair();
    out.created = publish(secret_key_file(dir), made.secret, 0600, true);
    if (out.created) {
      out.key = std::move(made);
    } else {  // another process made one first: everyone signs with that one
      auto theirs = load_key_pair(dir);
      if (!theirs) throw KeyError(secret_key_file(dir).string() + ": vanished while being made");
      out.key = std::move(*theirs);
    }
    sodium_memzero(made.secret.data(), made.secret.size());
  }
  write_public_file(dir, out.key);
  return out;
}

std::array<std::uint8_t, kSignatureBytes> sign_bytes(std::span<const std::uint8_t> message,
                                                     const KeyPair& key) {
  init_sodium();
  std::array<std::uint8_t, kSignatureBytes> sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), key.secret.data());
  return sig;
}

bool verify_bytes(std::span<const std::uint8_t> message, std::span<const std::uint8_t> signature,
                  const PublicKey& pk) {
  if (signature.size() != kSignatureBytes) return false;
  init_sodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), pk.data()) ==
         0;
}

std::string canonical_manifest(const nlohmann::json& manifest) {
  if (!manifest.is_object()) throw std::invalid_argument("a manifest must be a JSON object");
  if (!manifest.contains("signature")) return manifest.dump();
  nlohmann::json copy = manifest;
  copy.erase("signature");
  return copy.dump();
}

namespace {
std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

nlohmann::json sign_manifest(nlohmann::json manifest, const KeyPair& key) {
  const std::string canon = canonical_manifest(manifest);
  const auto sig = sign_bytes(bytes_of(canon), key);
  std::string b64(sodium_base64_ENCODED_LEN(kSignatureBytes, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), sig.data(), sig.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  manifest["signature"] = {{"alg", kSignatureAlg},
                           {"key_id", key.key_id},
                           {"public_key", key.public_hex()},
                           {"value", b64}};
  return manifest;
}

SignatureCheck check_manifest_signature(const nlohmann::json& manifest) {
  SignatureCheck c;
  if (!manifest.is_object()) {
    c.reason = "the manifest is not a JSON object";
    return c;
  }
  auto it = manifest.find("signature");
  if (it == manifest.end() || it->is_null()) {
    c.status = SignatureCheck::unsigned_manifest;
    return c;
  }
  const nlohmann::json& s = *it;
  auto text = [&](const char* field) -> std::optional<std::string> {
    if (!s.is_object() || !s.contains(field) || !s[field].is_string()) return std::nullopt;
    return s[field].get<std::string>();
  };
  if (!s.is_object()) {
    c.reason = "signature: expected an object {alg, key_id, public_key, value}";
    return c;
  }
  // The signature member is the one part of a manifest the signature does not
  // cover: anything else in it would be unsigned text riding on a valid signature.
  for (auto f = s.begin(); f != s.end(); ++f)
    if (f.key() != "alg" && f.key() != "key_id" && f.key() != "public_key" && f.key() != "value") {
      c.reason = "signature: unknown field " + nlohmann::json(f.key()).dump() +
                 " (a signature holds only alg, key_id, public_key and value)";
      return c;
    }
  if (auto id = text("key_id")) c.key_id = *id;
  const auto alg = text("alg");
  if (!alg || *alg != kSignatureAlg) {
    c.reason = "signature.alg: expected \"Ed25519\", got " +
               (s.contains("alg") ? s["alg"].dump() : "nothing");
    return c;
  }
  const auto pk_hex = text("public_key");
  const auto pk = pk_hex ? from_hex(*pk_hex, kPublicKeyBytes) : std::nullopt;
  if (!pk) {
    c.reason = "signature.public_key: expected 64 hex digits";
    return c;
  }
  std::copy(pk->begin(), pk->end(), c.public_key.begin());
  const std::string derived = key_id_of(c.public_key);
  if (c.key_id != derived) {
    c.reason =
        "signature.key_id \"" + c.key_id + "\" is not the id of its public key (" + derived + ")";
    return c;
  }
  const auto value = text("value");
  std::array<std::uint8_t, kSignatureBytes> sig{};
  size_t sig_len = 0;
  if (!value ||
      sodium_base642bin(sig.data(), sig.size(), value->data(), value->size(), nullptr, &sig_len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      sig_len != kSignatureBytes) {
    c.reason = "signature.value: expected the base64 of 64 bytes";
    return c;
  }
  const std::string canon = canonical_manifest(manifest);
  c.status = verify_bytes(bytes_of(canon), sig, c.public_key) ? SignatureCheck::valid
                                                              : SignatureCheck::mismatch;
  return c;
}

}  // namespace atelier::provenance
