// Pixels <-> tensors. Training images are composited over white (emoji PNGs are
// transparent) and box-filtered to the model's size; model output in [-1, 1] is
// rounded to 8-bit, optionally upscaled by an integer factor first.
#pragma once
#include <torch/torch.h>

#include <filesystem>

#include "media/png_io.h"

namespace atelier::ml {

// (3, size, size) float in [-1, 1]. The source side must be a multiple of size.
torch::Tensor image_to_tensor(const media::Image& img, int size);
torch::Tensor load_image_tensor(const std::filesystem::path& png, int size);
// Any image (any size, 1/3/4 channels): composited over white, padded with white
// to a square around its centre (nothing is cropped), then resized to `size`
// (area averaging down, bicubic up). For user-supplied training images.
torch::Tensor fit_image_tensor(const media::Image& img, int size);
// (3, H, W) in [-1, 1] -> 8-bit RGB, upscaled (bicubic) by `scale` >= 1 first.
media::Image tensor_to_image(const torch::Tensor& chw, int scale = 1);

}  // namespace atelier::ml
