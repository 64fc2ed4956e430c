//! The contract's refusals are decided in `chat-domain` only: a store loads
//! facts and calls `chat_domain::rules` (or the service decided before the
//! store was called). This test fails when a store adapter builds a
//! `conflict`, `validation_failed` or `forbidden` error itself.

use std::path::{Path, PathBuf};

const STORES: &[&str] = &["chat-postgres", "chat-memory"];
const REFUSALS: &[&str] = &[
    "ChatError::conflict(",
    "ChatError::validation(",
    "ChatError::forbidden(",
    "ChatError::Conflict(",
    "ChatError::Validation {",
    "ChatError::Forbidden(",
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_store_adapter_decides_a_refusal_itself() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut offenders = Vec::new();
    let mut scanned = 0;
    for store in STORES {
        let mut files = Vec::new();
        rust_files(&crates.join(store).join("src"), &mut files);
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            scanned += 1;
            for (number, line) in text.lines().enumerate() {
                if REFUSALS.iter().any(|r| line.contains(r)) {
                    offenders.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        scanned > 10,
        "the store sources were not found ({scanned} files)"
    );
    assert!(
        offenders.is_empty(),
        "refusals decided in a store instead of chat_domain::rules:\n{}",
        offenders.join("\n")
    );
}
