// A video's sound: an audio file decoded to 48 kHz stereo float, then shaped to
// the video's length (looped or cut, faded out at the end, scaled by a volume).
// Shaping is pure and testable; decoding reads any format FFmpeg does.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

namespace atelier::media {

inline constexpr int kAudioRate = 48000;

struct AudioSamples {
  std::vector<float> left, right;  // kAudioRate samples per second
  int64_t size() const { return static_cast<int64_t>(left.size()); }
};

// Decodes at most `max_samples` samples (0: all). Throws std::invalid_argument
// naming the file when it is unreadable, has no audio stream or no samples
// decode from it.
AudioSamples decode_audio(const std::filesystem::path& file, int64_t max_samples = 0);

// Exactly `samples` samples: the source repeated from its start as often as
// needed, times `volume`, the last `fade_out_seconds` ramped linearly to
// silence, clipped to [-1, 1]. An empty source gives silence.
AudioSamples shape_track(const AudioSamples& source, int64_t samples, double volume,
                         double fade_out_seconds);

}  // namespace atelier::media
