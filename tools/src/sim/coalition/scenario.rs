//! The coalition scenario file: stations and their radios' nets, outages, what is published
//! where and when, what a hostile neighbour injects, and the decisions to follow.

use super::{
    Address, Deserialize, Domain, Duration, Fanout, LinkSpec, MAX_RADIOS, ModemSpec, NetSpec,
    OutageSpec, RandomOutageSpec, SAP, ScenarioFile, Serialize, anyhow, check_outages, ensure,
    node,
};

/// A coalition scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoalitionScenario {
    /// A name for reports.
    pub name: String,
    /// Simulated time to run, s.
    pub duration_s: f64,
    /// The modem every radio uses.
    #[serde(default)]
    pub modem: ModemSpec,
    /// Link-layer settings every radio uses.
    #[serde(default)]
    pub link: LinkSpec,
    /// Node settings every station uses.
    #[serde(default)]
    pub node: NodeSpec,
    /// The stations.
    #[serde(rename = "station")]
    pub stations: Vec<StationSpec>,
    /// The nets.
    #[serde(rename = "net")]
    pub nets: Vec<NetSpec>,
    /// Scheduled outages (`node` names a station: it is off the air and knows it).
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "outage")]
    pub outages: Vec<OutageSpec>,
    /// Random net outages.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        rename = "random_outage"
    )]
    pub random_outages: Vec<RandomOutageSpec>,
    /// Artifacts published by a station's operator.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "publish")]
    pub publish: Vec<PublishSpec>,
    /// Artifacts a hostile or broken neighbour hands a station (as if received on the air).
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "inject")]
    pub inject: Vec<InjectSpec>,
    /// Release decisions followed at every station.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "decide")]
    pub decide: Vec<DecideSpec>,
    /// Labelled client messages between neighbours, decided by the guard at both ends.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "message")]
    pub messages: Vec<super::traffic::MessageSpec>,
}

/// Node settings.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSpec {
    /// Periodic SUMMARY interval, s.
    pub summary_interval_s: u64,
    /// Lacking neighbours on a channel from which an artifact is broadcast (0: never).
    pub fanout_min_lacking: u8,
    /// The same for revocation deltas.
    pub fanout_revocation_min_lacking: u8,
    /// Transmissions of each broadcast segment.
    pub fanout_repeats: u8,
    /// On channels with two or more neighbours, what goes to one of them by ARQ (else
    /// non-ARQ with the repeats).
    pub fanout_arq_when_shared: bool,
}

impl Default for NodeSpec {
    fn default() -> Self {
        let c = node::Config::new(SAP);
        NodeSpec {
            summary_interval_s: c.summary_interval.millis() / 1000,
            fanout_min_lacking: c.fanout.min_lacking,
            fanout_revocation_min_lacking: c.fanout.revocation_min_lacking,
            fanout_repeats: c.fanout.repeats,
            fanout_arq_when_shared: c.fanout.arq_when_shared,
        }
    }
}

impl NodeSpec {
    /// Every artifact by ARQ to each neighbour (the fan-out rule off).
    pub fn arq_only() -> Self {
        NodeSpec {
            fanout_min_lacking: 0,
            fanout_revocation_min_lacking: 0,
            fanout_arq_when_shared: true,
            ..NodeSpec::default()
        }
    }

    /// The node configuration of the station at `address` (its summary jitter seed).
    pub(super) fn config(&self, address: u32) -> node::Config {
        let mut c = node::Config::new(SAP);
        c.jitter_seed = address;
        c.address = Address::new(address).ok();
        c.summary_interval = Duration::from_secs(self.summary_interval_s);
        c.fanout = Fanout {
            min_lacking: self.fanout_min_lacking,
            revocation_min_lacking: self.fanout_revocation_min_lacking,
            repeats: self.fanout_repeats,
            arq_when_shared: self.fanout_arq_when_shared,
        };
        c
    }
}

/// One station.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationSpec {
    /// A unique name.
    pub name: String,
    /// Its STANAG 5066 address.
    pub address: u32,
    /// The nets its radios are on, one radio each.
    pub nets: Vec<String>,
    /// Artifacts it holds before the run starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<ArtifactSpec>,
    /// Its nation: given, the station holds a node credential from that domain's root (as
    /// do all the others of the scenario) and guards labelled traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// Which signed artifacts to make, from the sample coalition's keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArtifactSpec {
    /// The sample coalition's credentials, policies and translators (those filed under
    /// `domain`, if given), in an order they can be admitted in.
    Coalition {
        /// Only this domain's.
        #[serde(default)]
        domain: Option<String>,
    },
    /// GBR's policy 1 at `version` (the sample rules).
    Policy {
        /// The version.
        version: u32,
    },
    /// A revocation delta of `domain` (signed by its root) with sequence `seq`.
    Revocation {
        /// The revoking domain.
        domain: String,
        /// Its sequence number.
        seq: u32,
        /// Revoke translator `id` version 1 and older.
        #[serde(default)]
        translator: Option<u32>,
        /// Revoke policy `id` version 1 and older.
        #[serde(default)]
        policy: Option<u32>,
        /// Revoke the key of this sample signer: `gbr_signer`, `usa_signer`, `aus_signer`,
        /// `gbr_usa_liaison`, `gbr_aus_liaison`.
        #[serde(default)]
        key: Option<String>,
    },
    /// GBR's policy 1 at `version` with one signature byte flipped.
    Forged {
        /// The version.
        version: u32,
    },
    /// Translator `id` (1: GBR 4 to USA 5, 2: GBR 4 to AUS 4) at `version`, signed by its
    /// liaison office.
    Translator {
        /// 1 or 2.
        id: u32,
        /// The version.
        version: u32,
    },
    /// A hostile partner's valid artifacts, made with `domain`'s own sample keys (see
    /// [`super::hostile`]).
    Hostile {
        /// The hostile domain.
        domain: String,
        /// What it tries.
        attack: crate::sim::hostile::Attack,
    },
}

/// An operator publishing at a station.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    /// When, s.
    pub at_s: f64,
    /// Where.
    pub station: String,
    /// What.
    pub artifact: ArtifactSpec,
}

/// A neighbour handing a station artifacts it should refuse.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectSpec {
    /// When, s.
    pub at_s: f64,
    /// The station that receives them.
    pub station: String,
    /// The neighbour they seem to come from.
    pub from: String,
    /// What.
    pub artifact: ArtifactSpec,
}

/// A release decision followed at every station.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideSpec {
    /// A name for reports.
    pub name: String,
    /// The labelling domain.
    pub domain: String,
    /// Its policy id.
    pub policy: u32,
    /// The classification code.
    pub classification: u8,
    /// Category values as (tag, value).
    #[serde(default)]
    pub categories: Vec<(u8, u16)>,
    /// The audience domain.
    pub audience: String,
}

pub(super) fn domain(code: &str) -> anyhow::Result<Domain> {
    Domain::new(code).ok_or_else(|| anyhow!("{code:?} is not a domain code"))
}

impl ScenarioFile for CoalitionScenario {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(self.duration_s > 0.0, "duration_s must be positive");
        self.modem.check()?;
        ensure!(
            self.node.fanout_repeats >= 1,
            "node.fanout_repeats must be at least 1"
        );
        let station = |name: &str| self.stations.iter().any(|s| s.name == name);
        let net = |name: &str| self.nets.iter().any(|n| n.name == name);
        for s in &self.stations {
            ensure!(!s.nets.is_empty(), "station {} is on no net", s.name);
            ensure!(
                s.nets.len() <= MAX_RADIOS,
                "station {} has more than {MAX_RADIOS} radios",
                s.name
            );
            for n in &s.nets {
                ensure!(net(n), "station {} is on unknown net {n}", s.name);
            }
            ensure!(
                self.stations.iter().filter(|o| o.name == s.name).count() == 1,
                "two stations are called {}",
                s.name
            );
        }
        for p in &self.publish {
            ensure!(
                station(&p.station),
                "publish at unknown station {}",
                p.station
            );
        }
        for i in &self.inject {
            ensure!(
                station(&i.station),
                "inject at unknown station {}",
                i.station
            );
            ensure!(station(&i.from), "inject from unknown station {}", i.from);
        }
        check_outages(&self.outages, &self.random_outages, net, station, "station")?;
        for d in &self.decide {
            domain(&d.domain)?;
            domain(&d.audience)?;
        }
        let guarded = |name: &str| {
            self.stations
                .iter()
                .any(|s| s.name == name && s.domain.is_some())
        };
        for m in &self.messages {
            if let Some(label) = &m.label {
                ensure!(
                    guarded(&m.from) && guarded(&m.to),
                    "message {}: {} and {} must be stations with a domain",
                    m.name,
                    m.from,
                    m.to
                );
                label.compact()?;
            }
            ensure!(
                self.messages.iter().filter(|o| o.name == m.name).count() == 1,
                "two messages are called {}",
                m.name
            );
        }
        Ok(())
    }
}
