// The SQLite credential store: connections, pending consents, refresh
// leases and an append-only audit log.
//
// The database runs in WAL mode with a busy timeout and foreign keys on.
// Migrations are numbered and recorded in PRAGMA user_version; a database
// written by a newer srconnect is refused. Every state change is one
// transaction that also appends one audit row. Secrets (customer client id
// and secret, access tokens) are sealed with the KeyRing, bound to their
// table, row id and column (see SealedValueContext), and never stored in
// plain text.
//
// Times are unix seconds passed in by the caller, so tests control the
// clock. A Store is not thread-safe; open one per thread. Each Store keeps
// its prepared statements for reuse, so use one Store for many calls rather
// than opening one per call. Several processes may share one database file.

#ifndef SRCONNECT_LIB_STORE_H_
#define SRCONNECT_LIB_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto.h"
#include "secret.h"
#include "status.h"

struct sqlite3;

namespace srconnect {

class StatementCache;

enum class ConnectionState {
  kPending,             // consent started, no credentials yet
  kConnected,           // credentials and a valid token
  kDegraded,            // transient failures, retrying with backoff
  kNeedsReintegration,  // SmartRecruiters rejected the credentials
  kDisconnected,        // uninstalled or removed by an operator
};

// "pending", "connected", "degraded", "needs_reintegration",
// "disconnected": the names used in the database, JSON and logs.
std::string_view StateName(ConnectionState state);
Result<ConnectionState> ParseStateName(std::string_view name);

struct Connection {
  int64_t id = 0;
  std::string account_id;
  std::string company_id;  // empty until the first successful connect
  ConnectionState state = ConnectionState::kPending;
  std::string reason;  // why the connection is in `state`
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t connected_since = 0;   // first connect of the current credentials
  int64_t token_expires_at = 0;  // 0 when there is no token
  int64_t last_success_at = 0;   // last token obtained
  int64_t next_attempt_at = 0;   // earliest next renewal after a failure
  int64_t failure_count = 0;     // consecutive transient failures
  bool has_credentials = false;
};

struct ConnectionSecrets {
  std::string client_id;
  Secret client_secret;
  Secret access_token;  // empty when none is stored
};

enum class ConsentStatus {
  kOpen,        // waiting for the admin's POST
  kInProgress,  // claimed by one POST, credential exchange under way
  kSucceeded,
  kFailed,
};

struct PendingConsent {
  std::string state_id;  // hex HMAC of the state value, never the value
  std::string account_id;
  std::string company_id;  // set when claimed
  ConsentStatus status = ConsentStatus::kOpen;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  // Outcome of the claiming POST, for a repeated POST to show.
  std::string outcome_code;
  std::string outcome_message;
};

enum class ClaimResult {
  kClaimed,         // this caller now owns the consent
  kNotFound,
  kExpired,
  kAlreadyClaimed,  // another POST claimed it; read it to see the outcome
};

struct AuditEntry {
  int64_t id = 0;
  int64_t at = 0;
  int64_t connection_id = 0;
  std::string account_id;
  std::string company_id;
  std::string from_state;  // "" for the first row of a connection
  std::string to_state;
  // "start", "callback", "refresh", "cli", "smartrecruiters"
  std::string actor;
  std::string reason;
};

class Store {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens (creating if needed) and migrates the database at `path`.
  // `keys` must outlive the Store. Fails when the schema version is newer
  // than kSchemaVersion, naming both versions.
  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             const KeyRing* keys,
                                             int64_t busy_timeout_ms);
  ~Store();

  Result<int> SchemaVersion();

  // --- pending consents -------------------------------------------------

  // Records a consent started by `account_id`, and a pending connection
  // row for the account if it has none. Also deletes consents that expired
  // more than a day ago.
  Status CreatePendingConsent(std::string_view account_id,
                              std::string_view state_id, int64_t now,
                              int64_t expires_at);

  Result<std::optional<PendingConsent>> FindPendingConsent(
      std::string_view state_id);

  // Atomically moves an open, unexpired consent to kInProgress for
  // `company_id`. Exactly one of several concurrent callers gets kClaimed.
  Result<ClaimResult> ClaimPendingConsent(std::string_view state_id,
                                          std::string_view company_id,
                                          int64_t now);

  // Records the outcome of a claimed consent.
  Status FinishPendingConsent(std::string_view state_id, bool succeeded,
                              std::string_view outcome_code,
                              std::string_view outcome_message);

  // --- connections ------------------------------------------------------

  Result<std::optional<Connection>> FindConnectionByAccount(
      std::string_view account_id);
  Result<std::optional<Connection>> FindConnectionByCompany(
      std::string_view company_id);
  Result<std::optional<Connection>> FindConnection(int64_t id);
  Result<std::vector<Connection>> ListConnections();

  // Stores new customer-level credentials and their first access token for
  // `account_id`, and moves the connection to kConnected, in one
  // transaction. Reuses the account's row (a reintegration keeps the id);
  // if the company was linked to the account's row before, the same row is
  // updated. Fails without changing anything when `company_id` belongs to
  // another account's row.
  Result<int64_t> StoreCredentials(std::string_view account_id,
                                   std::string_view company_id,
                                   std::string_view client_id,
                                   const Secret& client_secret,
                                   const Secret& access_token,
                                   int64_t token_expires_at, int64_t now,
                                   std::string_view actor,
                                   std::string_view reason);

  // Opens the sealed secrets of a connection. Fails when the connection
  // has no credentials or a value does not open (wrong key, tampering, or a
  // value moved from another row).
  Result<ConnectionSecrets> ReadSecrets(int64_t connection_id);

  // Moves a connection to `state` with `reason` and appends an audit row,
  // unless it is already in that state with that reason.
  Status SetState(int64_t connection_id, ConnectionState state,
                  std::string_view reason, std::string_view actor,
                  int64_t now);

  // Moves a connection to kDisconnected and erases its sealed secrets.
  Status Disconnect(int64_t connection_id, std::string_view reason,
                    std::string_view actor, int64_t now);

  // --- refresh ------------------------------------------------------------

  // Connections in kConnected or kDegraded with credentials whose token
  // expires before now + margin_s and whose next_attempt_at has passed,
  // soonest expiry first.
  Result<std::vector<Connection>> ListDue(int64_t now, int64_t margin_s);

  // Takes the renewal lease of a connection for `owner` until `deadline`.
  // Returns false when another owner holds an unexpired lease.
  Result<bool> AcquireLease(int64_t connection_id, std::string_view owner,
                            int64_t now, int64_t deadline);

  // Releases the lease if `owner` still holds it; otherwise does nothing.
  Status ReleaseLease(int64_t connection_id, std::string_view owner);

  // Returns the deadline of the connection's lease, or nothing when no
  // owner holds it (never taken, released, or cleared by a commit). A
  // deadline in the past means the owner stopped without releasing it.
  Result<std::optional<int64_t>> LeaseDeadline(int64_t connection_id);

  // Stores a renewed token, clears failures, returns a degraded connection
  // to kConnected and releases the lease, in one transaction. Fails without
  // change when `owner` no longer holds the lease.
  Status CommitToken(int64_t connection_id, std::string_view owner,
                     const Secret& access_token, int64_t token_expires_at,
                     int64_t now);

  // Records a failed renewal: sets `state` and `reason`, the next attempt
  // time and the failure count (incremented for kDegraded, reset
  // otherwise), and releases the lease, in one transaction. kDisconnected
  // also erases the sealed secrets, as Disconnect does. Fails without
  // change when `owner` does not hold the lease or `state` is kPending or
  // kConnected.
  Status RecordFailure(int64_t connection_id, std::string_view owner,
                       ConnectionState state, std::string_view reason,
                       int64_t next_attempt_at, int64_t now);

  // --- audit and keys -----------------------------------------------------

  // Newest first; `connection_id` 0 lists every connection.
  Result<std::vector<AuditEntry>> ListAudit(int64_t connection_id,
                                            int64_t limit);

  // Re-seals every secret with `new_keys`' current key in one
  // transaction; the store uses `new_keys` afterwards. `new_keys` must
  // still open the old values (hold the old key as a previous key).
  Result<int64_t> Reseal(const KeyRing* new_keys);

  sqlite3* db() { return db_.get(); }

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  Store(std::unique_ptr<sqlite3, DbCloser> db,
        std::unique_ptr<StatementCache> statements, const KeyRing* keys);

  // Declared after db_, so the cached statements are finalized before the
  // connection is closed.
  std::unique_ptr<sqlite3, DbCloser> db_;
  std::unique_ptr<StatementCache> statements_;
  const KeyRing* keys_;
};

}  // namespace srconnect

#endif  // SRCONNECT_LIB_STORE_H_
