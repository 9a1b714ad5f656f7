//! Running SIPp and baresip as peers on loopback, each on its own ports, killed
//! when dropped; and a raw UDP socket for hand-made datagrams.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tempfile::TempDir;
use tokio::process::{Child, Command};

pub fn sipp() -> Option<PathBuf> {
    crieur_testkit::peer("SIPp", &["sipp"], "apt-get install -y sip-tester")
}

pub fn baresip() -> Option<PathBuf> {
    crieur_testkit::peer("baresip", &["baresip"], "apt-get install -y baresip")
}

/// The scenario files beside this module.
pub fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sip")
        .join(name)
        .display()
        .to_string()
}

/// A base port with `count` consecutive ports free for UDP and TCP on 127.0.0.1.
pub fn free_ports(count: u16) -> u16 {
    for _ in 0..200 {
        let Ok(first) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(base) = first.local_addr().map(|a| a.port()) else {
            continue;
        };
        if base > u16::MAX - count {
            continue;
        }
        let all_free = (0..count).all(|i| {
            let port = base + i;
            (i == 0 || UdpSocket::bind(("127.0.0.1", port)).is_ok())
                && TcpListener::bind(("127.0.0.1", port)).is_ok()
        });
        if all_free {
            return base;
        }
    }
    panic!("no block of {count} free ports on 127.0.0.1");
}

/// A peer process with its output kept in a temporary directory.
pub struct Peer {
    name: String,
    child: Child,
    pub dir: TempDir,
}

impl Peer {
    pub fn spawn(program: &Path, args: &[String], dir: TempDir) -> Self {
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = std::fs::File::create(dir.path().join("stdout.log")).expect("log file");
        let err = std::fs::File::create(dir.path().join("stderr.log")).expect("log file");
        let child = Command::new(program)
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self { name, child, dir }
    }

    /// Runs SIPp with `args` plus `-i 127.0.0.1 -p <port> -mp <media> -nostdin`.
    pub fn sipp(program: &Path, port: u16, media: u16, args: &[&str]) -> Self {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        for extra in [
            "-i".to_owned(),
            "127.0.0.1".to_owned(),
            "-p".to_owned(),
            port.to_string(),
            "-mp".to_owned(),
            media.to_string(),
            "-nostdin".to_owned(),
        ] {
            all.push(extra);
        }
        Self::spawn(program, &all, TempDir::new().expect("tempdir"))
    }

    /// Waits for the exit code; kills the peer and panics after `limit`.
    pub async fn exit_code(mut self, limit: Duration) -> (i32, String) {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) => (status.code().unwrap_or(-1), self.output()),
            Ok(Err(e)) => panic!("{} wait failed: {e}", self.name),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!(
                    "{} still running after {limit:?}:\n{}",
                    self.name,
                    self.output()
                )
            }
        }
    }

    /// The last lines it printed (SIPp's statistics screen ends its stdout).
    pub fn output(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        let stdout = read("stdout.log");
        let tail: Vec<&str> = stdout.lines().rev().take(60).collect();
        let mut text: String = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        text.push_str("\n--- stderr ---\n");
        text.push_str(&read("stderr.log"));
        for entry in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log")
                && path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("_errors"))
            {
                text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
        text
    }
}

/// A bare UDP socket speaking hand-written SIP.
pub struct RawSip {
    socket: tokio::net::UdpSocket,
    target: SocketAddr,
}

impl RawSip {
    pub async fn new(target: SocketAddr) -> Self {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self { socket, target }
    }

    pub fn local(&self) -> SocketAddr {
        self.socket.local_addr().expect("local addr")
    }

    pub async fn send(&self, bytes: &[u8]) {
        self.socket.send_to(bytes, self.target).await.expect("send");
    }

    /// The next datagram as text, or None after `limit`.
    pub async fn recv(&self, limit: Duration) -> Option<String> {
        let mut buf = vec![0u8; 65_536];
        let (len, _) = tokio::time::timeout(limit, self.socket.recv_from(&mut buf))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&buf[..len]).into_owned())
    }

    /// The next response whose status line starts with `SIP/2.0 {code}`,
    /// skipping others (100 Trying, retransmissions).
    pub async fn expect_status(&self, code: u16, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        let wanted = format!("SIP/2.0 {code} ");
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(tokio::time::Instant::now()) {
            match self.recv(left).await {
                Some(text) if text.starts_with(&wanted) => return text,
                Some(text) => seen.push(text.lines().next().unwrap_or_default().to_owned()),
                None => break,
            }
        }
        panic!("no {code} within {limit:?}; saw {seen:?}");
    }
}

/// A request from `raw` to its target with the usual headers; `extra` lines are
/// added before the blank line.
pub fn request(method: &str, raw: &RawSip, call_id: &str, cseq: u32, extra: &str) -> String {
    let branch = format!("{call_id}-{cseq}");
    build(method, raw, call_id, cseq, &branch, None, extra, "")
}

/// Any request: `branch` completes the Via branch (`z9hG4bK-{branch}`), a
/// `to_tag` makes it an in-dialog request, `body` is sent as SDP.
#[allow(clippy::too_many_arguments)]
pub fn build(
    method: &str,
    raw: &RawSip,
    call_id: &str,
    cseq: u32,
    branch: &str,
    to_tag: Option<&str>,
    extra: &str,
    body: &str,
) -> String {
    let local = raw.local();
    let target = raw.target;
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} sip:1771@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-{branch};rport\r\n\
         From: <sip:caller@{local}>;tag=raw-{call_id}\r\n\
         To: <sip:1771@{target}>{to_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:caller@{local}>\r\n\
         Max-Forwards: 70\r\n\
         {extra}{content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The value of the first header `name` in a message.
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The body of a message.
pub fn body(message: &str) -> &str {
    message
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default()
}
