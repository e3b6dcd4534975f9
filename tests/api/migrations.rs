//! Every migration runs up, down and up again on both backends, and both end with the same
//! tables and columns.

use std::collections::BTreeSet;

use cloudseat::db::{Db, DbConn, revert_all_migrations, run_migrations};
use diesel::RunQueryDsl;
use diesel::sql_types::{Integer, Text};

use crate::helpers::postgres_database;

#[derive(diesel::QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
}

fn normalise(data_type: &str) -> String {
    match data_type.to_ascii_lowercase().as_str() {
        "timestamp without time zone" => "timestamp".into(),
        "character varying" => "text".into(),
        other => other.into(),
    }
}

fn schema(conn: &mut DbConn) -> BTreeSet<(String, String, String, bool)> {
    let query = match conn {
        DbConn::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, p.\"notnull\" AS not_null \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'"
        }
        DbConn::Pg(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, \
             CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END AS not_null \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'"
        }
    };
    diesel::sql_query(query)
        .load::<Column>(conn)
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.table_name,
                c.column_name,
                normalise(&c.data_type),
                c.not_null == 1,
            )
        })
        .collect()
}

fn round_trip(url: &str) -> BTreeSet<(String, String, String, bool)> {
    let db = Db::connect(url, 1).unwrap();
    let mut conn = db.get_blocking().unwrap();
    let applied = run_migrations(&mut conn).unwrap();
    assert!(!applied.is_empty());
    let first = schema(&mut conn);
    assert!(first.iter().any(|c| c.0 == "accounts"), "{first:?}");
    let reverted = revert_all_migrations(&mut conn).unwrap();
    assert_eq!(reverted, applied.len());
    assert!(
        schema(&mut conn).is_empty(),
        "down migrations leave tables behind"
    );
    run_migrations(&mut conn).unwrap();
    let again = schema(&mut conn);
    assert_eq!(first, again, "up after down gives another schema");
    again
}

#[tokio::test]
async fn migrations_round_trip_and_both_backends_agree() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("m.db").display());
    let pg_url = postgres_database();
    let (sqlite, postgres) =
        tokio::task::spawn_blocking(move || (round_trip(&sqlite_url), round_trip(&pg_url)))
            .await
            .unwrap();
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_pg: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "schemas differ:\n only SQLite: {only_sqlite:?}\n only PostgreSQL: {only_pg:?}"
    );
}
