//! (b) Spiral cohabitation: a GBR node (FMN spiral 4) and a USA node (spiral 5), separate
//! agents over a link emulator at 2400 bit/s with 10 % loss. Each nation publishes only its own
//! material at its own node; the GBR-USA liaison's translator bridges the spirals. Both nodes
//! then decide on releasing GBR data to USA through the translator, and the lineage names the
//! gap (4 -> 5); releasing to AUS goes through its own translator within spiral 4 (4 -> 4).

use std::time::Duration;

use skywave_hil_tests::{Agent, Emulator, agents_built, eventually, pair, test_dir};
use skywave_protocol::policy::sample::Coalition;

/// The coalition's artifacts, as `Coalition::artifacts` orders them.
const GBR_SIGNER: usize = 0;
const USA_SIGNER: usize = 1;
const AUS_SIGNER: usize = 2;
const GBR_FOR_USA_LIAISON: usize = 3;
const USA_FOR_USA_LIAISON: usize = 4;
const GBR_FOR_AUS_LIAISON: usize = 5;
const AUS_FOR_AUS_LIAISON: usize = 6;
const GBR_POLICY: usize = 7;
const USA_POLICY: usize = 8;
const AUS_POLICY: usize = 9;
const GBR_TO_USA: usize = 10;
const GBR_TO_AUS: usize = 11;

#[test]
fn partners_at_spirals_4_and_5_decide_through_the_bridging_translator() {
    if !agents_built() {
        return;
    }
    let dir = test_dir("spirals");
    let emu = Emulator::start(&["--channel", "bernoulli:0.1", "--seed", "21"]);
    let c = Coalition::new();
    let [gbr, usa] = pair(&dir, &c, &emu);
    let artifacts = c.artifacts();
    assert_eq!(artifacts.len(), 12, "the sample coalition changed");
    let publish = |agent: &Agent, which: &[usize]| {
        for &i in which {
            agent.publish(&artifacts[i], &dir.join(format!("artifact-{i:02}.sky")));
        }
    };
    // Each nation publishes at its own node; GBR also carries AUS's material.
    publish(&usa, &[USA_SIGNER, USA_FOR_USA_LIAISON, USA_POLICY]);
    publish(
        &gbr,
        &[
            GBR_SIGNER,
            AUS_SIGNER,
            GBR_FOR_USA_LIAISON,
            GBR_FOR_AUS_LIAISON,
            AUS_FOR_AUS_LIAISON,
            GBR_POLICY,
            AUS_POLICY,
        ],
    );
    // The liaison's translator needs its USA credential, which only crosses the air.
    eventually(
        Duration::from_secs(120),
        "the GBR node holds USA's material",
        || gbr.held() == Some(10),
    );
    publish(&gbr, &[GBR_TO_USA, GBR_TO_AUS]);

    for (name, agent) in [("GBR", &gbr), ("USA", &usa)] {
        eventually(
            Duration::from_secs(180),
            "the node holds the whole coalition",
            || agent.held() == Some(artifacts.len()),
        );
        let to_usa = agent.decide("GBR", 3, "2:11", "USA");
        assert_eq!(to_usa["verdict"], "release", "{name} node: {to_usa}");
        assert_eq!(to_usa["basis"], "translated", "{name} node: {to_usa}");
        assert_eq!(to_usa["spiral_gap"], "4 -> 5", "{name} node: {to_usa}");
        assert_eq!(to_usa["translator"]["id"], 1, "{name} node: {to_usa}");
        let to_aus = agent.decide("GBR", 3, "2:11", "AUS");
        assert_eq!(to_aus["basis"], "translated", "{name} node: {to_aus}");
        assert_eq!(to_aus["translator"]["id"], 2, "{name} node: {to_aus}");
        assert_eq!(
            to_aus["spiral_gap"], "4 -> 4",
            "{name} node: GBR and AUS share spiral 4: {to_aus}"
        );
    }
}
