// Stable Diffusion forward passes on CPU at full size, timed: one guided UNet
// step (batch 2), a 77-token text encoding and a VAE decode, on a
// random-weight checkpoint in the real layout. The Python reference
// (bench/sd/sd_bench_ref.py) times the same passes on the same inputs;
// run_sd_bench.sh runs both and compares their outputs.
//
//   atelier_sd_bench --write-checkpoint sd15|sdxl PATH   (fp16, random weights)
//   atelier_sd_bench --checkpoint PATH --inputs IN --out OUT --threads N
//                    [--repeats 3] [--parts unet,text,vae]
//
// Prints one JSON line per part: {"impl":"cpp","part":..,"threads":..,
// "median_s":..,"runs":[..]}, then the load time and peak RSS (getrusage).
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ml/safetensors.h"
#include "ml/sd/sd_model.h"
#include "ml/sd/text_conditioning.h"
#include "ml/tensor_io.h"
#include "sd/tiny_checkpoint.h"

using namespace atelier::ml;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

template <class F>
std::vector<double> time_runs(int repeats, F&& f) {
  std::vector<double> out;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = Clock::now();
    f();
    out.push_back(seconds_since(t0));
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void report(const std::string& part, int threads, const std::vector<double>& runs) {
  std::ostringstream s;
  s << "{\"impl\":\"cpp\",\"part\":\"" << part << "\",\"threads\":" << threads
    << ",\"median_s\":" << median(runs) << ",\"runs\":[";
  for (size_t i = 0; i < runs.size(); ++i) s << (i ? "," : "") << runs[i];
  s << "]}";
  std::cout << s.str() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  std::string checkpoint, inputs, out, parts = "unet,text,vae", write_family, write_path;
  int threads = 1, repeats = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--checkpoint")
      checkpoint = next();
    else if (a == "--inputs")
      inputs = next();
    else if (a == "--out")
      out = next();
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--repeats")
      repeats = std::stoi(next());
    else if (a == "--parts")
      parts = next();
    else if (a == "--write-checkpoint") {
      write_family = next();
      write_path = next();
    } else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  namespace tsd = atelier::test::sd;
  if (!write_family.empty()) {
    const auto fam = write_family == "sdxl" ? tsd::TinyFamily::sdxl : tsd::TinyFamily::sd1;
    auto t0 = Clock::now();
    tsd::write_sd_checkpoint(write_path, tsd::full_size(fam), 20240601, DType::F16);
    std::cerr << "wrote " << write_path << " in " << seconds_since(t0) << " s\n";
    return 0;
  }
  at::set_num_threads(threads);
  torch::NoGradGuard no_grad;

  auto t0 = Clock::now();
  auto m = sd::load_sd_model(checkpoint);
  const double load_s = seconds_since(t0);

  std::map<std::string, torch::Tensor> in;
  {
    auto f = SafetensorsFile::read(inputs);
    for (const auto& info : f.tensors()) in.emplace(info.name, to_tensor(f, info));
  }
  auto has = [&](const std::string& p) { return parts.find(p) != std::string::npos; };
  NamedTensors results;

  if (has("unet")) {
    const auto x = in.at("unet.x").to(torch::kFloat32), t = in.at("unet.t").to(torch::kFloat32);
    const auto ctx = in.at("unet.context").to(torch::kFloat32);
    const torch::Tensor y =
        in.count("unet.y") ? in.at("unet.y").to(torch::kFloat32) : torch::Tensor();
    torch::Tensor o;
    report("unet", threads, time_runs(repeats, [&] { o = m->unet->forward(x, t, ctx, y); }));
    results.emplace_back("unet.out", o);
  }
  if (has("text")) {
    const auto tokens = in.at("text.tokens");
    torch::Tensor ctx, pooled;
    report("text", threads, time_runs(repeats, [&] {
             if (m->family == sd::SdFamily::sdxl) {
               auto r = sd::sdxl_text(*m->te_l, *m->te_g, tokens, tokens);
               ctx = r.crossattn;
               pooled = r.pooled;
             } else {
               ctx = sd::clip_context(m->te_l ? *m->te_l : *m->te_g, tokens,
                                      m->family == sd::SdFamily::sd1 ? 1 : 2);
             }
           }));
    results.emplace_back("text.context", ctx);
    if (pooled.defined()) results.emplace_back("text.pooled", pooled);
  }
  if (has("vae")) {
    const auto z = in.at("vae.z").to(torch::kFloat32);
    torch::Tensor img;
    report("vae", threads, time_runs(repeats, [&] { img = m->vae->decode(z); }));
    results.emplace_back("vae.decoded", img);
  }
  if (!out.empty()) save_tensors(out, results, {});
  std::cout << "{\"impl\":\"cpp\",\"threads\":" << threads << ",\"load_s\":" << load_s
            << ",\"peak_rss_mb\":" << peak_rss_mb() << "}" << std::endl;
  return 0;
}
