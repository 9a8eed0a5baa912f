// SQLite statements for the store: a per-connection cache of prepared
// statements, the borrowed handles it lends out, and BEGIN IMMEDIATE
// transactions. Internal to the library, and not part of the Store API.
//
// Every error names the SQLite call, the ids that the caller passed as the
// statement's subject, and SQLite's own message, for example
// `sqlite3_step failed for connection 7: UNIQUE constraint failed: ...`.
//
// A StatementCache belongs to one connection and is not thread-safe. The
// Store that owns it is used by one thread at a time, and each refresh
// worker opens its own Store.

#ifndef SRCONNECT_LIB_SQLITE_STATEMENT_H_
#define SRCONNECT_LIB_SQLITE_STATEMENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace srconnect {

// Returns "CALL failed for SUBJECT: " followed by sqlite3_errmsg(db).
std::string SqliteCallFailed(std::string_view call, std::string_view subject,
                             sqlite3* db);

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const;
};

// Deleter of a Statement's handle. A statement borrowed from a cache is
// reset, its bindings are cleared and it goes back to the cache. A one-off
// statement is finalized.
struct StatementReleaser {
  // The cache entry's flag, or null for a one-off statement.
  bool* in_use = nullptr;

  void operator()(sqlite3_stmt* statement) const;
};

// A prepared statement that remembers which ids it concerns, so that every
// error names the SQLite call, those ids and SQLite's own message. A failed
// bind is reported by the next Step().
//
// Destroying the Statement releases the handle. A cached statement is reset,
// which ends the read transaction that an unfinished SELECT keeps open and
// readies the statement after a failed Step(). Its bindings are cleared, so
// a parameter that the next caller leaves unbound is NULL, not a value of
// this caller's. Movable, not copyable.
class Statement {
 public:
  Statement(Statement&&) = default;
  Statement& operator=(Statement&&) = default;

  // Binds text. An empty value is bound as '', because sqlite3_bind_text64
  // binds NULL when the data pointer is null.
  void BindText(int index, std::string_view value);

  // Binds NULL for an empty value.
  void BindTextOrNull(int index, std::string_view value);

  void BindInt(int index, int64_t value);

  // Returns true when a row is ready and false when the statement is done.
  Result<bool> Step();

  // Steps until done, discarding any rows.
  Status Run();

  int64_t Int(int column) const;

  // Returns "" for NULL.
  std::string Text(int column) const;

  bool IsNull(int column) const;

 private:
  friend class StatementCache;

  Statement(sqlite3* db,
            std::unique_ptr<sqlite3_stmt, StatementReleaser> handle,
            std::string subject);

  void Check(int rc, std::string_view call);

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StatementReleaser> handle_;
  std::string subject_;
  Status bind_status_;
};

// The prepared statements of one connection, keyed by their SQL text.
// Prepare() compiles each distinct text once, with SQLITE_PREPARE_PERSISTENT,
// and afterwards lends out the same statement again. The cache grows by one
// entry per distinct SQL text and never evicts, so callers pass fixed SQL
// and bind every value.
//
// The cache does not own `db`, which must outlive it. The destructor
// finalizes every cached statement, so destroy the cache before closing the
// connection. REQUIRES: no Statement from this cache is alive then.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db);
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  ~StatementCache();

  // Returns the cached statement for `sql`, preparing it on first use.
  // `subject` names the ids that the statement concerns, for error messages.
  // While the cached statement is lent out (a caller uses the same SQL
  // again before releasing the first handle), the second caller gets a
  // one-off statement that is finalized on release. Fails when SQLite
  // cannot prepare `sql`, and nothing is cached then.
  Result<Statement> Prepare(std::string_view sql, std::string subject);

  // Number of cached statements, lent out or not. One-off statements are
  // not counted.
  size_t size() const { return entries_.size(); }

  sqlite3* db() const { return db_; }

 private:
  struct Entry {
    std::unique_ptr<sqlite3_stmt, StatementFinalizer> statement;
    bool in_use = false;
  };

  // Lets find() take a std::string_view without building a std::string.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const {
      return std::hash<std::string_view>()(sql);
    }
  };

  Result<Statement> PrepareOneOff(std::string_view sql, std::string subject);

  sqlite3* db_;
  // Node-based, so a lent-out Statement's pointer to its entry's flag stays
  // valid while other entries are added.
  std::unordered_map<std::string, Entry, SqlHash, std::equal_to<>> entries_;
};

// Runs one statement that takes no parameters, preparing it through
// `statements`.
Status Execute(StatementCache& statements, std::string_view sql,
               const std::string& subject);

// A BEGIN IMMEDIATE transaction that rolls back unless committed. IMMEDIATE
// takes the write lock at the start, so two processes can never both read a
// row and then both update it from what they read.
class Transaction {
 public:
  explicit Transaction(StatementCache& statements) : statements_(statements) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status Begin(const std::string& subject);
  Status Commit(const std::string& subject);

 private:
  StatementCache& statements_;
  bool open_ = false;
};

}  // namespace srconnect

#endif  // SRCONNECT_LIB_SQLITE_STATEMENT_H_
