#include "log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace srconnect {
namespace {

LogPriority ThresholdFromEnvironment() {
  const char* level = std::getenv("SRCONNECT_LOG_LEVEL");
  if (level == nullptr) return LogPriority::kInfo;
  if (std::strcmp(level, "debug") == 0) return LogPriority::kDebug;
  if (std::strcmp(level, "notice") == 0) return LogPriority::kNotice;
  if (std::strcmp(level, "warning") == 0) return LogPriority::kWarning;
  if (std::strcmp(level, "error") == 0) return LogPriority::kError;
  return LogPriority::kInfo;
}

std::atomic<int>& Threshold() {
  static std::atomic<int> threshold{
      static_cast<int>(ThresholdFromEnvironment())};
  return threshold;
}

bool IsControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

}  // namespace

void SetLogThreshold(LogPriority threshold) {
  Threshold().store(static_cast<int>(threshold));
}

void Log(LogPriority priority, std::string_view line) {
  const int level = static_cast<int>(priority);
  if (level > Threshold().load()) return;

  std::string out = "<" + std::to_string(level) + ">";
  out.reserve(out.size() + line.size() + 1);
  for (char c : line) out.push_back(IsControl(c) ? '?' : c);
  out.push_back('\n');

  // One write(2) per line keeps lines whole when several threads log.
  size_t written = 0;
  while (written < out.size()) {
    ssize_t n = ::write(STDERR_FILENO, out.data() + written,
                        out.size() - written);
    if (n <= 0) return;
    written += static_cast<size_t>(n);
  }
}

std::string Quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else {
      out.push_back(IsControl(c) ? '?' : c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace srconnect
