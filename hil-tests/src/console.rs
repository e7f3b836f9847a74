//! An adjunct under QEMU with its console on our pipes: the end-to-end tests' way to talk to
//! the firmware as the equipment beside the radio does (docs/firmware.md, "The local
//! interface").

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{Board, Process, eventually};

/// The adjunct's console: every line it wrote, read by a thread.
pub struct Console {
    input: ChildStdin,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Console {
    /// Sends `request` and returns its response lines (without `event` lines and the final
    /// `ok`), or panics after 30 s or at an `error` line.
    pub fn ask(&mut self, request: &str) -> Vec<String> {
        let (answer, end) = self.answer(request);
        assert_eq!(end, "ok", "{request}: {answer:?}");
        answer
    }

    /// Sends `request` and returns its response lines (without `event` lines) and the last,
    /// `ok` or `error ...`; panics after 30 s.
    pub fn answer(&mut self, request: &str) -> (Vec<String>, String) {
        let from = self.lines.lock().unwrap().len();
        writeln!(self.input, "{request}").expect("write to the console");
        let start = Instant::now();
        loop {
            {
                let lines = self.lines.lock().unwrap();
                let answer: Vec<&String> = lines[from..]
                    .iter()
                    .filter(|l| !l.starts_with("event "))
                    .collect();
                if let Some(end) = answer
                    .iter()
                    .position(|l| *l == "ok" || l.starts_with("error "))
                {
                    let lines = answer[..end].iter().map(|l| (*l).clone()).collect();
                    return (lines, answer[end].clone());
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{request}: no answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `check` every 200 ms for up to `limit`; on failure panics with the console's last
    /// lines and the agent's log, which is what anyone debugging this needs first.
    pub fn wait(
        &mut self,
        limit: Duration,
        what: &str,
        log: &Path,
        mut check: impl FnMut(&mut Self) -> bool,
    ) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let lines = self.lines.lock().unwrap();
        // The events, then the last answers (the polling's own, mostly).
        let (events, answers): (Vec<&str>, Vec<&str>) = lines
            .iter()
            .map(String::as_str)
            .filter(|l| !l.starts_with("decision ") && *l != "ok")
            .partition(|l| l.starts_with("event "));
        let tail = [
            &events[events.len().saturating_sub(40)..],
            &answers[answers.len().saturating_sub(30)..],
        ]
        .concat()
        .join("\n");
        let log = std::fs::read_to_string(log).unwrap_or_default();
        let log_tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "not within {limit:?}: {what}\n--- adjunct console:\n{tail}\n--- agent log (last lines first):\n{}",
            log_tail.join("\n")
        );
    }

    /// Every line so far that starts with `prefix`.
    pub fn events(&self, prefix: &str) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|l| l.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// Boots `image` on `board` with its radio UART on `radio` and its console on our pipes, and
/// waits for its banner.
pub fn boot_adjunct(board: Board, image: &Path, radio: &Path) -> (Process, Console) {
    let mut qemu = board.qemu();
    qemu.arg("-serial")
        .arg(radio)
        .args(["-serial", "stdio", "-kernel"])
        .arg(image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut firmware = Process(qemu.spawn().expect("start qemu-system-arm"));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stdout = firmware.0.stdout.take().expect("qemu stdout");
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line.trim_end().to_owned());
        }
    });
    let console = Console {
        input: firmware.0.stdin.take().expect("qemu stdin"),
        lines,
    };
    eventually(Duration::from_secs(30), "the adjunct's boot banner", || {
        !console.events("skywave-firmware ").is_empty()
    });
    (firmware, console)
}
