// TempDir: a temporary directory for one test, removed with its contents
// when the object is destroyed.

#ifndef SRCONNECT_TESTS_SUPPORT_TEMP_DIR_H_
#define SRCONNECT_TESTS_SUPPORT_TEMP_DIR_H_

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace srconnect::testing {

class TempDir {
 public:
  // Creates "$TMPDIR/srconnect-test-XXXXXX" (or under /tmp). Throws
  // std::runtime_error when mkdtemp fails.
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
        "/srconnect-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp \"" + pattern +
                               "\" failed: " + std::strerror(errno));
    }
    path_ = pattern;
  }

  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Returns path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace srconnect::testing

#endif  // SRCONNECT_TESTS_SUPPORT_TEMP_DIR_H_
