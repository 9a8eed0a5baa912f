// srconnect.yaml: loading and validation.
//
// Every binary reads one YAML file (default /etc/srconnect/srconnect.yaml,
// overridden by --config or SRCONNECT_CONFIG). Validation happens at load
// time: an unknown key, a value of the wrong type, or a missing required key
// fails with a message that names the file, the key path and what was
// expected. Secrets are never written in the file; each secret key holds a
// reference:
//
//   master_client_secret: {file: /etc/srconnect/master-secret}
//   master_client_secret: {credential: master-secret}
//
// where `credential` names a file in $CREDENTIALS_DIRECTORY, the directory
// systemd's LoadCredential= fills.
//
// URLs must be absolute https URLs without query or fragment; plain http is
// accepted only for a loopback host (127.0.0.0/8, localhost, [::1]). One
// trailing slash of api_base, web_base and public_base_url is removed, so
// paths can be appended to them.

#ifndef SRCONNECT_LIB_CONFIG_H_
#define SRCONNECT_LIB_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "secret.h"
#include "status.h"

namespace srconnect {

inline constexpr char kDefaultConfigPath[] = "/etc/srconnect/srconnect.yaml";

// Where a secret lives: exactly one of `file` and `credential` is set.
struct SecretRef {
  std::string file;
  std::string credential;

  // Returns "file \"PATH\"" or "credential \"NAME\"", for messages.
  std::string Describe() const;
};

struct SmartRecruitersConfig {
  // API and token host, e.g. https://api.smartrecruiters.com.
  std::string api_base;
  // Web host that serves the Partner Apps page and the `redirect` targets.
  std::string web_base;
  // Page the admin is sent to from start; default {web_base}/partner-apps.
  std::string partner_apps_url;
  // PEM bundle to verify https peers; empty means the system store.
  std::string ca_file;
  int64_t connect_timeout_ms = 5000;
  int64_t read_timeout_ms = 15000;
  std::string master_client_id;
  SecretRef master_client_secret;
  // Scopes shown on the consent page, in order.
  std::vector<std::string> scopes;
};

struct PartnerConfig {
  // Product name shown on pages, e.g. "GoodTime Hire".
  std::string app_name = "GoodTime Hire";
  // Public base URL of this service, e.g. https://connect.example.com.
  std::string public_base_url;
  // Secret shared with the partner product for signed account links.
  SecretRef link_secret;
  // Where "Back to Company Settings" links point; may be empty.
  std::string settings_url;
};

struct StoreConfig {
  std::string database = "/var/lib/srconnect/srconnect.db";
  // 32-byte AES key; the current key seals, previous keys only open.
  SecretRef key;
  std::vector<SecretRef> previous_keys;
  int64_t busy_timeout_ms = 5000;
};

struct ConsentConfig {
  // Lifetime of the state cookie and of the pending consent.
  int64_t state_ttl_s = 900;
  // Secure attribute on the state cookie; false only for plain-HTTP
  // loopback demos.
  bool cookie_secure = true;
};

struct RefreshConfig {
  // Renew tokens that expire within this margin.
  int64_t margin_s = 600;
  int64_t concurrency = 8;
  // Wall-time budget of one `--due` run.
  int64_t budget_s = 240;
  // Lease on one company's renewal; must exceed connect + read timeout.
  int64_t lease_s = 60;
  int64_t backoff_initial_s = 30;
  int64_t backoff_max_s = 3600;
  // Responder threads of the token hand-out (srconnect-refresh as a
  // FastCGI program), each with its own database connection.
  int64_t handout_threads = 4;
};

struct Config {
  std::string path;  // the file this was loaded from
  SmartRecruitersConfig smartrecruiters;
  PartnerConfig partner;
  StoreConfig store;
  ConsentConfig consent;
  RefreshConfig refresh;
};

// Loads and validates the file at `path` (at most 1 MiB). Does not read
// secrets.
Result<Config> LoadConfig(const std::string& path);

// Parses YAML text; `path` is only used in messages.
Result<Config> ParseConfig(const std::string& yaml_text,
                           const std::string& path);

// Returns the config path: `flag_value` if not empty, else $SRCONNECT_CONFIG,
// else kDefaultConfigPath.
std::string ResolveConfigPath(const std::string& flag_value);

// Reads the secret a reference points to. Trailing "\r" and "\n" are
// removed. Fails, naming the file or credential and the fix, when it is
// missing, not a regular file, larger than 64 KiB, empty, or readable by
// group or others. The message never contains the file's content.
Result<Secret> ReadSecret(const SecretRef& ref);

// Returns the file a reference points to: `file`, or
// $CREDENTIALS_DIRECTORY/`credential`.
Result<std::string> SecretPath(const SecretRef& ref);

}  // namespace srconnect

#endif  // SRCONNECT_LIB_CONFIG_H_
