// Forward-only schema migrations. Never edit a released step; append a new one and bump kSchemaVersion.
#include "core/store/migrations.h"

namespace r2q::store {

const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> ladder = {
      // 0 -> 1: initial schema.
      R"sql(
CREATE TABLE experiments (
  name     TEXT PRIMARY KEY,
  spec     TEXT NOT NULL,
  source   TEXT,
  created  REAL NOT NULL,
  updated  REAL NOT NULL
);
CREATE TABLE runs (
  run_key      TEXT PRIMARY KEY,
  config       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'finished', 'failed')),
  attempt      INTEGER NOT NULL DEFAULT 0,
  worker       TEXT,
  host         TEXT,
  pid          INTEGER NOT NULL DEFAULT 0,
  heartbeat    REAL,
  started      REAL,
  finished     REAL,
  epoch        INTEGER NOT NULL DEFAULT 0,
  error        TEXT,
  checkpoint   TEXT,
  git_commit   TEXT,
  git_dirty    INTEGER NOT NULL DEFAULT 0,
  environment  TEXT NOT NULL DEFAULT '{}',
  created      REAL NOT NULL,
  seq          INTEGER NOT NULL
);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE experiment_runs (
  experiment  TEXT NOT NULL REFERENCES experiments(name),
  run_key     TEXT NOT NULL REFERENCES runs(run_key),
  position    INTEGER NOT NULL,
  PRIMARY KEY (experiment, run_key)
) WITHOUT ROWID;
CREATE TABLE params (
  run_key  TEXT NOT NULL REFERENCES runs(run_key),
  path     TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (run_key, path)
) WITHOUT ROWID;
CREATE INDEX params_by_value ON params(path, value);
CREATE TABLE metrics (
  run_key  TEXT NOT NULL REFERENCES runs(run_key),
  name     TEXT NOT NULL,
  step     INTEGER NOT NULL,
  value    REAL NOT NULL,
  time     REAL NOT NULL,
  PRIMARY KEY (run_key, name, step)
) WITHOUT ROWID;
)sql",
  };
  return ladder;
}

}  // namespace r2q::store
