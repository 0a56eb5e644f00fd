// SQLite connection, statement and transaction wrappers.
#include "core/store/sqlite.h"

#include <sqlite3.h>

#include "core/util/error.h"

namespace r2q::store {
namespace {

// Maps an SQLite result code to r2q's error kinds: contention can be retried, a foreign or damaged file is
// bad input, a full disk or I/O failure fails the run.
[[noreturn]] void throw_for(int rc, const std::string& message) {
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw BusyError(message);
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT || primary == SQLITE_CANTOPEN ||
      primary == SQLITE_READONLY || primary == SQLITE_PERM)
    throw InputError(message);
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR) throw RunError(message);
  throw std::runtime_error(message);
}

[[noreturn]] void raise(sqlite3* db, int rc, const std::string& context) {
  throw_for(rc, context + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql, const std::string& db_name)
    : db_(db), db_name_(db_name) {
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                              nullptr);
  // r2q's statements are fixed and tested: one that does not compile means the file's schema or format is not
  // what this r2q wrote (a damaged or foreign file), which is bad input, not an internal error.
  if (rc != SQLITE_OK && (rc & 0xff) == SQLITE_ERROR)
    throw InputError(db_name_ + ": not a usable r2q store (" + sqlite3_errmsg(db) + " while preparing \"" +
                     std::string(sql) + "\"); the file is damaged or was not written by r2q");
  if (rc != SQLITE_OK) raise(db, rc, db_name_ + ": preparing \"" + std::string(sql) + "\"");
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

static void check_bind(sqlite3* db, int rc, const std::string& name) {
  if (rc != SQLITE_OK) raise(db, rc, name + ": bind");
}

Statement& Statement::bind(int index, std::nullptr_t) {
  check_bind(db_, sqlite3_bind_null(stmt_, index), db_name_);
  return *this;
}
Statement& Statement::bind(int index, std::int64_t value) {
  check_bind(db_, sqlite3_bind_int64(stmt_, index, value), db_name_);
  return *this;
}
Statement& Statement::bind(int index, double value) {
  check_bind(db_, sqlite3_bind_double(stmt_, index, value), db_name_);
  return *this;
}
Statement& Statement::bind(int index, std::string_view value) {
  check_bind(db_,
             sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT),
             db_name_);
  return *this;
}
Statement& Statement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind(index, nullptr);
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  raise(db_, rc, db_name_);
}

void Statement::run() {
  ResetGuard guard(*this);
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
std::int64_t Statement::get_int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}
double Statement::get_double(int column) const {
  return sqlite3_column_double(stmt_, column);
}
std::string Statement::get_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  return text ? std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column))
              : std::string();
}
std::string_view Statement::get_view(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  return text ? std::string_view(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column))
              : std::string_view();
}
std::optional<std::string> Statement::get_optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return get_text(column);
}
std::optional<double> Statement::get_optional_double(int column) const {
  if (is_null(column)) return std::nullopt;
  return get_double(column);
}

Database::Database(const std::filesystem::path& path, Mode mode) : name_(path.string()), mode_(mode) {
  int flags = SQLITE_OPEN_NOMUTEX |
              (mode == Mode::ReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(name_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = name_ + ": cannot open store: " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw InputError(message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Database::~Database() {
  statements_.clear();  // finalize before close
  sqlite3_close(db_);
}

void Database::exec(std::string_view sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw_for(rc, name_ + ": " + message);
  }
}

Statement& Database::prepare(std::string_view sql) {
  auto it = statements_.find(std::string(sql));
  if (it == statements_.end())
    it = statements_.emplace(std::string(sql), std::make_unique<Statement>(db_, sql, name_)).first;
  return *it->second;
}

std::int64_t Database::pragma_int(std::string_view name) {
  Statement& s = prepare("PRAGMA " + std::string(name));
  ResetGuard guard(s);
  return s.step() ? s.get_int(0) : 0;
}

std::int64_t Database::changes() const {
  return sqlite3_changes64(db_);
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
      // The transaction may already have been rolled back by SQLite (e.g. on SQLITE_FULL).
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

const char* sqlite_version() {
  return sqlite3_libversion();
}

}  // namespace r2q::store
