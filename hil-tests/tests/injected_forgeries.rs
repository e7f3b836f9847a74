//! (e) Forgeries and replays on the air: three agents in a relay chain (A - B - C, two link
//! emulators) hold the coalition with GBR's policy at version 2. An intruder's station then
//! broadcasts, on Skywave's SAP, a GBR policy v3 with a forged signature and a replay of the
//! genuine, superseded v1. Every node that hears them refuses both with the typed reason; the
//! relay forwards neither (C, out of the intruder's range, never sees them); when C hears them
//! in turn it refuses them too; and afterwards the network works as before: a revocation
//! published at A reaches C and every decision changes.

use std::time::Duration;

use skywave_hil_tests::{
    Agent, Emulator, agents_built, broadcast_artifacts, chain, eventually, test_dir,
    translator_revocation,
};
use skywave_protocol::policy::Artifact;
use skywave_protocol::policy::sample::{self, Coalition, GBR};

/// Skywave's SAP, the agents' default.
const SAP: u8 = 13;
/// The intruder's station address: nobody's neighbour.
const INTRUDER: u32 = 9;

fn refused(agent: &Agent, kind: &str) -> u64 {
    agent.status()["refused"][kind].as_u64().unwrap_or(0)
}

/// Whether `agent` has refused the forgery and the replay.
fn refused_both(agent: &Agent) -> bool {
    refused(agent, "BadSignature") >= 1 && refused(agent, "Rollback") >= 1
}

/// The intruder transmits `stream` on `emu`'s line, again every 5 s (a station busy with its
/// own transmission does not hear it) until every one of `hearers` has refused both artifacts.
fn intrude(emu: &mut Emulator, stream: &std::path::Path, hearers: &[&Agent]) {
    for _ in 0..12 {
        emu.inject("both", stream);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if hearers.iter().all(|a| refused_both(a)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    panic!("not every node refused the forgery and the replay within a minute");
}

#[test]
fn forged_and_replayed_artifacts_on_the_air_are_refused_everywhere() {
    if !agents_built() {
        return;
    }
    let dir = test_dir("forgeries");
    let mut emu1 = Emulator::start(&["--channel", "bernoulli:0.1", "--seed", "51"]);
    let mut emu2 = Emulator::start(&["--channel", "bernoulli:0.1", "--seed", "52"]);
    let c = Coalition::new();
    let agents = chain(&dir, &c, &[&emu1, &emu2]);
    let [a, b, c_node] = agents.as_slice() else {
        unreachable!("a chain of two hops has three nodes")
    };

    let v1 = c.gbr_policy(1, &sample::gbr_rules());
    let v2 = c.gbr_policy(2, &sample::gbr_rules());
    let mut published = c.artifacts();
    published.push(v2);
    a.publish_all(&published, &dir);
    let home_version =
        |agent: &Agent| agent.decide("GBR", 3, "2:11", "USA")["home"]["version"].clone();
    for agent in &agents {
        eventually(
            Duration::from_secs(240),
            "every node decides on GBR's policy v2",
            || home_version(agent) == 2,
        );
    }
    let everything = a.held();
    for agent in &agents {
        eventually(
            Duration::from_secs(120),
            "every node holds what A holds",
            || agent.held() == everything,
        );
    }

    // v3 in GBR's signer's name, signed by the intruder.
    let intruder = sample::key(99);
    let forged_body = sample::policy(&intruder, GBR, 1, 3, 4, &sample::gbr_rules());
    let forged_body = skywave_protocol::policy::Policy {
        signer: sample::public(&c.gbr_signer).key_id(),
        ..forged_body
    };
    let forged = sample::sign(&intruder, &Artifact::Policy(forged_body));
    let stream = dir.join("intruder.bin");
    std::fs::write(&stream, broadcast_artifacts(INTRUDER, SAP, &[forged, v1])).expect("stream");

    // Heard by A and B only.
    intrude(&mut emu1, &stream, &[a, b]);
    // Time for B to have forwarded anything it took; C must have seen nothing.
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(
        c_node.status()["refused"],
        serde_json::json!({}),
        "the relay forwarded nothing it refused"
    );
    // Now C hears them (and B again).
    intrude(&mut emu2, &stream, &[c_node]);
    for agent in &agents {
        assert_eq!(agent.held(), everything, "nothing admitted");
        assert_eq!(home_version(agent), 2, "still on v2");
    }

    // Nothing else disturbed: a revocation crosses both hops as before.
    a.publish(&translator_revocation(&c), &dir.join("revocation.sky"));
    for agent in &agents {
        eventually(
            Duration::from_secs(120),
            "every node falls back to home-only",
            || agent.decide("GBR", 3, "2:11", "USA")["basis"] == "home_only_translator_revoked",
        );
    }
}
