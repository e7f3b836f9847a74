//! Hardware-in-the-loop tests for Skywave.
//!
//! The tests in `tests/` start shipped binaries as separate processes, exactly as an operator
//! or a radio would meet them: today the Cortex-M4 firmware under QEMU (mps2-an386), fed a
//! serial byte stream on its radio UART. Tests that join agents and the link emulator over
//! pseudo-serial ports come with those programs.
//!
//! Tests that need an outside program (QEMU, a built firmware image) skip with a message when
//! it is missing, unless `SKYWAVE_REQUIRE_TOOLS=1` (set by `scripts/test.sh`) makes that a
//! failure.

use std::path::PathBuf;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().map(PathBuf::from).unwrap_or(crate_dir)
}

/// Whether `program` can be started; if not, panics when tools are required, else reports the
/// skip on stderr and returns false.
pub fn tool_available(program: &str, why: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok();
    require_or_skip(found, &format!("{program} ({why})"))
}

/// Returns `present`; when it is false, fails if `SKYWAVE_REQUIRE_TOOLS=1`, else says what is
/// skipped.
pub fn require_or_skip(present: bool, what: &str) -> bool {
    if !present {
        assert!(
            std::env::var("SKYWAVE_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{what} is required (SKYWAVE_REQUIRE_TOOLS=1) but missing"
        );
        eprintln!("{what} missing: skipping");
    }
    present
}
