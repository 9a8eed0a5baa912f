#include "app.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

namespace srconnect {

Result<std::unique_ptr<Store>> App::OpenStore() const {
  return Store::Open(config.store.database, keys.get(),
                     config.store.busy_timeout_ms);
}

Result<App> LoadApp(const std::string& config_path) {
  Result<Config> config = LoadConfig(config_path);
  if (!config.ok()) return config.status();

  App app;
  app.config = std::move(config).value();

  Result<std::string> key_path = SecretPath(app.config.store.key);
  if (!key_path.ok()) return key_path.status();
  Result<KeyRing> keys = KeyRing::LoadKeyFile(*key_path);
  if (!keys.ok()) return keys.status();
  app.keys = std::make_unique<KeyRing>(std::move(keys).value());
  for (const SecretRef& previous : app.config.store.previous_keys) {
    Result<std::string> path = SecretPath(previous);
    if (!path.ok()) return path.status();
    Status added = app.keys->AddPreviousKeyFile(*path);
    if (!added.ok()) return added;
  }
  app.state_key = app.keys->DeriveKey("state");

  Result<Secret> link_secret = ReadSecret(app.config.partner.link_secret);
  if (!link_secret.ok()) return link_secret.status();
  app.link_secret = std::move(link_secret).value();
  return app;
}

int64_t NowUnix() { return static_cast<int64_t>(std::time(nullptr)); }

HandlerFlags ParseHandlerFlags(int argc, char** argv, const char* usage) {
  HandlerFlags flags;
  std::string config_flag;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0) {
      std::fputs(usage, stdout);
      flags.exit_code = 0;
      return flags;
    }
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_flag = argv[++i];
      continue;
    }
    std::fprintf(stderr, "unknown or incomplete argument \"%s\"\n%s",
                 argv[i], usage);
    flags.exit_code = 2;
    return flags;
  }
  flags.config_path = ResolveConfigPath(config_flag);
  return flags;
}

}  // namespace srconnect
