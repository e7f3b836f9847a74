//! Serial bearers over real pseudo-terminals: two bearers joined by a socat PTY pair exchange
//! D_PDUs through line noise, survive the pair disappearing, and reconnect when it returns.
//!
//! socat stands in for the cable; where it is not installed the test says so and passes, unless
//! `SKYWAVE_REQUIRE_TOOLS=1` (set by the project's test command) makes that a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use skywave_hil_tests::tool_available;
use skywave_host::bearer::serial::{self, SerialConfig};
use skywave_host::bearer::{Bearer, BearerEvent};
use skywave_host::frames::sample::sample_frames;
use tokio::time::timeout;

fn port(device: &Path) -> SerialConfig {
    SerialConfig {
        device: device.display().to_string(),
        baud: 115_200,
        data_bits: 8,
        parity: Default::default(),
        stop_bits: 1,
        rts_cts: false,
    }
}

async fn next(bearer: &mut Bearer) -> BearerEvent {
    timeout(Duration::from_secs(20), bearer.next_event())
        .await
        .expect("bearer event within 20 s")
        .expect("bearer running")
}

/// The next event other than a line noise report (their timing depends on how the reads fall).
async fn next_but_noise(bearer: &mut Bearer) -> BearerEvent {
    loop {
        match next(bearer).await {
            BearerEvent::Noise { .. } => continue,
            other => return other,
        }
    }
}

/// Waits for `Up`, skipping the `Down` reports of attempts made before the port existed.
async fn until_up(bearer: &mut Bearer) {
    loop {
        match next(bearer).await {
            BearerEvent::Up => return,
            BearerEvent::Down { .. } => continue,
            other => panic!("expected Up, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn bearers_carry_frames_over_a_pty_and_reconnect() {
    if !tool_available("socat", "the PTY pair standing in for a cable") {
        return;
    }
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a_path, b_path) = (dir.join("a"), dir.join("b"));
    let cable = skywave_hil_tests::socat_cable(&a_path, &b_path);

    let mut a = serial::spawn(port(&a_path));
    let mut b = serial::spawn(port(&b_path));
    until_up(&mut a).await;
    until_up(&mut b).await;

    let frames = sample_frames().unwrap();
    for frame in frames.iter().skip(50).take(20) {
        a.send(Bytes::from(frame.clone())).await.unwrap();
    }
    a.send(Bytes::from_static(b"\x00line noise\x90\x90"))
        .await
        .unwrap();
    a.send(Bytes::from(frames[1000].clone())).await.unwrap();
    let mut noise = 0;
    for frame in frames.iter().skip(50).take(20).chain([&frames[1000]]) {
        let event = loop {
            match next(&mut b).await {
                BearerEvent::Noise { bytes, .. } => noise += bytes,
                other => break other,
            }
        };
        assert_eq!(event, BearerEvent::Frame(Bytes::from(frame.clone())));
    }
    assert!(noise > 0, "the line noise between the frames is reported");

    // Unplug the cable: both sides notice and keep retrying.
    drop(cable);
    assert!(matches!(
        next_but_noise(&mut a).await,
        BearerEvent::Down { .. }
    ));
    assert!(matches!(
        next_but_noise(&mut b).await,
        BearerEvent::Down { .. }
    ));

    // Plug it back in: both reconnect and frames flow again, the other way this time.
    let _cable = skywave_hil_tests::socat_cable(&a_path, &b_path);
    until_up(&mut a).await;
    until_up(&mut b).await;
    b.send(Bytes::from(frames[400].clone())).await.unwrap();
    assert_eq!(
        next_but_noise(&mut a).await,
        BearerEvent::Frame(Bytes::from(frames[400].clone()))
    );
}
