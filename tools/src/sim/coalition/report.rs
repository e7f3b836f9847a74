//! What a coalition run reports: per artifact when each station admitted it, refusals,
//! decisions with their lineage, catch-ups after outages, per-station totals.

use super::{BTreeMap, ChannelTotals, Serialize};

/// One artifact's journey.
#[derive(Clone, Debug, Serialize)]
pub struct ArtifactRecord {
    /// A readable name ("GBR revocation 1", "GBR policy 1 v2").
    pub label: String,
    /// Its kind.
    pub kind: String,
    /// SHA-256, hex.
    pub digest: String,
    /// Where it was first published or held, and when (s).
    pub origin: String,
    /// When it was published (0 for what stations held at the start).
    pub published_s: f64,
    /// When each station admitted it, by station name (s).
    pub admitted_s: BTreeMap<String, f64>,
    /// Time from publication until the last station admitted it, when all did (s).
    pub everywhere_after_s: Option<f64>,
}

/// A station's refusal.
#[derive(Clone, Debug, Serialize)]
pub struct RefusalRecord {
    /// Where.
    pub station: String,
    /// When, s.
    pub at_s: f64,
    /// From which neighbour (none: its operator).
    pub from: Option<String>,
    /// Why.
    pub refusal: String,
}

/// A followed decision at one station, when it changed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DecisionRecord {
    /// When, s.
    pub at_s: f64,
    /// "release" or "deny: ..."
    pub verdict: String,
    /// same_domain, translated, home_only, home_only_translator_revoked.
    pub basis: String,
    /// The translator used, if any.
    pub translator: Option<String>,
    /// The spiral gap bridged, as "4 -> 5".
    pub spiral_gap: Option<String>,
    /// The revocation sequence numbers in force, as "GBR 1".
    pub revocations: Vec<String>,
}

/// A station's catch-up after it was off the air.
#[derive(Clone, Debug, Serialize)]
pub struct CatchUp {
    /// The station.
    pub station: String,
    /// Off the air, s.
    pub start_s: f64,
    /// Back, s.
    pub end_s: f64,
    /// Artifacts it lacked when it came back (issued meanwhile).
    pub missed: usize,
    /// From its return until it held everything the others held then, s (none: never).
    pub caught_up_after_s: Option<f64>,
    /// D_PDU bytes on the air on the station's nets from its return until it had caught up.
    pub bytes: u64,
    /// Those bytes by what the D_PDUs carried.
    pub bytes_by_kind: BTreeMap<String, u64>,
    /// D_PDU bytes of sending it everything it holds, each artifact framed by the link as one
    /// non-ARQ ARTIFACT message, with the repeats the catch-up used (the fan-out rule's on a
    /// shared channel, else one) and no acknowledgements, link set-up or inventory messages:
    /// what resending everything the same way would cost at the least.
    pub resend_everything_bytes: u64,
    /// The same with every artifact sent exactly once (no repeats): a floor no scheme that
    /// resends everything can beat.
    pub resend_everything_once_bytes: u64,
}

/// Per-station counters.
#[derive(Clone, Debug, Serialize)]
pub struct StationRecord {
    /// Its name.
    pub name: String,
    /// Artifacts held at the end.
    pub artifacts: usize,
    /// Node messages handed to its links.
    pub submitted: u64,
    /// Node messages its links delivered to it.
    pub received: u64,
    /// Node messages that expired in a link.
    pub expired: u64,
    /// D_PDUs its radios sent.
    pub frames_sent: u64,
}

/// What a coalition run measured.
#[derive(Clone, Debug, Serialize)]
pub struct CoalitionReport {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Wall-clock seconds of the event loop.
    pub wall_seconds: f64,
    /// Events processed.
    pub events: u64,
    /// Every station holds the same artifacts at the end.
    pub converged: bool,
    /// Per artifact, who admitted it when.
    pub artifacts: Vec<ArtifactRecord>,
    /// Refusals (forgeries, rollbacks, revoked signers, and artifacts waiting for another).
    pub refusals: Vec<RefusalRecord>,
    /// Per followed decision, per station, its changes.
    pub decisions: BTreeMap<String, BTreeMap<String, Vec<DecisionRecord>>>,
    /// Airtime of D_PDUs by what they carried: the artifact kinds, summary, detail, want,
    /// link (CAS-1, acknowledgements, resets), other; s.
    pub airtime_s_by_kind: BTreeMap<String, f64>,
    /// D_PDU bytes by the same classes.
    pub bytes_by_kind: BTreeMap<String, u64>,
    /// Channel totals.
    pub channel: ChannelTotals,
    /// Station outages and the catch-ups after them.
    pub catch_ups: Vec<CatchUp>,
    /// Per station.
    pub stations: Vec<StationRecord>,
    /// Per labelled message (`[[message]]`), its verdicts at both ends with reasons and
    /// lineage; absent when the scenario sends none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<super::MessageRecord>,
    /// Every D_PDU put on the air: when (s) and the channel time it took (airtime, plus the
    /// preamble and interleaver for the first of a transmission), for figures over a window.
    #[serde(skip)]
    pub air_log: Vec<(f64, f64)>,
}

impl CoalitionReport {
    /// Channel time (D_PDU airtime plus preamble and interleaver) spent from `from_s` to
    /// `until_s`, over all nets.
    pub fn channel_time(&self, from_s: f64, until_s: f64) -> f64 {
        self.air_log
            .iter()
            .filter(|(t, _)| *t >= from_s && *t <= until_s)
            .map(|(_, c)| c)
            .sum()
    }
}
