// Crash-safe file replacement: temp file + fsync + rename + directory fsync.
#include "core/util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "core/util/error.h"

namespace r2q {
namespace {

void fsync_path(const std::filesystem::path& p, bool directory) {
  int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw RunError("cannot open " + p.string() + " to sync it: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) throw RunError("fsync of " + p.string() + " failed: " + std::strerror(saved));
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const std::filesystem::path& tmp)>& write) {
  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  auto tmp = dir / ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
  try {
    write(tmp);
    fsync_path(tmp, false);
    std::filesystem::rename(tmp, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  fsync_path(dir, true);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  write_file_atomically(path, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw RunError("cannot write " + tmp.string() + ": " + std::strerror(errno));
  });
}

}  // namespace r2q
