//! The operations kit (`docs/operations/deploy/`) cannot drift from the
//! service: every variable it sets is a setting `chat-server serve` knows, and
//! the values the service and Centrifugo must share agree across the compose
//! file, the environment file and Centrifugo's configuration. (The compose
//! file itself cannot run here: no container engine.)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn kit(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/operations/deploy")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `KEY=value` lines of an environment file.
fn env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The `environment:` map of one service of the compose file (the file is
/// plain block YAML: two-space indents, `KEY: value`).
fn compose_environment(text: &str, service: &str) -> BTreeMap<String, String> {
    let mut in_service = false;
    let mut in_environment = false;
    let mut found = BTreeMap::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if indent == 2 && trimmed.ends_with(':') {
            in_service = trimmed == format!("{service}:");
            in_environment = false;
        } else if in_service && indent == 4 {
            in_environment = trimmed == "environment:";
        } else if in_service
            && in_environment
            && indent == 6
            && let Some((key, value)) = trimmed.split_once(": ")
        {
            found.insert(key.to_owned(), value.trim_matches('"').to_owned());
        }
    }
    found
}

#[test]
fn every_variable_of_the_kit_is_a_setting_of_the_service() {
    let help = Command::new(chat_e2e::server_binary())
        .args(["serve", "--help"])
        .output()
        .unwrap_or_else(|e| panic!("running chat-server: {e}"));
    let help = String::from_utf8_lossy(&help.stdout);
    let env = env_file(&kit("chat.env"));
    let compose = compose_environment(&kit("compose.yaml"), "chat");
    assert!(!env.is_empty() && !compose.is_empty());
    // RUST_LOG is read by the log filter, not by the settings parser.
    for key in env
        .keys()
        .chain(compose.keys())
        .filter(|k| *k != "RUST_LOG")
    {
        assert!(
            help.contains(&format!("[env: {key}")),
            "{key} is not a chat-server setting"
        );
    }
}

#[test]
fn shared_values_agree_across_the_kit() {
    let env = env_file(&kit("chat.env"));
    let compose = compose_environment(&kit("compose.yaml"), "chat");
    let postgres = compose_environment(&kit("compose.yaml"), "postgres");
    let centrifugo: Value = serde_json::from_str(&kit("centrifugo.json")).unwrap();
    let consumer = &centrifugo["consumers"][0];
    for settings in [&env, &compose] {
        assert_eq!(
            settings["CENTRIFUGO_API_KEY"],
            centrifugo["http_api"]["key"]
        );
        assert_eq!(
            settings["CENTRIFUGO_TOKEN_SECRET"],
            centrifugo["client"]["token"]["hmac_secret_key"]
        );
        assert_eq!(
            settings["OUTBOX_PARTITIONS"],
            consumer["postgresql"]["num_partitions"].to_string()
        );
        assert_eq!(settings["OUTBOX_CONSUMER_NAME"], consumer["name"]);
        assert_eq!(settings["DATABASE_URL"], consumer["postgresql"]["dsn"]);
        assert!(settings["DATABASE_URL"].contains(&postgres["POSTGRES_PASSWORD"]));
    }
    // The relay drains by default, so Centrifugo's own consumer is off.
    assert_eq!(env["OUTBOX_RELAY"], "true");
    assert_eq!(consumer["enabled"], false);
    // Both namespaces the service publishes to keep history for recovery.
    let namespaces = centrifugo["channel"]["namespaces"].as_array().unwrap();
    for name in ["chat", "personal"] {
        let namespace = namespaces.iter().find(|n| n["name"] == name).unwrap();
        assert_eq!(namespace["force_recovery"], true, "{name}");
        assert!(
            namespace["history_size"].as_u64().unwrap_or(0) > 0,
            "{name}"
        );
    }
}
