// A thin, checked wrapper over cpp-httplib's client: explicit timeouts,
// certificate verification always on for https, and transport failures
// reported as values.

#ifndef SRCONNECT_LIB_HTTP_CLIENT_H_
#define SRCONNECT_LIB_HTTP_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
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
  kConnect,   // refused, unreachable, closed or reset before the
              // response was complete, or the request could not be sent
  kTimeout,   // connect or read timed out
  kTls,       // handshake or certificate verification failed
  kOther,     // bad URL, body over the size cap, ...
};

struct HttpResult {
  TransportError error = TransportError::kNone;
  std::string error_text;  // cpp-httplib's text for the error, if any
  int status = 0;
  // Header names lower-case.
  std::map<std::string, std::string> headers;
  std::string body;
};

// Sends one request on a connection of its own, closed after the
// response. `content_type` empty means no body. `bearer_token`, when not
// empty, becomes "Authorization: Bearer ...". Never throws.
HttpResult SendHttpRequest(const HttpClientOptions& options,
                           std::string_view method, std::string_view path,
                           std::string_view content_type,
                           std::string_view body,
                           std::string_view bearer_token);

// How soon a request on a reused connection must fail for HttpConnection to
// send it once more: min(1000 ms, read timeout / 10). A server that closed
// an idle kept connection makes the request fail at once.
int64_t RetryWindowMs(const HttpClientOptions& options);

// Returns the maximum duration of one HttpConnection::Send() or
// SendHttpRequest(): the retry window, then a connect and a read timeout.
// A peer that trickles bytes can exceed it (see the NOTE in http_client.cc).
int64_t LongestCallMs(const HttpClientOptions& options);

// A connection to one base URL that stays open between requests (HTTP/1.1
// keep-alive), so that a caller sending many requests to one host pays the
// TCP and TLS handshakes once instead of per request.
//
// A server may close an idle connection at any time. When a request on a
// reused connection fails with a connection error before the response's
// headers arrive, and within RetryWindowMs(), Send() opens a new connection
// and sends the request once more, so only send requests that are safe to
// repeat. Timeouts are never retried. After any failure the connection is
// dropped and the next request opens a new one.
//
// Not thread-safe: one HttpConnection per thread.
class HttpConnection {
 public:
  explicit HttpConnection(HttpClientOptions options);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // As SendHttpRequest, on the kept connection. Never throws.
  HttpResult Send(std::string_view method, std::string_view path,
                  std::string_view content_type, std::string_view body,
                  std::string_view bearer_token);

 private:
  struct State;
  HttpClientOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace srconnect

#endif  // SRCONNECT_LIB_HTTP_CLIENT_H_
