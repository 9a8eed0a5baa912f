#include "secret.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdio>

namespace srconnect {

Secret::~Secret() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
}

std::string Secret::Fingerprint() const {
  if (value_.empty()) return "empty";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(value_.data()), value_.size(),
         digest);
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", digest[0], digest[1],
                digest[2], digest[3]);
  return std::string("sha256:") + hex;
}

}  // namespace srconnect
