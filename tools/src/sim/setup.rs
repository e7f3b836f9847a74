//! `skywave-sim setup`: how long a link with a new peer takes to carry its first U_PDU, with
//! each FULL RESET placement, so docs/link.md's figures can be reproduced with one command.
//!
//! Two fresh nodes (neither holds ARQ state for the other) on a clean channel with the bench's
//! modem (2400 bit/s, short interleaver); node `a` submits one ARQ U_PDU for `b` at 0 s. The
//! time to its delivery at `b` is link set-up (LINK REQUEST, ACCEPTED, both FULL RESETs and
//! their acknowledgements) plus one data turn. Measured with the FULL RESET right behind the
//! CAS-1 C_PDU (Skywave's default) and only once the link is made (`reset_after_link`, the
//! order other stacks expect), each run's frames kept as a pcap capture.

use serde::Serialize;

use super::channel::Model;
use super::report::Report;
use super::scenario::{LinkSpec, Scenario};
use super::{Options, run};

/// The U_PDU that the link is made for.
pub const UPDU_BYTES: usize = 200;

/// One placement's set-up.
#[derive(Clone, Debug, Serialize)]
pub struct SetUp {
    /// `with-link-request` (the default) or `after-link` (`reset_after_link`).
    pub placement: &'static str,
    /// From submission to delivery at the called node, s.
    pub first_delivery_s: f64,
    /// From submission until the caller heard the acknowledgement, s.
    pub acknowledged_s: f64,
    /// Transmissions on the channel until the run ended (set-up, data, acknowledgement).
    pub transmissions: u64,
    /// D_PDUs on the channel.
    pub frames: u64,
}

/// The two-node scenario, with the FULL RESET placed as `reset_after_link` says.
pub fn scenario(reset_after_link: bool) -> Scenario {
    let link = LinkSpec {
        reset_after_link,
        ..LinkSpec::default()
    };
    // Shorter than `idle_break`: the run ends before the idle link is broken, so the capture
    // holds the set-up and the one exchange only.
    let mut s = super::bench::pair("link-setup", Model::Clean, 60.0, link);
    for t in &mut s.traffic {
        t.size = UPDU_BYTES;
        t.count = 1;
        t.ttd_s = 60.0;
    }
    s
}

/// Runs both placements; returns each one's figures and capture (pcap, link type 237).
pub fn measure(seed: u64) -> anyhow::Result<Vec<(SetUp, Vec<u8>)>> {
    [("with-link-request", false), ("after-link", true)]
        .into_iter()
        .map(|(placement, after)| {
            let opts = Options {
                seed,
                capture: true,
                progress: false,
            };
            let (report, pcap) = run(&scenario(after), opts)?;
            Ok((summarise(placement, &report)?, pcap))
        })
        .collect()
}

fn summarise(placement: &'static str, report: &Report) -> anyhow::Result<SetUp> {
    let message = report
        .messages
        .first()
        .ok_or_else(|| anyhow::anyhow!("{placement}: no message"))?;
    let first_delivery_s = message
        .received
        .first()
        .map(|r| r.1)
        .ok_or_else(|| anyhow::anyhow!("{placement}: the U_PDU was not delivered"))?;
    let acknowledged_s = message
        .acknowledged_s
        .ok_or_else(|| anyhow::anyhow!("{placement}: the U_PDU was not acknowledged"))?;
    Ok(SetUp {
        placement,
        first_delivery_s: first_delivery_s - message.created_s,
        acknowledged_s: acknowledged_s - message.created_s,
        transmissions: report.channel.transmissions,
        frames: report.channel.frames_sent,
    })
}

/// The table `skywave-sim setup` prints.
pub fn table(runs: &[SetUp]) -> String {
    let mut t = String::from(
        "FULL RESET placement   first delivery s  acknowledged s  transmissions  frames\n",
    );
    for r in runs {
        t.push_str(&format!(
            "{:<22} {:>16.3}  {:>14.3}  {:>13}  {:>6}\n",
            r.placement, r.first_delivery_s, r.acknowledged_s, r.transmissions, r.frames
        ));
    }
    t
}
