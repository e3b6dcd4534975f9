//! Database access: one diesel code path for SQLite (embedded default) and PostgreSQL.
//!
//! The backend is chosen from the URL scheme at run time, never by letting `establish` guess
//! (SQLite would accept any string as a file name). Store functions elsewhere take
//! `&mut DbConn` so the use case decides the transaction; handlers reach the database only
//! through [`Db::run`], which moves the blocking work onto the blocking thread pool.

pub mod schema;

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A pooled connection to either backend. PostgreSQL comes first: the derive tries variants
/// in order when asked to `establish` from a bare URL, and SQLite accepts anything.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("unsupported database URL scheme in {0:?}: use postgres://... or sqlite://PATH")]
    UnsupportedScheme(String),
    #[error("cannot create the directory for the SQLite database {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("migrations failed: {0}")]
    Migration(String),
}

impl Backend {
    /// `postgres://` / `postgresql://` select PostgreSQL; `sqlite://PATH` (or `sqlite:PATH`)
    /// selects SQLite. Anything else is refused rather than silently becoming a file name.
    pub fn from_url(url: &str) -> Result<(Self, String), DbSetupError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok((Backend::Postgres, url.to_owned()))
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Ok((Backend::Sqlite, path.to_owned()))
        } else {
            Err(DbSetupError::UnsupportedScheme(redact_url(url)))
        }
    }
}

/// Hides the password of a database URL so it can be printed and logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Builds connections of the right variant and applies SQLite's per-connection settings.
#[derive(Debug)]
pub struct ConnectionManager {
    backend: Backend,
    target: String,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.target)
                .map(DbConn::Pg)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                stable_sqlite_plans();
                let mut conn = diesel::SqliteConnection::establish(&self.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the single writer; busy_timeout makes writers
                // queue instead of failing; foreign keys are off by default in SQLite.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                let mut conn = DbConn::Sqlite(conn);
                optimize(&mut conn).map_err(r2d2::Error::QueryError)?;
                Ok(conn)
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// Makes every SQLite connection this process opens from now on keep one query plan per
/// statement, whatever values are bound (`SQLITE_DBCONFIG_ENABLE_QPSG`).
///
/// Why: the bundled SQLite has STAT4 statistics (`PRAGMA optimize` gathers them, see
/// [`optimize`]), and with them it marks a prepared statement as expired whenever a value
/// is bound to a parameter the planner looked at (diesel binds every literal, `LIMIT 1`
/// included), then prepares it again on the next step. Diesel's statement cache was thus
/// useless for the hottest statements: re-preparing was 16% of the service's CPU under the
/// chat load (BENCHMARKS.md). Our queries go by primary keys and selective indexes, so the
/// plan chosen without the values is the right one.
///
/// Diesel does not hand out the raw `sqlite3*`, so the setting is applied by an automatic
/// extension, which SQLite runs on each connection as it opens; registered once per
/// process. (It applies to every SQLite connection the process opens, which is only ours.)
fn stable_sqlite_plans() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: `sqlite3_auto_extension` only stores the function pointer, which has
        // exactly the entry-point signature SQLite calls and lives for the whole program.
        let rc = unsafe { libsqlite3_sys::sqlite3_auto_extension(Some(enable_qpsg)) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::warn!(
                code = rc,
                "cannot register the SQLite plan-stability setting; statements will be re-prepared"
            );
        }
    });
}

/// The automatic extension's entry point: SQLite calls it with each new connection.
unsafe extern "C" fn enable_qpsg(
    db: *mut libsqlite3_sys::sqlite3,
    _err: *mut *mut std::ffi::c_char,
    _api: *const libsqlite3_sys::sqlite3_api_routines,
) -> std::ffi::c_int {
    // SAFETY: `db` is the open connection SQLite hands to its automatic extensions; this
    // option takes an int (1 = on) and an int pointer for the new state, which may be null.
    unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// The application's handle on its database: a pool plus the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

/// Why a database call made from async code failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E> {
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("the blocking task was cancelled or panicked")]
    Join,
    #[error(transparent)]
    Inner(E),
}

impl Db {
    pub fn connect(url: &str, max_size: u32) -> Result<Self, DbSetupError> {
        let (backend, target) = Backend::from_url(url)?;
        if backend == Backend::Sqlite && target != ":memory:" {
            let path = PathBuf::from(&target);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| DbSetupError::CreateDir {
                    path: dir.to_owned(),
                    source,
                })?;
            }
        }
        let pool = r2d2::Pool::builder()
            .max_size(max_size.max(1))
            .connection_timeout(Duration::from_secs(10))
            .build(ConnectionManager { backend, target })?;
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// A connection for start-up and command-line work (never call this on an actix worker).
    pub fn get_blocking(&self) -> Result<PooledConn, r2d2::PoolError> {
        self.pool.get()
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, inside the caller's
    /// tracing span, so diesel's synchronous calls never stall an async worker.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, RunError<E>>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            f(&mut conn).map_err(RunError::Inner)
        })
        .await
        .map_err(|_| RunError::Join)?
    }

    /// Applies every pending migration of this backend; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, DbSetupError> {
        let mut conn = self.pool.get()?;
        run_migrations(&mut conn)
    }
}

/// Keeps SQLite's query-planner statistics fresh: `PRAGMA optimize=0x10012` analyses every
/// table (0x10000) whose statistics are missing or stale (row count changed tenfold), with
/// SQLite's analysis limit (0x10: sampled, about 100 ms at worst), so it is cheap when
/// nothing changed. Without statistics SQLite
/// picks poor indexes for the month-long aggregations (payroll, quality, levels); see
/// BENCHMARKS.md. Run when a connection opens (as SQLite recommends) and hourly by the
/// background task for the long-lived pooled connections. PostgreSQL's autovacuum does
/// this on its own, so there it does nothing.
pub fn optimize(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute("PRAGMA optimize=0x10012;"),
        DbConn::Pg(_) => Ok(()),
    }
}

pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbSetupError> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| DbSetupError::Migration(e.to_string()))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// Reverts every applied migration (used by the migration round-trip test and by nothing
/// in production).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<usize, DbSetupError> {
    let reverted = match conn {
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| DbSetupError::Migration(e.to_string()))?;
    Ok(reverted.len())
}

/// A transaction that writes. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write
/// lock up front: a deferred transaction that reads and then writes fails at once with
/// `SQLITE_BUSY` when another writer got in between, while an immediate one waits its turn
/// (busy_timeout). On PostgreSQL it is an ordinary transaction. Nested calls use savepoints.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let top_level_sqlite = match conn {
        DbConn::Sqlite(c) => matches!(
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth(),
            Ok(None)
        ),
        DbConn::Pg(_) => false,
    };
    match conn {
        DbConn::Sqlite(c) if top_level_sqlite => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        _ => <DbConn as Connection>::TransactionManager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) =
                <DbConn as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

/// Current UTC time truncated to microseconds, the precision both backends store.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    now.with_nanosecond_floor()
}

trait MicrosFloor {
    fn with_nanosecond_floor(self) -> Self;
}

impl MicrosFloor for chrono::NaiveDateTime {
    fn with_nanosecond_floor(self) -> Self {
        use chrono::Timelike;
        let nanos = self.nanosecond() / 1_000 * 1_000;
        self.with_nanosecond(nanos).unwrap_or(self)
    }
}

/// A new time-ordered id (uuid v7): text order equals creation order, which keyset
/// pagination relies on.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether a statement failed on a unique index (a concurrent duplicate).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_scheme_picks_backend() {
        assert_eq!(
            Backend::from_url("postgres://u:p@h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("sqlite://./data/x.db").unwrap(),
            (Backend::Sqlite, "./data/x.db".to_owned())
        );
        assert!(Backend::from_url("mysql://h/db").is_err());
        assert!(Backend::from_url("./data/x.db").is_err());
    }

    #[derive(QueryableByName)]
    struct Analysed {
        #[diesel(sql_type = diesel::sql_types::Text)]
        idx: String,
    }

    #[test]
    fn optimize_gives_grown_tables_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(
            &format!("sqlite://{}", dir.path().join("t.db").display()),
            1,
        )
        .unwrap();
        db.migrate().unwrap();
        let mut conn = db.get_blocking().unwrap();
        conn.batch_execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99) \
             INSERT INTO merchants (id, name, created_at) \
             SELECT 'm' || i, 'Shop ' || i, '2026-12-01 00:00:00' FROM n",
        )
        .unwrap();
        optimize(&mut conn).unwrap();
        let analysed: Vec<Analysed> =
            diesel::sql_query("SELECT idx FROM sqlite_stat1 WHERE tbl = 'merchants'")
                .load(&mut *conn)
                .unwrap();
        // The primary key's index: its 100 rows counted.
        let names: Vec<&str> = analysed.iter().map(|a| a.idx.as_str()).collect();
        assert_eq!(names, ["sqlite_autoindex_merchants_1"]);
    }

    #[derive(QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    fn plan(conn: &mut DbConn, a: i32, b: i32) -> String {
        let steps: Vec<PlanStep> =
            diesel::sql_query("EXPLAIN QUERY PLAN SELECT * FROM skew WHERE a = ? AND b = ?")
                .bind::<diesel::sql_types::Integer, _>(a)
                .bind::<diesel::sql_types::Integer, _>(b)
                .load(conn)
                .unwrap();
        steps
            .into_iter()
            .map(|s| s.detail)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A pooled connection plans a statement once, not anew for each bound value: on a
    /// table where STAT4 knows one value of `a` is in 95% of the rows, SQLite without the
    /// setting searches by `b` for that value and by `a` for a rare one (and re-prepares
    /// the statement on every new binding to find out).
    #[test]
    fn sqlite_plans_do_not_depend_on_bound_values() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(
            &format!("sqlite://{}", dir.path().join("t.db").display()),
            1,
        )
        .unwrap();
        let mut conn = db.get_blocking().unwrap();
        conn.batch_execute(
            "CREATE TABLE skew (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL);
             CREATE INDEX skew_a ON skew (a);
             CREATE INDEX skew_b ON skew (b);
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999)
             INSERT INTO skew (a, b) SELECT CASE WHEN i < 1900 THEN 0 ELSE i END, i % 20 FROM n;
             ANALYZE;",
        )
        .unwrap();
        let stat4: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM sqlite_stat4 WHERE tbl = 'skew')",
        ))
        .get_result(&mut *conn)
        .unwrap();
        assert!(stat4 > 0, "the bundled SQLite gathers STAT4 samples");
        let common = plan(&mut conn, 0, 3);
        let rare = plan(&mut conn, 1950, 3);
        assert!(common.contains("skew_a"), "{common}");
        assert_eq!(common, rare);
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/cs"),
            "postgres://app:***@db:5432/cs"
        );
        assert_eq!(redact_url("postgres://app@db/cs"), "postgres://app@db/cs");
        assert_eq!(redact_url("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(a < b);
    }
}
