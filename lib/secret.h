// Secret: a wrapper for credentials, tokens and keys that cannot be printed
// by accident. It has no stream operator and no implicit conversion; the
// value is reached only through Reveal(), which makes every use visible in a
// review. Logs and pages show Fingerprint() instead.

#ifndef SRCONNECT_LIB_SECRET_H_
#define SRCONNECT_LIB_SECRET_H_

#include <string>
#include <string_view>

namespace srconnect {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  ~Secret();

  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  Secret(Secret&&) noexcept = default;
  Secret& operator=(Secret&&) noexcept = default;

  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

  // Returns "sha256:" and the first 4 bytes of SHA-256(value) in hex, or
  // "empty". Enough to tell two values apart in a log, too short to help
  // guess a high-entropy value.
  std::string Fingerprint() const;

 private:
  std::string value_;
};

}  // namespace srconnect

#endif  // SRCONNECT_LIB_SECRET_H_
