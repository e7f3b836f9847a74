//! Helpers shared by the tests that run `skywave` as separate processes, or agents' cores in
//! the test on tokio's paused clock.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses the helpers it needs"
)]

use std::path::{Path, PathBuf};
use std::process::Output;

use skywave_hil_tests::SerialLink;
pub use skywave_hil_tests::{Process, eventually};
use skywave_protocol::policy::sample::Coalition;

/// Runs the `skywave` binary under test with `args`.
pub fn skywave(args: &[&str]) -> Output {
    skywave_hil_tests::skywave_at(Path::new(env!("CARGO_BIN_EXE_skywave")), args)
}

/// A node with one fast serial link (9600 bit/s, 50 ms modem overheads) on `device` to `peer`.
pub fn write_node(
    dir: &Path,
    name: &str,
    address: u32,
    peer: u32,
    device: &Path,
    c: &Coalition,
) -> PathBuf {
    let link = SerialLink {
        device,
        neighbours: &[peer],
        modem: "{ bit_rate = 9600, preamble_ms = 50, interleaver_ms = 50, turnaround_ms = 50, max_transmission_ms = 10000 }",
    };
    skywave_hil_tests::write_node(dir, name, address, &[link], c)
}

/// A node's config with one UDP link on `bind` to `peer` instead of the serial one.
pub fn udp_node(dir: &Path, c: &Coalition, bind: &str, peer: &str) -> PathBuf {
    let config = write_node(dir, "n", 1, 2, Path::new("/unused"), c);
    let text = std::fs::read_to_string(&config).unwrap();
    let serial = &text[text.find("serial = ").unwrap()..];
    let text = text.replace(
        serial,
        &format!("udp = {{ bind = \"{bind}\", peer = \"{peer}\" }}\n"),
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// Runs `story` (given `dir`) on tokio's paused clock, in a thread whose stack holds the
/// agents' fixed-size protocol state (more than a test thread's default).
pub fn on_paused_clock<F: Future<Output = ()> + 'static>(
    dir: PathBuf,
    story: impl FnOnce(PathBuf) -> F + Send + 'static,
) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap()
                .block_on(story(dir));
        })
        .unwrap()
        .join()
        .unwrap();
}
