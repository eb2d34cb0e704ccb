// Image conversions; see image_tensor.h.
#include "ml/image_tensor.h"

#include <stdexcept>

namespace atelier::ml {

torch::Tensor image_to_tensor(const media::Image& img, int size) {
  if (img.width != img.height || img.width % size != 0)
    throw std::invalid_argument("image is " + std::to_string(img.width) + "x" +
                                std::to_string(img.height) + ", need a square multiple of " +
                                std::to_string(size));
  auto t = torch::from_blob(const_cast<uint8_t*>(img.pixels.data()),
                            {img.height, img.width, img.channels}, torch::kUInt8)
               .to(torch::kFloat32) /
           255.0;
  t = t.permute({2, 0, 1});  // C H W
  torch::Tensor rgb;
  if (img.channels == 4) {
    auto a = t.slice(0, 3, 4);
    rgb = t.slice(0, 0, 3) * a + (1 - a);  // over white
  } else if (img.channels == 3) {
    rgb = t;
  } else {
    rgb = t.slice(0, 0, 1).expand({3, img.height, img.width});
  }
  const int f = img.width / size;
  if (f > 1) rgb = torch::avg_pool2d(rgb.unsqueeze(0), f).squeeze(0);
  return (rgb * 2 - 1).contiguous();
}

torch::Tensor fit_image_tensor(const media::Image& img, int size) {
  if (img.width < 1 || img.height < 1) throw std::invalid_argument("empty image");
  auto t = torch::from_blob(const_cast<uint8_t*>(img.pixels.data()),
                            {img.height, img.width, img.channels}, torch::kUInt8)
               .to(torch::kFloat32)
               .permute({2, 0, 1}) /
           255.0;
  torch::Tensor rgb;
  if (img.channels == 4) {
    auto a = t.slice(0, 3, 4);
    rgb = t.slice(0, 0, 3) * a + (1 - a);
  } else if (img.channels == 3) {
    rgb = t;
  } else if (img.channels == 2) {  // gray + alpha
    auto a = t.slice(0, 1, 2);
    rgb = (t.slice(0, 0, 1) * a + (1 - a)).expand({3, img.height, img.width});
  } else {
    rgb = t.slice(0, 0, 1).expand({3, img.height, img.width});
  }
  const int64_t side = std::max(img.width, img.height);
  if (img.width != img.height) {
    const int64_t px = side - img.width, py = side - img.height;
    rgb = torch::constant_pad_nd(rgb, {px / 2, px - px / 2, py / 2, py - py / 2}, 1.0);
  }
  auto b = rgb.unsqueeze(0);
  if (side > size) {
    b = torch::adaptive_avg_pool2d(b, {size, size});
  } else if (side < size) {
    b = torch::upsample_bicubic2d(b, {size, size}, false).clamp(0, 1);
  }
  return (b.squeeze(0) * 2 - 1).contiguous();
}

torch::Tensor load_image_tensor(const std::filesystem::path& png, int size) {
  return image_to_tensor(media::read_png(png, 4), size);
}

media::Image tensor_to_image(const torch::Tensor& chw, int scale) {
  auto t = chw.detach().to(torch::kFloat32);
  if (scale > 1)
    t = torch::upsample_bicubic2d(t.unsqueeze(0), {t.size(1) * scale, t.size(2) * scale}, false)
            .squeeze(0);
  auto u8 =
      ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  media::Image img;
  img.width = static_cast<int>(u8.size(1));
  img.height = static_cast<int>(u8.size(0));
  img.channels = 3;
  img.pixels.assign(u8.data_ptr<uint8_t>(), u8.data_ptr<uint8_t>() + u8.numel());
  return img;
}

}  // namespace atelier::ml
