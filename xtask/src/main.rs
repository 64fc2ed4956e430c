//! Project automation: `cargo xtask <task>`.
//!
//! - `ci`: exactly what CI runs: format check, clippy with warnings denied,
//!   the domain's dependency rule, the code map rule, docs, and every test.
//! - `deps`: the dependency rule alone.
//! - `openapi`: rewrites `docs/openapi.json` from the code.
//! - `bench`: the benchmarks (`tests/bench/`), in release mode.

#![expect(clippy::print_stderr, reason = "xtask reports progress on stderr")]

use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "ci" => ci(),
        "deps" => dependency_rule(),
        "map" => code_map_rule(),
        "deny" => cargo_deny(),
        "openapi" => run_with_env(
            "cargo",
            &[
                "test",
                "-q",
                "-p",
                "chat-http",
                "--test",
                "openapi",
                "the_committed_description_is_current",
            ],
            &[("UPDATE_OPENAPI", "1")],
        ),
        "bench" => bench(&std::env::args().skip(2).collect::<Vec<_>>()),
        _ => {
            bail!(
                "usage: cargo xtask <ci|deps|map|deny|openapi|bench>\n  ci       fmt, clippy, dependency and code map rules, cargo deny, docs, tests\n  deps     check chat-domain's dependency rule\n  deny     cargo deny: bans, licenses, sources, advisories\n  map      check that docs/ARCHITECTURE.md names every source file\n  openapi  rewrite docs/openapi.json\n  bench    relay | http | scale | push (see docs/benchmarks.md)"
            )
        }
    }
}

fn ci() -> anyhow::Result<()> {
    ensure_test_tools()?;
    run("cargo", &["fmt", "--all", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    dependency_rule()?;
    code_map_rule()?;
    cargo_deny()?;
    run_with_env(
        "cargo",
        &["doc", "--workspace", "--no-deps", "--locked"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // The end-to-end tests run the server binary: build it with the tests.
    if has_nextest() {
        run(
            "cargo",
            &[
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--no-fail-fast",
            ],
        )
    } else {
        run(
            "cargo",
            &["test", "--workspace", "--locked", "--no-fail-fast"],
        )
    }
}

/// The end-to-end tests talk to real programs: an S3 server that checks
/// SigV4 (s3s-fs, from crates.io) and a browser (Debian's chromium). A fresh
/// machine has neither, so the test command installs what is missing rather
/// than asking for a separate step. Node.js and npm come with the machine;
/// the TypeScript example installs its own locked packages.
fn ensure_test_tools() -> anyhow::Result<()> {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
    };
    let cargo_bin = std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join(".cargo/bin/s3s-fs"));
    if !on_path("s3s-fs") && !cargo_bin.is_some_and(|p| p.is_file()) {
        eprintln!("== installing s3s-fs (S3 server for the attachment tests)");
        run(
            "cargo",
            &[
                "install",
                "s3s-fs",
                "--version",
                "0.14.1",
                "--locked",
                "--features",
                "binary",
            ],
        )?;
    }
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| std::path::PathBuf::from("/usr/bin/chromium"), Into::into);
    if !chromium.exists() {
        eprintln!("== installing chromium (browser for the CORS tests)");
        run_with_env(
            "apt-get",
            &["install", "-y", "-qq", "chromium"],
            &[("DEBIAN_FRONTEND", "noninteractive")],
        )
        .or_else(|_| {
            // The package lists of a fresh machine may be empty.
            run("apt-get", &["update", "-qq"])?;
            run_with_env(
                "apt-get",
                &["install", "-y", "-qq", "chromium"],
                &[("DEBIAN_FRONTEND", "noninteractive")],
            )
        })
        .context("installing chromium (needs root and Debian's apt; or set CHROMIUM)")?;
    }
    Ok(())
}

/// `cargo deny check`: licenses, bans and sources always; advisories against
/// the RustSec database, which lives on GitHub. Where GitHub cannot be
/// reached (this project's CI machines) the check uses a copy already on the
/// machine, and without one it says so loudly instead of failing the run for
/// a network it cannot have. The accepted advisories and why: `deny.toml`.
fn cargo_deny() -> anyhow::Result<()> {
    let installed = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("== installing cargo-deny");
        run(
            "cargo",
            &["install", "cargo-deny", "--version", "0.20.2", "--locked"],
        )?;
    }
    // Bans, licenses and sources: a failure prints the whole report. The
    // duplicate-version warnings (rusoto's older tree, deny.toml) are
    // summed up in one line: with their inclusion graphs they were some
    // 2,500 lines of every run, which buried what matters.
    let checked = Command::new("cargo")
        .args([
            "deny",
            "--locked",
            "check",
            "--hide-inclusion-graph",
            "bans",
            "licenses",
            "sources",
        ])
        .output()
        .context("running cargo deny")?;
    let report = String::from_utf8_lossy(&checked.stderr);
    if !checked.status.success() {
        eprintln!("{report}");
        bail!("cargo deny check bans licenses sources failed");
    }
    let duplicates = report.matches("warning[duplicate]").count();
    eprintln!(
        "cargo deny: bans, licenses and sources pass; {duplicates} crates come in several versions (allowed, see deny.toml; `cargo deny check bans` lists them)"
    );
    let output = Command::new("cargo")
        .args(["deny", "--locked", "check", "advisories"])
        .output()
        .context("running cargo deny")?;
    let report = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        return Ok(());
    }
    let unreachable = [
        "Could not resolve host",
        "unable to access",
        "failed to fetch advisory",
    ]
    .iter()
    .any(|sign| report.contains(sign));
    // A copy is a database directory (a failed fetch leaves only a lock
    // file behind, which is no copy).
    let local_copy = std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join(".cargo/advisory-dbs"))
        .and_then(|dir| dir.read_dir().ok())
        .is_some_and(|mut entries| {
            entries.any(|e| e.is_ok_and(|e| e.path().join("crates").is_dir()))
        });
    if unreachable && local_copy {
        // Checked against the copy on this machine, as old as that copy.
        return run("cargo", &["deny", "--offline", "check", "advisories"]);
    }
    if unreachable {
        eprintln!(
            "== WARNING: advisories NOT checked: the RustSec database (github.com) cannot be reached from here"
        );
        return Ok(());
    }
    eprintln!("{report}");
    bail!("cargo deny check advisories failed")
}

/// `docs/ARCHITECTURE.md`'s code map names every source file of every
/// crate: in the crate's own entry, by its path under `src/` or by its file
/// name. A file added without a word in the map fails CI, so the map a
/// newcomer reads first stays true.
fn code_map_rule() -> anyhow::Result<()> {
    let map = std::fs::read_to_string("docs/ARCHITECTURE.md").context("reading ARCHITECTURE.md")?;
    let mut missing = Vec::new();
    for entry in std::fs::read_dir("crates").context("listing crates/")? {
        let crate_dir = entry?.path();
        let Some(name) = crate_dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let heading = format!("- **`crates/{name}`**");
        let Some(start) = map.find(&heading) else {
            missing.push(format!("crates/{name} (no entry)"));
            continue;
        };
        let rest = &map[start + heading.len()..];
        let section = &rest[..rest.find("\n- **`").unwrap_or(rest.len())];
        let src = crate_dir.join("src");
        for file in rust_files(&src)? {
            let relative = file
                .strip_prefix(&src)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            let file_name = relative.rsplit('/').next().unwrap_or(&relative);
            if matches!(relative.as_str(), "lib.rs" | "main.rs") {
                continue;
            }
            if !section.contains(&format!("`{relative}`"))
                && !section.contains(&format!("`{file_name}`"))
                && !section.contains(&format!("/{relative}`"))
            {
                missing.push(format!("crates/{name}/src/{relative}"));
            }
        }
    }
    if !missing.is_empty() {
        bail!(
            "docs/ARCHITECTURE.md's code map does not mention:\n  {}\nsay in the crate's entry what each file is for",
            missing.join("\n  ")
        );
    }
    eprintln!("code map rule: ARCHITECTURE.md names every source file");
    Ok(())
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(files)
}

/// `chat-domain` does no IO and knows no framework: none of these may be in
/// its normal dependency tree.
fn dependency_rule() -> anyhow::Result<()> {
    const FORBIDDEN: &[&str] = &[
        "actix",
        "diesel",
        "tokio",
        "serde_json",
        "reqwest",
        "rusoto",
        "hyper",
        "sqlx",
        "mio",
    ];
    let output = Command::new("cargo")
        .args([
            "tree",
            "-p",
            "chat-domain",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--locked",
        ])
        .output()
        .context("running cargo tree")?;
    if !output.status.success() {
        bail!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tree = String::from_utf8(output.stdout)?;
    let offenders: Vec<&str> = tree
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or("");
            FORBIDDEN.iter().any(|f| name.starts_with(f))
        })
        .collect();
    if !offenders.is_empty() {
        bail!(
            "chat-domain must stay free of IO and frameworks, but depends on:\n{}",
            offenders.join("\n")
        );
    }
    eprintln!("dependency rule: chat-domain's tree has none of {FORBIDDEN:?}");
    Ok(())
}

/// Benchmarks, built in release mode (the server they start, too).
fn bench(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some(name @ ("relay" | "http" | "scale" | "push")) => {
            let bin = format!("bench-{name}");
            let mut cargo = vec![
                "run",
                "--release",
                "--quiet",
                "-p",
                "chat-e2e",
                "--bin",
                bin.as_str(),
                "--",
            ];
            cargo.extend(args[1..].iter().map(String::as_str));
            run("cargo", &cargo)
        }
        _ => bail!(
            "usage: cargo xtask bench relay [--rate N] [--seconds N]\n       cargo xtask bench http [--seconds N] [--clients 1,8,16,64] [--operations send,list]\n       cargo xtask bench scale [--big N] [--others N] [--iterations N]\n       cargo xtask bench push [--members N] [--memberships N] [--messages N]"
        ),
    }
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    run_with_env(program, args, &[])
}

fn run_with_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("running {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
