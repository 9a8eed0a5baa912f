// FastCGI glue: strict request parsing, response helpers and the accept
// loop over libfcgi.
//
// The listening socket is fd 0, as both systemd socket activation
// (StandardInput=socket) and spawn-fcgi pass it. Parsing is strict: bad
// percent-encoding, a parameter repeated where one is expected, or input
// over a size limit is rejected with 400 instead of being guessed at.
// Nothing is ever written to the FastCGI error stream, because nginx logs
// whatever arrives there as an error; logs go to stderr (see log.h).

#ifndef SRCONNECT_LIB_FASTCGI_H_
#define SRCONNECT_LIB_FASTCGI_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "status.h"

namespace srconnect {

struct RequestLimits {
  size_t max_query_bytes = 4096;
  size_t max_body_bytes = 16 * 1024;
  size_t max_parameters = 32;
  size_t max_cookie_bytes = 4096;
  size_t max_value_bytes = 2048;
  // Format of the response to a request that fails parsing: an HTML page
  // when false, and for JSON APIs when true a JSON body {"error":
  // "invalid_request" or "payload_too_large", "message": the page's text}.
  bool json_errors = false;
};

// Decoded name/value pairs of a query string or a form body, in order.
class Params {
 public:
  Params() = default;
  explicit Params(std::vector<std::pair<std::string, std::string>> pairs)
      : pairs_(std::move(pairs)) {}

  // Returns the single value of `name`, nullopt when absent, or an error
  // naming the parameter when it appears more than once.
  Result<std::optional<std::string>> GetOne(std::string_view name) const;

  size_t Count(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& pairs() const {
    return pairs_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// Decodes application/x-www-form-urlencoded text ('+' is a space, %XX a
// byte). Rejects a '%' not followed by two hex digits, an encoded NUL
// (%00), raw control characters, a name longer or a value longer than
// limits.max_value_bytes, and more than limits.max_parameters pairs.
Result<Params> ParseUrlEncoded(std::string_view text,
                               const RequestLimits& limits);

// Percent-encodes everything but the RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view text);

// Parses a Cookie header ("a=1; b=2"). A cookie name that appears twice is
// kept once, with its first value, the order browsers send the most
// specific path first.
Result<std::map<std::string, std::string>> ParseCookies(
    std::string_view header, const RequestLimits& limits);

struct HttpRequest {
  std::string method;        // REQUEST_METHOD
  std::string path;          // DOCUMENT_URI, without the query
  std::string query_string;  // QUERY_STRING, raw
  std::string remote_addr;   // REMOTE_ADDR
  std::string scheme;        // REQUEST_SCHEME, "http" or "https"
  // Request headers from HTTP_* variables, names lower-case with '-'
  // ("accept", "content-type", "cookie").
  std::map<std::string, std::string> headers;
  Params query;
  Params form;  // only for POST application/x-www-form-urlencoded
  std::map<std::string, std::string> cookies;

  // Returns the header value or "".
  std::string Header(std::string_view lower_case_name) const;
  // True when REMOTE_ADDR is in 127.0.0.0/8, is ::1, or is an IPv4 loopback
  // address mapped to IPv6 (::ffff:127.0.0.1).
  bool FromLoopback() const;
};

// Builds a request from FastCGI parameters and the raw body. The error
// message is safe to show: it names the parameter and the limit, never a
// cookie value.
Result<HttpRequest> ParseRequest(
    const std::map<std::string, std::string>& params, std::string_view body,
    const RequestLimits& limits);

struct Cookie {
  std::string name;
  std::string value;
  std::string path = "/";
  int64_t max_age_s = -1;  // -1 omits Max-Age; 0 deletes the cookie
  bool http_only = true;
  bool secure = true;
  std::string same_site = "Lax";
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static HttpResponse Html(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
  static HttpResponse Text(int status, std::string body);
  // srconnect uses 302 after a POST too, because every browser follows
  // it with GET, as it does 303.
  static HttpResponse Redirect(const std::string& location);

  void AddHeader(std::string name, std::string value);
  // Adds a Set-Cookie header. A cookie whose name is not an RFC 6265 token,
  // whose value is not cookie-octets, or whose path or SameSite is invalid
  // is not added, and the error is logged without the value.
  void SetCookie(const Cookie& cookie);
};

// Returns the response to a request that failed parsing: status 400 or
// 413 with `message`, as an HTML page or, when limits.json_errors is set,
// as JSON. REQUIRES: status is 400 or 413.
HttpResponse ParseErrorResponse(int status, std::string_view message,
                                const RequestLimits& limits);

// Returns the FastCGI response text: "Status: ...\r\n", the headers (with
// Content-Type: text/plain; charset=utf-8, Cache-Control: no-store and the
// security headers added when absent), a blank line and the body. A header
// whose name or value contains CR or LF, whose name is not a token, whose value
// contains NUL, or that is named "Status" is dropped with a logged warning. A
// status outside 100..599 is sent as 500.
std::string SerializeResponse(const HttpResponse& response);

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// Creates the handler of responder thread `thread_index`, counted from 0.
using RequestHandlerFactory =
    std::function<Result<RequestHandler>(int thread_index)>;

// Upper bound of RunFastCgi's thread_count.
inline constexpr int kMaxFastCgiThreads = 256;

// Accepts requests on fd 0 with one responder thread, one request at a
// time, until the process receives SIGTERM or SIGINT or accept fails. The
// same as RunFastCgi(limits, 1, ...) with `handler` as the only handler.
int RunFastCgi(const RequestLimits& limits, const RequestHandler& handler);

// Accepts requests on fd 0 with `thread_count` responder threads (1 to
// kMaxFastCgiThreads), each with its own FCGX_Request, so that a slow
// request holds only its own thread. A listener passed by socket
// activation as fd 3 is moved to fd 0 first.
//
// `make_handler` is called thread_count times on the calling thread before
// the first request is accepted; an error or exception from it stops the
// start. Each handler is then called only from its own thread, one request
// at a time, so it may own objects that are not thread-safe, such as a
// Store or a SmartRecruitersClient.
//
// Each request is parsed with `limits`. A parse error gets a 400 response
// (413 for a body over the limit) from ParseErrorResponse that names the
// bad value. An
// exception escaping a handler gets a 500 response for that request only
// and is logged with the request path.
//
// SIGTERM and SIGINT are blocked in the calling thread before
// `make_handler` runs, so every thread started later inherits the block,
// and they stay blocked after RunFastCgi returns. Threads started before
// the call must block them too, or such a signal kills the process. The
// calling thread takes them with sigtimedwait(2), so neither interrupts a
// system call inside libfcgi. The listener gets a 200 ms SO_RCVTIMEO, so
// that a thread waiting in accept(2) checks for the stop that often. A
// connection accepted on a TCP listener inherits that timeout until its
// FastCGI params are read.
//
// On SIGTERM or SIGINT every thread finishes the request it is serving,
// or is reading inside libfcgi, sends the response and stops. A client
// that stalls in the middle of its FastCGI request keeps its thread busy,
// and delays the exit, until it sends the rest or closes the connection.
// libfcgi 2.4.2 closes a new unix-socket connection that sends nothing
// for 2 s.
//
// Returns the process exit code: 0 after SIGTERM or SIGINT, 1 when fd 0 is
// not a listening socket, the start fails, or accept fails in any thread
// (the other threads are then stopped as on SIGTERM). May be called again
// after it returns.
int RunFastCgi(const RequestLimits& limits, int thread_count,
               const RequestHandlerFactory& make_handler);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_FASTCGI_H_
