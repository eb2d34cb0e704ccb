// The addnet hash of a safetensors file (see lora_hash.h).
#include "ml/sd/lora_hash.h"

#include <sodium.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace atelier::ml::sd {

std::string lora_addnet_sha256(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(source + ": cannot open the file");
  unsigned char len_bytes[8];
  if (!in.read(reinterpret_cast<char*>(len_bytes), 8))
    throw std::runtime_error(source + ": shorter than a safetensors header");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec || header_len > size - 8)
    throw std::runtime_error(source + ": the header length " + std::to_string(header_len) +
                             " runs past the end of the file");
  in.seekg(static_cast<std::streamoff>(8 + header_len));

  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0)
      crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf.data()),
                                static_cast<unsigned long long>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error(source + ": read error");
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : out) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

std::string lora_addnet_hash(const std::filesystem::path& path) {
  return lora_addnet_sha256(path).substr(0, 12);
}

}  // namespace atelier::ml::sd
