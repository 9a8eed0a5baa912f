// The operator commands of the `srconnect` CLI. Each returns the process
// exit code: 0 on success, 1 when the command failed (the reason is on
// stderr), 2 on a usage error.

#ifndef SRCONNECT_TOOLS_CLI_COMMANDS_H_
#define SRCONNECT_TOOLS_CLI_COMMANDS_H_

#include <string>
#include <vector>

namespace srconnect::cli {

struct Invocation {
  std::string config_path;
  std::vector<std::string> args;  // after the command name
};

int Init(const Invocation& invocation);
int GenerateKey(const Invocation& invocation);
int GenerateSecret(const Invocation& invocation);
int SignLink(const Invocation& invocation);
int List(const Invocation& invocation);
int Show(const Invocation& invocation);
int Disconnect(const Invocation& invocation);
int RotateKey(const Invocation& invocation);
int Audit(const Invocation& invocation);

}  // namespace srconnect::cli

#endif  // SRCONNECT_TOOLS_CLI_COMMANDS_H_
