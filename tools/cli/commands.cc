#include "commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "app.h"
#include "config.h"
#include "crypto.h"
#include "pages.h"
#include "store.h"
#include "web_auth.h"

namespace srconnect::cli {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "srconnect: %s\n", message.c_str());
  return 1;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "srconnect: %s (see --help)\n", message.c_str());
  return 2;
}

// Writes `content` to a new file at `path` with mode 0600. Fails when the
// file exists, so that no key or secret is ever overwritten.
Status WriteNewPrivateFile(const std::string& path,
                           const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                        S_IRUSR | S_IWUSR);
  if (fd < 0) {
    return Status::Error("creating \"" + path + "\" failed: " +
                         std::strerror(errno));
  }
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n =
        ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Status::Error("writing \"" + path + "\" failed: " +
                           std::strerror(saved));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::Error("writing \"" + path + "\" failed: " +
                         std::strerror(errno));
  }
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

Status CreateKeyFile(const std::string& path) {
  Result<std::string> key = RandomBytes(kKeyBytes);
  if (!key.ok()) return key.status();
  return WriteNewPrivateFile(path, *key);
}

Status CreateSecretFile(const std::string& path) {
  Result<std::string> secret = RandomToken(32);
  if (!secret.ok()) return secret.status();
  return WriteNewPrivateFile(path, *secret + "\n");
}

// Creates the file behind `ref` with `create` unless it exists. A systemd
// credential cannot be created here: its source file is named in the unit.
Status EnsureSecretFile(const SecretRef& ref, const std::string& key_name,
                        Status (*create)(const std::string&),
                        const char* generate_command) {
  if (!ref.credential.empty()) {
    Result<std::string> path = SecretPath(ref);
    if (path.ok() && FileExists(*path)) return Status::Ok();
    return Status::Error(
        key_name + " is " + ref.Describe() + ", which is not available "
        "here; create its source file with \"srconnect " + generate_command +
        " FILE\" and load it with LoadCredential=");
  }
  if (FileExists(ref.file)) {
    std::printf("%s: %s exists, kept\n", key_name.c_str(),
                ref.Describe().c_str());
    return Status::Ok();
  }
  Status created = create(ref.file);
  if (created.ok()) {
    std::printf("%s: created %s (mode 0600)\n", key_name.c_str(),
                ref.Describe().c_str());
  }
  return created;
}

struct Opened {
  App app;
  std::unique_ptr<Store> store;
};

Result<Opened> OpenAll(const Invocation& invocation) {
  Result<App> app = LoadApp(invocation.config_path);
  if (!app.ok()) return app.status();
  Opened opened{std::move(app).value(), nullptr};
  Result<std::unique_ptr<Store>> store = opened.app.OpenStore();
  if (!store.ok()) return store.status();
  opened.store = std::move(store).value();
  return opened;
}

// Returns the value after `flag` in args, or nullopt when absent.
std::optional<std::string> FlagValue(const std::vector<std::string>& args,
                                     const std::string& flag) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return args[i + 1];
  }
  return std::nullopt;
}

bool HasFlag(const std::vector<std::string>& args, const std::string& flag) {
  for (const std::string& arg : args) {
    if (arg == flag) return true;
  }
  return false;
}

Result<int64_t> ParsePositive(const std::string& text,
                              const std::string& flag) {
  try {
    size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used == text.size() && value > 0) return static_cast<int64_t>(value);
  } catch (const std::exception&) {
  }
  return Status::Error(flag + " must be a positive integer, got \"" + text +
                       "\"");
}

nlohmann::json ConnectionJson(const Connection& connection) {
  return {{"id", connection.id},
          {"account_id", connection.account_id},
          {"company_id", connection.company_id},
          {"state", std::string(StateName(connection.state))},
          {"reason", connection.reason},
          {"connected_since", connection.connected_since},
          {"token_expires_at", connection.token_expires_at},
          {"last_success_at", connection.last_success_at},
          {"next_attempt_at", connection.next_attempt_at},
          {"failure_count", connection.failure_count}};
}

}  // namespace

int Init(const Invocation& invocation) {
  if (!invocation.args.empty()) return UsageError("init takes no arguments");
  Result<Config> config = LoadConfig(invocation.config_path);
  if (!config.ok()) return Fail(config.error());

  Status key = EnsureSecretFile(config->store.key, "store.key", CreateKeyFile,
                                "generate-key");
  if (!key.ok()) return Fail(key.message());
  Status link = EnsureSecretFile(config->partner.link_secret,
                                 "partner.link_secret", CreateSecretFile,
                                 "generate-secret");
  if (!link.ok()) return Fail(link.message());

  Result<Opened> opened = OpenAll(invocation);
  if (!opened.ok()) return Fail(opened.error());
  Result<int> version = opened->store->SchemaVersion();
  if (!version.ok()) return Fail(version.error());
  std::printf("database: \"%s\" at schema version %d\n",
              config->store.database.c_str(), *version);
  return 0;
}

int GenerateKey(const Invocation& invocation) {
  if (invocation.args.size() != 1) return UsageError("generate-key needs FILE");
  Status created = CreateKeyFile(invocation.args[0]);
  if (!created.ok()) return Fail(created.message());
  std::printf("created key file \"%s\" (mode 0600)\n",
              invocation.args[0].c_str());
  return 0;
}

int GenerateSecret(const Invocation& invocation) {
  if (invocation.args.size() != 1) {
    return UsageError("generate-secret needs FILE");
  }
  Status created = CreateSecretFile(invocation.args[0]);
  if (!created.ok()) return Fail(created.message());
  std::printf("created secret file \"%s\" (mode 0600)\n",
              invocation.args[0].c_str());
  return 0;
}

int SignLink(const Invocation& invocation) {
  const auto& args = invocation.args;
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    return UsageError("sign-link needs ACCOUNT");
  }
  const std::string page = FlagValue(args, "--page").value_or("start");
  if (page != "start" && page != "status") {
    return UsageError("--page must be start or status, got \"" + page + "\"");
  }
  int64_t ttl_s = 900;
  if (auto ttl = FlagValue(args, "--ttl")) {
    Result<int64_t> parsed = ParsePositive(*ttl, "--ttl");
    if (!parsed.ok()) return UsageError(parsed.error());
    ttl_s = *parsed;
  }

  Result<Config> config = LoadConfig(invocation.config_path);
  if (!config.ok()) return Fail(config.error());
  Result<Secret> secret = ReadSecret(config->partner.link_secret);
  if (!secret.ok()) return Fail(secret.error());
  // The same check the start page makes, so a bad id fails here already.
  const int64_t expires = NowUnix() + ttl_s;
  Status valid = VerifyAccountLink(
      secret->Reveal(), args[0], std::to_string(expires),
      SignAccountLink(secret->Reveal(), args[0], expires), NowUnix());
  if (!valid.ok()) return Fail("account \"" + args[0] + "\": " +
                               valid.message());

  std::printf("%s\n",
              BuildAccountLink(config->partner.public_base_url,
                               "/smartrecruiters/" + page, *secret, args[0],
                               expires)
                  .c_str());
  return 0;
}

int List(const Invocation& invocation) {
  Result<Opened> opened = OpenAll(invocation);
  if (!opened.ok()) return Fail(opened.error());
  Result<std::vector<Connection>> connections =
      opened->store->ListConnections();
  if (!connections.ok()) return Fail(connections.error());

  if (HasFlag(invocation.args, "--json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const Connection& connection : *connections) {
      list.push_back(ConnectionJson(connection));
    }
    std::printf("%s\n", list.dump(2).c_str());
    return 0;
  }
  std::printf("%-20s %-20s %-20s %s\n", "ACCOUNT", "COMPANY", "STATE",
              "TOKEN EXPIRES");
  for (const Connection& connection : *connections) {
    std::printf("%-20s %-20s %-20s %s\n", connection.account_id.c_str(),
                connection.company_id.empty() ? "-"
                                              : connection.company_id.c_str(),
                std::string(StateName(connection.state)).c_str(),
                FormatTime(connection.token_expires_at).c_str());
  }
  return 0;
}

int Show(const Invocation& invocation) {
  const auto& args = invocation.args;
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    return UsageError("show needs ACCOUNT");
  }
  Result<Opened> opened = OpenAll(invocation);
  if (!opened.ok()) return Fail(opened.error());
  auto connection = opened->store->FindConnectionByAccount(args[0]);
  if (!connection.ok()) return Fail(connection.error());
  if (!connection->has_value()) {
    return Fail("account \"" + args[0] + "\" has no connection");
  }
  const Connection& found = **connection;
  auto audit = opened->store->ListAudit(found.id, 10);
  if (!audit.ok()) return Fail(audit.error());

  if (HasFlag(args, "--json")) {
    nlohmann::json out = ConnectionJson(found);
    out["audit"] = nlohmann::json::array();
    for (const AuditEntry& entry : *audit) {
      out["audit"].push_back({{"at", entry.at},
                              {"from", entry.from_state},
                              {"to", entry.to_state},
                              {"actor", entry.actor},
                              {"reason", entry.reason}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("account          %s\n", found.account_id.c_str());
  std::printf("company          %s\n", found.company_id.c_str());
  std::printf("state            %s\n",
              std::string(StateName(found.state)).c_str());
  std::printf("reason           %s\n", found.reason.c_str());
  std::printf("connected since  %s\n",
              FormatTime(found.connected_since).c_str());
  std::printf("token expires    %s\n",
              FormatTime(found.token_expires_at).c_str());
  std::printf("last renewal     %s\n",
              FormatTime(found.last_success_at).c_str());
  std::printf("failures         %lld\n",
              static_cast<long long>(found.failure_count));
  std::printf("audit:\n");
  for (const AuditEntry& entry : *audit) {
    std::printf("  %s  %s -> %s  by %s: %s\n", FormatTime(entry.at).c_str(),
                entry.from_state.empty() ? "(new)" : entry.from_state.c_str(),
                entry.to_state.c_str(), entry.actor.c_str(),
                entry.reason.c_str());
  }
  return 0;
}

int Disconnect(const Invocation& invocation) {
  const auto& args = invocation.args;
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    return UsageError("disconnect needs ACCOUNT");
  }
  std::optional<std::string> reason = FlagValue(args, "--reason");
  if (!reason || reason->empty()) {
    return UsageError("disconnect needs --reason TEXT for the audit log");
  }
  Result<Opened> opened = OpenAll(invocation);
  if (!opened.ok()) return Fail(opened.error());
  auto connection = opened->store->FindConnectionByAccount(args[0]);
  if (!connection.ok()) return Fail(connection.error());
  if (!connection->has_value()) {
    return Fail("account \"" + args[0] + "\" has no connection");
  }
  Status done = opened->store->Disconnect((*connection)->id,
                                          "operator: " + *reason, "cli",
                                          NowUnix());
  if (!done.ok()) return Fail(done.message());
  std::printf("account \"%s\" disconnected; its credentials are erased\n",
              args[0].c_str());
  return 0;
}

int RotateKey(const Invocation& invocation) {
  if (invocation.args.size() != 1) {
    return UsageError("rotate-key needs NEW_KEY_FILE");
  }
  Result<Opened> opened = OpenAll(invocation);
  if (!opened.ok()) return Fail(opened.error());
  const Config& config = opened->app.config;

  // The new ring seals with the new key and still opens every value sealed
  // with the current or a previous key.
  Result<KeyRing> ring = KeyRing::LoadKeyFile(invocation.args[0]);
  if (!ring.ok()) return Fail(ring.error());
  std::vector<SecretRef> old_keys = {config.store.key};
  old_keys.insert(old_keys.end(), config.store.previous_keys.begin(),
                  config.store.previous_keys.end());
  for (const SecretRef& old_key : old_keys) {
    Result<std::string> path = SecretPath(old_key);
    if (!path.ok()) return Fail(path.error());
    Status added = ring->AddPreviousKeyFile(*path);
    if (!added.ok()) return Fail(added.message());
  }

  Result<int64_t> resealed = opened->store->Reseal(&*ring);
  if (!resealed.ok()) return Fail(resealed.error());
  std::printf(
      "re-sealed %lld values with key %s\n"
      "next: set store.key to \"%s\" in %s and keep the old key under\n"
      "store.previous_keys until every process has restarted\n",
      static_cast<long long>(*resealed), ring->current_key_id().c_str(),
      invocation.args[0].c_str(), config.path.c_str());
  return 0;
}

int Audit(const Invocation& invocation) {
  const auto& args = invocation.args;
  int64_t limit = 50;
  if (auto value = FlagValue(args, "--limit")) {
    Result<int64_t> parsed = ParsePositive(*value, "--limit");
    if (!parsed.ok()) return UsageError(parsed.error());
    limit = *parsed;
  }
  Result<Opened> opened = OpenAll(invocation);
  if (!opened.ok()) return Fail(opened.error());
  int64_t connection_id = 0;
  if (!args.empty() && args[0].rfind("--", 0) != 0) {
    auto connection = opened->store->FindConnectionByAccount(args[0]);
    if (!connection.ok()) return Fail(connection.error());
    if (!connection->has_value()) {
      return Fail("account \"" + args[0] + "\" has no connection");
    }
    connection_id = (*connection)->id;
  }
  auto entries = opened->store->ListAudit(connection_id, limit);
  if (!entries.ok()) return Fail(entries.error());
  for (const AuditEntry& entry : *entries) {
    std::printf("%s  account %s  company %s  %s -> %s  by %s: %s\n",
                FormatTime(entry.at).c_str(), entry.account_id.c_str(),
                entry.company_id.empty() ? "-" : entry.company_id.c_str(),
                entry.from_state.empty() ? "(new)" : entry.from_state.c_str(),
                entry.to_state.c_str(), entry.actor.c_str(),
                entry.reason.c_str());
  }
  return 0;
}

}  // namespace srconnect::cli
