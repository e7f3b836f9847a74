#!/usr/bin/env bash
# Skywave's one test command: everything CI checks, on a fresh Debian machine that has only the
# Rust toolchain (rustup). It installs what cargo does not, then runs every gate in order and
# stops at the first failure. `.ci/run` calls exactly this script.
#
#   bash scripts/test.sh            # everything
#   FUZZ_SECONDS=60 bash scripts/test.sh   # longer fuzz smoke runs (default 20 s per target)
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
# The tests that need outside tools (tshark, ...) fail instead of skipping when this is set.
export SKYWAVE_REQUIRE_TOOLS=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
started=$SECONDS

step() {
    printf '\n=== %s (%ds elapsed)\n' "$*" "$((SECONDS - started))"
}

# --- What cargo does not install -----------------------------------------------------------

# Debian packages the tests drive as real peers.
DEBIAN_PACKAGES=(tshark qemu-system-arm socat)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    step "installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# rust-toolchain.toml pins the toolchain, components and the thumbv7em target. rustup would
# fetch what is missing on first use, but not where RUSTUP_AUTO_INSTALL=0, so ask for it.
step "toolchain"
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
rustup toolchain list | grep -q "^$toolchain" || rustup toolchain install "$toolchain" --profile minimal
rustup component add --toolchain "$toolchain" rustfmt clippy
rustup target add --toolchain "$toolchain" thumbv7em-none-eabihf
rustup show active-toolchain
rustc --version

# The firmware links with flip-link (stack below the statics: an overflow faults).
if ! command -v flip-link >/dev/null 2>&1; then
    step "installing flip-link"
    cargo install flip-link --locked --quiet
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    step "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi

# Every package of Cargo.lock, for every platform, into cargo's local cache: the offline-install
# test (hil-tests/tests/offline_install.rs) vendors from that cache without a network, and a
# build fetches only what this platform compiles (a fresh machine lacks the Windows-only crates
# the lock file names).
step "cargo fetch --locked"
cargo fetch --locked --quiet

# --- The gates -------------------------------------------------------------------------------

step "cargo fmt --check"
cargo fmt --all --check
(cd fuzz && cargo fmt --check)
(cd firmware && cargo fmt --check)

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
(cd firmware && cargo clippy --release --quiet -- -D warnings)
(cd firmware && cargo clippy-stm32f405 --quiet -- -D warnings)
# The firmware library's unit tests (src/drivers.rs) build for the host, not the board;
# `--profile test` lints them as the test build (`--tests` skips a `test = false` library).
host=$(rustc -vV | sed -n 's/^host: //p')
(cd firmware && cargo clippy --lib --profile test --target "$host" --quiet -- -D warnings)
# With the guard (the guarded adjunct: off by default, the default image serves no client;
# docs/firmware.md, "The guard on the adjunct").
(cd firmware && cargo clippy --release --features guard --target-dir target/guard --quiet -- -D warnings)
(cd firmware && cargo clippy-stm32f405 --features guard --quiet -- -D warnings)

step "no_std, no alloc: skywave-protocol for thumbv7em-none-eabihf"
cargo build -p skywave-protocol --target thumbv7em-none-eabihf --quiet

step "firmware cross-build for the QEMU tests (mps2-an386, stm32f405)"
# The QEMU tests in hil-tests/ boot these images on both boards: the adjunct
# (skywave-firmware), its boot self-test (selftest), the differential verifier test and the
# trust journal's test. The STM32F405's go to firmware/target/stm32f405 (an alias in
# firmware/.cargo/config.toml).
(cd firmware && cargo build --release --quiet)
(cd firmware && cargo build-stm32f405 --quiet)
# The guarded adjunct (feature `guard`), into target directories of its own, for its budgets
# (firmware_budget) and its end-to-end test (firmware_guard_e2e, mps2-an386). Only the
# adjunct: the self-test with the guard would not fit the part.
(cd firmware && cargo build --release --features guard --target-dir target/guard --bin skywave-firmware --quiet)
(cd firmware && cargo build --release --no-default-features --features stm32f405,guard --target-dir target/stm32f405-guard --bin skywave-firmware --quiet)

step "the adjunct's own loop in the drivers' scenario (firmware library, host build)"
# Adjunct::radio_input and Adjunct::poll as node B against testkit's reference
# (docs/drivers.md). On the host: only the library, whose unit tests these are; the images'
# binaries link only for the board (stack.rs's linker symbols).
(cd firmware && cargo test --lib --target "$host")

step "tests (unit, integration, property, QEMU)"
cargo test --workspace

step "firmware budgets (flash, static RAM, no heap, stack high-water mark)"
# Also part of the tests above; run again to print the figures. Fails if a budget is exceeded.
cargo test -p skywave-hil-tests --test firmware_budget --quiet -- --nocapture

step "tshark check of the sample capture"
cargo test -p skywave-host --test tshark_sample --quiet -- --nocapture

step "fuzz smoke runs (${FUZZ_SECONDS}s per target)"
corpus_seed="$(mktemp -d)"
trap 'rm -rf "$corpus_seed"' EXIT
cargo run -p skywave-host --quiet -- frames sample --out "$corpus_seed/sample.pcap"
(
    cd fuzz
    # Seed the wire targets with every frame of the sample capture (one file per record).
    python3 - "$corpus_seed/sample.pcap" corpus/dpdu_parse corpus/deframer <<'PY'
import os, struct, sys
data = open(sys.argv[1], "rb").read()
at, n = 24, 0
while at + 16 <= len(data):
    incl = struct.unpack_from("<I", data, at + 8)[0]
    frame = data[at + 16 : at + 16 + incl]
    for d in sys.argv[2:]:
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "sample-%04d" % n), "wb").write(frame)
    at, n = at + 16 + incl, n + 1
PY
    # libFuzzer's sanitizer flags need unstable options; RUSTC_BOOTSTRAP lets the pinned
    # stable toolchain accept them, so no nightly is required.
    export RUSTC_BOOTSTRAP=1
    for target in $(cargo fuzz list); do
        echo "--- fuzz $target"
        log="$corpus_seed/fuzz-$target.log"
        if ! cargo fuzz run "$target" -- -max_total_time="$FUZZ_SECONDS" >"$log" 2>&1; then
            tail -n 60 "$log"
            echo "fuzz target $target failed: see the crash above (artifacts in fuzz/artifacts/$target)"
            exit 1
        fi
        grep -E "^Done [0-9]+ runs" "$log"
    done
)

step "all gates passed"
echo "skywave: all gates passed in $((SECONDS - started))s"
