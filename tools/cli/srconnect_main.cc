// srconnect: the operator CLI. See Usage() or `srconnect --help`.

#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "commands.h"
#include "config.h"

namespace {

struct Command {
  int (*run)(const srconnect::cli::Invocation&);
  const char* usage;
};

const std::map<std::string, Command>& Commands() {
  using namespace srconnect::cli;
  static const std::map<std::string, Command> commands = {
      {"init",
       {Init,
        "init\n"
        "  Create the store key and the link secret where the configuration\n"
        "  points to files that do not exist yet (mode 0600), then create or\n"
        "  migrate the database. Never overwrites an existing file.\n"}},
      {"generate-key",
       {GenerateKey,
        "generate-key FILE\n"
        "  Write a new 32-byte store key to FILE (mode 0600), for a\n"
        "  systemd credential or a key rotation. FILE must not exist.\n"}},
      {"generate-secret",
       {GenerateSecret,
        "generate-secret FILE\n"
        "  Write a new random link secret to FILE (mode 0600). Share it\n"
        "  with the partner product, which signs account links with it.\n"}},
      {"sign-link",
       {SignLink,
        "sign-link ACCOUNT [--page start|status] [--ttl SECONDS]\n"
        "  Print a signed link to the start page (default) or the status\n"
        "  page of ACCOUNT, valid for SECONDS (default 900), based on\n"
        "  partner.public_base_url.\n"}},
      {"list",
       {List,
        "list [--json]\n"
        "  List every connection with its state and token expiry.\n"}},
      {"show",
       {Show,
        "show ACCOUNT [--json]\n"
        "  Show one account's connection and its latest audit entries.\n"}},
      {"disconnect",
       {Disconnect,
        "disconnect ACCOUNT --reason TEXT\n"
        "  Mark the account's connection disconnected and erase its\n"
        "  credentials. The admin must reintegrate to connect again.\n"}},
      {"rotate-key",
       {RotateKey,
        "rotate-key NEW_KEY_FILE\n"
        "  Re-seal every stored secret with the key in NEW_KEY_FILE (make it\n"
        "  with generate-key). Afterwards point store.key at NEW_KEY_FILE.\n"}},
      {"audit",
       {Audit,
        "audit [ACCOUNT] [--limit N]\n"
        "  Print the audit log, newest first (default limit 50).\n"}},
  };
  return commands;
}

void PrintUsage(std::FILE* out) {
  std::fputs(
      "usage: srconnect [--config PATH] COMMAND [ARGS]\n"
      "Operator tool for srconnect. PATH defaults to $SRCONNECT_CONFIG, then\n"
      "/etc/srconnect/srconnect.yaml. `srconnect COMMAND --help` describes\n"
      "one command.\n\ncommands:\n",
      out);
  for (const auto& [name, command] : Commands()) {
    std::fprintf(out, "  %s", command.usage);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_flag;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "-h") == 0) {
      PrintUsage(stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_flag = argv[++i];
      continue;
    }
    std::fprintf(stderr, "srconnect: unknown option \"%s\"\n", argv[i]);
    PrintUsage(stderr);
    return 2;
  }
  if (i >= argc) {
    PrintUsage(stderr);
    return 2;
  }

  auto command = Commands().find(argv[i]);
  if (command == Commands().end()) {
    std::fprintf(stderr, "srconnect: unknown command \"%s\"\n", argv[i]);
    PrintUsage(stderr);
    return 2;
  }
  srconnect::cli::Invocation invocation;
  invocation.config_path = srconnect::ResolveConfigPath(config_flag);
  for (int j = i + 1; j < argc; ++j) {
    if (std::strcmp(argv[j], "--help") == 0) {
      std::printf("usage: srconnect [--config PATH] %s",
                  command->second.usage);
      return 0;
    }
    invocation.args.emplace_back(argv[j]);
  }
  return command->second.run(invocation);
}
