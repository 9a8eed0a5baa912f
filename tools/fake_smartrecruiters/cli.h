// The fake's command line.

#ifndef SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CLI_H_
#define SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CLI_H_

#include <string>
#include <vector>

#include "status.h"

namespace srconnect::fake {

struct CommandLine {
  std::string listen_host = "127.0.0.1";  // without IPv6 brackets
  int listen_port = 0;                    // 0: pick a free port
  std::string config_path;
  std::string port_file;
  std::string public_url;  // empty: derived from the bound address
  std::string request_log_path;
  std::string tls_cert_path;
  std::string tls_key_path;
  int token_lifetime_s = 1800;
  std::vector<std::string> faults;  // compact fault specs
  bool help = false;
};

// Parses argv. Accepts "--name value" and "--name=value". Errors name the
// option and the problem; a non-loopback --listen host is an error.
Result<CommandLine> ParseCommandLine(int argc, char** argv);

// Returns the --help text.
std::string Usage();

}  // namespace srconnect::fake

#endif  // SRCONNECT_TOOLS_FAKE_SMARTRECRUITERS_CLI_H_
