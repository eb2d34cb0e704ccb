// A tiny, untrained diffusion model written to a real safetensors file, for
// tests that need a model file without training one (generation through the
// queue, strict loading, determinism). Its weights are seeded, so every test run
// writes the same bytes.
#pragma once
#include <filesystem>

namespace atelier::test {

// Writes the model and returns its path (dir/name.safetensors).
std::filesystem::path write_tiny_model(const std::filesystem::path& dir,
                                       const std::string& name = "tiny");

// A tiny, untrained captioner (seeded weights) whose labels are a handful of
// emoji names and words, written as dir/name.safetensors.
std::filesystem::path write_tiny_captioner(const std::filesystem::path& dir,
                                           const std::string& name = "tinycap");

}  // namespace atelier::test
