// CIFAR-10 batch checks, without LibTorch.
#include "core/data/cifar_format.h"

#include <string>

#include "core/util/error.h"

namespace r2q::data {

Cifar10Records parse_cifar10(std::string_view bytes, const std::filesystem::path& path) {
  constexpr size_t kRecord = Cifar10Records::kRecord;
  if (bytes.empty() || bytes.size() % kRecord != 0)
    throw InputError(path.string() + ": not a CIFAR-10 binary batch (size " + std::to_string(bytes.size()) +
                     " is not a positive multiple of the 3073-byte record; truncated?)");
  Cifar10Records records({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  for (size_t i = 0; i < records.size(); ++i)
    if (records.label(i) > 9)
      throw InputError(path.string() + ": record " + std::to_string(i) + " has label " +
                       std::to_string(records.label(i)) + " (expected 0-9); not a CIFAR-10 batch?");
  return records;
}

}  // namespace r2q::data
