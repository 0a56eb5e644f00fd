// JPEG decoding through the TurboJPEG API and PNG decoding through libpng's simplified png_image API.
#include "core/data/image_decode.h"

#include <png.h>
#include <turbojpeg.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/util/error.h"

namespace r2q::data {
namespace {

// Widths and heights beyond this are not photographs but corrupt headers; refusing them avoids huge
// allocations.
constexpr std::int64_t kMaxSide = 1 << 15;

void check_size(std::int64_t width, std::int64_t height, const std::filesystem::path& path) {
  if (width <= 0 || height <= 0 || width > kMaxSide || height > kMaxSide)
    throw InputError(path.string() + ": implausible image size " + std::to_string(width) + "x" +
                     std::to_string(height));
}

torch::Tensor to_chw(torch::Tensor hwc) {
  return hwc.permute({2, 0, 1});
}

}  // namespace

bool is_jpeg(std::string_view bytes) {
  return bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
         static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF;
}

bool is_png(std::string_view bytes) {
  return bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0;
}

torch::Tensor decode_image(std::string_view bytes, const std::filesystem::path& path) {
  if (is_jpeg(bytes)) return decode_jpeg(bytes, path);
  if (is_png(bytes)) return decode_png(bytes, path);
  throw InputError(path.string() + ": neither a JPEG nor a PNG image (unknown file signature)");
}

torch::Tensor decode_jpeg(std::string_view bytes, const std::filesystem::path& path) {
  std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitDecompress(), tjDestroy);
  if (!handle) throw InputError(path.string() + ": cannot initialise TurboJPEG: " + tjGetErrorStr2(nullptr));
  auto fail = [&](const std::string& what) {
    throw InputError(path.string() + ": " + what + ": " + tjGetErrorStr2(handle.get()));
  };
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), data, size, &width, &height, &subsampling, &colorspace) != 0)
    fail("corrupt JPEG header");
  // A header cut short can "succeed" with a warning and no size.
  if (width <= 0 || height <= 0) fail("corrupt JPEG header");
  check_size(width, height, path);
  // libjpeg cannot convert CMYK to RGB itself; a few ImageNet photos are CMYK.
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const int channels = cmyk ? 4 : 3;
  torch::Tensor pixels = torch::empty({height, width, channels}, torch::kUInt8);
  // Warnings are errors too: a truncated file only warns and would otherwise come back grey-filled.
  if (tjDecompress2(handle.get(), data, size, pixels.data_ptr<std::uint8_t>(), width, 0, height,
                    cmyk ? TJPF_CMYK : TJPF_RGB, TJFLAG_STOPONWARNING) != 0)
    fail("corrupt JPEG data");
  if (!cmyk) return to_chw(pixels);
  // JPEG CMYK is stored inverted (Adobe convention), so each colour is its ink value times K; libjpeg-turbo's
  // own tools convert the same way.
  torch::Tensor rgb = torch::empty({height, width, 3}, torch::kUInt8);
  const std::uint8_t* src = pixels.data_ptr<std::uint8_t>();
  std::uint8_t* dst = rgb.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0, n = static_cast<std::int64_t>(width) * height; i < n; ++i, src += 4, dst += 3) {
    const unsigned k = src[3];
    for (int c = 0; c < 3; ++c) dst[c] = static_cast<std::uint8_t>((src[c] * k + 127) / 255);
  }
  return to_chw(rgb);
}

torch::Tensor decode_png(std::string_view bytes, const std::filesystem::path& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  // png_image_free is safe on a finished or failed image, so one guard covers every exit.
  std::unique_ptr<png_image, void (*)(png_imagep)> guard(&image, png_image_free);
  auto fail = [&](const std::string& what) {
    throw InputError(path.string() + ": " + what + ": " +
                     (image.message[0] ? image.message : "libpng error"));
  };
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) fail("corrupt PNG header");
  check_size(image.width, image.height, path);
  // RGBA rather than RGB: libpng would composite transparent pixels onto black, whereas dropping the alpha
  // channel keeps the stored colours (as PIL's convert("RGB") does).
  image.format = PNG_FORMAT_RGBA;
  torch::Tensor rgba = torch::empty(
      {static_cast<std::int64_t>(image.height), static_cast<std::int64_t>(image.width), 4}, torch::kUInt8);
  if (!png_image_finish_read(&image, nullptr, rgba.data_ptr<std::uint8_t>(), 0, nullptr))
    fail("corrupt PNG data");
  return to_chw(rgba.slice(2, 0, 3));
}

}  // namespace r2q::data
