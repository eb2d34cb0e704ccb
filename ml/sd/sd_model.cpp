// Assembling an SD checkpoint from its components (see sd_model.h).
#include "ml/sd/sd_model.h"

#include "ml/sd/checkpoint_file.h"

namespace atelier::ml::sd {

namespace {

constexpr const char* kSd1Text = "cond_stage_model.transformer.text_model.";
constexpr const char* kSd2Text = "cond_stage_model.model.";
constexpr const char* kXlTextL = "conditioner.embedders.0.transformer.text_model.";
constexpr const char* kXlTextG = "conditioner.embedders.1.model.";
constexpr const char* kUnet = "model.diffusion_model.";
constexpr const char* kVae = "first_stage_model.";

void fail_on_leftovers(const Weights& w) {
  const auto left = w.unused();
  if (left.empty()) return;
  std::string names;
  for (size_t i = 0; i < left.size() && i < 5; ++i) names += (i ? ", " : "") + left[i];
  if (left.size() > 5) names += ", ...";
  throw WeightError(w.source() + ": " + std::to_string(left.size()) +
                    " tensor(s) fit no part of the model this loader knows: " + names);
}

}  // namespace

SdModel build_sd_model(Weights& w, const FileHints& hints, const SdLoadOptions& options) {
  SdModel m;
  m.family = detect_family(w);
  skip_schedule_buffers(w);

  if (hints.prediction) {
    m.prediction = *hints.prediction;
    m.prediction_source = "metadata";
  } else if (options.prediction) {
    m.prediction = *options.prediction;
    m.prediction_source = "parameter";
  } else {
    m.prediction = Prediction::epsilon;
    m.prediction_source = "default";
  }

  switch (m.family) {
    case SdFamily::sd1:
      m.te_l.emplace(w, kSd1Text,
                     ClipTextModel::infer(w, kSd1Text, hints.clip_l_heads.value_or(0)));
      break;
    case SdFamily::sd2:
      m.te_g.emplace(w, kSd2Text,
                     ClipTextModel::infer(w, kSd2Text, hints.open_clip_heads.value_or(0)));
      break;
    case SdFamily::sdxl:
      m.te_l.emplace(w, kXlTextL,
                     ClipTextModel::infer(w, kXlTextL, hints.clip_l_heads.value_or(0)));
      m.te_g.emplace(w, kXlTextG,
                     ClipTextModel::infer(w, kXlTextG, hints.open_clip_heads.value_or(0)));
      break;
  }

  UNetConfig uc = UNetModel::infer(w, kUnet);
  if (hints.unet_heads) {
    uc.num_heads = *hints.unet_heads;
    uc.head_channels = 0;
  } else if (hints.unet_head_channels) {
    uc.head_channels = *hints.unet_head_channels;
    uc.num_heads = 0;
  }
  m.unet.emplace(w, kUnet, uc);
  m.vae.emplace(w, kVae, VaeConfig::infer(w, kVae));
  fail_on_leftovers(w);
  m.params = w.taken();

  if (m.family == SdFamily::sd2 && m.prediction_source == "default")
    m.warnings.push_back(
        "an SD 2.x checkpoint does not say whether it predicts epsilon or v: assuming epsilon "
        "(the 512-pixel base); a 768-v model needs `prediction: v`");
  m.scale_factor = hints.scale_factor.value_or(m.family == SdFamily::sdxl ? 0.13025 : 0.18215);
  m.schedule = NoiseSchedule::scaled_linear(hints.beta_start.value_or(0.00085),
                                            hints.beta_end.value_or(0.012), 1000);
  return m;
}

std::unique_ptr<SdModel> load_sd_model(const std::filesystem::path& checkpoint,
                                       const SdLoadOptions& options) {
  CheckpointFile file = read_checkpoint(checkpoint);
  const FileHints hints = read_hints(file.metadata, checkpoint.string());
  auto m = std::make_unique<SdModel>(build_sd_model(file.weights, hints, options));
  m->weights_dtype = file.dtype;
  return m;
}

}  // namespace atelier::ml::sd
