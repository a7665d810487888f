//! The real `paywatch-server` binary on a free loopback port.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_paywatch-server");

/// A started binary: the process, the rest of its stdout, its URL.
pub struct Binary {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
    pub url: String,
}

impl Binary {
    /// `host:port`.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// The next stdout line, which must start with `prefix`: the rest.
    pub fn line(&mut self, prefix: &str) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim_end()
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
            .to_owned()
    }
}

/// Starts the binary with `--port 0` and no `www/` or `pkg/`, then what
/// `configure` adds (flags, environment, stderr), and reads its listening
/// line.
pub fn spawn(configure: impl FnOnce(&mut Command) -> &mut Command) -> Binary {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "--port",
        "0",
        "--www",
        "/nonexistent",
        "--pkg",
        "/nonexistent",
    ])
    .stdout(Stdio::piped());
    configure(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut binary = Binary {
        child,
        stdout,
        url: String::new(),
    };
    binary.url = binary.line("paywatch-server listening on ");
    binary
}
