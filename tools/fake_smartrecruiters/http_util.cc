#include "http_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <string>

namespace srconnect::fake {
namespace {

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) {
    ++begin;
  }
  while (end > begin &&
         std::isspace(static_cast<unsigned char>(text[end - 1]))) {
    --end;
  }
  return std::string(text.substr(begin, end - begin));
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

void SetJson(httplib::Response& response, int status,
             const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

void SetErrorResponse(httplib::Response& response, int status,
                      const std::string& code, const std::string& message) {
  SetJson(response, status,
          {{"message", message},
           {"errors", {{{"code", code}, {"message", message}}}}});
}

void SetOAuthError(httplib::Response& response, int status,
                   const std::string& error, const std::string& description) {
  response.set_header("Cache-Control", "no-store");
  SetJson(response, status,
          {{"error", error}, {"error_description", description}});
}

void SetInvalidToken(httplib::Response& response, const std::string& message) {
  response.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  SetErrorResponse(response, 401, "unauthorized", message);
}

void SetHtml(httplib::Response& response, int status, const std::string& html) {
  response.status = status;
  response.set_content(html, "text/html; charset=utf-8");
}

std::optional<std::string> BearerToken(const httplib::Request& request) {
  const std::string header = request.get_header_value("Authorization");
  if (header.size() < 7 || Lower(header.substr(0, 7)) != "bearer ") {
    return std::nullopt;
  }
  std::string token = Trim(std::string_view(header).substr(7));
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<std::string> Cookie(const httplib::Request& request,
                                  std::string_view name) {
  const std::string header = request.get_header_value("Cookie");
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(';', start);
    if (end == std::string::npos) end = header.size();
    const std::string pair =
        Trim(std::string_view(header).substr(start, end - start));
    start = end + 1;
    const size_t equals = pair.find('=');
    if (equals != std::string::npos && pair.substr(0, equals) == name) {
      return pair.substr(equals + 1);
    }
  }
  return std::nullopt;
}

bool IsLoopbackAddress(const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

bool HasContentType(const httplib::Request& request, std::string_view type) {
  const std::string header = request.get_header_value("Content-Type");
  return Lower(Trim(std::string_view(header).substr(0, header.find(';')))) ==
         Lower(type);
}

}  // namespace srconnect::fake
