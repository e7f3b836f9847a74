//! (a) Three agents in a relay chain, A - B - C, joined by two `skywave-linkemu` instances at
//! 2400 bit/s with 10 % frame loss and bursts of line noise, all as separate processes over
//! PTYs. A publishes the coalition (policies and translators) and later a revocation of the
//! GBR-USA translator; every node's decision on releasing GBR data to USA changes accordingly:
//! through the translator first, bridging GBR's spiral 4 and USA's spiral 5 (the lineage says
//! so), on GBR's authority alone after the revocation. The noise is resynchronised and nothing
//! damaged is admitted.

use std::time::Duration;

use skywave_hil_tests::{
    Agent, Emulator, agents_built, chain, eventually, test_dir, translator_revocation,
};
use skywave_protocol::policy::sample::Coalition;

/// The basis of a decision on releasing SECRET HERRICK GBR data to USA.
fn basis(agent: &Agent) -> String {
    agent.decide("GBR", 3, "2:11", "USA")["basis"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn a_relay_chain_over_the_link_emulator_carries_policy_translators_and_a_revocation() {
    if !agents_built() {
        return;
    }
    let dir = test_dir("relay");
    // Bursts of noise, with false sync words among them by chance, early in the transfer.
    let noisy = |seed: &str| {
        Emulator::start(&[
            "--channel",
            "bernoulli:0.1",
            "--seed",
            seed,
            "--noise",
            "2:400",
            "--noise",
            "6:400",
            "--noise",
            "9:1200",
        ])
    };
    let (emu1, emu2) = (noisy("11"), noisy("12"));
    let c = Coalition::new();
    let agents = chain(&dir, &c, &[&emu1, &emu2]);
    agents[0].publish_all(&c.artifacts(), &dir);
    for agent in &agents {
        eventually(
            Duration::from_secs(240),
            "every node decides through the translator",
            || basis(agent) == "translated",
        );
        // Spiral cohabitation: GBR at spiral 4 and USA at spiral 5, bridged by the translator.
        let d = agent.decide("GBR", 3, "2:11", "USA");
        assert_eq!(d["spiral_gap"], "4 -> 5", "{d}");
        assert_eq!(d["translator"]["id"], 1, "{d}");
    }
    agents[0].publish(&translator_revocation(&c), &dir.join("revocation.sky"));
    for agent in &agents {
        eventually(
            Duration::from_secs(240),
            "every node falls back to home-only",
            || basis(agent) == "home_only_translator_revoked",
        );
    }
    // Nothing but the coalition and the revocation was admitted anywhere: the noise, and the
    // frames it damaged, never became artifacts.
    for agent in &agents {
        assert_eq!(agent.held(), Some(c.artifacts().len() + 1));
    }
}
