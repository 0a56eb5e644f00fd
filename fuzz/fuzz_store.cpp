// Fuzzes opening a damaged or hostile store file: bytes -> a store file -> open read-only, list, report. Any
// outcome but r2q's own error (a crash, a sanitizer report, another exception) is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/store/store.h"
#include "core/util/error.h"
#include "reports/collect.h"

namespace {

// Where each input is written: $R2Q_FUZZ_SCRATCH, else a directory of this process's own. scripts/fuzz --ci
// sets the variable to one relative path, so that the path's bytes (which the target compares) are the same
// in every run and a fixed seed gives a fixed result.
std::filesystem::path scratch() {
  static const std::filesystem::path dir = [] {
    const char* fixed = std::getenv("R2Q_FUZZ_SCRATCH");
    auto d = fixed && *fixed
                 ? std::filesystem::path(fixed)
                 : std::filesystem::temp_directory_path() / ("r2q-fuzz-store-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir / "store.db";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = scratch();
  // Each input alone: no -wal or -shm file an earlier input left beside the store.
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path.string() + suffix);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    r2q::store::Store store(path, r2q::store::Store::Mode::ReadOnly);
    store.experiments();
    store.runs();
    r2q::reports::collect(store, {});
  } catch (const r2q::Error&) {
  }
  return 0;
}
