// Frames -> filter graph -> libx264 + AAC -> MP4; see video_assembler.h.
#include "media/video/video_assembler.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <opencv2/core.hpp>

#include "media/video/ffmpeg_util.h"
#include "media/video/filter_plan.h"
#include "media/video/still_frames.h"

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
}

namespace atelier::media {

namespace fs = std::filesystem;

namespace {

av::Frame new_yuv_frame(int w, int h) {
  auto f = av::make_frame();
  f->format = AV_PIX_FMT_YUV420P;
  f->width = w;
  f->height = h;
  f->color_range = AVCOL_RANGE_MPEG;
  f->colorspace = AVCOL_SPC_BT709;
  f->color_primaries = AVCOL_PRI_BT709;
  f->color_trc = AVCOL_TRC_BT709;
  av::check(av_frame_get_buffer(f.get(), 0), "frame buffer");
  return f;
}

// OpenCV views of a yuv420p frame's planes (no copy).
Planes planes_of(const AVFrame* f) {
  const int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
  return {cv::Mat(f->height, f->width, CV_8UC1, f->data[0], static_cast<size_t>(f->linesize[0])),
          cv::Mat(ch, cw, CV_8UC1, f->data[1], static_cast<size_t>(f->linesize[1])),
          cv::Mat(ch, cw, CV_8UC1, f->data[2], static_cast<size_t>(f->linesize[2]))};
}

// RGB24 <-> yuv420p at one size, BT.709 limited range (what players assume for
// HD video and what the stream is tagged with).
class ColourConverter {
 public:
  ColourConverter(int w, int h, bool to_yuv) : w_(w), h_(h) {
    const AVPixelFormat from = to_yuv ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUV420P;
    const AVPixelFormat to = to_yuv ? AV_PIX_FMT_YUV420P : AV_PIX_FMT_RGB24;
    sws_.reset(sws_getContext(w, h, from, w, h, to, SWS_BILINEAR | SWS_ACCURATE_RND, nullptr,
                              nullptr, nullptr));
    if (!sws_) throw std::runtime_error("colour conversion: sws_getContext failed");
    const int* bt709 = sws_getCoefficients(SWS_CS_ITU709);
    // RGB is full range, YUV limited.
    sws_setColorspaceDetails(sws_.get(), bt709, to_yuv ? 1 : 0, bt709, to_yuv ? 0 : 1, 0, 1 << 16,
                             1 << 16);
  }

  av::Frame to_yuv(const cv::Mat& rgb) const {
    av::Frame f = new_yuv_frame(w_, h_);
    const uint8_t* src[1] = {rgb.data};
    const int stride[1] = {static_cast<int>(rgb.step[0])};
    sws_scale(sws_.get(), src, stride, 0, h_, f->data, f->linesize);
    return f;
  }

  Image to_rgb(const AVFrame* yuv) const {
    Image img;
    img.width = w_;
    img.height = h_;
    img.channels = 3;
    img.pixels.resize(static_cast<size_t>(w_) * h_ * 3);
    uint8_t* dst[1] = {img.pixels.data()};
    const int stride[1] = {w_ * 3};
    sws_scale(sws_.get(), yuv->data, yuv->linesize, 0, h_, dst, stride);
    return img;
  }

 private:
  int w_, h_;
  av::Sws sws_;
};

struct Graph {
  av::Graph graph;
  std::vector<AVFilterContext*> sources;
  AVFilterContext* sink = nullptr;
};

AVFilterContext* new_filter(AVFilterGraph* g, const std::string& name, const std::string& label) {
  const AVFilter* f = avfilter_get_by_name(name.c_str());
  if (!f)
    throw std::runtime_error("this FFmpeg's libavfilter has no '" + name +
                             "' filter (Debian's libavfilter8 has it)");
  AVFilterContext* ctx = avfilter_graph_alloc_filter(g, f, label.c_str());
  if (!ctx) throw std::bad_alloc();
  return ctx;
}

Graph build_graph(const FilterPlan& plan, int w, int h, int fps) {
  Graph out;
  out.graph.reset(avfilter_graph_alloc());
  if (!out.graph) throw std::bad_alloc();
  AVFilterGraph* g = out.graph.get();
  for (int i = 0; i < plan.sources; ++i) {
    AVFilterContext* src = new_filter(g, "buffer", "image" + std::to_string(i));
    av_opt_set_int(src, "width", w, AV_OPT_SEARCH_CHILDREN);
    av_opt_set_int(src, "height", h, AV_OPT_SEARCH_CHILDREN);
    av_opt_set_pixel_fmt(src, "pix_fmt", AV_PIX_FMT_YUV420P, AV_OPT_SEARCH_CHILDREN);
    av_opt_set_q(src, "time_base", AVRational{1, fps}, AV_OPT_SEARCH_CHILDREN);
    av_opt_set_q(src, "frame_rate", AVRational{fps, 1}, AV_OPT_SEARCH_CHILDREN);
    av_opt_set_q(src, "pixel_aspect", AVRational{1, 1}, AV_OPT_SEARCH_CHILDREN);
    av::check(avfilter_init_str(src, nullptr), "video source " + std::to_string(i));
    out.sources.push_back(src);
  }
  std::vector<AVFilterContext*> nodes;
  for (size_t k = 0; k < plan.nodes.size(); ++k) {
    const FilterNode& n = plan.nodes[k];
    const std::string label = n.filter + std::to_string(k);
    AVFilterContext* ctx = new_filter(g, n.filter, label);
    for (const auto& [key, value] : n.options)
      av::check(av_opt_set(ctx, key.c_str(), value.c_str(), AV_OPT_SEARCH_CHILDREN),
                label + ": option " + key + "=" + value);
    av::check(avfilter_init_str(ctx, nullptr), label);
    for (size_t pad = 0; pad < n.inputs.size(); ++pad) {
      const int in = n.inputs[pad];
      AVFilterContext* from =
          in < 0 ? out.sources[static_cast<size_t>(-1 - in)] : nodes[static_cast<size_t>(in)];
      av::check(avfilter_link(from, 0, ctx, static_cast<unsigned>(pad)), label + ": link");
    }
    nodes.push_back(ctx);
  }
  out.sink = new_filter(g, "buffersink", "out");
  av::check(avfilter_init_str(out.sink, nullptr), "video sink");
  AVFilterContext* last = nodes.empty() ? out.sources.at(0) : nodes.back();
  av::check(avfilter_link(last, 0, out.sink, 0), "video sink: link");
  av::check(avfilter_graph_config(g, nullptr), "filter graph");
  return out;
}

struct Muxer {
  av::Output oc;
  av::Codec venc, aenc;
  AVStream* vst = nullptr;
  AVStream* ast = nullptr;
  av::Packet pkt = av::make_packet();

  void write_packets(AVCodecContext* enc, AVStream* st) {
    for (;;) {
      const int r = avcodec_receive_packet(enc, pkt.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      av::check(r, "encoding");
      av_packet_rescale_ts(pkt.get(), enc->time_base, st->time_base);
      pkt->stream_index = st->index;
      av::check(av_interleaved_write_frame(oc.get(), pkt.get()), "writing the MP4");
    }
  }
  void encode(AVCodecContext* enc, AVStream* st, const AVFrame* f) {
    av::check(avcodec_send_frame(enc, f), "encoding");
    write_packets(enc, st);
  }
};

Muxer open_output(const fs::path& path, const VideoParams& p, int w, int h, bool audio) {
  Muxer m;
  AVFormatContext* raw = nullptr;
  av::check(avformat_alloc_output_context2(&raw, nullptr, "mp4", path.c_str()), "MP4 muxer");
  m.oc.reset(raw);

  const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
  if (!x264) throw std::runtime_error("this FFmpeg has no libx264 encoder");
  m.venc.reset(avcodec_alloc_context3(x264));
  if (!m.venc) throw std::bad_alloc();
  AVCodecContext* v = m.venc.get();
  v->width = w;
  v->height = h;
  v->pix_fmt = AV_PIX_FMT_YUV420P;
  v->time_base = AVRational{1, p.fps};
  v->framerate = AVRational{p.fps, 1};
  v->sample_aspect_ratio = AVRational{1, 1};
  v->gop_size = 2 * p.fps;  // a keyframe every 2 s: seekable previews
  v->color_range = AVCOL_RANGE_MPEG;
  v->colorspace = AVCOL_SPC_BT709;
  v->color_primaries = AVCOL_PRI_BT709;
  v->color_trc = AVCOL_TRC_BT709;
  if (m.oc->oformat->flags & AVFMT_GLOBALHEADER) v->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  av_opt_set(v->priv_data, "preset", p.preset.c_str(), 0);
  av_opt_set(v->priv_data, "crf", std::to_string(p.crf).c_str(), 0);
  av::check(avcodec_open2(v, x264, nullptr), "opening libx264");
  m.vst = avformat_new_stream(m.oc.get(), nullptr);
  if (!m.vst) throw std::bad_alloc();
  av::check(avcodec_parameters_from_context(m.vst->codecpar, v), "video stream");
  m.vst->time_base = v->time_base;
  m.vst->avg_frame_rate = v->framerate;

  if (audio) {
    const AVCodec* aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!aac) throw std::runtime_error("this FFmpeg has no AAC encoder");
    m.aenc.reset(avcodec_alloc_context3(aac));
    if (!m.aenc) throw std::bad_alloc();
    AVCodecContext* a = m.aenc.get();
    a->sample_fmt = AV_SAMPLE_FMT_FLTP;
    a->sample_rate = kAudioRate;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    av::check(av_channel_layout_copy(&a->ch_layout, &stereo), "audio layout");
    a->bit_rate = 160000;
    a->time_base = AVRational{1, kAudioRate};
    if (m.oc->oformat->flags & AVFMT_GLOBALHEADER) a->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av::check(avcodec_open2(a, aac, nullptr), "opening the AAC encoder");
    m.ast = avformat_new_stream(m.oc.get(), nullptr);
    if (!m.ast) throw std::bad_alloc();
    av::check(avcodec_parameters_from_context(m.ast->codecpar, a), "audio stream");
    m.ast->time_base = a->time_base;
  }

  av::check(avio_open(&m.oc->pb, path.c_str(), AVIO_FLAG_WRITE), "creating " + path.string());
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "movflags", "+faststart", 0);
  const int r = avformat_write_header(m.oc.get(), &opts);
  av_dict_free(&opts);
  av::check(r, "writing the MP4 header");
  return m;
}

// Feeds the AAC encoder from `track` up to sample `until`.
class AudioFeeder {
 public:
  AudioFeeder(Muxer& m, const AudioSamples& track) : m_(m), track_(track) {}

  void until(int64_t sample) {
    AVCodecContext* a = m_.aenc.get();
    const int frame_size = a->frame_size > 0 ? a->frame_size : 1024;
    sample = std::min(sample, track_.size());
    while (pos_ < sample) {
      const int n = static_cast<int>(std::min<int64_t>(frame_size, track_.size() - pos_));
      // A short frame is allowed only as the last one.
      if (n < frame_size && sample < track_.size()) return;
      auto f = av::make_frame();
      f->format = AV_SAMPLE_FMT_FLTP;
      f->sample_rate = kAudioRate;
      av::check(av_channel_layout_copy(&f->ch_layout, &a->ch_layout), "audio layout");
      f->nb_samples = n;
      av::check(av_frame_get_buffer(f.get(), 0), "audio frame");
      std::memcpy(f->data[0], track_.left.data() + pos_, sizeof(float) * static_cast<size_t>(n));
      std::memcpy(f->data[1], track_.right.data() + pos_, sizeof(float) * static_cast<size_t>(n));
      f->pts = pos_;
      m_.encode(a, m_.ast, f.get());
      pos_ += n;
    }
  }
  void finish() {
    until(track_.size());
    m_.encode(m_.aenc.get(), m_.ast, nullptr);
  }

 private:
  Muxer& m_;
  const AudioSamples& track_;
  int64_t pos_ = 0;
};

}  // namespace

AssembleResult assemble_video(const AssembleRequest& rq) {
  // libx264 and the filters log statistics at info level on stderr; errors reach
  // the job as exceptions, so keep FFmpeg's own log to real errors.
  static std::once_flag quiet;
  std::call_once(quiet, [] { av_log_set_level(AV_LOG_ERROR); });
  if (!rq.images || rq.images->empty()) throw std::invalid_argument("images: no images to show");
  const VideoParams& p = rq.params;
  const int W = rq.aspect.width, H = rq.aspect.height, fps = p.fps;
  const auto& images = *rq.images;
  const Timeline tl = make_timeline(images.size(), p);
  const auto lines = layout_text(p, tl, W, H);
  const FilterPlan plan = make_filter_plan(p, tl, lines, rq.font_family);

  AssembleResult result;
  result.filtergraph = to_filtergraph_string(plan);
  result.frames = tl.total;
  result.seconds = tl.seconds(fps);

  struct RemoveUnlessDone {
    fs::path path;
    bool done = false;
    ~RemoveUnlessDone() {
      std::error_code ec;
      if (!done) fs::remove(path, ec);
    }
  } guard{rq.output};

  // Fit and convert every image once; a moving frame is then a warp of the
  // canvas's yuv420p planes.
  const auto [cw, ch] = canvas_size(p.ken_burns, W, H);
  const bool moving = p.ken_burns.motion != Motion::none;
  const ColourConverter canvas_to_yuv(cw, ch, true), to_rgb(W, H, false);
  std::vector<av::Frame> canvases;
  for (const Image& img : images)
    canvases.push_back(canvas_to_yuv.to_yuv(fit_to_canvas(img, cw, ch, p.fit, p.background)));

  AudioSamples track;
  if (rq.audio) {
    track = shape_track(*rq.audio, tl.total * kAudioRate / fps, p.audio_volume, p.audio_fade_out);
    result.audio = true;
  }
  Muxer mux = open_output(rq.output, p, W, H, rq.audio != nullptr);
  std::optional<AudioFeeder> audio;
  if (rq.audio) audio.emplace(mux, track);

  const size_t n = images.size();
  const FilterPlan text = text_plan(lines, rq.font_family);
  std::optional<Graph> text_graph;
  if (!text.nodes.empty()) text_graph.emplace(build_graph(text, W, H, fps));
  std::vector<Planes> canvas_planes;
  for (const auto& c : canvases) canvas_planes.push_back(planes_of(c.get()));
  auto frame_of = [&](size_t i, int64_t k) {
    if (!moving) {
      av::Frame f(av_frame_clone(canvases[i].get()));
      if (!f) throw std::bad_alloc();
      return f;
    }
    const double u = tl.per_image > 1 ? static_cast<double>(k) / (tl.per_image - 1) : 0.0;
    av::Frame f = new_yuv_frame(W, H);
    Planes planes = planes_of(f.get());
    render_window(canvas_planes[i], ken_burns_window(p.ken_burns, cw, ch, W, H, u), planes);
    return f;
  };
  // Pushes `in` (pts set) into `g`'s sources and takes the one frame that comes out.
  auto through = [](Graph& g, std::vector<av::Frame> in, const char* what) {
    for (size_t s = 0; s < in.size(); ++s)
      av::check(av_buffersrc_add_frame_flags(g.sources[s], in[s].get(), 0), what);
    av::Frame out = av::make_frame();
    const int r = av_buffersink_get_frame(g.sink, out.get());
    if (r == AVERROR(EAGAIN)) throw std::runtime_error(std::string(what) + ": no frame came out");
    av::check(r, what);
    return out;
  };

  // The poster: the middle of the first image's own time (after any title fades in).
  const OverlayWindow first = caption_window(0, tl);
  const int64_t poster_at = (first.first + first.last) / 2;
  std::optional<Graph> transition;  // the one in progress
  size_t image = 0;
  int64_t produced = 0;
  for (int64_t f = 0; f < tl.total; ++f) {
    if (rq.check_cancelled) rq.check_cancelled();
    while (f >= tl.end(image)) ++image;
    av::Frame frame;
    if (image + 1 < n && f >= tl.start[image + 1]) {
      // Two images on screen: the outgoing one's tail and the incoming one's head.
      const int64_t k = f - tl.start[image + 1];
      if (k == 0) transition.emplace(build_graph(transition_plan(p, tl), W, H, fps));
      std::vector<av::Frame> pair;
      pair.push_back(frame_of(image, f - tl.start[image]));
      pair.push_back(frame_of(image + 1, k));
      for (auto& x : pair) x->pts = k;
      frame = through(*transition, std::move(pair), "transition");
    } else {
      frame = frame_of(image, f - tl.start[image]);
    }
    frame->pts = f;
    if (text_graph) {
      std::vector<av::Frame> one;
      one.push_back(std::move(frame));
      frame = through(*text_graph, std::move(one), "text");
    }
    if (produced == poster_at) result.poster = to_rgb.to_rgb(frame.get());
    frame->pts = produced;
    frame->pict_type = AV_PICTURE_TYPE_NONE;
    if (audio) audio->until((produced + 1) * kAudioRate / fps);
    mux.encode(mux.venc.get(), mux.vst, frame.get());
    ++produced;
    if (rq.progress) rq.progress(produced, tl.total);
  }
  if (produced != tl.total)
    throw std::runtime_error("the filter graph made " + std::to_string(produced) + " frames, " +
                             std::to_string(tl.total) + " expected");
  mux.encode(mux.venc.get(), mux.vst, nullptr);
  if (audio) audio->finish();
  av::check(av_write_trailer(mux.oc.get()), "finishing the MP4");
  av::check(avio_closep(&mux.oc->pb), "closing " + rq.output.string());
  guard.done = true;
  return result;
}

}  // namespace atelier::media
