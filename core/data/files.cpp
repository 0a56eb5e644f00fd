// Whole-file reads and gunzip through zlib.
#include "core/data/files.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/util/error.h"

namespace r2q::data {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw InputError(path.string() + ": read error");
  return std::move(out).str();
}

std::string gunzip_if_needed(std::string bytes, const std::filesystem::path& path) {
  if (bytes.size() < 2 || static_cast<unsigned char>(bytes[0]) != 0x1f ||
      static_cast<unsigned char>(bytes[1]) != 0x8b)
    return bytes;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    throw InputError(path.string() + ": zlib initialisation failed");
  z.next_in = reinterpret_cast<Bytef*>(bytes.data());
  z.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char chunk[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      std::string reason =
          rc == Z_BUF_ERROR ? "truncated gzip stream" : (z.msg ? z.msg : "corrupt gzip data");
      inflateEnd(&z);
      throw InputError(path.string() + ": " + reason);
    }
    out.append(chunk, sizeof chunk - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

}  // namespace r2q::data
