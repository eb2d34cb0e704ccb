// The implementations only atelier-ml runs: the libtorch kinds, video (FFmpeg,
// OpenCV) and check (OpenCV's codecs), whose libraries every light `atelier`
// call would otherwise load.
#include "kinds/caption.h"
#include "kinds/check.h"
#include "kinds/generate.h"
#include "kinds/train_base.h"
#include "kinds/train_lora.h"
#include "kinds/video.h"
#include "workers/kind_registry.h"

namespace atelier {

std::unique_ptr<JobKind> make_generate_kind();
std::unique_ptr<JobKind> make_train_base_kind();
std::unique_ptr<JobKind> make_train_lora_kind();
std::unique_ptr<JobKind> make_caption_kind();
std::unique_ptr<JobKind> make_video_kind();
std::unique_ptr<JobKind> make_check_kind();

void register_ml_kinds(KindRegistry& r) {
  r.add(generate_kind().spec(), make_generate_kind);
  r.add(train_base_kind().spec(), make_train_base_kind);
  r.add(train_lora_kind().spec(), make_train_lora_kind);
  r.add(caption_kind().spec(), make_caption_kind);
  r.add(video_kind().spec(), make_video_kind);
  r.add(check_kind().spec(), make_check_kind);
}

}  // namespace atelier
