// Stack: the whole srconnect stack of scripts/stack (fake SmartRecruiters,
// the FastCGI binaries under spawn-fcgi, nginx) in a temporary directory on
// free loopback ports, for one test. Browser: a cookie-keeping HTTP client
// that walks the stack's pages as a browser would.
//
// REQUIRES: SRCONNECT_SOURCE_DIR and SRCONNECT_BINARY_DIR compile
// definitions, built binaries, nginx and spawn-fcgi installed.

#ifndef SRCONNECT_TESTS_SUPPORT_STACK_H_
#define SRCONNECT_TESTS_SUPPORT_STACK_H_

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace srconnect::testing {

// Returns the whole file, or "" when it cannot be read.
inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class Stack {
 public:
  // Starts the stack; `options` go to `scripts/stack start` as they are
  // (e.g. {"--display-mode", "POPUP"}). Throws std::runtime_error with the
  // script's output when it fails.
  explicit Stack(std::vector<std::string> options = {}) {
    std::string command = Script() + " start " + dir_.path() +
                          " --build-dir " SRCONNECT_BINARY_DIR;
    for (const std::string& option : options) command += " '" + option + "'";
    command += " >" + dir_.File("stack-start.log") + " 2>&1";
    if (std::system(command.c_str()) != 0) {
      const std::string output = ReadWholeFile(dir_.File("stack-start.log"));
      Stop();
      throw std::runtime_error("scripts/stack start failed: " + output);
    }
    ReadEnv();
  }

  ~Stack() { Stop(); }

  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // A value of stack.env: SRCONNECT_URL, FAKE_URL, CONFIG, DATABASE,
  // LOG_DIR, CLI, REFRESH, START_LINK, STATUS_LINK, and FORWARDED_URL when
  // the stack was started with --forwarded-for.
  const std::string& Env(const std::string& name) const {
    auto found = env_.find(name);
    if (found == env_.end()) {
      throw std::runtime_error("stack.env has no " + name);
    }
    return found->second;
  }

  const std::string& dir() const { return dir_.path(); }

  // Runs the CLI with the stack's configuration; returns its exit code and
  // puts its standard output into `output`.
  int RunCli(const std::string& arguments, std::string* output) const {
    const std::string out_file = dir_.File("cli.out");
    const std::string command = Env("CLI") + " --config " + Env("CONFIG") +
                                " " + arguments + " >" + out_file +
                                " 2>>" + dir_.File("cli.err");
    const int status = std::system(command.c_str());
    if (output != nullptr) *output = ReadWholeFile(out_file);
    return WEXITSTATUS(status);
  }

  // Returns a signed link to the start (or status) page for `account`.
  std::string SignLink(const std::string& account,
                       const std::string& page = "start") const {
    std::string link;
    if (RunCli("sign-link " + account + " --page " + page, &link) != 0) {
      throw std::runtime_error("srconnect sign-link failed");
    }
    while (!link.empty() && link.back() == '\n') link.pop_back();
    return link;
  }

  // Every log file of the stack, concatenated.
  std::string AllLogs() const {
    std::string logs;
    for (const auto& entry :
         std::filesystem::directory_iterator(Env("LOG_DIR"))) {
      logs += ReadWholeFile(entry.path().string());
    }
    return logs;
  }

  // Calls the fake's admin API. Throws when the status is not 200.
  nlohmann::json FakeAdmin(const std::string& method, const std::string& path,
                           const nlohmann::json& body = nullptr) const {
    httplib::Client client(Env("FAKE_URL"));
    client.set_read_timeout(std::chrono::seconds(10));
    const std::string text = body.is_null() ? "" : body.dump();
    httplib::Result result =
        method == "GET"      ? client.Get(path.c_str())
        : method == "DELETE" ? client.Delete(path.c_str())
                             : client.Post(path.c_str(), text,
                                           "application/json");
    if (!result || result->status != 200) {
      throw std::runtime_error("fake admin " + method + " " + path +
                               " failed");
    }
    return nlohmann::json::parse(result->body);
  }

 private:
  static std::string Script() {
    return std::string(SRCONNECT_SOURCE_DIR) + "/scripts/stack";
  }

  void ReadEnv() {
    std::ifstream in(dir_.File("stack.env"));
    std::string line;
    while (std::getline(in, line)) {
      const size_t equals = line.find('=');
      if (equals == std::string::npos) continue;
      std::string value = line.substr(equals + 1);
      // printf %q quotes URLs with '&' as $'...' or with backslashes.
      std::string unquoted;
      for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) {
          unquoted.push_back(value[++i]);
        } else {
          unquoted.push_back(value[i]);
        }
      }
      env_[line.substr(0, equals)] = unquoted;
    }
  }

  void Stop() {
    const std::string command =
        Script() + " stop " + dir_.path() + " >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) {
      // Nothing more to do in a destructor; the directory goes anyway.
    }
  }

  TempDir dir_;
  std::map<std::string, std::string> env_;
};

struct Response {
  int status = 0;  // 0 when no response arrived
  std::string location;
  std::string body;
  std::vector<std::string> set_cookies;
};

// Splits "http://host:port/path?query" into origin and the rest.
inline std::pair<std::string, std::string> SplitUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == std::string::npos ? 0
                                                                : scheme + 3);
  if (path == std::string::npos) return {url, "/"};
  return {url.substr(0, path), url.substr(path)};
}

// A cookie-keeping client. Cookies are kept per origin host (without port,
// as browsers do), by name; paths and expiry are not modelled except that
// Max-Age=0 deletes.
class Browser {
 public:
  bool cookies_enabled = true;

  Response Get(const std::string& url) { return Send("GET", url, ""); }

  Response PostForm(const std::string& url, const httplib::Params& form) {
    return Send("POST", url, httplib::detail::params_to_query_str(form));
  }

  // Follows redirects with GET, at most `max` times.
  Response Follow(Response response, int max = 5) {
    while (max-- > 0 && (response.status == 302 || response.status == 303) &&
           !response.location.empty()) {
      response = Get(response.location);
    }
    return response;
  }

  std::string Cookie(const std::string& host, const std::string& name) const {
    auto jar = jars_.find(host);
    if (jar == jars_.end()) return "";
    auto found = jar->second.find(name);
    return found == jar->second.end() ? "" : found->second;
  }

  void SetCookie(const std::string& host, const std::string& name,
                 const std::string& value) {
    jars_[host][name] = value;
  }

 private:
  static std::string HostOf(const std::string& origin) {
    const size_t start = origin.find("://") + 3;
    const size_t colon = origin.find(':', start);
    return origin.substr(start, colon - start);
  }

  Response Send(const std::string& method, const std::string& url,
                const std::string& form) {
    auto [origin, path] = SplitUrl(url);
    const std::string host = HostOf(origin);
    httplib::Client client(origin);
    client.set_connection_timeout(std::chrono::seconds(5));
    client.set_read_timeout(std::chrono::seconds(60));
    httplib::Headers headers;
    std::string cookie_header;
    for (const auto& [name, value] : jars_[host]) {
      if (!cookie_header.empty()) cookie_header += "; ";
      cookie_header += name + "=" + value;
    }
    if (!cookie_header.empty()) headers.emplace("Cookie", cookie_header);
    httplib::Result result =
        method == "GET"
            ? client.Get(path.c_str(), headers)
            : client.Post(path.c_str(), headers, form,
                          "application/x-www-form-urlencoded");
    Response response;
    if (!result) return response;
    response.status = result->status;
    response.body = result->body;
    response.location = result->get_header_value("Location");
    const size_t count = result->get_header_value_count("Set-Cookie");
    for (size_t i = 0; i < count; ++i) {
      const std::string line = result->get_header_value("Set-Cookie", i);
      response.set_cookies.push_back(line);
      if (cookies_enabled) Remember(host, line);
    }
    return response;
  }

  void Remember(const std::string& host, const std::string& line) {
    const size_t equals = line.find('=');
    const size_t end = line.find(';');
    if (equals == std::string::npos) return;
    const std::string name = line.substr(0, equals);
    const std::string value = line.substr(equals + 1, end - equals - 1);
    if (line.find("Max-Age=0") != std::string::npos || value.empty()) {
      jars_[host].erase(name);
    } else {
      jars_[host][name] = value;
    }
  }

  std::map<std::string, std::map<std::string, std::string>> jars_;
};

// Returns the value of the hidden input `name` in `html`, "" if absent.
inline std::string HiddenField(const std::string& html,
                               const std::string& name) {
  const std::string marker = "name=\"" + name + "\" value=\"";
  const size_t start = html.find(marker);
  if (start == std::string::npos) return "";
  const size_t value = start + marker.size();
  std::string text = html.substr(value, html.find('"', value) - value);
  // Undo HtmlEscape of '&' in URLs.
  for (size_t at = text.find("&amp;"); at != std::string::npos;
       at = text.find("&amp;", at + 1)) {
    text.replace(at, 5, "&");
  }
  return text;
}

}  // namespace srconnect::testing

#endif  // SRCONNECT_TESTS_SUPPORT_STACK_H_
