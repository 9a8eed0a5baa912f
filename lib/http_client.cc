#include "http_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include <httplib.h>

#include "log.h"

namespace srconnect {
namespace {

// Maximum response body. Token and setup responses are a few hundred bytes,
// so a larger body comes from a wrong host or a misbehaving peer.
constexpr size_t kMaxResponseBodyBytes = 1 << 20;

constexpr char kUserAgent[] = "srconnect/0.1";

struct ParsedUrl {
  bool https = false;
  std::string host;
  int port = 0;
  // Path prefix: empty or "/a/b", never with a trailing '/'.
  std::string path_prefix;
};

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

HttpResult Failure(TransportError error, std::string text) {
  HttpResult result;
  result.error = error;
  result.error_text = std::move(text);
  return result;
}

// Splits "scheme://host[:port][/prefix]". Returns an empty string on
// success, else what is wrong with the URL.
std::string ParseBaseUrl(std::string_view url, ParsedUrl& parsed) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return "missing \"http://\" or \"https://\"";
  }
  const std::string scheme = ToLower(url.substr(0, scheme_end));
  if (scheme == "https") {
    parsed.https = true;
    parsed.port = 443;
  } else if (scheme == "http") {
    parsed.port = 80;
  } else {
    return "scheme \"" + scheme + "\" is not http or https";
  }

  std::string_view rest = url.substr(scheme_end + 3);
  const size_t authority_end = rest.find('/');
  std::string_view authority = rest.substr(0, authority_end);
  if (authority_end != std::string_view::npos) {
    std::string_view prefix = rest.substr(authority_end);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    parsed.path_prefix = std::string(prefix);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "a query or fragment is not allowed";
  }
  if (authority.find('@') != std::string_view::npos) {
    return "user information is not allowed";
  }

  // An IPv6 literal is bracketed: "[::1]:8443".
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the host";
    parsed.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "unexpected text after ']'";
      port_text = after.substr(1);
      if (port_text.empty()) return "empty port";
    }
  } else {
    const size_t colon = authority.find(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return "empty port";
    }
  }
  if (parsed.host.empty()) return "missing host";

  if (!port_text.empty()) {
    int port = 0;
    const auto [end, ec] = std::from_chars(
        port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() ||
        port < 1 || port > 65535) {
      return "port \"" + std::string(port_text) + "\" is not 1..65535";
    }
    parsed.port = port;
  }
  return "";
}

// Maps a cpp-httplib failure to a TransportError.
//
// cpp-httplib 0.11.4 reports a read timeout and a peer that closed the
// connection early with the same Error::Read, so the elapsed time
// distinguishes them: a Read failure after at least 90% of the read timeout is
// a timeout, an earlier one is a closed connection. The margin absorbs clock
// granularity around select(2).
TransportError Classify(httplib::Error error, std::chrono::milliseconds elapsed,
                        int64_t read_timeout_ms) {
  switch (error) {
    case httplib::Error::Connection:
      return TransportError::kConnect;
    case httplib::Error::ConnectionTimeout:
      return TransportError::kTimeout;
    case httplib::Error::Read:
      return elapsed.count() * 10 >= read_timeout_ms * 9
                 ? TransportError::kTimeout
                 : TransportError::kConnect;
    // A write fails when the peer resets the connection while the request
    // is sent, which is a connection failure before any response.
    case httplib::Error::Write:
      return TransportError::kConnect;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return TransportError::kTls;
    default:
      return TransportError::kOther;
  }
}

// Returns "host:port", with brackets around an IPv6 literal.
std::string Authority(const ParsedUrl& url) {
  const bool ipv6 = url.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + url.host + "]" : url.host) + ":" +
         std::to_string(url.port);
}

// Describes a failed exchange with the peer's address and, for a timeout,
// the limit that ran out, so a log line shows which host and limit failed.
std::string DescribeError(httplib::Error error, TransportError transport,
                          const HttpClientOptions& options,
                          const ParsedUrl& url) {
  std::string text = httplib::to_string(error);
  if (error == httplib::Error::Read) {
    text += transport == TransportError::kTimeout
                ? ": no response within the read timeout of " +
                      std::to_string(options.read_timeout_ms) + " ms"
                : ": connection closed before a complete response";
  } else if (error == httplib::Error::ConnectionTimeout) {
    text += ": no connection within the connect timeout of " +
            std::to_string(options.connect_timeout_ms) + " ms";
  }
  return text + ", peer " + Authority(url);
}

std::unique_ptr<httplib::ClientImpl> MakeClient(
    const HttpClientOptions& options, const ParsedUrl& url, bool keep_alive) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.https) {
    client = std::make_unique<httplib::SSLClient>(url.host, url.port);
    // Verification is never switched off. Without a CA file cpp-httplib
    // loads OpenSSL's default verify paths, the system store.
    client->enable_server_certificate_verification(true);
    if (!options.ca_file.empty()) client->set_ca_cert_path(options.ca_file);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  }

  // NOTE: cpp-httplib applies the read timeout to each socket read, not to
  // the whole response, so a peer that sends a byte now and then can hold a
  // call longer than connect + read timeout.
  client->set_connection_timeout(
      std::chrono::milliseconds(options.connect_timeout_ms));
  client->set_read_timeout(std::chrono::milliseconds(options.read_timeout_ms));
  // HttpClientOptions has no write timeout. The request bodies are small, so
  // the read timeout bounds sending them too.
  client->set_write_timeout(std::chrono::milliseconds(options.read_timeout_ms));
  client->set_keep_alive(keep_alive);
  // cpp-httplib writes a request's headers and body separately. On a kept
  // connection Nagle's algorithm delays the body until the server's delayed
  // ACK of the headers, which adds up to 40 ms on Linux to each request.
  client->set_tcp_nodelay(true);
  client->set_follow_location(false);
  return client;
}

// Checks the base URL and the request path; returns nothing when both are
// usable, else the failure to report.
std::optional<HttpResult> CheckTarget(const HttpClientOptions& options,
                                      std::string_view path, ParsedUrl& url) {
  if (std::string problem = ParseBaseUrl(options.base_url, url);
      !problem.empty()) {
    return Failure(TransportError::kOther,
                   "invalid base URL \"" + options.base_url + "\": " + problem);
  }
  if (path.empty() || path.front() != '/') {
    return Failure(
        TransportError::kOther,
        "request path \"" + std::string(path) + "\" does not start with '/'");
  }
  return std::nullopt;
}

struct Exchange {
  HttpResult result;
  // True when the request failed with a connection error before the
  // response's status line and headers arrived, within the retry window.
  // Only then may the request go out once more.
  bool may_retry = false;
  // True when the server asked to close the connection after this response.
  bool server_closes = false;
};

// Sends one request with `client` and reads the response.
Exchange SendWith(httplib::ClientImpl& client, const HttpClientOptions& options,
                  const ParsedUrl& url, std::string_view method,
                  std::string_view path, std::string_view content_type,
                  std::string_view body, std::string_view bearer_token) {
  httplib::Request request;
  request.method = std::string(method);
  request.path = url.path_prefix + std::string(path);
  request.headers.emplace("Accept", "application/json");
  request.headers.emplace("User-Agent", kUserAgent);
  if (!bearer_token.empty()) {
    request.headers.emplace("Authorization",
                            "Bearer " + std::string(bearer_token));
  }
  if (!content_type.empty()) {
    request.headers.emplace("Content-Type", std::string(content_type));
    request.body = std::string(body);
  }

  // Set once the status line and headers are read; a failure after that
  // is never retried.
  bool headers_read = false;
  request.response_handler = [&](const httplib::Response&) {
    headers_read = true;
    return true;
  };

  // The receiver stores the body, so that its size can be capped.
  std::string response_body;
  bool body_too_large = false;
  request.content_receiver = [&](const char* data, size_t length, uint64_t,
                                 uint64_t) {
    if (response_body.size() + length > kMaxResponseBodyBytes) {
      body_too_large = true;
      return false;
    }
    response_body.append(data, length);
    return true;
  };

  const auto start = std::chrono::steady_clock::now();
  httplib::Result result = client.send(request);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);

  Exchange exchange;
  if (!result) {
    const httplib::Error error = result.error();
    if (body_too_large) {
      exchange.result = Failure(TransportError::kOther,
                                "response body exceeds " +
                                    std::to_string(kMaxResponseBodyBytes) +
                                    " bytes");
      return exchange;
    }
    const TransportError transport =
        Classify(error, elapsed, options.read_timeout_ms);
    exchange.result =
        Failure(transport, DescribeError(error, transport, options, url));
    exchange.may_retry = transport == TransportError::kConnect &&
                         !headers_read &&
                         elapsed.count() <= RetryWindowMs(options);
    return exchange;
  }

  HttpResult& response = exchange.result;
  response.status = result->status;
  response.body = std::move(response_body);
  // Only the first value of a repeated header is kept. None of the headers
  // read here (Retry-After, Content-Type) may repeat.
  for (const auto& [name, value] : result->headers) {
    response.headers.emplace(ToLower(name), value);
  }
  const auto connection = response.headers.find("connection");
  exchange.server_closes = connection != response.headers.end() &&
                           ToLower(connection->second) == "close";
  return exchange;
}

HttpResult SendOnce(const HttpClientOptions& options, std::string_view method,
                    std::string_view path, std::string_view content_type,
                    std::string_view body, std::string_view bearer_token) {
  ParsedUrl url;
  if (std::optional<HttpResult> bad = CheckTarget(options, path, url)) {
    return *std::move(bad);
  }
  std::unique_ptr<httplib::ClientImpl> client =
      MakeClient(options, url, /*keep_alive=*/false);
  if (!client->is_valid()) {
    return Failure(TransportError::kTls, "TLS context creation failed");
  }
  return SendWith(*client, options, url, method, path, content_type, body,
                  bearer_token)
      .result;
}

}  // namespace

int64_t RetryWindowMs(const HttpClientOptions& options) {
  return std::min<int64_t>(1000, options.read_timeout_ms / 10);
}

int64_t LongestCallMs(const HttpClientOptions& options) {
  return RetryWindowMs(options) + options.connect_timeout_ms +
         options.read_timeout_ms;
}

HttpResult SendHttpRequest(const HttpClientOptions& options,
                           std::string_view method, std::string_view path,
                           std::string_view content_type, std::string_view body,
                           std::string_view bearer_token) {
  try {
    return SendOnce(options, method, path, content_type, body, bearer_token);
  } catch (const std::exception& e) {
    return Failure(TransportError::kOther,
                   std::string("HTTP client failed: ") + e.what());
  }
}

struct HttpConnection::State {
  ParsedUrl url;
  // Null until the first request, and after a failure or a response that
  // closed the connection.
  std::unique_ptr<httplib::ClientImpl> client;
  // Responses read on `client`'s current connection.
  int64_t responses = 0;
};

HttpConnection::HttpConnection(HttpClientOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {}

HttpConnection::~HttpConnection() = default;

HttpResult HttpConnection::Send(std::string_view method, std::string_view path,
                                std::string_view content_type,
                                std::string_view body,
                                std::string_view bearer_token) {
  try {
    if (std::optional<HttpResult> bad =
            CheckTarget(options_, path, state_->url)) {
      return *std::move(bad);
    }
    for (int attempt = 0;; ++attempt) {
      const bool reused = state_->client != nullptr && state_->responses > 0;
      if (state_->client == nullptr) {
        state_->client = MakeClient(options_, state_->url, /*keep_alive=*/true);
        state_->responses = 0;
        if (!state_->client->is_valid()) {
          state_->client.reset();
          return Failure(TransportError::kTls, "TLS context creation failed");
        }
      }
      Exchange exchange = SendWith(*state_->client, options_, state_->url,
                                   method, path, content_type, body,
                                   bearer_token);
      if (exchange.result.error == TransportError::kNone) {
        ++state_->responses;
        if (exchange.server_closes) state_->client.reset();
        return std::move(exchange.result);
      }
      // The connection's state is unknown after a failure: never reuse it.
      state_->client.reset();
      // A server may close a kept connection at the moment a request goes
      // out on it, which fails at once. Callers only send requests that are
      // safe to repeat, so one more try on a new connection is allowed. A
      // slower failure is not retried, which keeps the whole call within
      // LongestCallMs().
      if (!reused || !exchange.may_retry || attempt > 0) {
        return std::move(exchange.result);
      }
      LogInfo(std::string(method) + " " + std::string(path) +
              " failed on a kept connection (" + exchange.result.error_text +
              "); sending it once more on a new connection");
    }
  } catch (const std::exception& e) {
    state_->client.reset();
    return Failure(TransportError::kOther,
                   std::string("HTTP client failed: ") + e.what());
  }
}

}  // namespace srconnect
