//! `skywave demo`: hands the README's first command to `skywave-sim demo`.
//!
//! The demo runs six agents on simulated HF nets on tokio's paused clock, which needs the
//! simulator's channel models and tokio's `test-util`; neither belongs in the agent that
//! operators install. So the demo lives in `skywave-tools` (`tools/src/demo/`) and this command
//! only finds it and runs it, passing its output and exit status through unchanged:
//!
//! 1. the `skywave-sim` binary next to this executable (a workspace build, or both installed);
//! 2. otherwise, when cargo launched this binary (`cargo run -p skywave-host -- demo`, the
//!    `CARGO` variable is set), the same `cargo` building and running `skywave-sim`, in the
//!    same profile;
//! 3. otherwise an error that says how to get it.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, ExitStatus};

use anyhow::{Context, bail};

/// The simulator binary's name.
const SIM: &str = "skywave-sim";

/// `skywave demo`: runs `skywave-sim demo`, returning its exit status.
pub fn run() -> anyhow::Result<ExitStatus> {
    let exe = std::env::current_exe().context("cannot locate the running skywave binary")?;
    let sibling = exe.with_file_name(format!("{SIM}{}", std::env::consts::EXE_SUFFIX));
    let mut command = if sibling.is_file() {
        Command::new(sibling)
    } else if let Some(cargo) = std::env::var_os("CARGO") {
        through_cargo(&cargo, &exe)
    } else {
        bail!(
            "the demo is part of the simulator, and {SIM} is not installed next to {}: run it \
             from a checkout with `cargo run --release -p skywave-host -- demo`, or install \
             the tools (`cargo install --path tools`) next to skywave",
            exe.display()
        );
    };
    command.arg("demo");
    command
        .status()
        .with_context(|| format!("cannot start {SIM} demo"))
}

/// `cargo run [--release] -p skywave-tools --bin skywave-sim --`, from the package cargo ran
/// this binary for, in the profile this binary was built in.
fn through_cargo(cargo: &OsStr, exe: &Path) -> Command {
    let mut command = Command::new(cargo);
    command.arg("run");
    // target/<profile>/skywave
    if exe.parent().and_then(Path::file_name) == Some(OsStr::new("release")) {
        command.arg("--release");
    }
    command.args(["-p", "skywave-tools", "--bin", SIM, "--"]);
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        command.current_dir(dir);
    }
    command
}
