// The host side of the plugin ABI (backend_plugin.h): finds and loads libr2q-backend-NAME.so libraries and
// wraps each in backends::Backend. r2q and r2q-engine link no device runtime: a plugin brings its own.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace r2q::backends::plugin {

// Loads one plugin library. Throws InputError naming the library and the reason: it cannot be loaded (a
// missing dependency such as the CUDA runtime), lacks r2q_backend_init, or speaks another API version.
std::unique_ptr<Backend> load(const std::filesystem::path& library);

// Where plugins are looked for: the directory of the running executable, then every directory of
// R2Q_BACKEND_PATH (colon-separated), in that order.
std::vector<std::filesystem::path> search_path();

// Registers every plugin found on the search path (a name already registered keeps its first backend). A
// library that does not load is registered as an unavailable backend, named after its file, that says why.
// Each name of `expected` ("cuda") that no library provides is registered as unavailable: its library was not
// found.
void register_plugins(BackendRegistry& registry, const std::vector<std::string>& expected);

}  // namespace r2q::backends::plugin
