// SHA-256 through OpenSSL's EVP interface.
#include "core/util/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "core/util/text.h"

namespace r2q {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("sha256: EVP_Digest failed");
  return to_hex(digest, length);
}

}  // namespace r2q
