//! A real S3-compatible server on loopback that verifies SigV4 signatures
//! (s3s-fs), with a `chat` bucket in a fresh directory.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Credentials the server accepts.
pub const ACCESS_KEY: &str = "chat-test-access";
pub const SECRET_KEY: &str = "chat-test-secret-key-0123456789";
pub const BUCKET: &str = "chat";

/// A running s3s-fs.
pub struct S3Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").map(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("s3s-fs"))
            .find(|p| p.is_file())
    });
    let in_cargo =
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin/s3s-fs"));
    on_path
        .flatten()
        .or(in_cargo.filter(|p| p.is_file()))
        .unwrap_or_else(|| panic!("s3s-fs is not installed: `cargo install s3s-fs --version 0.14.1 --locked --features binary` (`cargo xtask ci` installs it)"))
}

impl S3Server {
    /// Starts s3s-fs on a free port.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let dir = std::env::temp_dir().join(format!("chat-s3-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join(BUCKET))
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting s3s-fs: {e}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, dir }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's environment for `chat-server`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("R2_ENDPOINT", self.endpoint()),
            ("R2_BUCKET", BUCKET.to_owned()),
            ("R2_REGION", "us-east-1".to_owned()),
            ("R2_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("R2_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
