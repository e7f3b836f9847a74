//! (e) Labelled messages between two guarding agents over the link emulator, and a translator
//! revoked mid-stream: the next message after the revocation reaches each node is refused
//! there. GBR's node A (address 1) sends SECRET TELIC data to USA's node B (address 2) with
//! `skywave send`; it is released through the GBR-USA translator at both ends and B's operator
//! takes it with `skywave receive`. Then GBR's revocation of that translator is published at B:
//! the next message, already released by A (which has not heard of it), is refused by B; once
//! the revocation has crossed to A, the message after it is refused by A and never leaves.
//! Both agents' decision logs (`skywave audit list --json`) hold every verdict with its lineage:
//! the refusals name GBR's revocation #1, the releases before it #0.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use skywave_hil_tests::{
    Agent, Emulator, MODEM, SerialLink, agents_built, eventually, guarded_node, skywave, test_dir,
    translator_revocation,
};
use skywave_protocol::codec::Hex;
use skywave_protocol::policy::sample::{self, Coalition};

/// The guarded SAP both agents' operators use.
const SAP: u8 = 5;

/// SECRET, operation TELIC: GBR releases it to USA through the GBR-USA translator.
fn telic_hex() -> String {
    format!("{}\n", Hex(&sample::telic_label()[..]))
}

/// `skywave send --json` from `agent` to node 2 of `data` (written to `dir/name`) under the
/// label file `label`: the exit status and the reply.
fn send(agent: &Agent, dir: &Path, name: &str, data: &str, label: &Path) -> (Option<i32>, Value) {
    agent.send_labelled(2, &dir.join(name), data, label)
}

/// What `skywave receive --json` at `agent` returns: one JSON object a message.
fn receive(agent: &Agent) -> Vec<Value> {
    agent.receive(&[])
}

/// `skywave audit list --json` of `agent`'s store: its message entries.
fn logged_messages(agent: &Agent) -> Vec<Value> {
    let config = agent.config.to_str().unwrap_or_default();
    let out = skywave(&["audit", "list", "--config", config, "--json"]);
    assert!(
        out.status.success(),
        "audit list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<Value> = serde_json::from_slice(&out.stdout).expect("audit list JSON");
    let verified = skywave(&["audit", "verify", "--config", config]);
    assert!(verified.status.success(), "the decision log verifies");
    entries
        .into_iter()
        .filter(|e| e["kind"] == "message")
        .collect()
}

/// The entry in `entries` for the data `digest`.
fn entry_for<'a>(entries: &'a [Value], digest: &Value) -> &'a Value {
    entries
        .iter()
        .find(|e| e["message"]["digest"] == *digest)
        .unwrap_or_else(|| panic!("no log entry for {digest} in {entries:?}"))
}

/// GBR's revocation sequence number in a logged or reported decision's lineage.
fn gbr_revocation(decision: &Value) -> u64 {
    decision["revocation"]["GBR"].as_u64().unwrap_or(u64::MAX)
}

#[test]
fn a_revoked_translator_stops_the_next_labelled_message_at_both_ends_with_lineage() {
    if !agents_built() {
        return;
    }
    let dir = test_dir("labelled-revocation");
    let emu = Emulator::start(&["--seed", "17"]);
    let c = Coalition::new();
    let a = Agent::start(guarded_node(
        &dir,
        "a",
        1,
        SerialLink {
            device: &emu.a,
            neighbours: &[2],
            modem: MODEM,
        },
        &c,
        SAP,
    ));
    let b = Agent::start(guarded_node(
        &dir,
        "b",
        2,
        SerialLink {
            device: &emu.b,
            neighbours: &[1],
            modem: MODEM,
        },
        &c,
        SAP,
    ));
    let mut artifacts = c.artifacts();
    artifacts.extend(c.node_credentials());
    a.publish_all(&artifacts, &dir);
    eventually(Duration::from_secs(120), "B holds the coalition", || {
        b.held() == Some(artifacts.len())
    });
    let label = dir.join("telic.hex");
    std::fs::write(&label, telic_hex()).expect("label file");
    let link_idle = |agent: &Agent| agent.status()["links"][0]["queued"] == 0;

    // 1. Released at both ends, through the translator, and taken by B's operator.
    let (status, first) = send(&a, &dir, "first.txt", "first", &label);
    assert_eq!(status, Some(0), "{first}");
    let first = &first["sent"];
    // Released at once, or held for a moment while the link finishes something else.
    assert!(
        first["state"] == "released" || first["state"] == "held",
        "{first}"
    );
    // A look that leaves it in the inbox; then a `--out` that cannot write it (a directory
    // where its file goes) fails and leaves it there too; then it is taken, once.
    let mut seen = Vec::new();
    eventually(Duration::from_secs(60), "B's operator sees it", || {
        seen = b.receive(&["--keep"]);
        !seen.is_empty()
    });
    let out = dir.join("inbox");
    let blocked = out.join(format!("1-{}.bin", seen[0]["message"]["seq"]));
    std::fs::create_dir_all(&blocked).expect("a directory in the way");
    let socket = b.socket();
    let failed = skywave(&[
        "receive",
        "--socket",
        socket.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert!(!failed.status.success(), "wrote into a directory?");
    assert_eq!(b.receive(&["--keep"]), seen, "still in the inbox");
    let arrived = receive(&b);
    assert_eq!(arrived, seen);
    assert!(receive(&b).is_empty(), "taken once");
    let [got] = &arrived[..] else {
        panic!("{arrived:?}")
    };
    assert_eq!(got["message"]["verdict"], "released", "{got}");
    assert_eq!(got["message"]["source"], 1);
    assert_eq!(got["data_hex"], Hex(b"first").to_string());
    assert!(
        got["message"]["marking"]
            .as_str()
            .is_some_and(|m| m.starts_with("GBR policy 1: SECRET")),
        "{got}"
    );
    eventually(Duration::from_secs(60), "A's link settles", || {
        link_idle(&a)
    });

    // 2. The revocation reaches B first; A, not yet aware, releases the next message, and B
    //    refuses it.
    b.publish(&translator_revocation(&c), &dir.join("revocation.sky"));
    let (status, second) = send(&a, &dir, "second.txt", "second", &label);
    assert_eq!(status, Some(0), "{second}");
    let second = &second["sent"];
    assert_eq!(
        second["state"], "released",
        "A released it before the revocation reached it: {second}"
    );
    assert_eq!(gbr_revocation(&second["decision"]), 0, "{second}");
    let mut refused = Vec::new();
    eventually(Duration::from_secs(60), "B refuses the second", || {
        refused.extend(receive(&b));
        !refused.is_empty()
    });
    let [got] = &refused[..] else {
        panic!("{refused:?}")
    };
    assert_eq!(got["message"]["verdict"], "refused", "{got}");
    assert_eq!(got["message"]["refusal"], "translator_revoked", "{got}");
    assert_eq!(got["message"]["digest"], second["digest"]);
    assert_eq!(
        got["data_hex"],
        Value::Null,
        "refused data is not handed on"
    );
    assert_eq!(gbr_revocation(&got["decision"]), 1, "{got}");

    // 3. Once the revocation is at A, the next message is refused there: exit status 3.
    eventually(Duration::from_secs(60), "the revocation reaches A", || {
        a.status()["domains"]["GBR"]["revocation_seq"] == 1
    });
    let (status, third) = send(&a, &dir, "third.txt", "third", &label);
    let third = &third["sent"];
    assert_eq!(status, Some(3), "{third}");
    assert_eq!(third["state"], "refused", "{third}");
    assert_eq!(third["message"]["refusal"], "translator_revoked", "{third}");
    assert_eq!(gbr_revocation(&third["decision"]), 1, "{third}");

    // 4. Both decision logs hold every verdict with its lineage.
    let sender = logged_messages(&a);
    let receiver = logged_messages(&b);
    assert_eq!(
        entry_for(&sender, &first["digest"])["decision"]["basis"],
        "translated"
    );
    for (digest, verdict, revocation) in [
        (&first["digest"], "released", 0),
        (&second["digest"], "released", 0),
        (&third["digest"], "refused", 1),
    ] {
        let e = entry_for(&sender, digest);
        assert_eq!(e["message"]["end"], "sender", "{e}");
        assert_eq!(e["message"]["verdict"], verdict, "{e}");
        assert_eq!(gbr_revocation(&e["decision"]), revocation, "{e}");
    }
    for (digest, verdict, revocation) in [
        (&first["digest"], "released", 0),
        (&second["digest"], "refused", 1),
    ] {
        let e = entry_for(&receiver, digest);
        assert_eq!(e["message"]["end"], "receiver", "{e}");
        assert_eq!(e["message"]["verdict"], verdict, "{e}");
        assert_eq!(gbr_revocation(&e["decision"]), revocation, "{e}");
    }
    assert!(
        receiver
            .iter()
            .all(|e| e["message"]["digest"] != third["digest"]),
        "the third never left A"
    );
}
