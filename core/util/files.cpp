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

std::string read_input_file(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status))
    throw InputError(path.string() + ": no such file (" + std::string(what) + ")");
  if (std::filesystem::is_directory(status))
    throw InputError(path.string() + ": is a directory, not " + std::string(what));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw InputError(path.string() + ": cannot open " + std::string(what) + ": " + std::strerror(errno));
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int saved = errno;
      ::close(fd);
      throw InputError(path.string() + ": cannot read " + std::string(what) + ": " + std::strerror(saved));
    }
    if (got == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return bytes;
}

int remove_stale_temporaries(const std::filesystem::path& dir, std::chrono::seconds min_age) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) return 0;
  const auto now = std::filesystem::file_time_type::clock::now();
  int removed = 0;
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    const std::size_t tag = name.rfind(".tmp.");
    const bool temporary = name.size() > 1 && name[0] == '.' && tag != std::string::npos && tag > 1 &&
                           tag + 5 < name.size() &&
                           name.find_first_not_of("0123456789", tag + 5) == std::string::npos;
    if (!temporary || !it->is_regular_file(ec)) continue;
    const auto modified = std::filesystem::last_write_time(it->path(), ec);
    if (ec || now - modified < min_age) continue;
    if (std::filesystem::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace r2q
