// RAII wrappers over the SQLite C API: connection, cached prepared statements, transactions. Every raw
// sqlite3_* call of r2q lives in core/store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/util/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace r2q::store {

// SQLITE_BUSY / SQLITE_LOCKED after the busy timeout: the caller may retry the whole transaction. One that is
// never retried away fails the command (RunError, exit 1).
class BusyError : public RunError {
 public:
  using RunError::RunError;
};

// What an SQLite result code means for r2q, and so which error it throws (the one place that decides it):
//   Busy        contention; BusyError, retried by the store's writers
//   Interrupted sqlite3_interrupt; Interrupted
//   System      the machine failed the command (disk full, I/O error); RunError, exit 1
//   Damaged     the file is damaged, hostile or unusable here (CORRUPT, NOTADB, NOMEM, CANTOPEN, PERM,
//               READONLY, FORMAT, a short read, ... and every code not listed elsewhere); InputError, exit 2
//   Bug         SQLITE_MISUSE / SQLITE_INTERNAL: r2q used the API wrongly; std::logic_error
// Every message names the store, what was being done, SQLite's reason and the code's name.
enum class ErrorKind { Busy, Interrupted, System, Damaged, Bug };
ErrorKind error_kind(int sqlite_result_code);

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql, const std::string& db_name);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::optional<std::string>& value);

  // Advances; true while a row is available. Throws the error of the result code's ErrorKind.
  bool step();
  // Runs a statement that returns no rows, then resets it.
  void run();
  // Clears bindings and state so the statement can be reused.
  void reset();

  bool is_null(int column) const;
  // An INTEGER or REAL value (not text, a blob or NULL).
  bool is_number(int column) const;
  std::int64_t get_int(int column) const;
  double get_double(int column) const;
  std::string get_text(int column) const;
  // Valid until the next step, reset or column call on this statement.
  std::string_view get_view(int column) const;
  std::optional<std::string> get_optional_text(int column) const;
  std::optional<double> get_optional_double(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string db_name_;
};

class Database {
 public:
  enum class Mode { ReadOnly, ReadWrite };
  Database(const std::filesystem::path& path, Mode mode);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more SQL statements without results (schema, pragmas).
  void exec(std::string_view sql);
  // A statement prepared on first use and cached for the life of the connection. Reset it before returning
  // (ResetGuard) so that it can be reused.
  Statement& prepare(std::string_view sql);
  std::int64_t pragma_int(std::string_view name);
  std::int64_t changes() const;
  const std::string& name() const { return name_; }
  bool read_only() const { return mode_ == Mode::ReadOnly; }

 private:
  sqlite3* db_ = nullptr;
  std::string name_;
  Mode mode_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
};

// Resets a cached statement when the scope ends, whatever happened.
class ResetGuard {
 public:
  explicit ResetGuard(Statement& s) : s_(s) {}
  ~ResetGuard() { s_.reset(); }

 private:
  Statement& s_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

const char* sqlite_version();

}  // namespace r2q::store
