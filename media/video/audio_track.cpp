// Audio decoding with libavformat/libavcodec/libswresample and the pure shaping
// of the track; see audio_track.h.
#include "media/video/audio_track.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "media/video/ffmpeg_util.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace atelier::media {

AudioSamples decode_audio(const std::filesystem::path& file, int64_t max_samples) {
  const std::string name = file.string();
  auto fail = [&](const std::string& why) { throw std::invalid_argument(name + ": " + why); };
  AVFormatContext* raw = nullptr;
  if (int r = avformat_open_input(&raw, name.c_str(), nullptr, nullptr); r < 0)
    fail("not a readable audio file (" + av::error_text(r) + ")");
  av::Input in(raw);
  if (int r = avformat_find_stream_info(in.get(), nullptr); r < 0)
    fail("cannot read its streams (" + av::error_text(r) + ")");
  const AVCodec* codec = nullptr;
  const int si = av_find_best_stream(in.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (si < 0 || !codec) fail("has no audio stream FFmpeg can decode");
  av::Codec dec(avcodec_alloc_context3(codec));
  if (!dec) throw std::bad_alloc();
  av::check(avcodec_parameters_to_context(dec.get(), in->streams[si]->codecpar),
            name + ": audio decoder parameters");
  if (int r = avcodec_open2(dec.get(), codec, nullptr); r < 0)
    fail("cannot open its audio decoder (" + av::error_text(r) + ")");

  AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
  SwrContext* swr_raw = nullptr;
  av::check(swr_alloc_set_opts2(&swr_raw, &stereo, AV_SAMPLE_FMT_FLTP, kAudioRate, &dec->ch_layout,
                                dec->sample_fmt, dec->sample_rate, 0, nullptr),
            name + ": resampler");
  av::Swr swr(swr_raw);
  av::check(swr_init(swr.get()), name + ": resampler");

  AudioSamples out;
  auto full = [&] { return max_samples > 0 && out.size() >= max_samples; };
  auto append = [&](const uint8_t** data, int count) {
    const int cap = swr_get_out_samples(swr.get(), count);
    if (cap <= 0) return;
    std::vector<float> l(static_cast<size_t>(cap)), r(static_cast<size_t>(cap));
    uint8_t* planes[2] = {reinterpret_cast<uint8_t*>(l.data()),
                          reinterpret_cast<uint8_t*>(r.data())};
    const int got =
        av::check(swr_convert(swr.get(), planes, cap, data, count), name + ": resampling");
    out.left.insert(out.left.end(), l.begin(), l.begin() + got);
    out.right.insert(out.right.end(), r.begin(), r.begin() + got);
  };
  auto frame = av::make_frame();
  auto pkt = av::make_packet();
  int bad_packets = 0;
  auto drain = [&] {
    for (;;) {
      const int r = avcodec_receive_frame(dec.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      if (r < 0) {
        ++bad_packets;  // a damaged frame: skip it, keep what decodes
        return;
      }
      append(const_cast<const uint8_t**>(frame->extended_data), frame->nb_samples);
      av_frame_unref(frame.get());
    }
  };
  while (!full()) {
    const int r = av_read_frame(in.get(), pkt.get());
    if (r == AVERROR_EOF) break;
    if (r < 0) {
      ++bad_packets;
      break;  // a truncated or damaged container: keep what was read
    }
    if (pkt->stream_index == si) {
      if (avcodec_send_packet(dec.get(), pkt.get()) < 0) ++bad_packets;
      drain();
    }
    av_packet_unref(pkt.get());
  }
  avcodec_send_packet(dec.get(), nullptr);
  drain();
  append(nullptr, 0);  // the resampler's tail
  if (out.size() == 0)
    fail("no audio samples decode from it" +
         (bad_packets ? " (" + std::to_string(bad_packets) + " damaged packets)" : std::string()));
  if (max_samples > 0 && out.size() > max_samples) {
    out.left.resize(static_cast<size_t>(max_samples));
    out.right.resize(static_cast<size_t>(max_samples));
  }
  return out;
}

AudioSamples shape_track(const AudioSamples& src, int64_t samples, double volume,
                         double fade_out_seconds) {
  AudioSamples out;
  out.left.assign(static_cast<size_t>(std::max<int64_t>(0, samples)), 0.0f);
  out.right = out.left;
  const int64_t n = src.size();
  if (n == 0 || samples <= 0) return out;
  const int64_t fade = std::min<int64_t>(samples, std::llround(fade_out_seconds * kAudioRate));
  for (int64_t j = 0; j < samples; ++j) {
    double g = volume;
    if (fade > 0 && j >= samples - fade) g *= static_cast<double>(samples - j) / fade;
    const auto k = static_cast<size_t>(j % n);
    out.left[static_cast<size_t>(j)] = static_cast<float>(std::clamp(src.left[k] * g, -1.0, 1.0));
    out.right[static_cast<size_t>(j)] = static_cast<float>(std::clamp(src.right[k] * g, -1.0, 1.0));
  }
  return out;
}

}  // namespace atelier::media
