// A thin, checked wrapper over cpp-httplib's client: explicit timeouts,
// certificate verification always on for https, and transport failures
// reported as values.

#ifndef SRCONNECT_LIB_HTTP_CLIENT_H_
#define SRCONNECT_LIB_HTTP_CLIENT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace srconnect {

struct HttpClientOptions {
  // "http://host:port" or "https://host:port", with an optional path
  // prefix that is put before every request path.
  std::string base_url;
  // PEM bundle for https; empty means the system store.
  std::string ca_file;
  int64_t connect_timeout_ms = 5000;
  int64_t read_timeout_ms = 15000;
};

enum class TransportError {
  kNone,
  kConnect,   // refused, unreachable, reset before a response
  kTimeout,   // connect or read timed out
  kTls,       // handshake or certificate verification failed
  kOther,     // bad URL, read error mid-body, ...
};

struct HttpResult {
  TransportError error = TransportError::kNone;
  std::string error_text;  // cpp-httplib's text for the error, if any
  int status = 0;
  // Header names lower-case.
  std::map<std::string, std::string> headers;
  std::string body;
};

// Sends one request. `content_type` empty means no body. `bearer_token`,
// when not empty, becomes "Authorization: Bearer ...". Never throws.
HttpResult SendHttpRequest(const HttpClientOptions& options,
                           std::string_view method, std::string_view path,
                           std::string_view content_type,
                           std::string_view body,
                           std::string_view bearer_token);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_HTTP_CLIENT_H_
