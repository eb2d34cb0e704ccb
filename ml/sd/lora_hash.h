// The hash AUTOMATIC1111's web UI shows for a LoRA ("Lora hashes: name:
// 0123456789ab" in infotexts) and sd-webui-additional-networks introduced:
// SHA-256 of a .safetensors file's bytes after its header (the 8-byte length
// and the JSON), i.e. of the tensor data alone, so editing the metadata does
// not change it. The short form is its first 12 hex digits.
//
// Torch-free: reads the file in 1 MiB chunks, never whole.
#pragma once
#include <filesystem>
#include <string>

namespace atelier::ml::sd {

// 64 lowercase hex digits. Throws std::runtime_error naming the file when it
// cannot be read or is shorter than its header says.
std::string lora_addnet_sha256(const std::filesystem::path& path);
// The first 12 hex digits of lora_addnet_sha256.
std::string lora_addnet_hash(const std::filesystem::path& path);

}  // namespace atelier::ml::sd
