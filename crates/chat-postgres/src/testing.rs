//! Isolated databases for tests: each test gets its own database, cloned from
//! a template that was migrated once. No test sees another's rows.
//!
//! The server to use is `TEST_DATABASE_URL` (an admin connection, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); the role needs CREATEDB.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::run_migrations;

/// A database that exists for one test and is dropped with it.
pub struct TestDatabase {
    url: String,
    name: String,
    admin_url: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct RoleRow {
    #[diesel(sql_type = Text)]
    role: String,
}

/// Keeps `[a-z0-9_]`, so the name is a plain SQL identifier.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(20)
        .collect()
}

/// A fixed key so that every test process serializes template creation.
const TEMPLATE_LOCK: i64 = 0x0C4A_7000_0001;

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDatabase {
    /// Creates a fresh, migrated database.
    ///
    /// # Errors
    /// When the server cannot be reached or the role may not create databases.
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!(
            "chat_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000
        );
        let mut admin = AsyncPgConnection::establish(&admin_url)
            .await
            .with_context(|| format!("connecting to {admin_url} (set TEST_DATABASE_URL)"))?;
        // One template per role: a role may only clone templates it owns.
        let role: RoleRow = diesel::sql_query("SELECT current_user::text AS role")
            .get_result(&mut admin)
            .await?;
        let template = format!(
            "chat_template_{}_{:016x}",
            sanitize(&role.role),
            migrations_hash()?
        );
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<BigInt, _>(TEMPLATE_LOCK)
            .execute(&mut admin)
            .await?;
        let made = Self::clone_template(&mut admin, &admin_url, &template, &name).await;
        diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(TEMPLATE_LOCK)
            .execute(&mut admin)
            .await?;
        made?;
        Ok(Self {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }

    async fn clone_template(
        admin: &mut AsyncPgConnection,
        admin_url: &str,
        template: &str,
        name: &str,
    ) -> anyhow::Result<()> {
        let exists: CountRow =
            diesel::sql_query("SELECT count(*) AS count FROM pg_database WHERE datname = $1")
                .bind::<Text, _>(template)
                .get_result(admin)
                .await?;
        if exists.count == 0 {
            // Migrate under a temporary name, then rename: a failed run never
            // leaves a half-migrated template behind.
            let building = format!("{template}_building");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
                .execute(admin)
                .await?;
            diesel::sql_query(format!("CREATE DATABASE {building}"))
                .execute(admin)
                .await?;
            run_migrations(&with_database(admin_url, &building)).await?;
            diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}"))
                .execute(admin)
                .await?;
        }
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(admin)
            .await?;
        Ok(())
    }

    /// The URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself:
        // use a short-lived runtime on another thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = AsyncPgConnection::establish(&admin_url).await.ok()?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            tracing::warn!(database = %self.name, "could not drop the test database");
        }
    }
}

/// The URL with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// A hash of every migration file, so a changed migration makes a new template.
fn migrations_hash() -> anyhow::Result<u64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            for file in std::fs::read_dir(&path)? {
                let file = file?.path();
                let relative = file
                    .strip_prefix(&dir)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                files.push((relative, std::fs::read(&file)?));
            }
        }
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    files.hash(&mut hasher);
    Ok(hasher.finish())
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the store's hot queries, with the SQL the
/// store itself sends, for `user` in `conversation` (a page before seq
/// `before_seq`): what `cargo xtask bench scale` prints to show index use.
///
/// # Errors
/// When a statement fails.
pub async fn explain(
    conn: &mut AsyncPgConnection,
    user: i64,
    conversation: i64,
    before_seq: i64,
) -> anyhow::Result<Vec<(String, String)>> {
    use diesel::sql_types::{Array, Nullable, Timestamptz};

    use crate::search::{Plan, search_sql};

    let now = time::OffsetDateTime::now_utc();
    let explain = |sql: &str| format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}");
    let text = |rows: Vec<PlanRow>| {
        rows.into_iter()
            .map(|r| r.line)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut plans = Vec::new();

    let rows = diesel::sql_query(explain(&crate::read_state::unread_totals_sql()))
        .bind::<BigInt, _>(user)
        .bind::<Timestamptz, _>(now)
        .load(conn)
        .await?;
    plans.push(("get-unread-counts".to_owned(), text(rows)));

    let rows = diesel::sql_query(explain(&crate::conversations::list_sql()))
        .bind::<BigInt, _>(user)
        .bind::<Array<Text>, _>(Vec::<String>::new())
        .bind::<Nullable<diesel::sql_types::Bool>, _>(None::<bool>)
        .bind::<diesel::sql_types::Bool, _>(false)
        .bind::<diesel::sql_types::Bool, _>(false)
        .bind::<Nullable<Timestamptz>, _>(None::<time::OffsetDateTime>)
        .bind::<BigInt, _>(0)
        .bind::<BigInt, _>(51)
        .load(conn)
        .await?;
    plans.push(("list-conversations, first page".to_owned(), text(rows)));

    let rows = diesel::sql_query(explain(&crate::conversations::get_sql()))
        .bind::<BigInt, _>(conversation)
        .bind::<BigInt, _>(user)
        .load(conn)
        .await?;
    plans.push(("get-conversation".to_owned(), text(rows)));

    let (page, binds) = crate::pages::page_sql(conversation, before_seq);
    let rows = diesel::sql_query(explain(&page))
        .bind::<Array<BigInt>, _>(binds)
        .load(conn)
        .await?;
    plans.push((
        "list-messages, a page deep in history".to_owned(),
        text(rows),
    ));

    for (name, plan, scope, query) in [
        (
            "search, rare word, one conversation",
            Plan::Rare,
            Some(conversation),
            "'zephyrquartz'",
        ),
        (
            "search, rare word, all conversations",
            Plan::Rare,
            None,
            "'raremark'",
        ),
        (
            "search, common word, one conversation",
            Plan::Common,
            Some(conversation),
            "'hello'",
        ),
    ] {
        let rows = diesel::sql_query(explain(&search_sql(plan, scope.is_some())))
            .bind::<BigInt, _>(user)
            .bind::<Text, _>(query)
            .bind::<Nullable<BigInt>, _>(scope)
            .bind::<Nullable<BigInt>, _>(None::<i64>)
            .bind::<Nullable<Timestamptz>, _>(None::<time::OffsetDateTime>)
            .bind::<Nullable<Timestamptz>, _>(None::<time::OffsetDateTime>)
            .bind::<Nullable<Timestamptz>, _>(None::<time::OffsetDateTime>)
            .bind::<BigInt, _>(0)
            .bind::<BigInt, _>(21)
            .load(conn)
            .await?;
        plans.push((name.to_owned(), text(rows)));
    }

    // Sync with a cursor taken just now: the walk over the user's
    // memberships that every sync pays, whatever changed.
    let marker: MarkerRow =
        diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS marker")
            .get_result(conn)
            .await?;
    let rows = diesel::sql_query(explain(crate::events::CHANGED_CONVERSATIONS))
        .bind::<BigInt, _>(user)
        .bind::<Text, _>(marker.marker.clone())
        .bind::<BigInt, _>(0)
        .bind::<BigInt, _>(101)
        .load(conn)
        .await?;
    plans.push((
        "sync, with a cursor, walking the memberships".to_owned(),
        text(rows),
    ));
    let rows = diesel::sql_query(explain(crate::events::LOGGED_CHANGES))
        .bind::<BigInt, _>(user)
        .bind::<Text, _>(marker.marker.clone())
        .bind::<BigInt, _>(0)
        .bind::<BigInt, _>(101)
        .bind::<BigInt, _>(crate::events::LOG_READ_MAX)
        .load(conn)
        .await?;
    plans.push((
        "sync, with a cursor, from the change log".to_owned(),
        text(rows),
    ));
    Ok(plans)
}

#[derive(QueryableByName)]
struct MarkerRow {
    #[diesel(sql_type = Text)]
    marker: String,
}
