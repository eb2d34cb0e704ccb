// The kinds linked into atelier-ml only: the ML kinds (libtorch) and video
// (FFmpeg, OpenCV) and check (OpenCV's codecs), whose libraries every light `atelier` call would otherwise load.
#include "job_kind.h"

namespace atelier {

std::unique_ptr<JobKind> make_generate_kind();
std::unique_ptr<JobKind> make_train_base_kind();
std::unique_ptr<JobKind> make_train_lora_kind();
std::unique_ptr<JobKind> make_caption_kind();
std::unique_ptr<JobKind> make_video_kind();
std::unique_ptr<JobKind> make_check_kind();

std::unique_ptr<JobKind> make_ml_kind(const std::string& name) {
  if (name == "generate") return make_generate_kind();
  if (name == "train_base") return make_train_base_kind();
  if (name == "train_lora") return make_train_lora_kind();
  if (name == "caption") return make_caption_kind();
  if (name == "video") return make_video_kind();
  if (name == "check") return make_check_kind();
  return nullptr;
}

}  // namespace atelier
