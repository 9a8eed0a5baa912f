// StderrCapture: redirects this process's stderr, where lib/log.h writes,
// into a temporary file while the object is alive.

#ifndef SRCONNECT_TESTS_SUPPORT_STDERR_CAPTURE_H_
#define SRCONNECT_TESTS_SUPPORT_STDERR_CAPTURE_H_

#include <unistd.h>

#include <cstdio>
#include <string>

namespace srconnect::testing {

class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    file_ = std::tmpfile();
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~StderrCapture() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    std::fclose(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // Returns everything written to stderr since construction.
  std::string Text() {
    std::string text;
    std::rewind(file_);
    char buffer[512];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file_)) > 0) {
      text.append(buffer, n);
    }
    return text;
  }

 private:
  int saved_;
  std::FILE* file_;
};

}  // namespace srconnect::testing

#endif  // SRCONNECT_TESTS_SUPPORT_STDERR_CAPTURE_H_
