// Media fixtures and probes for tests: solid-colour PNGs and tone WAVs written on
// the fly, and MP4s read back through Debian's ffprobe and ffmpeg (stream facts,
// a decoded frame at a time, top-level atoms), so tests check what players see.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace atelier::test {

// stdout of a shell command.
std::string run_capture(const std::string& cmd);
// ffprobe's JSON for the streams and format of `f`.
nlohmann::json ffprobe(const std::filesystem::path& f);
// The decoded RGB frame at `seconds` (w x h x 3 bytes; a gtest failure if not).
std::vector<uint8_t> frame_at(const std::filesystem::path& f, double seconds, int w, int h);
// Every decoded RGB frame, in order (one ffmpeg run; for small test videos).
std::vector<std::vector<uint8_t>> all_frames(const std::filesystem::path& f, int w, int h);
std::array<double, 3> mean_rgb(const std::vector<uint8_t>& px);
// Top-level MP4 atoms in file order.
std::vector<std::string> top_atoms(const std::filesystem::path& f);
void write_solid_png(const std::filesystem::path& f, int w, int h, uint8_t r, uint8_t g, uint8_t b);
// A 16-bit stereo PCM WAV with a 440 Hz sine tone.
void write_tone_wav(const std::filesystem::path& f, double seconds, int rate = 44100);

}  // namespace atelier::test
