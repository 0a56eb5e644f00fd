// SHA-256 of a byte string (OpenSSL libcrypto), as lowercase hex.
#pragma once

#include <string>
#include <string_view>

namespace r2q {

std::string sha256_hex(std::string_view data);

}  // namespace r2q
