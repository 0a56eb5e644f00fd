// Decoding JPEG (libjpeg-turbo's TurboJPEG) and PNG (libpng) files into 8-bit RGB pixels.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string_view>

namespace r2q::data {

// The image in `bytes` as uint8 [3, H, W] RGB (a view of an [H, W, 3] buffer, so not contiguous). The format
// is told by the file's signature, not its name: some ImageNet ".JPEG" files are really PNGs. Grey is
// replicated and alpha dropped. Unknown, corrupt or truncated data is an InputError naming `path` and the
// decoder's message.
torch::Tensor decode_image(std::string_view bytes, const std::filesystem::path& path);

torch::Tensor decode_jpeg(std::string_view bytes, const std::filesystem::path& path);
torch::Tensor decode_png(std::string_view bytes, const std::filesystem::path& path);

bool is_jpeg(std::string_view bytes);
bool is_png(std::string_view bytes);

}  // namespace r2q::data
