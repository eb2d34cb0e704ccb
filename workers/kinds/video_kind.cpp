// The `video` kind: one MP4 per aspect from the job's images (in input order),
// with an optional audio track, text overlays and per-image captions, plus a
// poster PNG and a signed manifest per aspect. Every output lists the images and audio it was made
// from (asset_sources). Bad params, a corrupt image or audio file, or no images
// fail the job with an InputError naming the field or file; a cancelled job
// stops mid-encode and leaves no partial file.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>

#include "../job_kind.h"
#include "common/errors.h"
#include "kinds/video.h"
#include "media/image_decode.h"
#include "media/png_io.h"
#include "media/video/audio_track.h"
#include "media/video/text_font.h"
#include "media/video/video_assembler.h"
#include "media/video/video_plan.h"
#include "orchestrator/workspace.h"
#include "provenance/manifest_format.h"
#include "provenance/signing.h"
#include "provenance/workspace_key.h"

namespace atelier {
namespace {

namespace fs = std::filesystem;

// "16:9" -> "16x9"; "1080x1920" stays.
std::string file_label(const media::Aspect& a) {
  return std::to_string(a.width) + "x" + std::to_string(a.height);
}

// What a user calls an input: its imported source path, else its sha256 prefix.
std::string input_name(JobContext& ctx, const JobInput& in) {
  const auto row = ctx.store().asset(in.sha256);
  if (row && row->source_path) return *row->source_path;
  return "asset " + in.sha256.substr(0, 12);
}

// An MP4 carries no Atelier chunk, so its manifest is a signed sidecar asset,
// `video-WxH.manifest.json`, that does not flow downstream: what the video was
// cut from (images and audio by sha256), how, and when. `atelier verify` and
// `atelier provenance` read it like a generation manifest; its fields are
// provenance/manifest_format.cpp's (atelier-video-manifest/2).
void write_video_manifest(JobContext& ctx, const std::string& label, const std::string& video_sha,
                          int64_t duration_ms, const media::Aspect& aspect,
                          const std::vector<const JobInput*>& images, const JobInput* audio) {
  json inputs = json::array();
  for (const JobInput* in : images) inputs.push_back({{"sha256", in->sha256}, {"role", "image"}});
  if (audio) inputs.push_back({{"sha256", audio->sha256}, {"role", "audio"}});
  json manifest = {
      {"format", provenance::kVideoFormat},
      {"software", "atelier 0.1.0"},
      {"digital_source_type",
       "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"},
      {"run", ctx.lease().run_id},
      {"job", ctx.job_id()},
      {"stage", ctx.lease().stage},
      {"params", ctx.params()},
      {"video",
       {{"sha256", video_sha},
        {"width", aspect.width},
        {"height", aspect.height},
        {"aspect", aspect.label},
        {"duration_ms", duration_ms}}},
      {"inputs", inputs},
      {"created_at", ctx.now_ms()},
      {"signature", nullptr}};
  if (auto key = ctx.store().signing_key()) manifest = provenance::sign_manifest(manifest, *key);
  auto& out = ctx.write_output("video-" + label + ".manifest.json", manifest.dump(2) + "\n",
                               "application/json", "json");
  out.forward = false;
  out.sources = {{video_sha, "video"}};
}

class VideoKind final : public JobKind {
 public:
  // The image count is known only when the job runs: as many as the captions
  // (at least one) stand in for it, so only the params themselves are judged.
  void check_params(const json& params) const override {
    const auto captions = params.find("captions");
    parsed(params, std::max<size_t>(
                       1, captions != params.end() && captions->is_array() ? captions->size() : 0));
  }
  static media::VideoParams parsed(const json& params, size_t images) {
    video_kind().parse(params);  // the declared types and bounds, as validation checks them
    try {
      return media::parse_video_params(params, images);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("video: ") + e.what());
    }
  }

  void run(JobContext& ctx) override {
    std::vector<const JobInput*> image_inputs;
    const JobInput* audio_input = nullptr;
    for (const JobInput& in : ctx.inputs()) {
      if (in.role == "audio") {
        if (audio_input) throw InputError("video: audio: give one audio file, not several");
        audio_input = &in;
      } else if (in.media_type.rfind("image/", 0) == 0) {
        image_inputs.push_back(&in);
      }
    }
    const media::VideoParams vp = parsed(ctx.params(), image_inputs.size());

    std::vector<media::Image> images;
    for (const JobInput* in : image_inputs) {
      try {
        images.push_back(media::read_image(in->path));
      } catch (const std::exception& e) {
        throw InputError("video: image " + input_name(ctx, *in) + ": " + e.what());
      }
    }
    const media::Timeline timeline = media::make_timeline(images.size(), vp);
    std::optional<media::AudioSamples> audio;
    if (audio_input) {
      try {
        audio = media::decode_audio(audio_input->path, timeline.total * media::kAudioRate / vp.fps);
      } catch (const std::invalid_argument& e) {
        throw InputError("video: audio " + input_name(ctx, *audio_input) + ": " + e.what());
      }
    }
    const bool text =
        !vp.overlays.empty() || std::any_of(vp.captions.begin(), vp.captions.end(),
                                            [](const std::string& c) { return !c.empty(); });
    if (text) ctx.log().info("text font: {}", media::text_font_file());

    std::vector<InputRef> sources;
    for (const JobInput* in : image_inputs) sources.push_back({in->sha256, "image"});
    if (audio_input) sources.push_back({audio_input->sha256, "audio"});

    const int64_t all_frames = timeline.total * static_cast<int64_t>(vp.aspects.size());
    int64_t done = 0;
    // The workspace's own temp folder: per workspace, and swept by the cleaner.
    const fs::path tmp_dir = ctx.assets().tmp_dir();
    fs::create_directories(tmp_dir);
    for (const media::Aspect& aspect : vp.aspects) {
      ctx.check_cancelled();
      const std::string label = file_label(aspect);
      media::AssembleRequest rq;
      rq.images = &images;
      rq.params = vp;
      rq.aspect = aspect;
      rq.audio = audio ? &*audio : nullptr;
      rq.font_family = media::kTextFontFamily;
      rq.output = tmp_dir / ("atelier-video-j" + std::to_string(ctx.job_id()) + "-a" +
                             std::to_string(ctx.attempt()) + "-" + label + ".mp4");
      rq.progress = [&](int64_t frame, int64_t total) {
        if (frame % 10 == 0 || frame == total)
          ctx.progress(
              static_cast<double>(done + frame) / static_cast<double>(all_frames),
              aspect.label + ": frame " + std::to_string(frame) + "/" + std::to_string(total));
      };
      rq.check_cancelled = [&] { ctx.check_cancelled(); };
      ctx.log().info("{} ({}): {} images, {} frames at {} fps", aspect.label, label, images.size(),
                     timeline.total, vp.fps);
      const media::AssembleResult res = media::assemble_video(rq);
      ctx.log().info("{}: filter graph {}", aspect.label, res.filtergraph);
      auto& video = ctx.write_output_file("video-" + label + ".mp4", rq.output, "video/mp4", "mp4");
      std::error_code ec;
      fs::remove(rq.output, ec);
      video.width = aspect.width;
      video.height = aspect.height;
      video.duration_ms = static_cast<int64_t>(res.seconds * 1000 + 0.5);
      video.sources = sources;
      const std::string video_sha = video.sha256;  // `video` moves with the next output
      const int64_t duration_ms = video.duration_ms.value_or(0);
      const auto png = media::encode_png(res.poster);
      auto& poster =
          ctx.write_output("poster-" + label + ".png",
                           std::string_view(reinterpret_cast<const char*>(png.data()), png.size()),
                           "image/png", "png");
      poster.width = aspect.width;
      poster.height = aspect.height;
      poster.sources = sources;
      write_video_manifest(ctx, label, video_sha, duration_ms, aspect, image_inputs, audio_input);
      done += timeline.total;
    }
    ctx.progress(1.0, "done");
  }
};

}  // namespace

std::unique_ptr<JobKind> make_video_kind() {
  return std::make_unique<VideoKind>();
}

}  // namespace atelier
