#include "random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "log.h"

namespace srconnect::fake {
namespace {

std::vector<unsigned char> RandomBytes(size_t count) {
  std::vector<unsigned char> bytes(count);
  if (RAND_bytes(bytes.data(), static_cast<int>(count)) != 1) {
    LogError("RAND_bytes failed; stopping");
    std::abort();
  }
  return bytes;
}

}  // namespace

std::string RandomBase64Url(size_t bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::vector<unsigned char> data = RandomBytes(bytes);
  std::string out;
  out.reserve((bytes * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const unsigned value =
        (unsigned{data[i]} << 16) | (unsigned{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kAlphabet[(value >> 18) & 63]);
    out.push_back(kAlphabet[(value >> 12) & 63]);
    out.push_back(kAlphabet[(value >> 6) & 63]);
    out.push_back(kAlphabet[value & 63]);
  }
  const size_t rest = data.size() - i;
  if (rest == 1) {
    const unsigned value = unsigned{data[i]} << 16;
    out.push_back(kAlphabet[(value >> 18) & 63]);
    out.push_back(kAlphabet[(value >> 12) & 63]);
  } else if (rest == 2) {
    const unsigned value =
        (unsigned{data[i]} << 16) | (unsigned{data[i + 1]} << 8);
    out.push_back(kAlphabet[(value >> 18) & 63]);
    out.push_back(kAlphabet[(value >> 12) & 63]);
    out.push_back(kAlphabet[(value >> 6) & 63]);
  }
  return out;
}

std::string RandomHex(size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::vector<unsigned char> data = RandomBytes((digits + 1) / 2);
  std::string out;
  for (unsigned char byte : data) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 15]);
  }
  out.resize(digits);
  return out;
}

}  // namespace srconnect::fake
