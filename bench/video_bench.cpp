// Video benchmark: Atelier's in-process assembly (media/video) against the ffmpeg
// CLI running the equivalent filtergraph, in one invocation, same machine state.
//
//   atelier_video_bench IMAGE... [--aspects 1080x1920] [--fps 30] [--seconds 3]
//       [--transition 0.5] [--zoom 0.1] [--title TEXT] [--preset veryfast] [--crf 23]
//       [--rounds 3] [--out DIR] [--ffmpeg ffmpeg]
//
// For each aspect and round: Atelier's assemble_video (decode + fit included, MP4
// written) and one `ffmpeg` run whose inputs are the same PNGs looped for their
// time (`-loop 1 -framerate F -t S`), fitted with scale+crop to the same canvas,
// moved by zoompan (d=1, the same zoom per frame), then Atelier's own transition
// and text graph (to_filtergraph_string), encoded with the same libx264 preset and
// CRF into an MP4 with faststart. Prints frames per second of each side per round,
// medians, and the whole multi-aspect job against the sum of the CLI runs.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "media/image_decode.h"
#include "media/video/filter_plan.h"
#include "media/video/text_font.h"
#include "media/video/video_assembler.h"
#include "media/video/video_plan.h"

using namespace atelier::media;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int run_cmd(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.9f", v);
  return b;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> images;
  std::string aspects = "1080x1920", title = "Fresh picks, every morning", preset = "veryfast",
              ffmpeg = "ffmpeg", out_dir = "/tmp/atelier-video-bench";
  int fps = 30, rounds = 3, crf = 23;
  double seconds = 3, transition = 0.5, zoom = 0.1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--aspects")
      aspects = next();
    else if (a == "--fps")
      fps = std::stoi(next());
    else if (a == "--seconds")
      seconds = std::stod(next());
    else if (a == "--transition")
      transition = std::stod(next());
    else if (a == "--zoom")
      zoom = std::stod(next());
    else if (a == "--title")
      title = next();
    else if (a == "--preset")
      preset = next();
    else if (a == "--crf")
      crf = std::stoi(next());
    else if (a == "--rounds")
      rounds = std::stoi(next());
    else if (a == "--out")
      out_dir = next();
    else if (a == "--ffmpeg")
      ffmpeg = next();
    else
      images.push_back(a);
  }
  if (images.empty()) {
    std::cerr << "usage: atelier_video_bench IMAGE... [options]\n";
    return 2;
  }
  fs::create_directories(out_dir);
  json with = {{"aspects", json::array()},
               {"fps", fps},
               {"seconds_per_image", seconds},
               {"transition", {{"type", "fade"}, {"seconds", transition}}},
               {"ken_burns", {{"motion", "zoom_in"}, {"amount", zoom}}},
               {"fit", "cover"},
               {"title", title},
               {"preset", preset},
               {"crf", crf}};
  for (size_t s = 0, e; s <= aspects.size(); s = e + 1) {
    e = aspects.find(',', s);
    if (e == std::string::npos) e = aspects.size();
    with["aspects"].push_back(aspects.substr(s, e - s));
  }
  const VideoParams p = parse_video_params(with, images.size());
  const Timeline tl = make_timeline(images.size(), p);
  std::cerr << "font: " << text_font_file() << "\n";
  std::cerr << images.size() << " images x " << seconds << " s at " << fps << " fps: " << tl.total
            << " frames per aspect; preset " << preset << ", crf " << crf << "\n";

  std::vector<double> job_times, cli_sums;
  std::map<std::string, std::vector<double>> ours, theirs;
  for (int r = 1; r <= rounds; ++r) {
    double job = 0, cli_sum = 0;
    for (const Aspect& a : p.aspects) {
      const std::string label = std::to_string(a.width) + "x" + std::to_string(a.height);
      // Atelier: decoding included, as the job does it.
      auto t0 = Clock::now();
      std::vector<Image> decoded;
      for (const auto& f : images) decoded.push_back(read_image(f));
      AssembleRequest rq;
      rq.images = &decoded;
      rq.params = p;
      rq.aspect = a;
      rq.output = fs::path(out_dir) / ("atelier-" + label + ".mp4");
      const AssembleResult res = assemble_video(rq);
      const double t_ours = since(t0);
      job += t_ours;

      // The CLI with the equivalent graph.
      const auto [cw, ch] = canvas_size(p.ken_burns, a.width, a.height);
      const auto lines = layout_text(p, tl, a.width, a.height);
      const std::string tail =
          to_filtergraph_string(make_filter_plan(p, tl, lines, kTextFontFamily));
      std::string graph;
      const double zmax = static_cast<double>(cw) / a.width;
      for (size_t i = 0; i < images.size(); ++i) {
        graph +=
            "[" + std::to_string(i) + ":v]scale=" + std::to_string(cw) + ":" + std::to_string(ch) +
            ":force_original_aspect_ratio=increase:flags=bicubic,crop=" + std::to_string(cw) + ":" +
            std::to_string(ch) + ",zoompan=z=1+" + fmt(zmax - 1) + "*on/" +
            std::to_string(tl.per_image - 1) + ":x=iw/2-iw/zoom/2:y=ih/2-ih/zoom/2:d=1:s=" + label +
            ":fps=" + std::to_string(fps) + ",format=yuv420p,setsar=1[s" + std::to_string(i) + "];";
      }
      graph += tail;
      std::vector<std::string> cmd = {ffmpeg, "-v", "error", "-y"};
      for (const auto& f : images) {
        cmd.insert(cmd.end(), {"-loop", "1", "-framerate", std::to_string(fps), "-t",
                               fmt(static_cast<double>(tl.per_image) / fps), "-i", f});
      }
      const std::string cli_out = (fs::path(out_dir) / ("cli-" + label + ".mp4")).string();
      cmd.insert(cmd.end(), {"-filter_complex", graph, "-map", "[out]", "-c:v", "libx264",
                             "-preset", preset, "-crf", std::to_string(crf), "-pix_fmt", "yuv420p",
                             "-r", std::to_string(fps), "-movflags", "+faststart", cli_out});
      auto t1 = Clock::now();
      const int rc = run_cmd(cmd);
      const double t_cli = since(t1);
      if (rc != 0) {
        std::cerr << "ffmpeg failed (" << rc << "); graph:\n" << graph << "\n";
        return 1;
      }
      cli_sum += t_cli;
      ours[label].push_back(res.frames / t_ours);
      theirs[label].push_back(res.frames / t_cli);
      std::fprintf(
          stderr,
          "round %d %-10s atelier %6.2f s (%6.1f frames/s)  ffmpeg CLI %6.2f s (%6.1f frames/s)\n",
          r, label.c_str(), t_ours, res.frames / t_ours, t_cli, res.frames / t_cli);
    }
    job_times.push_back(job);
    cli_sums.push_back(cli_sum);
  }

  std::printf(
      "\n| aspect | Atelier (frames/s) | ffmpeg CLI (frames/s) | Atelier / CLI "
      "|\n|---|---:|---:|---:|\n");
  for (const Aspect& a : p.aspects) {
    const std::string label = std::to_string(a.width) + "x" + std::to_string(a.height);
    const double o = median(ours[label]), t = median(theirs[label]);
    std::printf("| %s | %.1f | %.1f | %.2fx |\n", label.c_str(), o, t, o / t);
  }
  if (p.aspects.size() > 1) {
    const double j = median(job_times), c = median(cli_sums);
    std::printf(
        "\n| %zu aspects | Atelier, one job (s) | ffmpeg CLI, %zu runs (s) | CLI / Atelier |\n"
        "|---|---:|---:|---:|\n| all | %.2f | %.2f | %.2fx |\n",
        p.aspects.size(), p.aspects.size(), j, c, c / j);
  }
  return 0;
}
