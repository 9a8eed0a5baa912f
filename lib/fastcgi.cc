#include "fastcgi.h"

#include <arpa/inet.h>
#include <fcgiapp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "log.h"

namespace srconnect {
namespace {

// Maximum bytes of a parameter name or header value quoted in an error
// message, so that a 2 KiB name cannot fill the error page.
constexpr size_t kMaxQuotedBytes = 64;

constexpr std::string_view kFormMediaType = "application/x-www-form-urlencoded";

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self' https: http:; base-uri 'none'; "
    "frame-ancestors 'none'";

// Bytes passed to one FCGX_GetStr or FCGX_PutStr call, which take an int.
constexpr size_t kStreamChunkBytes = 64 * 1024;

// Lines about rejected requests written per minute before the rest are
// only counted.
constexpr int kMaxRejectionLinesPerMinute = 20;

bool IsControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char ToLowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ToLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ToLowerAscii(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

// RFC 9110 tchar, the characters of a header or cookie name.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

// RFC 6265 cookie-octet: US-ASCII without controls, whitespace, DQUOTE,
// comma, semicolon and backslash.
bool IsCookieOctet(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x21 && byte <= 0x7e && c != '"' && c != ',' && c != ';' &&
         c != '\\';
}

bool AreCookieOctets(std::string_view text) {
  return std::all_of(text.begin(), text.end(), IsCookieOctet);
}

std::string_view TrimWhitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Returns `text` in double quotes for an error message, cut after
// kMaxQuotedBytes.
std::string QuoteForMessage(std::string_view text) {
  if (text.size() <= kMaxQuotedBytes) return Quote(text);
  return Quote(std::string(text.substr(0, kMaxQuotedBytes)) + "...");
}

// Percent-decodes one name or value of a form body into `out`. Returns
// nullptr on success, or what is wrong with `raw`.
const char* DecodeFormComponent(std::string_view raw, std::string* out) {
  out->clear();
  out->reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (IsControl(c)) return "contains a raw control character";
    if (c == '+') {
      out->push_back(' ');
    } else if (c != '%') {
      out->push_back(c);
    } else {
      const int high = i + 1 < raw.size() ? HexValue(raw[i + 1]) : -1;
      const int low = i + 2 < raw.size() ? HexValue(raw[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return "has a '%' that is not followed by two hex digits";
      }
      if (high == 0 && low == 0) return "contains an encoded NUL (%00)";
      out->push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
  }
  return nullptr;
}

std::string_view ParamOrEmpty(const std::map<std::string, std::string>& params,
                              const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view PathOf(const std::map<std::string, std::string>& params) {
  const std::string_view path = ParamOrEmpty(params, "DOCUMENT_URI");
  return path.empty() ? ParamOrEmpty(params, "SCRIPT_NAME") : path;
}

std::string SchemeOf(const std::map<std::string, std::string>& params) {
  const std::string scheme =
      ToLowerAscii(ParamOrEmpty(params, "REQUEST_SCHEME"));
  if (scheme == "http" || scheme == "https") return scheme;
  return EqualsIgnoreCase(ParamOrEmpty(params, "HTTPS"), "on") ? "https"
                                                               : "http";
}

// Maps HTTP_ACCEPT_LANGUAGE to "accept-language", plus CONTENT_TYPE and
// CONTENT_LENGTH, which CGI passes without the HTTP_ prefix.
std::map<std::string, std::string> HeadersOf(
    const std::map<std::string, std::string>& params) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : params) {
    std::string_view header_name = name;
    if (header_name == "CONTENT_TYPE" || header_name == "CONTENT_LENGTH") {
      if (value.empty()) continue;
    } else if (header_name.size() > 5 && header_name.substr(0, 5) == "HTTP_") {
      header_name.remove_prefix(5);
    } else {
      continue;
    }
    std::string lower = ToLowerAscii(header_name);
    std::replace(lower.begin(), lower.end(), '_', '-');
    headers[lower] = value;
  }
  return headers;
}

// Parses the body of a POST. Only a form body is accepted, and any other
// content type must come with an empty body.
Result<Params> ParseFormBody(const HttpRequest& request, std::string_view body,
                             const RequestLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    return Status::Error("request body is longer than " +
                         std::to_string(limits.max_body_bytes) + " bytes");
  }
  const std::string content_type = request.Header("content-type");
  const std::string_view media_type = TrimWhitespace(
      std::string_view(content_type).substr(0, content_type.find(';')));
  if (!EqualsIgnoreCase(media_type, kFormMediaType)) {
    if (body.empty()) return Params();
    return Status::Error(
        "unsupported Content-Type " + QuoteForMessage(media_type) +
        " for a POST body; send " + std::string(kFormMediaType));
  }

  Result<Params> form = ParseUrlEncoded(body, limits);
  if (!form.ok()) return Status::Error("form body: " + form.error());
  return form;
}

struct StatusReason {
  int status;
  const char* reason;
};

constexpr StatusReason kReasonPhrases[] = {
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

// Returns the RFC 9110 reason phrase, or nullptr for a code not listed.
const char* ReasonPhrase(int status) {
  for (const StatusReason& entry : kReasonPhrases) {
    if (entry.status == status) return entry.reason;
  }
  return nullptr;
}

// Returns why the header cannot be sent, or nullptr when it can.
const char* HeaderProblem(std::string_view name, std::string_view value) {
  if (name.find_first_of("\r\n") != std::string_view::npos ||
      value.find_first_of("\r\n") != std::string_view::npos) {
    return "name or value contains CR or LF";
  }
  if (!IsToken(name)) return "name is not a valid header name";
  if (value.find('\0') != std::string_view::npos) return "value contains NUL";
  if (EqualsIgnoreCase(name, "Status")) {
    return "Status is set from HttpResponse::status";
  }
  return nullptr;
}

// Returns why the cookie cannot be sent, or nullptr when it can.
const char* CookieProblem(const Cookie& cookie) {
  if (!IsToken(cookie.name)) return "name is not a valid cookie name";
  if (!AreCookieOctets(cookie.value)) {
    return "value contains characters outside RFC 6265 cookie-octets";
  }
  if (std::any_of(cookie.path.begin(), cookie.path.end(),
                  [](char c) { return IsControl(c) || c == ';'; })) {
    return "path contains a control character or ';'";
  }
  if (!cookie.same_site.empty() && cookie.same_site != "Strict" &&
      cookie.same_site != "Lax" && cookie.same_site != "None") {
    return "SameSite is not Strict, Lax or None";
  }
  return nullptr;
}

// Returns a small HTML page with the status as its title and the escaped
// message. REQUIRES: ReasonPhrase(status) != nullptr.
HttpResponse ErrorPage(int status, std::string_view message) {
  const std::string title = ReasonPhrase(status);
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>";
  page += "<meta charset=\"utf-8\"><title>" + title + "</title></head>\n";
  page += "<body>\n<h1>" + title + "</h1>\n";
  page += "<p>" + HtmlEscape(message) + "</p>\n</body>\n</html>\n";
  return HttpResponse::Html(status, std::move(page));
}

// Limits the log lines about rejected requests, so that a client sending
// junk cannot flood the journal. The count of lines left out is logged
// with the first line of a later minute. Thread-safe.
class RejectionLog {
 public:
  void Write(std::string_view line) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= std::chrono::minutes(1)) {
      if (suppressed_ > 0) {
        LogNotice("left out " + std::to_string(suppressed_) +
                  " lines about rejected requests in the previous minute");
      }
      window_start_ = now;
      written_ = 0;
      suppressed_ = 0;
    }
    if (written_ >= kMaxRejectionLinesPerMinute) {
      ++suppressed_;
      return;
    }
    ++written_;
    LogNotice(line);
  }

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::time_point window_start_;
  int written_ = 0;
  int suppressed_ = 0;
};

// strerror_r comes in two variants: the XSI one returns 0 and fills the
// buffer, the GNU one returns the text. These pick the text from either.
[[maybe_unused]] const char* StrerrorText(int result, const char* buffer) {
  return result == 0 ? buffer : "unknown error";
}
[[maybe_unused]] const char* StrerrorText(const char* result,
                                          const char* /*buffer*/) {
  return result;
}

// Returns the text of errno value `code`. Thread-safe, unlike strerror.
std::string ErrnoText(int code) {
  char buffer[256] = {};
  return StrerrorText(strerror_r(code, buffer, sizeof(buffer)), buffer);
}

bool IsListeningSocket(int fd) {
  int listening = 0;
  socklen_t size = sizeof(listening);
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0 &&
         listening != 0;
}

// Returns the text for a libfcgi error code: an errno value when positive,
// a FastCGI protocol error when negative.
std::string LibFcgiErrorText(int code) {
  if (code > 0) return ErrnoText(code);
  return "FastCGI protocol error " + std::to_string(code);
}

// Returns the FastCGI parameters of `request`. A name sent twice keeps its
// later value, so that a fastcgi_param placed after `include fastcgi_params`
// overrides the included one.
std::map<std::string, std::string> ParamsOf(const FCGX_Request& request) {
  std::map<std::string, std::string> params;
  for (char** entry = request.envp; entry != nullptr && *entry != nullptr;
       ++entry) {
    const std::string_view text(*entry);
    const size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    params.insert_or_assign(std::string(text.substr(0, equals)),
                            std::string(text.substr(equals + 1)));
  }
  return params;
}

// Parses CONTENT_LENGTH. An empty value means no body, and anything but
// decimal digits is invalid.
std::optional<size_t> ParseContentLength(std::string_view text) {
  if (text.empty()) return 0;
  if (!std::all_of(text.begin(), text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  size_t length = 0;
  const auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), length);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return length;
}

Result<std::string> ReadBody(FCGX_Stream* in, size_t content_length) {
  std::string body;
  while (body.size() < content_length) {
    const size_t offset = body.size();
    const size_t chunk = std::min(content_length - offset, kStreamChunkBytes);
    body.resize(offset + chunk);
    const int read =
        FCGX_GetStr(body.data() + offset, static_cast<int>(chunk), in);
    body.resize(offset + static_cast<size_t>(std::max(read, 0)));
    if (read <= 0) {
      return Status::Error("request body ended after " +
                           std::to_string(body.size()) + " of " +
                           std::to_string(content_length) +
                           " bytes announced in Content-Length");
    }
  }
  return body;
}

// Reads and parses one request and runs the handler. A parse error becomes
// a 400 or 413 response, and exceptions pass to the caller.
HttpResponse Respond(const FCGX_Request& fcgi_request,
                     const std::map<std::string, std::string>& params,
                     const RequestLimits& limits, const RequestHandler& handler,
                     RejectionLog& rejection_log) {
  const std::string_view path = PathOf(params);
  auto reject = [&](int status, std::string_view message) {
    rejection_log.Write("rejected request to " + QuoteForMessage(path) +
                        " with " + std::to_string(status) + ": " +
                        std::string(message));
    return ParseErrorResponse(status, message, limits);
  };

  const std::optional<size_t> content_length =
      ParseContentLength(ParamOrEmpty(params, "CONTENT_LENGTH"));
  if (!content_length.has_value()) {
    return reject(400, "invalid Content-Length: expected a decimal number");
  }
  // The body is left unread, and FCGX_Finish_r closes the connection.
  if (*content_length > limits.max_body_bytes) {
    return reject(413, "request body is longer than " +
                           std::to_string(limits.max_body_bytes) + " bytes");
  }
  Result<std::string> body = ReadBody(fcgi_request.in, *content_length);
  if (!body.ok()) return reject(400, body.error());

  Result<HttpRequest> request = ParseRequest(params, *body, limits);
  if (!request.ok()) return reject(400, request.error());

  return handler(*request);
}

void WriteResponse(const std::string& text, FCGX_Stream* out,
                   std::string_view path) {
  size_t written = 0;
  while (written < text.size()) {
    const size_t chunk = std::min(text.size() - written, kStreamChunkBytes);
    if (FCGX_PutStr(text.data() + written, static_cast<int>(chunk), out) < 0) {
      LogWarning("FCGX_PutStr failed for request to " + QuoteForMessage(path) +
                 ": " + LibFcgiErrorText(FCGX_GetError(out)));
      return;
    }
    written += chunk;
  }
}

void ServeRequest(const FCGX_Request& fcgi_request, const RequestLimits& limits,
                  const RequestHandler& handler, RejectionLog& rejection_log) {
  std::string path;
  std::string text;
  try {
    const std::map<std::string, std::string> params = ParamsOf(fcgi_request);
    path = PathOf(params);
    text = SerializeResponse(
        Respond(fcgi_request, params, limits, handler, rejection_log));
  } catch (const std::exception& error) {
    LogError("request to " + QuoteForMessage(path) +
             " failed: " + Quote(error.what()));
    text = SerializeResponse(HttpResponse::Text(500, "internal error\n"));
  } catch (...) {
    LogError("request to " + QuoteForMessage(path) +
             " failed: exception of unknown type");
    text = SerializeResponse(HttpResponse::Text(500, "internal error\n"));
  }
  WriteResponse(text, fcgi_request.out, path);
}

}  // namespace

Result<std::optional<std::string>> Params::GetOne(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& [pair_name, value] : pairs_) {
    if (pair_name != name) continue;
    if (found.has_value()) {
      return Status::Error("parameter " + QuoteForMessage(name) +
                           " appears more than once");
    }
    found = value;
  }
  return found;
}

size_t Params::Count(std::string_view name) const {
  return static_cast<size_t>(
      std::count_if(pairs_.begin(), pairs_.end(),
                    [name](const auto& pair) { return pair.first == name; }));
}

Result<Params> ParseUrlEncoded(std::string_view text,
                               const RequestLimits& limits) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view pair = text.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;

    if (pairs.size() == limits.max_parameters) {
      return Status::Error(
          "more than " + std::to_string(limits.max_parameters) + " parameters");
    }
    const size_t equals = pair.find('=');
    const std::string_view raw_name = pair.substr(0, equals);
    const std::string_view raw_value = equals == std::string_view::npos
                                           ? std::string_view()
                                           : pair.substr(equals + 1);

    std::string name;
    if (const char* problem = DecodeFormComponent(raw_name, &name)) {
      return Status::Error("parameter name " + QuoteForMessage(raw_name) + " " +
                           problem);
    }
    if (name.size() > limits.max_value_bytes) {
      return Status::Error("parameter name " + QuoteForMessage(name) +
                           " is longer than " +
                           std::to_string(limits.max_value_bytes) + " bytes");
    }
    std::string value;
    if (const char* problem = DecodeFormComponent(raw_value, &value)) {
      return Status::Error("value of parameter " + QuoteForMessage(name) + " " +
                           problem);
    }
    if (value.size() > limits.max_value_bytes) {
      return Status::Error("value of parameter " + QuoteForMessage(name) +
                           " is longer than " +
                           std::to_string(limits.max_value_bytes) + " bytes");
    }
    pairs.emplace_back(std::move(name), std::move(value));
  }
  return Params(std::move(pairs));
}

std::string UrlEncode(std::string_view text) {
  constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                            c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHexDigits[byte >> 4]);
      out.push_back(kHexDigits[byte & 0x0f]);
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseCookies(
    std::string_view header, const RequestLimits& limits) {
  if (header.size() > limits.max_cookie_bytes) {
    return Status::Error("Cookie header is longer than " +
                         std::to_string(limits.max_cookie_bytes) + " bytes");
  }

  // Other applications on the same host may set cookies that break the
  // grammar. Such pairs are skipped, so that they cannot lock users out.
  std::map<std::string, std::string> cookies;
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(';', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view pair = header.substr(start, end - start);
    start = end + 1;

    const size_t equals = pair.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = TrimWhitespace(pair.substr(0, equals));
    std::string_view value = TrimWhitespace(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!IsToken(name) || !AreCookieOctets(value)) continue;
    cookies.emplace(name, value);
  }
  return cookies;
}

std::string HttpRequest::Header(std::string_view lower_case_name) const {
  const auto it = headers.find(std::string(lower_case_name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpRequest::FromLoopback() const {
  in_addr v4 = {};
  if (inet_pton(AF_INET, remote_addr.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6 = {};
  if (inet_pton(AF_INET6, remote_addr.c_str(), &v6) != 1) return false;
  const unsigned char* bytes = v6.s6_addr;
  const bool first_ten_zero =
      std::all_of(bytes, bytes + 10, [](unsigned char b) { return b == 0; });
  if (!first_ten_zero) return false;
  // ::1
  if (bytes[10] == 0 && bytes[11] == 0 && bytes[12] == 0 && bytes[13] == 0 &&
      bytes[14] == 0 && bytes[15] == 1) {
    return true;
  }
  // ::ffff:127.0.0.0/104, an IPv4 loopback address mapped to IPv6.
  return bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127;
}

Result<HttpRequest> ParseRequest(
    const std::map<std::string, std::string>& params, std::string_view body,
    const RequestLimits& limits) {
  HttpRequest request;
  request.method = ParamOrEmpty(params, "REQUEST_METHOD");
  if (request.method.empty()) {
    return Status::Error("missing REQUEST_METHOD");
  }
  request.path = PathOf(params);
  request.query_string = ParamOrEmpty(params, "QUERY_STRING");
  request.remote_addr = ParamOrEmpty(params, "REMOTE_ADDR");
  request.scheme = SchemeOf(params);
  request.headers = HeadersOf(params);

  if (request.query_string.size() > limits.max_query_bytes) {
    return Status::Error("query string is longer than " +
                         std::to_string(limits.max_query_bytes) + " bytes");
  }
  Result<Params> query = ParseUrlEncoded(request.query_string, limits);
  if (!query.ok()) return Status::Error("query string: " + query.error());
  request.query = std::move(*query);

  Result<std::map<std::string, std::string>> cookies =
      ParseCookies(request.Header("cookie"), limits);
  if (!cookies.ok()) return cookies.status();
  request.cookies = std::move(*cookies);

  if (request.method == "POST") {
    Result<Params> form = ParseFormBody(request, body, limits);
    if (!form.ok()) return form.status();
    request.form = std::move(*form);
  }
  return request;
}

HttpResponse ParseErrorResponse(int status, std::string_view message,
                                const RequestLimits& limits) {
  if (!limits.json_errors) return ErrorPage(status, message);
  const nlohmann::json body = {
      {"error", status == 413 ? "payload_too_large" : "invalid_request"},
      {"message", message}};
  // A message may quote bytes of the request that are not UTF-8, which
  // dump() would otherwise throw on.
  return HttpResponse::Json(
      status, body.dump(-1, ' ', false,
                        nlohmann::json::error_handler_t::replace));
}

HttpResponse HttpResponse::Html(int status, std::string body) {
  HttpResponse response{status, {}, std::move(body)};
  response.AddHeader("Content-Type", "text/html; charset=utf-8");
  return response;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse response{status, {}, std::move(body)};
  response.AddHeader("Content-Type", "application/json; charset=utf-8");
  return response;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse response{status, {}, std::move(body)};
  response.AddHeader("Content-Type", "text/plain; charset=utf-8");
  return response;
}

HttpResponse HttpResponse::Redirect(const std::string& location) {
  const std::string escaped = HtmlEscape(location);
  HttpResponse response =
      Html(302,
           "<!DOCTYPE html>\n<title>Found</title>\n<p>Continue to <a "
           "href=\"" +
               escaped + "\">" + escaped + "</a>.</p>\n");
  response.AddHeader("Location", location);
  return response;
}

void HttpResponse::AddHeader(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
}

void HttpResponse::SetCookie(const Cookie& cookie) {
  if (const char* problem = CookieProblem(cookie)) {
    LogError("cookie " + QuoteForMessage(cookie.name) + " not set: " + problem);
    return;
  }
  std::string value = cookie.name + "=" + cookie.value;
  if (!cookie.path.empty()) value += "; Path=" + cookie.path;
  if (cookie.max_age_s >= 0) {
    value += "; Max-Age=" + std::to_string(cookie.max_age_s);
  }
  if (cookie.http_only) value += "; HttpOnly";
  if (cookie.secure) value += "; Secure";
  if (!cookie.same_site.empty()) value += "; SameSite=" + cookie.same_site;
  AddHeader("Set-Cookie", std::move(value));
}

std::string SerializeResponse(const HttpResponse& response) {
  int status = response.status;
  if (status < 100 || status > 599) {
    LogError("invalid HTTP status " + std::to_string(status) +
             " in response; sending 500 instead");
    status = 500;
  }
  std::string out = "Status: " + std::to_string(status);
  if (const char* reason = ReasonPhrase(status)) {
    out += ' ';
    out += reason;
  }
  out += "\r\n";

  std::vector<std::string_view> sent_names;
  for (const auto& [name, value] : response.headers) {
    if (const char* problem = HeaderProblem(name, value)) {
      LogWarning("dropped response header " + QuoteForMessage(name) + ": " +
                 problem);
      continue;
    }
    out += name + ": " + value + "\r\n";
    sent_names.push_back(name);
  }

  auto add_when_absent = [&](std::string_view name, std::string_view value) {
    const bool present = std::any_of(
        sent_names.begin(), sent_names.end(),
        [name](std::string_view sent) { return EqualsIgnoreCase(sent, name); });
    if (present) return;
    out.append(name).append(": ").append(value).append("\r\n");
  };
  add_when_absent("Content-Type", "text/plain; charset=utf-8");
  add_when_absent("Cache-Control", "no-store");
  add_when_absent("X-Content-Type-Options", "nosniff");
  add_when_absent("Referrer-Policy", "no-referrer");
  add_when_absent("X-Frame-Options", "DENY");
  add_when_absent("Content-Security-Policy", kContentSecurityPolicy);

  out += "\r\n";
  out += response.body;
  return out;
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Moves a listener passed by the sd_listen_fds(3) protocol (fd 3, with
// LISTEN_PID and LISTEN_FDS set, as systemd-socket-activate and socket
// units without StandardInput=socket pass it) to fd 0, where libfcgi
// accepts.
void AdoptSocketActivationListener() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr) return;
  if (std::string(pid) != std::to_string(::getpid())) return;
  if (std::string(fds) != "1") {
    LogWarning(std::string("LISTEN_FDS is \"") + fds +
               "\"; only one listening socket is supported");
    return;
  }
  if (IsListeningSocket(STDIN_FILENO) || !IsListeningSocket(3)) return;
  if (::dup2(3, STDIN_FILENO) < 0) {
    LogError("dup2 of the activated socket failed: " + ErrnoText(errno));
    return;
  }
  ::close(3);
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
}

namespace {

// Receive timeout set on the listening socket, so that accept(2) inside
// FCGX_Accept_r returns EAGAIN this often and the responder threads check
// the stop flag. It is also the step of the signal wait in RunFastCgi.
constexpr int kStopCheckIntervalMs = 200;

// One responder thread: its handler, its FastCGI request and its result.
struct Responder {
  int index = 0;
  RequestHandler handler;
  FCGX_Request request = {};
  std::thread thread;
  int exit_code = 0;  // written by the thread before it sets `finished`
  std::atomic<bool> finished{false};
};

using Responders = std::vector<std::unique_ptr<Responder>>;

// State shared by every responder thread. Outlives the threads.
struct ResponderContext {
  RequestLimits limits;
  RejectionLog rejection_log;
  // Set by the thread running RunFastCgi when the threads are to stop.
  std::atomic<bool> stop_requested{false};
  // True when fd 0 is a TCP listener, whose accepted sockets inherit its
  // receive timeout.
  bool listener_is_tcp = false;
};

// Returns SIGTERM and SIGINT, the signals that stop RunFastCgi.
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

Status SetReceiveTimeout(int fd, int timeout_ms) {
  const timeval timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) !=
      0) {
    return Status::Error("setsockopt(SO_RCVTIMEO) on fd " + std::to_string(fd) +
                         " failed: " + ErrnoText(errno));
  }
  return Status::Ok();
}

// Returns true when `fd` is an AF_INET or AF_INET6 socket.
bool IsTcpSocket(int fd) {
  int domain = 0;
  socklen_t size = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0) return false;
  return domain == AF_INET || domain == AF_INET6;
}

// Calls `make_handler` for each thread. Returns the responders, not yet
// started, or what failed.
Result<Responders> MakeResponders(int thread_count,
                                  const RequestHandlerFactory& make_handler) {
  Responders responders;
  for (int index = 0; index < thread_count; ++index) {
    auto responder = std::make_unique<Responder>();
    responder->index = index;
    const std::string failed = "creating the handler of responder thread " +
                               std::to_string(index) + " failed: ";
    try {
      Result<RequestHandler> handler = make_handler(index);
      if (!handler.ok()) return Status::Error(failed + handler.error());
      responder->handler = std::move(*handler);
    } catch (const std::exception& error) {
      return Status::Error(failed + error.what());
    }
    if (FCGX_InitRequest(&responder->request, STDIN_FILENO, 0) != 0) {
      return Status::Error("FCGX_InitRequest failed on fd 0");
    }
    responders.push_back(std::move(responder));
  }
  return responders;
}

// Accepts and serves requests until the stop flag is set or accept fails.
// Runs on the responder's own thread with SIGTERM and SIGINT blocked,
// because libfcgi 2.4.2 (Debian 12) drops the connection, or loops forever
// on a closed descriptor, when a signal interrupts one of its system calls.
void RunResponder(Responder& responder, ResponderContext& context) {
  while (!context.stop_requested.load()) {
    const int accepted = FCGX_Accept_r(&responder.request);
    // accept(2) timed out on the listener's receive timeout, or a signal
    // other than the blocked ones interrupted it.
    if (accepted == -EAGAIN || accepted == -EWOULDBLOCK || accepted == -EINTR) {
      continue;
    }
    if (accepted < 0) {
      // FCGX_Accept_r returns -errno, or -9999 when errno was not set.
      LogError("FCGX_Accept_r failed in responder thread " +
               std::to_string(responder.index) + ": " +
               (accepted == -9999 ? std::string("unknown error")
                                  : LibFcgiErrorText(-accepted)));
      responder.exit_code = 1;
      break;
    }
    // NOTE: a TCP connection inherits the listener's receive timeout, and
    // libfcgi reads its params inside FCGX_Accept_r, before this point. A
    // peer that pauses longer than kStopCheckIntervalMs within the params
    // is disconnected. Unix sockets, as deployed, inherit no timeout.
    if (context.listener_is_tcp) {
      if (Status cleared = SetReceiveTimeout(responder.request.ipcFd, 0);
          !cleared.ok()) {
        LogWarning(cleared.message());
      }
    }
    ServeRequest(responder.request, context.limits, responder.handler,
                 context.rejection_log);
    FCGX_Finish_r(&responder.request);
  }

  FCGX_Free(&responder.request, 1);
  responder.finished.store(true);
}

// Starts one thread per responder. On failure, returns the error and
// leaves the threads that did start in `responders`.
Status StartResponders(Responders& responders, ResponderContext& context) {
  for (size_t i = 0; i < responders.size(); ++i) {
    Responder& responder = *responders[i];
    try {
      responder.thread =
          std::thread(RunResponder, std::ref(responder), std::ref(context));
    } catch (const std::system_error& error) {
      responders.resize(i);
      return Status::Error("starting responder thread " + std::to_string(i) +
                           " failed: " + error.what());
    }
  }
  return Status::Ok();
}

// Sets the stop flag and joins every responder thread. A thread waiting
// for a connection checks the flag within kStopCheckIntervalMs, when accept
// times out. A thread serving a request, or reading one inside
// FCGX_Accept_r, first finishes it and sends the response.
void StopResponders(Responders& responders, ResponderContext& context) {
  context.stop_requested.store(true);
  for (const std::unique_ptr<Responder>& responder : responders) {
    responder->thread.join();
  }
}

// Waits until SIGTERM or SIGINT arrives or a responder thread ends by
// itself after an accept error. Returns the signal number, 0 when a thread
// ended, or -1 when sigtimedwait fails. REQUIRES: the stop signals are
// blocked in every thread.
int WaitForStop(const Responders& responders) {
  const sigset_t stop_signals = StopSignals();
  const timespec step = {0, kStopCheckIntervalMs * 1000L * 1000L};
  auto any_finished = [&responders] {
    return std::any_of(responders.begin(), responders.end(),
                       [](const std::unique_ptr<Responder>& responder) {
                         return responder->finished.load();
                       });
  };
  while (!any_finished()) {
    const int signal = sigtimedwait(&stop_signals, nullptr, &step);
    if (signal > 0) return signal;
    if (errno != EAGAIN && errno != EINTR) {
      LogError("sigtimedwait failed: " + ErrnoText(errno));
      return -1;
    }
  }
  return 0;
}

}  // namespace

int RunFastCgi(const RequestLimits& limits, const RequestHandler& handler) {
  return RunFastCgi(
      limits, 1, [&handler](int) -> Result<RequestHandler> { return handler; });
}

int RunFastCgi(const RequestLimits& limits, int thread_count,
               const RequestHandlerFactory& make_handler) {
  if (thread_count < 1 || thread_count > kMaxFastCgiThreads) {
    LogError("invalid FastCGI thread count " + std::to_string(thread_count) +
             "; expected 1 to " + std::to_string(kMaxFastCgiThreads));
    return 1;
  }
  // Blocked before make_handler runs, so that every thread started from
  // here on inherits the mask and only sigtimedwait below takes them.
  const sigset_t stop_signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  AdoptSocketActivationListener();
  if (!IsListeningSocket(STDIN_FILENO)) {
    LogError(
        "fd 0 is not a listening socket; start the program with systemd "
        "socket activation (StandardInput=socket) or spawn-fcgi");
    return 1;
  }
  if (Status set = SetReceiveTimeout(STDIN_FILENO, kStopCheckIntervalMs);
      !set.ok()) {
    LogError(set.message());
    return 1;
  }
  if (FCGX_Init() != 0) {
    LogError("FCGX_Init failed");
    return 1;
  }
  Result<Responders> responders = MakeResponders(thread_count, make_handler);
  if (!responders.ok()) {
    LogError(responders.error());
    return 1;
  }

  ResponderContext context;
  context.limits = limits;
  context.listener_is_tcp = IsTcpSocket(STDIN_FILENO);
  if (Status started = StartResponders(*responders, context); !started.ok()) {
    LogError(started.message());
    StopResponders(*responders, context);
    return 1;
  }
  LogInfo("accepting FastCGI requests on fd 0 with " +
          std::to_string(thread_count) +
          (thread_count == 1 ? " thread" : " threads"));

  const int signal = WaitForStop(*responders);
  StopResponders(*responders, context);
  const bool failed =
      signal < 0 ||
      std::any_of(responders->begin(), responders->end(),
                  [](const std::unique_ptr<Responder>& responder) {
                    return responder->exit_code != 0;
                  });
  if (failed || signal == 0) return 1;
  LogInfo(signal == SIGINT ? "stopped on SIGINT" : "stopped on SIGTERM");
  return 0;
}

}  // namespace srconnect
