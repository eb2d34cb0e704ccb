// SD generation for jobs and the CLI (see sd_generation.h).
#include "workers/generation/sd_generation.h"

#include <torch/torch.h>

#include <map>
#include <mutex>
#include <optional>

#include "common/errors.h"
#include "ml/generator.h"
#include "ml/safetensors.h"
#include "ml/sd/checkpoint_file.h"
#include "ml/sd/clip_tokenizer.h"
#include "ml/sd/prompt_weights.h"
#include "ml/sd/sd_generate.h"
#include "ml/sd/sd_lora.h"
#include "ml/sd/sd_model.h"
#include "orchestrator/asset_store.h"
#include "workers/generation/file_cache.h"
#include "workers/generation/generate_request.h"

namespace atelier {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct LoadedSd {
  fs::path file;
  uintmax_t size = 0;
  fs::file_time_type mtime;
  std::string prediction_option;
  std::shared_ptr<ml::sd::SdModel> model;
  std::string sha256, name;
};

std::shared_ptr<LoadedSd> cached_checkpoint(const fs::path& file, const std::string& prediction) {
  static std::mutex mu;
  static std::shared_ptr<LoadedSd> current;
  const fs::path key = fs::absolute(file);
  std::error_code ec;
  const auto size = fs::file_size(key, ec);
  const auto mtime = fs::last_write_time(key, ec);
  std::lock_guard lock(mu);
  if (current && current->file == key && current->size == size && current->mtime == mtime &&
      current->prediction_option == prediction)
    return current;
  current.reset();  // free the previous checkpoint before loading the next
  auto l = std::make_shared<LoadedSd>();
  ml::sd::SdLoadOptions options;
  if (!prediction.empty()) options.prediction = ml::sd::parse_prediction(prediction);
  l->model = ml::sd::load_sd_model(key, options);
  l->file = key;
  l->size = size;
  l->mtime = mtime;
  l->prediction_option = prediction;
  l->sha256 = sha256_file(key);
  l->name = key.stem().string();
  current = l;
  return l;
}

struct LoadedLora {
  ml::sd::SdLora lora;
  std::string sha256, name;
};

// LoRAs are small: every one used stays loaded (file_cache.h).
std::shared_ptr<LoadedLora> cached_lora(const fs::path& file) {
  static FileCache<LoadedLora> cache;
  return cache.get(file, [](const fs::path& key) {
    auto l = std::make_shared<LoadedLora>();
    l->lora = ml::sd::load_sd_lora(key);
    l->sha256 = sha256_file(key);
    auto n = l->lora.metadata.find("ss_output_name");
    l->name = n != l->lora.metadata.end() && !n->second.empty() ? n->second : key.stem().string();
    return l;
  });
}

std::shared_ptr<ml::sd::ClipTokenizer> cached_tokenizer(const fs::path& dir) {
  static std::mutex mu;
  static std::map<fs::path, std::shared_ptr<ml::sd::ClipTokenizer>> cache;
  const fs::path key = fs::absolute(dir);
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::shared_ptr<ml::sd::ClipTokenizer> t = ml::sd::load_clip_tokenizer(key);
  cache[key] = t;
  return t;
}

bool holds_tokenizer(const fs::path& dir) {
  std::error_code ec;
  return (fs::exists(dir / "vocab.json", ec) && fs::exists(dir / "merges.txt", ec)) ||
         fs::exists(dir / "bpe_simple_vocab_16e6.txt.gz", ec);
}

// The tokenizer folder: the parameter, else tokenizer/ beside the checkpoint,
// else the checkpoint's own folder when it holds the files.
fs::path tokenizer_dir(const GenerateParams& p, const fs::path& checkpoint) {
  if (!p.tokenizer.empty()) return p.tokenizer;
  const fs::path beside = checkpoint.parent_path() / "tokenizer";
  if (holds_tokenizer(beside)) return beside;
  if (holds_tokenizer(checkpoint.parent_path())) return checkpoint.parent_path();
  throw InputError("generate: param 'tokenizer': " + checkpoint.string() +
                   " is a Stable Diffusion checkpoint, which needs CLIP's tokenizer files: give "
                   "tokenizer: DIR (a folder with vocab.json and merges.txt, or "
                   "bpe_simple_vocab_16e6.txt.gz), or put them in " +
                   beside.string());
}

media::Image to_image(const torch::Tensor& hwc) {
  media::Image img;
  img.height = static_cast<int>(hwc.size(0));
  img.width = static_cast<int>(hwc.size(1));
  img.channels = 3;
  const auto* d = hwc.contiguous().data_ptr<uint8_t>();
  img.pixels.assign(d, d + hwc.numel());
  return img;
}

}  // namespace

bool is_atelier_model_file(const fs::path& file) {
  try {
    const auto head = ml::SafetensorsFile::read_header(file);
    return head.metadata().count("atelier.format") > 0;
  } catch (const std::exception&) {
    return false;
  }
}

SdGeneration generate_with_sd(
    const GenerateParams& p, const json& params, const fs::path& checkpoint,
    const media::Image* init, const std::vector<SdLoraFile>& lora_files, int threads,
    const std::function<fs::path(const fs::path&, std::string_view)>& read_check,
    const std::function<void(double)>& progress, const std::function<void()>& check_cancelled) {
  try {
    ml::sd::check_checkpoint_file(checkpoint);  // a bad file is named before the tokenizer
  } catch (const ml::sd::WeightError& e) {
    throw InputError(std::string("generate: model: ") + e.what());
  }
  const fs::path tok_dir = read_check(tokenizer_dir(p, checkpoint), "generate: param 'tokenizer'");
  std::shared_ptr<LoadedSd> loaded;
  try {
    loaded = cached_checkpoint(checkpoint, p.prediction);
  } catch (const std::exception& e) {
    throw InputError(std::string("generate: model: ") + e.what());
  }
  std::shared_ptr<ml::sd::ClipTokenizer> tok;
  try {
    tok = cached_tokenizer(tok_dir);
  } catch (const std::exception& e) {
    throw InputError(std::string("generate: param 'tokenizer': ") + e.what());
  }
  ml::sd::SdModel& m = *loaded->model;
  std::vector<std::shared_ptr<LoadedLora>> loras;
  std::vector<ml::sd::SdLoraUse> uses;
  for (const SdLoraFile& lf : lora_files) {
    try {
      loras.push_back(cached_lora(read_check(lf.file, "generate: LoRA " + lf.label)));
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& e) {
      throw InputError("generate: LoRA " + lf.label + ": " + e.what());
    }
    uses.push_back({&loras.back()->lora, lf.multiplier});
  }
  for (const auto* te : {m.te_l ? &*m.te_l : nullptr, m.te_g ? &*m.te_g : nullptr})
    if (te && tok->vocab_size() > te->config().vocab)
      throw InputError("generate: param 'tokenizer': " + tok_dir.string() + " has " +
                       std::to_string(tok->vocab_size()) + " tokens, more than the " +
                       std::to_string(te->config().vocab) + " of the checkpoint's text encoder");

  auto given = [&](const char* k) { return params.is_object() && params.contains(k); };
  ml::sd::SdRequest r;
  r.prompt = p.prompt;
  r.negative_prompt = p.negative;
  r.seed = p.seed;
  r.count = p.count;
  r.clip_skip = p.clip_skip;
  r.steps = 20;
  r.cfg = 7.0;
  r.sampler = {ml::SamplerKind::euler_a, ml::SigmaGrid::automatic};
  if (p.preset == "turbo") {
    r.steps = 1;
    r.cfg = 1.0;
  } else if (p.preset == "lcm") {
    r.steps = 4;
    r.cfg = 1.0;
    r.sampler = {ml::SamplerKind::lcm, ml::SigmaGrid::automatic};
  }
  if (given("steps")) r.steps = p.steps;
  if (given("cfg")) r.cfg = p.cfg;
  if (given("sampler")) {
    try {
      r.sampler = ml::parse_sampler_choice(p.sampler);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("generate: param 'sampler': ") + e.what());
    }
  }
  auto [w, h] = parse_image_size(p.size);
  if (w == 0 && init) {
    w = std::max(8, init->width / 8 * 8);
    h = std::max(8, init->height / 8 * 8);
  }
  if (w == 0) {
    w = h = m.family == ml::sd::SdFamily::sdxl                                           ? 1024
            : m.family == ml::sd::SdFamily::sd2 && m.prediction == ml::sd::Prediction::v ? 768
                                                                                         : 512;
  }
  r.width = w;
  r.height = h;
  if (init) {
    if (init->channels != 3 && init->channels != 4)
      throw InputError("generate: param 'init_image': expected an RGB image, got " +
                       std::to_string(init->channels) + " channels");
    auto hwc = torch::from_blob(const_cast<uint8_t*>(init->pixels.data()),
                                {init->height, init->width, init->channels}, torch::kUInt8);
    r.init_image = ml::sd::init_image_tensor(hwc.slice(2, 0, 3), w, h);
    r.strength = p.strength;
  }
  try {
    ml::sd::validate_sd_request(r, m);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("generate: param ") + e.what());
  }

  SdGeneration out;
  out.arch = ml::sd::family_name(m.family);
  out.prediction = ml::sd::prediction_name(m.prediction);
  out.warnings = m.warnings;
  out.seed = r.seed;
  at::set_num_threads(threads);
  std::vector<torch::Tensor> images;
  {
    // Merged weights live only for this block (sd_lora.h restores them).
    std::optional<ml::sd::AppliedSdLoras> applied;
    try {
      applied.emplace(m, uses);
    } catch (const ml::sd::WeightError& e) {
      throw InputError(std::string("generate: LoRA: ") + e.what());
    }
    try {
      images = ml::sd::generate_sd(m, *tok, r, progress, check_cancelled);
    } catch (const ml::sd::PromptSyntaxError& e) {
      throw InputError(std::string("generate: param 'prompt': ") + e.what());
    }
  }
  for (const auto& t : images) out.images.push_back(to_image(t));

  provenance::GenerationFacts& f = out.facts;
  f.prompt = r.prompt;
  f.negative_prompt = r.negative_prompt;
  f.steps = r.steps;
  f.sampler = ml::sampler_choice_name(r.sampler);
  f.cfg = r.cfg;
  f.libtorch = ml::torch_version();
  f.model_name = loaded->name;
  f.model_sha256 = loaded->sha256;
  f.threads = threads;
  for (size_t i = 0; i < loras.size(); ++i)
    f.loras.push_back(
        {loras[i]->name, loras[i]->sha256, uses[i].multiplier, loras[i]->lora.addnet_hash});
  if (r.clip_skip > 1) f.settings.push_back({"Clip skip", std::to_string(r.clip_skip)});
  if (init) f.settings.push_back({"Denoising strength", provenance::format_cfg(r.strength)});
  return out;
}

}  // namespace atelier
