#include "sqlite_statement.h"

#include <utility>

#include <sqlite3.h>

namespace srconnect {
namespace {

using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

Result<StatementPtr> Compile(sqlite3* db, std::string_view sql,
                             unsigned int flags, const std::string& subject) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(
      db, sql.data(), static_cast<int>(sql.size()), flags, &raw, nullptr);
  StatementPtr statement(raw);
  if (rc != SQLITE_OK) {
    return Status::Error(SqliteCallFailed("sqlite3_prepare_v3", subject, db));
  }
  if (statement == nullptr) {
    return Status::Error("sqlite3_prepare_v3 failed for " + subject +
                         ": the SQL text contains no statement");
  }
  return statement;
}

}  // namespace

std::string SqliteCallFailed(std::string_view call, std::string_view subject,
                             sqlite3* db) {
  return std::string(call) + " failed for " + std::string(subject) + ": " +
         sqlite3_errmsg(db);
}

void StatementFinalizer::operator()(sqlite3_stmt* statement) const {
  sqlite3_finalize(statement);
}

void StatementReleaser::operator()(sqlite3_stmt* statement) const {
  if (in_use == nullptr) {
    sqlite3_finalize(statement);
    return;
  }
  // After a failed step, sqlite3_reset returns that error again, and Step()
  // has already reported it.
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  *in_use = false;
}

// --- Statement ----------------------------------------------------------

Statement::Statement(sqlite3* db,
                     std::unique_ptr<sqlite3_stmt, StatementReleaser> handle,
                     std::string subject)
    : db_(db), handle_(std::move(handle)), subject_(std::move(subject)) {}

void Statement::BindText(int index, std::string_view value) {
  const char* data = value.data() != nullptr ? value.data() : "";
  Check(sqlite3_bind_text64(handle_.get(), index, data, value.size(),
                            SQLITE_TRANSIENT, SQLITE_UTF8),
        "sqlite3_bind_text64");
}

void Statement::BindTextOrNull(int index, std::string_view value) {
  if (value.empty()) {
    Check(sqlite3_bind_null(handle_.get(), index), "sqlite3_bind_null");
  } else {
    BindText(index, value);
  }
}

void Statement::BindInt(int index, int64_t value) {
  Check(sqlite3_bind_int64(handle_.get(), index, value), "sqlite3_bind_int64");
}

Result<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  const int rc = sqlite3_step(handle_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Status::Error(SqliteCallFailed("sqlite3_step", subject_, db_));
}

Status Statement::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(handle_.get(), column);
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(handle_.get(), column);
  if (text == nullptr) return "";
  const int size = sqlite3_column_bytes(handle_.get(), column);
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(size));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(handle_.get(), column) == SQLITE_NULL;
}

void Statement::Check(int rc, std::string_view call) {
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = Status::Error(SqliteCallFailed(call, subject_, db_));
  }
}

// --- StatementCache -----------------------------------------------------

StatementCache::StatementCache(sqlite3* db) : db_(db) {}

StatementCache::~StatementCache() = default;

Result<Statement> StatementCache::Prepare(std::string_view sql,
                                          std::string subject) {
  auto found = entries_.find(sql);
  if (found == entries_.end()) {
    // SQLITE_PREPARE_PERSISTENT marks the statement as long-lived, so SQLite
    // does not take its memory from the connection's limited lookaside pool
    // (SQLite C interface documentation, "Prepare Flags").
    Result<StatementPtr> prepared =
        Compile(db_, sql, SQLITE_PREPARE_PERSISTENT, subject);
    if (!prepared.ok()) return prepared.status();
    found =
        entries_.emplace(std::string(sql), Entry{std::move(*prepared)}).first;
  } else if (found->second.in_use) {
    return PrepareOneOff(sql, std::move(subject));
  }

  Entry& entry = found->second;
  entry.in_use = true;
  std::unique_ptr<sqlite3_stmt, StatementReleaser> handle(entry.statement.get(),
                                                          {&entry.in_use});
  return Statement(db_, std::move(handle), std::move(subject));
}

Result<Statement> StatementCache::PrepareOneOff(std::string_view sql,
                                                std::string subject) {
  Result<StatementPtr> prepared = Compile(db_, sql, 0, subject);
  if (!prepared.ok()) return prepared.status();
  // A null in_use makes the releaser finalize the statement.
  std::unique_ptr<sqlite3_stmt, StatementReleaser> handle(prepared->release(),
                                                          {});
  return Statement(db_, std::move(handle), std::move(subject));
}

// --- Execute and Transaction --------------------------------------------

Status Execute(StatementCache& statements, std::string_view sql,
               const std::string& subject) {
  Result<Statement> statement = statements.Prepare(sql, subject);
  if (!statement.ok()) return statement.status();
  return statement->Run();
}

Transaction::~Transaction() {
  // A failed statement may already have rolled the transaction back.
  sqlite3* db = statements_.db();
  if (open_ && sqlite3_get_autocommit(db) == 0) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::Begin(const std::string& subject) {
  Status begun = Execute(statements_, "BEGIN IMMEDIATE", subject);
  if (begun.ok()) open_ = true;
  return begun;
}

Status Transaction::Commit(const std::string& subject) {
  Status committed = Execute(statements_, "COMMIT", subject);
  if (committed.ok()) open_ = false;
  return committed;
}

}  // namespace srconnect
