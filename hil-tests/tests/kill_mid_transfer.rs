//! (c) Agents killed (SIGKILL) and restarted in the middle of a transfer over a link emulator
//! (2400 bit/s, 10 % loss) lose nothing: what the sender acknowledged to its operator survives
//! its own death, what the receiver admitted survives its, and the transfer completes after
//! the restarts with every artifact held exactly once (but the translator a revocation withdrew
//! meanwhile, if the revocation overtook it).

use std::time::Duration;

use skywave_hil_tests::{
    Agent, Emulator, agents_built, eventually, pair, test_dir, translator_revocation,
};
use skywave_protocol::policy::sample::{self, Coalition, GBR, USA};
use skywave_protocol::policy::{Artifact, SpiralRef};

#[test]
fn agents_killed_mid_transfer_lose_nothing() {
    if !agents_built() {
        return;
    }
    let dir = test_dir("kill-mid-transfer");
    let emu = Emulator::start(&["--channel", "bernoulli:0.1", "--seed", "31"]);
    let c = Coalition::new();
    let [mut sender, mut receiver] = pair(&dir, &c, &emu);
    // The coalition, 40 more GBR policies and 19 translators towards a USA spiral 6 nobody
    // runs yet (so they change no decision here), filling GBR's room in both tables (an equal
    // third of each): several compressed batches at 2400 bit/s, so the kills land mid-transfer.
    let mut artifacts = c.artifacts();
    artifacts.extend((2..42).map(|id| {
        let body = sample::policy(&c.gbr_signer, GBR, id, 1, 4, &sample::gbr_rules());
        sample::sign(&c.gbr_signer, &Artifact::Policy(body))
    }));
    let spiral = |domain, spiral| SpiralRef { domain, spiral };
    artifacts.extend((3..22).map(|id| {
        let body = sample::translator(&c.gbr_usa_liaison, id, 1, spiral(GBR, 4), spiral(USA, 6), 7);
        sample::sign(&c.gbr_usa_liaison, &Artifact::Translator(body))
    }));
    sender.publish_all(&artifacts, &dir);
    let total = artifacts.len() + 1;
    let progress = |agent: &Agent| agent.held().unwrap_or(0);

    // The receiver dies as the first artifacts cross.
    eventually(Duration::from_secs(60), "the transfer starts", || {
        progress(&receiver) > 0
    });
    let at_first_kill = progress(&receiver);
    receiver.kill();
    assert!(
        at_first_kill < total,
        "the first kill came after the transfer"
    );
    // The sender takes a revocation while its neighbour is away, then dies too.
    sender.publish(&translator_revocation(&c), &dir.join("revocation.sky"));
    sender.kill();
    sender.restart();
    assert_eq!(
        sender.held(),
        Some(total),
        "everything the sender acknowledged survives SIGKILL"
    );
    receiver.restart();
    assert!(
        progress(&receiver) >= at_first_kill,
        "the receiver kept what it admitted before it died ({at_first_kill})"
    );
    // And once more, the receiver, while the rest crosses.
    eventually(Duration::from_secs(60), "the transfer resumes", || {
        progress(&receiver) > at_first_kill
    });
    let at_second_kill = progress(&receiver);
    receiver.kill();
    assert!(
        at_second_kill < total,
        "the second kill came after the transfer"
    );
    receiver.restart();
    assert!(progress(&receiver) >= at_second_kill);
    eprintln!(
        "receiver held {at_first_kill} and {at_second_kill} of {total} artifacts when killed"
    );

    // The receiver ends with everything the sender holds, each once. The one exception is the
    // translator the revocation withdrew: the revocation goes as an expedited non-ARQ broadcast
    // and may overtake it, and a node neither offers a withdrawn artifact nor admits one, so a
    // receiver that had not got it before the revocation never holds it (and decides on GBR's
    // authority alone, with no translator to name).
    let listed = |agent: &Agent| -> Option<Vec<(String, String)>> {
        let reply = agent.ask("policies", &[]);
        let list = reply["policies"]["artifacts"].as_array()?;
        let mut out: Vec<(String, String)> = list
            .iter()
            .map(|a| {
                let name = format!("{}/{}/{}", a["kind"], a["domain"], a["id"]);
                (name, a["digest"].as_str().unwrap_or_default().to_owned())
            })
            .collect();
        out.sort();
        Some(out)
    };
    let revoked = r#""translator"/"GBR"/1"#;
    let mut receiver_has_revoked = true;
    eventually(
        Duration::from_secs(240),
        "the receiver catches up after the restarts",
        || {
            let (Some(sent), Some(got)) = (listed(&sender), listed(&receiver)) else {
                return false;
            };
            receiver_has_revoked = got.iter().any(|(n, _)| n == revoked);
            let expected: Vec<_> = sent
                .iter()
                .filter(|(n, _)| receiver_has_revoked || n != revoked)
                .cloned()
                .collect();
            got == expected
        },
    );
    assert_eq!(sender.held(), Some(total));
    let receiver_total = if receiver_has_revoked {
        total
    } else {
        total - 1
    };
    eprintln!("receiver holds the revoked translator: {receiver_has_revoked}");
    let d = receiver.decide("GBR", 3, "2:11", "USA");
    let basis = if receiver_has_revoked {
        "home_only_translator_revoked"
    } else {
        "home_only"
    };
    assert_eq!(
        d["basis"], basis,
        "the revocation published while the receiver was dead arrived: {d}"
    );
    for (agent, expected) in [(&sender, total), (&receiver, receiver_total)] {
        let status = agent.status();
        assert_eq!(status["artifacts"], expected, "held exactly once: {status}");
        assert_eq!(status["revocation"]["GBR"], 1, "{status}");
    }
    // A restarted agent forgot its neighbour's CAPS; the neighbour saw its ARQ state reset and
    // told it again, and each side's CAPS is acknowledged.
    for (agent, peer) in [(&sender, "0.0.0.2"), (&receiver, "0.0.0.1")] {
        eventually(
            Duration::from_secs(60),
            "both sides know again that the other reads compressed batches",
            || {
                let status = agent.status();
                let neighbour = status["links"][0]["neighbours"]
                    .as_array()
                    .and_then(|ns| ns.iter().find(|n| n["address"] == peer).cloned())
                    .unwrap_or_default();
                neighbour["reads_batches"] == true && neighbour["has_our_caps"] == true
            },
        );
    }
}
