// Start-up shared by every binary: parse the common flags, load and validate
// the configuration, read the secrets and open the store.

#ifndef SRCONNECT_LIB_APP_H_
#define SRCONNECT_LIB_APP_H_

#include <cstdint>
#include <memory>
#include <string>

#include "config.h"
#include "crypto.h"
#include "secret.h"
#include "status.h"
#include "store.h"

namespace srconnect {

struct App {
  Config config;
  // unique_ptr so that the address the Store keeps stays valid when the
  // App moves.
  std::unique_ptr<KeyRing> keys;
  Secret link_secret;
  // HMAC key for state values and CSRF tokens, derived from the store key.
  Secret state_key;

  // Opens a new Store on the configured database. Each thread that works
  // on the store opens its own.
  Result<std::unique_ptr<Store>> OpenStore() const;
};

// Loads the configuration at `config_path` (see ResolveConfigPath), the key
// ring and the link secret. The error names the file or secret that failed
// and the fix.
Result<App> LoadApp(const std::string& config_path);

// Returns the current time in unix seconds.
int64_t NowUnix();

// The flags every FastCGI binary takes: --config PATH and --help.
struct HandlerFlags {
  std::string config_path;  // resolved with ResolveConfigPath
  // -1 to go on; otherwise main returns this code (0 after --help, 2 after
  // a bad flag, with the message already printed).
  int exit_code = -1;
};

// Parses argv; `usage` is printed for --help and after a bad flag.
HandlerFlags ParseHandlerFlags(int argc, char** argv, const char* usage);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_APP_H_
