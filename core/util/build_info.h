// What this binary was built from; the definitions are generated at build time by cmake/build_info.cmake.
#pragma once

namespace r2q {

const char* build_version();     // r2q's own version, e.g. "0.1.0"
const char* build_git_commit();  // full commit hash, or "unknown" outside a git checkout
bool build_git_dirty();          // tracked files differed from the commit when the binary was built

}  // namespace r2q
