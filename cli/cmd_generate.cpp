// `atelier generate`: text-to-image outside the queue, for trying prompts and for
// benchmarks. Writes PNGs with the same `parameters` chunk and manifest a
// `generate` job writes (run and job 0); prints one path per image. The manifest
// is signed with the workspace key when there is a workspace (-w,
// $ATELIER_WORKSPACE or the current folder holding atelier.yaml; -w naming a
// folder that is not one is an error), else left unsigned.
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "media/image_decode.h"
#include "ml/generator.h"
#include "ml/lora.h"
#include "orchestrator/model_files.h"
#include "orchestrator/workspace.h"
#include "provenance/generation_manifest.h"
#include "provenance/workspace_key.h"
#include "workers/generation/generate_request.h"
#include "workers/generation/lora_syntax.h"
#include "workers/generation/model_cache.h"
#include "workers/generation/sd_generation.h"

namespace atelier::cli {

namespace fs = std::filesystem;

namespace {

void write_png(const fs::path& path, const std::vector<std::uint8_t>& png) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A Stable Diffusion checkpoint (workers/generation/sd_generation.h).
int generate_sd(const GenerateArgs& a, const fs::path& file, const ParsedPrompt& parsed,
                const std::optional<provenance::KeyPair>& key) {
  const GenerateParams& p = a.params;
  const int threads =
      a.threads > 0 ? a.threads : static_cast<int>(std::thread::hardware_concurrency());
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<media::Image> init;
  if (!p.init_image.is_null()) {
    const json& v = p.init_image;
    if (!(v.is_string() || (v.is_array() && v.size() == 1 && v[0].is_string())))
      throw InputError("--init-image: expected one image file");
    const std::string path = v.is_string() ? v.get<std::string>() : v[0].get<std::string>();
    try {
      init = media::read_image(path);
    } catch (const std::exception& e) {
      throw InputError(std::string("--init-image: ") + e.what());
    }
  }
  // a.given: the flags the user gave, so SD defaults apply to the rest.
  std::vector<SdLoraFile> loras;
  for (const auto& l : parsed.loras)
    loras.push_back({find_model_file(l.name, "LoRA"), l.scale, l.name});
  GenerateParams prompt_without_tags = p;
  prompt_without_tags.prompt = parsed.prompt;
  SdGeneration gen =
      generate_with_sd(prompt_without_tags, a.given, file, init ? &*init : nullptr, loras, threads,
                       [](const fs::path& f, std::string_view) { return f; });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& w : gen.warnings) std::cerr << "warning: " << w << "\n";
  fs::create_directories(a.out);
  provenance::GenerationFacts f = gen.facts;
  f.params = a.given;  // what `verify --regenerate` needs (tokenizer, prediction, clip skip)
  const auto now = now_ms();
  for (size_t i = 0; i < gen.images.size(); ++i) {
    f.seed = gen.seed + static_cast<int64_t>(i);
    f.width = gen.images[i].width;
    f.height = gen.images[i].height;
    auto path = fs::path(a.out) / (a.prefix + std::to_string(f.seed) + ".png");
    write_png(path, provenance::encode_generated_png(f, gen.images[i], now, key ? &*key : nullptr));
    std::cout << path.string() << "\n";
  }
  std::cerr << gen.images.size() << " image(s) in " << secs << " s with " << f.model_name << " ("
            << gen.arch << ", " << threads << " threads)\n";
  return 0;
}

}  // namespace

int cmd_generate(const Globals& g, const GenerateArgs& a) {
  const GenerateParams& p = a.params;
  ml::GenerateRequest r = generate_request(p);
  // Before the (slow) generation, so a bad -w fails fast.
  std::optional<provenance::KeyPair> key;
  {
    const fs::path dir = Workspace::resolve_dir(g.workspace);
    const char* env = std::getenv("ATELIER_WORKSPACE");
    const bool named = (g.workspace && !g.workspace->empty()) || (env && *env);
    if (named || fs::exists(dir / "atelier.yaml")) {
      Workspace ws = Workspace::open(dir);
      key = provenance::workspace_signing_key(ws.dir(), *ws.open_store());
    }
  }
  if (!p.model.is_string()) throw InputError("--model: expected a model name or file");
  const fs::path file = find_model_file(p.model.get<std::string>(), "model");
  const bool sd = !is_atelier_model_file(file);
  if (!sd && !p.init_image.is_null())
    throw InputError("--init-image: img2img needs a Stable Diffusion checkpoint; " +
                     file.filename().string() + " is one of Atelier's own models");
  if (!sd) require_square_size(p.size);
  ParsedPrompt parsed;
  try {
    parsed = parse_prompt_loras(r.prompt);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
  r.prompt = parsed.prompt;
  const json lora_flags = p.loras.is_null() ? json::array() : p.loras;
  for (const json& item : lora_flags) {  // NAME or NAME:SCALE
    const std::string spec = item.is_string() ? item.get<std::string>() : item.dump();
    PromptLora l{spec, 1.0};
    if (auto colon = spec.rfind(':'); colon != std::string::npos) {
      try {
        size_t used = 0;
        l.scale = std::stod(spec.substr(colon + 1), &used);
        if (used != spec.size() - colon - 1) throw std::invalid_argument(spec);
        l.name = spec.substr(0, colon);
      } catch (const std::exception&) {
        throw InputError("--loras " + spec + ": expected NAME or NAME:SCALE");
      }
    }
    parsed.loras.push_back(l);
  }
  if (sd) return generate_sd(a, file, parsed, key);
  std::vector<std::shared_ptr<CachedLora>> loras;
  std::vector<ml::LoraUse> uses;
  for (const auto& l : parsed.loras) {
    const auto lf = find_model_file(l.name, "LoRA");
    try {
      loras.push_back(load_cached_lora(lf));
    } catch (const std::exception& e) {
      throw InputError(e.what());
    }
    uses.push_back({&loras.back()->lora, l.scale, lf.string()});
  }
  std::shared_ptr<CachedModel> m;
  try {
    m = load_cached_model(file);
  } catch (const std::exception& e) {
    throw InputError(e.what());
  }
  try {
    ml::validate_request(r, m->model->config);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("--") + e.what());
  }
  const int threads =
      a.threads > 0 ? a.threads : static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(threads);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<media::Image> images;
  {
    std::optional<ml::AppliedLoras> applied;
    try {
      applied.emplace(m->model, uses);
    } catch (const std::invalid_argument& e) {
      throw InputError(e.what());
    }
    images = ml::generate(m->model, r);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::create_directories(a.out);
  provenance::GenerationFacts f;
  f.prompt = r.prompt;
  f.negative_prompt = r.negative_prompt;
  f.steps = r.steps;
  f.sampler = ml::sampler_choice_name({r.sampler, r.grid});
  f.libtorch = ml::torch_version();
  f.cfg = r.cfg;
  f.model_name = m->name;
  f.model_sha256 = m->sha256;
  for (size_t i = 0; i < loras.size(); ++i)
    f.loras.push_back({loras[i]->name, loras[i]->sha256, uses[i].multiplier});
  f.threads = threads;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (size_t i = 0; i < images.size(); ++i) {
    f.seed = r.seed + static_cast<int64_t>(i);
    f.width = images[i].width;
    f.height = images[i].height;
    const int first = static_cast<int>(i) / r.batch * r.batch;
    f.batch = std::min(r.batch, r.count - first);
    f.batch_index = static_cast<int>(i) - first;
    auto png = provenance::encode_generated_png(f, images[i], now, key ? &*key : nullptr);
    auto path = fs::path(a.out) / (a.prefix + std::to_string(f.seed) + ".png");
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
    std::cout << path.string() << "\n";
  }
  std::cerr << images.size() << " image(s) in " << secs << " s (" << images.size() / secs
            << " images/s, " << threads << " threads)\n";
  return 0;
}

}  // namespace atelier::cli
