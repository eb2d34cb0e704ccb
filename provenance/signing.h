// Ed25519 signing of Atelier manifests (libsodium): the workspace key pair and
// its files, the canonical form of a manifest, and detached signatures over it.
//
// Invariants:
//  - A key is identified by its key id: the first 16 hex digits of the sha256 of
//    the 32-byte public key. The secret key file holds libsodium's 64 bytes
//    (seed, then public key); loading checks that the public half matches the
//    seed, so a damaged file is refused instead of signing with a wrong key.
//  - The key file is made once, atomically (written beside, then link(2)ed into
//    place, which fails when another process got there first: both then use the
//    winner's key), with mode 0600 in a 0700 folder.
//  - The canonical form of a manifest is nlohmann's dump() of the manifest
//    without its "signature" member: object keys sorted by byte, no whitespace,
//    strings as UTF-8 with only the escapes JSON requires, integers as digits,
//    floats in nlohmann's shortest round-trip form. Parsing a manifest and
//    dumping it again gives the same bytes, so a verifier needs only the
//    embedded JSON text.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_nesting.h"

namespace atelier::provenance {

inline constexpr const char* kSignatureAlg = "Ed25519";
inline constexpr std::size_t kPublicKeyBytes = 32, kSecretKeyBytes = 64, kSignatureBytes = 64;

// A key file or value that cannot be used (names the file or field).
class KeyError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

std::string to_hex(std::span<const std::uint8_t> bytes);
// Lower- or upper-case hex of exactly `size` bytes, else nullopt.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex, std::size_t size);
std::string sha256_hex(std::span<const std::uint8_t> bytes);

using PublicKey = std::array<std::uint8_t, kPublicKeyBytes>;
std::string key_id_of(const PublicKey& pk);

struct KeyPair {
  std::array<std::uint8_t, kSecretKeyBytes> secret{};
  PublicKey public_key{};
  std::string key_id;
  std::string public_hex() const { return to_hex(public_key); }
};

KeyPair generate_key_pair();

// <dir>/workspace.ed25519 (the 64 secret bytes, mode 0600) and
// <dir>/workspace.pub (the public key as 64 hex digits and a newline).
std::filesystem::path secret_key_file(const std::filesystem::path& dir);
std::filesystem::path public_key_file(const std::filesystem::path& dir);
// nullopt when there is no secret key file; KeyError when it is unusable.
std::optional<KeyPair> load_key_pair(const std::filesystem::path& dir);
struct LoadedKey {
  KeyPair key;
  bool created = false;  // this call made it
};
// Loads the key, or makes it (and the folder) when there is none.
LoadedKey load_or_create_key_pair(const std::filesystem::path& dir);

std::array<std::uint8_t, kSignatureBytes> sign_bytes(std::span<const std::uint8_t> message,
                                                     const KeyPair& key);
bool verify_bytes(std::span<const std::uint8_t> message, std::span<const std::uint8_t> signature,
                  const PublicKey& pk);

// The bytes that are signed (see the invariants above). Throws
// std::invalid_argument when `manifest` is not an object.
std::string canonical_manifest(const nlohmann::json& manifest);
// The manifest with "signature": {"alg": "Ed25519", "key_id", "public_key" (hex),
// "value" (standard base64 of the 64-byte detached signature)}.
nlohmann::json sign_manifest(nlohmann::json manifest, const KeyPair& key);

// Manifests are shallow: a reader refuses text nested deeper than this (measured
// with json_nesting_depth) before parsing, since dumping the canonical form
// recurses once per level.
using atelier::json_nesting_depth;
inline constexpr std::size_t kMaxManifestDepth = 64;

struct SignatureCheck {
  enum Status {
    valid,
    unsigned_manifest,  // "signature" missing or null
    malformed,          // not the shape above (any other member included), an unknown
                        // alg, or key id != public key's
    mismatch,           // a well-formed signature that does not match the manifest
  } status = malformed;
  std::string key_id;      // as the signature claims (set unless unsigned)
  PublicKey public_key{};  // valid only for valid and mismatch
  std::string reason;      // for malformed: which field and why
};
// Checks the signature with the public key it carries; whether that key is
// trusted is the caller's question.
SignatureCheck check_manifest_signature(const nlohmann::json& manifest);

}  // namespace atelier::provenance
