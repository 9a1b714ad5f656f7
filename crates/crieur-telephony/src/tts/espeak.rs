//! Runs espeak-ng once for one text. The text comes from users (alert authors, approved
//! answers), so it only ever travels on the child's stdin: never on the command line,
//! never through a shell, and with espeak-ng's markup (SSML, `[[phonemes]]`) left off.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::TtsError;

/// How much of espeak-ng's stderr is kept for an error message.
const STDERR_CAP: u64 = 4096;

#[derive(Debug)]
pub(crate) struct Invocation<'a> {
    pub binary: &'a Path,
    pub voice: &'a str,
    pub speed_wpm: u16,
    pub timeout: Duration,
    pub max_output_bytes: usize,
}

impl Invocation<'_> {
    /// The whole command line: options only, the text is not among them.
    pub(crate) fn arguments(&self) -> Vec<String> {
        [
            "-v",
            self.voice,
            "-s",
            &self.speed_wpm.to_string(),
            // UTF-8 input, read from stdin at once, WAV written to stdout.
            "-b",
            "1",
            "--stdin",
            "--stdout",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Speaks `text` and returns espeak-ng's WAV output, killing the process when it
    /// outlives the timeout or writes more than the output cap.
    pub(crate) async fn run(&self, text: &str) -> Result<Vec<u8>, TtsError> {
        let mut child = Command::new(self.binary)
            .args(self.arguments())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => TtsError::NotInstalled {
                    binary: self.binary.display().to_string(),
                },
                _ => TtsError::Failed(format!("cannot start {}: {e}", self.binary.display())),
            })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(TtsError::Failed("espeak-ng's pipes were not opened".into()));
        };
        let input = sanitise(text);
        let cap = self.max_output_bytes;
        let exchange = async {
            let write = async move {
                let written = stdin.write_all(input.as_bytes()).await;
                // Closing stdin is the end of the text.
                drop(stdin);
                written
            };
            // Reading stops one byte past the cap; dropping the pipe then stops espeak-ng.
            let read = async move {
                let mut out = Vec::new();
                stdout
                    .take(cap as u64 + 1)
                    .read_to_end(&mut out)
                    .await
                    .map(|_| out)
            };
            let read_err = async move {
                let mut err = Vec::new();
                // Diagnostics only: an unreadable stderr leaves the message empty.
                let _ = stderr.take(STDERR_CAP).read_to_end(&mut err).await;
                err
            };
            let (written, out, err) = tokio::join!(write, read, read_err);
            (written, out, err, child.wait().await)
        };
        let (written, out, err, status) = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(done) => done,
            Err(_) => {
                // kill_on_drop would do it too; killing and reaping here leaves no zombie.
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(TtsError::TimedOut(self.timeout));
            }
        };
        let out = out.map_err(|e| TtsError::Failed(format!("reading espeak-ng's output: {e}")))?;
        if out.len() > cap {
            return Err(TtsError::Failed(format!(
                "espeak-ng's output exceeds {cap} bytes"
            )));
        }
        let status = status.map_err(|e| TtsError::Failed(format!("waiting for espeak-ng: {e}")))?;
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            return Err(TtsError::Failed(format!(
                "espeak-ng (voice {}) exited with {status}: {}",
                self.voice,
                err.trim()
            )));
        }
        written.map_err(|e| TtsError::Failed(format!("writing to espeak-ng: {e}")))?;
        Ok(out)
    }
}

/// Makes user text plain words for espeak-ng: control characters become spaces,
/// `[[` (espeak-ng's phoneme input) is broken up, and a leading `-` is preceded by a
/// space. The text goes on stdin, which espeak-ng never reads as options; the space
/// keeps that true should the text ever reach a command line.
pub(crate) fn sanitise(text: &str) -> String {
    let mut clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    while clean.contains("[[") {
        clean = clean.replace("[[", "[ [");
    }
    if clean.trim_start().starts_with('-') {
        clean.insert(0, ' ');
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_never_reaches_the_command_line() {
        let inv = Invocation {
            binary: Path::new("espeak-ng"),
            voice: "fr-be",
            speed_wpm: 150,
            timeout: Duration::from_secs(1),
            max_output_bytes: 1,
        };
        assert_eq!(
            inv.arguments(),
            ["-v", "fr-be", "-s", "150", "-b", "1", "--stdin", "--stdout"]
        );
        // No -m: SSML stays off, tags are read out as words.
        assert!(!inv.arguments().iter().any(|a| a == "-m"));
    }

    #[test]
    fn sanitise_keeps_words_and_drops_markup_powers() {
        assert_eq!(sanitise("Fermez les fenêtres."), "Fermez les fenêtres.");
        assert_eq!(sanitise("a\nb\r\tc\0d\u{1b}[0m"), "a b  c d [0m");
        assert_eq!(sanitise("[[h@'loU]]"), "[ [h@'loU]]");
        assert_eq!(sanitise("[[[x"), "[ [ [x");
        assert_eq!(sanitise("-rf ; rm -rf / $(x)"), " -rf ; rm -rf / $(x)");
        assert_eq!(sanitise("  --help"), "   --help");
        assert!(!sanitise("x[[[[[[y").contains("[["));
    }
}
