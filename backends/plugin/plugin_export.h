// For plugin authors: turns a C++ backends::Backend into the plugin ABI's table (backend_plugin.h). Every
// entry point decodes the model bytes, calls the backend and catches every exception into a status and a
// message, so that no exception crosses the boundary. A plugin's r2q_backend_init returns
// export_backend(...).
#pragma once

#include <memory>

#include "backends/backend.h"
#include "backends/plugin/backend_plugin.h"

namespace r2q::backends::plugin {

// The table of `backend`, which lives as long as the process (plugins are never unloaded). One per library.
const r2q_backend_v1* export_backend(std::unique_ptr<Backend> backend);

}  // namespace r2q::backends::plugin
