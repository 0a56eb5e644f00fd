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

struct sqlite3;
struct sqlite3_stmt;

namespace r2q::store {

// SQLITE_BUSY / SQLITE_LOCKED after the busy timeout: the caller may retry the whole transaction.
class BusyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

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

  // Advances; true while a row is available. Throws BusyError or std::runtime_error.
  bool step();
  // Runs a statement that returns no rows, then resets it.
  void run();
  // Clears bindings and state so the statement can be reused.
  void reset();

  bool is_null(int column) const;
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
