//! The repository conformance suite on PostgreSQL: each case gets its own
//! database cloned from a migrated template.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use chat_conformance::{Harness, conformance_suite};
use chat_domain::events::{EventEncoder, OutboxEvent};
use chat_postgres::testing::TestDatabase;
use chat_postgres::{PgConfig, PgStore};
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Encodes just the type, which is all the suite reads back.
struct TypeOnlyEncoder;

impl EventEncoder for TypeOnlyEncoder {
    fn encode(&self, event: &OutboxEvent) -> String {
        format!(r#"{{"type":"{}"}}"#, event.payload.event_type())
    }
}

#[derive(QueryableByName)]
struct PayloadRow {
    #[diesel(sql_type = Text)]
    payload: String,
}

async fn outbox(url: String) -> Vec<(String, Vec<String>)> {
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let rows: Vec<PayloadRow> =
        diesel::sql_query("SELECT payload::text AS payload FROM chat_outbox ORDER BY id")
            .load(&mut conn)
            .await
            .unwrap();
    rows.into_iter()
        .map(|row| {
            let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
            let event_type = payload["data"]["type"].as_str().unwrap().to_owned();
            let channels = match payload.get("channel") {
                Some(channel) => vec![channel.as_str().unwrap().to_owned()],
                None => payload["channels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned())
                    .collect(),
            };
            (event_type, channels)
        })
        .collect()
}

async fn fresh() -> Harness {
    let db = TestDatabase::create().await.unwrap();
    let config = PgConfig {
        database_url: db.url().to_owned(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(10),
        outbox_partitions: 4,
        statement_timeout: Duration::from_secs(30),
        threads: 1,
    };
    let store = Arc::new(PgStore::connect(&config, Arc::new(TypeOnlyEncoder)).unwrap());
    let url = db.url().to_owned();
    Harness::new(store, move || Box::pin(outbox(url.clone())), db)
}

conformance_suite!(fresh);
