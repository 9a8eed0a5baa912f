// One line per event on stderr, with the sd-daemon priority prefix ("<3>"
// for errors ... "<7>" for debug) that journald turns into the entry's
// priority. Never write to the FastCGI error stream: nginx logs whatever it
// receives there as an error of its own.
//
// Wording: lower-case start, no final period, values in double quotes, the
// failing call named with the library's own text. Never pass a secret; use
// Secret::Fingerprint() instead.
//
// Thread-safe: each line is written with a single write(2).

#ifndef SRCONNECT_LIB_LOG_H_
#define SRCONNECT_LIB_LOG_H_

#include <string>
#include <string_view>

namespace srconnect {

enum class LogPriority {
  kError = 3,
  kWarning = 4,
  kNotice = 5,
  kInfo = 6,
  kDebug = 7,
};

// Writes "<N>" + `line` + "\n" to stderr. Control characters in `line` are
// replaced by '?', so a value taken from a request cannot forge a second
// log line.
void Log(LogPriority priority, std::string_view line);

// Sets the lowest priority that is still written (default kInfo; the
// SRCONNECT_LOG_LEVEL environment variable, "debug" .. "error", overrides).
void SetLogThreshold(LogPriority threshold);

inline void LogError(std::string_view line) {
  Log(LogPriority::kError, line);
}
inline void LogWarning(std::string_view line) {
  Log(LogPriority::kWarning, line);
}
inline void LogNotice(std::string_view line) {
  Log(LogPriority::kNotice, line);
}
inline void LogInfo(std::string_view line) { Log(LogPriority::kInfo, line); }
inline void LogDebug(std::string_view line) {
  Log(LogPriority::kDebug, line);
}

// Returns `value` in double quotes, with '"' and '\' escaped and control
// characters replaced by '?', for use inside a log line.
std::string Quote(std::string_view value);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_LOG_H_
