// SQLite connection, statement and transaction wrappers.
#include "core/store/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "core/util/error.h"

namespace r2q::store {
namespace {

// SQLite's name of a primary result code, for messages a user can look up.
const char* code_name(int primary) {
  switch (primary) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_INTERNAL:
      return "SQLITE_INTERNAL";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_ABORT:
      return "SQLITE_ABORT";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND:
      return "SQLITE_NOTFOUND";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_EMPTY:
      return "SQLITE_EMPTY";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH:
      return "SQLITE_MISMATCH";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_NOLFS:
      return "SQLITE_NOLFS";
    case SQLITE_AUTH:
      return "SQLITE_AUTH";
    case SQLITE_FORMAT:
      return "SQLITE_FORMAT";
    case SQLITE_RANGE:
      return "SQLITE_RANGE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    default:
      return "SQLite error";
  }
}

}  // namespace

ErrorKind error_kind(int rc) {
  const int primary = rc & 0xff;
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorKind::Busy;
    case SQLITE_INTERRUPT:
      return ErrorKind::Interrupted;
    case SQLITE_IOERR:
      // A short read or a file system that reports corruption is the file's state, not the machine's.
      return rc == SQLITE_IOERR_SHORT_READ || rc == SQLITE_IOERR_CORRUPTFS ? ErrorKind::Damaged
                                                                           : ErrorKind::System;
    case SQLITE_FULL:
    case SQLITE_NOLFS:
      return ErrorKind::System;
    case SQLITE_MISUSE:
    case SQLITE_INTERNAL:
      return ErrorKind::Bug;
    default:
      // NOTADB, CORRUPT, NOMEM (which SQLite also reports for some kinds of damage), CANTOPEN, PERM,
      // READONLY, FORMAT, RANGE, TOOBIG, SCHEMA, MISMATCH, CONSTRAINT, ERROR, ...: r2q's own statements on a
      // file r2q wrote do not fail this way, so the file is damaged, hostile or not usable here.
      return ErrorKind::Damaged;
  }
}

namespace {

// Throws the r2q error kind of an SQLite result code (error_kind): contention can be retried, a damaged,
// foreign or unusable file is bad input, a full disk or an I/O failure fails the command, a misuse of the
// SQLite API is a bug in r2q. `message` already names the store and what was being done.
[[noreturn]] void throw_for(int rc, std::string message) {
  const int primary = rc & 0xff;
  message += std::string(" [") + code_name(primary) + "]";
  switch (error_kind(rc)) {
    case ErrorKind::Busy:
      throw BusyError(message);
    case ErrorKind::Interrupted:
      throw Interrupted(message);
    case ErrorKind::System:
      throw RunError(message);
    case ErrorKind::Bug:
      throw std::logic_error(message);
    case ErrorKind::Damaged:
      break;
  }
  if (primary == SQLITE_NOMEM)
    message += " (SQLite reports this for some kinds of damage too: is the store file intact?)";
  else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_FORMAT ||
           rc == SQLITE_IOERR_SHORT_READ)
    message += "; the file is damaged or is not an r2q store";
  throw InputError(message);
}

// "disk I/O error" alone does not say that the disk is full or the file too large: the system's reason does.
std::string with_system_reason(sqlite3* db, int rc, std::string message) {
  const int primary = rc & 0xff;
  if (db && (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN))
    if (const int err = sqlite3_system_errno(db); err != 0)
      message += std::string(" (") + std::strerror(err) + ")";
  return message;
}

[[noreturn]] void raise(sqlite3* db, int rc, const std::string& context) {
  throw_for(rc, with_system_reason(db, rc, context + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))));
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
bool Statement::is_number(int column) const {
  const int type = sqlite3_column_type(stmt_, column);
  return type == SQLITE_INTEGER || type == SQLITE_FLOAT;
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

namespace {

// "file:" URI of a path, every byte outside the unreserved set and '/' percent-encoded.
std::string file_uri(const std::string& path, const char* query) {
  static const char hex[] = "0123456789ABCDEF";
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += hex[c >> 4];
      uri += hex[c & 15];
    }
  }
  return uri + "?" + query;
}

std::string directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path().string() : std::string(".");
}

}  // namespace

Database::Database(const std::filesystem::path& path, Mode mode) : name_(path.string()), mode_(mode) {
  std::string target = name_;
  int flags = SQLITE_OPEN_NOMUTEX;
  const std::string dir = directory_of(path);
  if (mode == Mode::ReadWrite) {
    // SQLite creates a new database file with mode 0644 whatever the umask (and its -wal and -shm files
    // with the mode of the database file). Created here first, the store gets 0666 & ~umask, like every
    // other file r2q writes; an empty file is an empty database to SQLite.
    int fd = ::open(name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0)
      ::close(fd);
    else if (errno != EEXIST)
      throw InputError(name_ + ": cannot create the store: " + std::strerror(errno));
    // SQLite would open a file it cannot write read-only, and fail later with a less helpful message.
    for (const std::string& needed : {name_, dir})
      if (::access(needed.c_str(), W_OK) != 0)
        throw InputError(name_ + ": the store is read-only here (" + needed + ": " + std::strerror(errno) +
                         "); writing needs the file and its directory (for SQLite's -wal and -shm files) "
                         "writable");
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  } else {
    flags |= SQLITE_OPEN_READONLY;
    // A store in WAL mode whose directory we cannot write (a read-only mount, another user's results) cannot
    // be read normally: SQLite needs its -shm file there. With no -wal file beside it no writer is at work,
    // so the file is read as immutable.
    std::error_code ec;
    if (::access(dir.c_str(), W_OK) != 0 && !std::filesystem::exists(name_ + "-wal", ec)) {
      target = file_uri(std::filesystem::absolute(path, ec).string(), "immutable=1");
      flags |= SQLITE_OPEN_URI;
    }
  }
  // A FIFO would block the open forever, a device or a directory is no store: only a regular file (or a link
  // to one) is opened.
  struct stat st {};
  if (::stat(name_.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw InputError(name_ + ": not a regular file (" +
                     (S_ISDIR(st.st_mode)    ? "a directory"
                      : S_ISFIFO(st.st_mode) ? "a FIFO"
                      : S_ISCHR(st.st_mode)  ? "a character device"
                      : S_ISSOCK(st.st_mode) ? "a socket"
                                             : "not a file") +
                     "); a store is an SQLite database file");
  int rc = sqlite3_open_v2(target.c_str(), &db_, flags, nullptr);
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
    throw_for(rc, with_system_reason(db_, rc, name_ + ": " + message));
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
