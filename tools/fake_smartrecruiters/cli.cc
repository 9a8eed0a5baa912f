#include "cli.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "http_util.h"

namespace srconnect::fake {
namespace {

Result<int> ParseInteger(const std::string& option, const std::string& text,
                         int min, int max) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min ||
      value > max) {
    return Status::Error(option + " \"" + text +
                         "\" is invalid; expected an "
                         "integer from " +
                         std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<int>(value);
}

// Splits HOST:PORT or [IPV6]:PORT and checks that HOST is loopback.
Status ParseListen(const std::string& text, CommandLine& command_line) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find("]:");
    if (close == std::string::npos) {
      return Status::Error("--listen \"" + text +
                           "\" is invalid; expected [IPV6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      return Status::Error("--listen \"" + text +
                           "\" is invalid; expected HOST:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }

  if (host != "localhost" && !IsLoopbackAddress(host)) {
    return Status::Error("--listen host \"" + host +
                         "\" is not a loopback address; the fake serves "
                         "loopback only, so use 127.0.0.1, [::1] or "
                         "localhost");
  }
  Result<int> number = ParseInteger("--listen port", port, 0, 65535);
  if (!number.ok()) return number.status();
  command_line.listen_host = host;
  command_line.listen_port = *number;
  return Status::Ok();
}

}  // namespace

Result<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine command_line;
  for (int i = 1; i < argc; ++i) {
    std::string option = argv[i];
    std::string value;
    bool has_value = false;
    const size_t equals = option.find('=');
    if (option.rfind("--", 0) == 0 && equals != std::string::npos) {
      value = option.substr(equals + 1);
      option = option.substr(0, equals);
      has_value = true;
    }

    if (option == "--help" || option == "-h") {
      command_line.help = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return Status::Error(option.rfind("--", 0) == 0
                                 ? option + " needs a value"
                                 : "unexpected argument \"" + option + "\"");
      }
      value = argv[++i];
    }

    if (option == "--listen") {
      if (Status status = ParseListen(value, command_line); !status.ok()) {
        return status;
      }
    } else if (option == "--config") {
      command_line.config_path = value;
    } else if (option == "--port-file") {
      command_line.port_file = value;
    } else if (option == "--public-url") {
      while (!value.empty() && value.back() == '/') value.pop_back();
      if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
        return Status::Error("--public-url \"" + value +
                             "\" is invalid; expected http:// or https://");
      }
      command_line.public_url = value;
    } else if (option == "--request-log") {
      command_line.request_log_path = value;
    } else if (option == "--tls-cert") {
      command_line.tls_cert_path = value;
    } else if (option == "--tls-key") {
      command_line.tls_key_path = value;
    } else if (option == "--token-lifetime-s") {
      Result<int> seconds = ParseInteger(option, value, 0, 86400 * 365);
      if (!seconds.ok()) return seconds.status();
      command_line.token_lifetime_s = *seconds;
    } else if (option == "--fault") {
      command_line.faults.push_back(value);
    } else {
      return Status::Error("unknown option \"" + option + "\"; see --help");
    }
  }

  if (command_line.help) return command_line;
  if (command_line.config_path.empty()) {
    return Status::Error("--config is missing");
  }
  if (command_line.tls_cert_path.empty() != command_line.tls_key_path.empty()) {
    return Status::Error("--tls-cert and --tls-key must be given together");
  }
  return command_line;
}

std::string Usage() {
  return R"(Usage: fake-smartrecruiters --config FILE [options]

A test double of SmartRecruiters' OAuth 2.0 General Partner Integration:
token endpoint, setup call, a sample API call, the admin's Partner Apps
pages, fault injection and an admin API under /fake-admin/, all on one
loopback port.

Options:
  --config FILE           YAML configuration: partner app and companies
  --listen HOST:PORT      loopback address to bind (default 127.0.0.1:0;
                          port 0 picks a free port)
  --port-file FILE        also write the bound port number to FILE
  --public-url URL        base URL put into redirect URLs
                          (default http(s)://HOST:PORT)
  --request-log FILE      append one JSON line per request to FILE
  --tls-cert FILE         PEM certificate chain; with --tls-key, serve HTTPS
  --tls-key FILE          PEM private key for --tls-cert
  --token-lifetime-s N    access token lifetime in seconds (default 1800)
  --fault SPEC            install a fault, e.g. token:status=503:count=2
                          (repeatable)
  --help                  print this help and exit

The first stdout line is "listening on URL". SIGTERM or SIGINT stops the
server. Exit status: 0 after a clean stop, 1 when binding or loading TLS
files fails, 2 for an invalid command line or configuration.
)";
}

}  // namespace srconnect::fake
