//! `skywave-sim demo` (and `skywave demo`, which runs it): a three-nation coalition on simulated
//! HF, told as it happens.
//!
//! Six agents run in this process, each exactly as `skywave run` would run it (its own SQLite
//! store in a temporary directory, its own links, node and decision log) except that their
//! modems are simulated HF nets ([`radio`]) at 2400 bit/s with 10 % frame loss,
//! and the clock is tokio's paused clock: hours of HF pass in seconds of wall time, and the
//! times printed are simulated. The story:
//!
//! 1. each nation's signing cell publishes its credentials and policy at its headquarters;
//! 2. the liaison offices publish the GBR-USA and GBR-AUS translators;
//! 3. the USA ship and the AUS adjunct decide a release of GBR data through those translators;
//! 4. GBR revokes the GBR-USA translator, and the ship's decision degrades to home-only;
//! 5. the AUS adjunct drops off the air for six hours, GBR issues a new policy version
//!    meanwhile, and the adjunct catches up when it returns.
//!
//! It ends with a table of what every node holds and decides, and then, from the simulator's
//! `labelled-traffic` scenario (whose stations guard client data, which the agents here do not
//! yet), one labelled message released at both ends, one refused with its reason, and the
//! translator revocation stopping GBR -> USA messages at the receiver and then at the sender.

use std::path::{Path, PathBuf};
use std::time::Duration;

use skywave_host::agent::config::{
    AgentConfig, BearerConfig, DEFAULT_INBOX_MAX, DEFAULT_SAP, LinkConfig,
};
use skywave_host::agent::control::{Command, LabelArgs, Reply, Request, StatusReport};
use skywave_host::agent::{open_node, spawn_core};
use skywave_host::cli::on_agent_stack;
use skywave_host::outln;
use skywave_protocol::link::Modem;
use skywave_protocol::policy::sample::{self, AUS, Coalition, GBR, USA, gbr};
use skywave_protocol::policy::{Artifact, Revoked, TrustStore};
use skywave_protocol::wire::Address;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::sim::channel::{Channel, Model};
use crate::sim::coalition::{CoalitionScenario, VerdictRecord};
use crate::sim::scenario::ScenarioFile;
use crate::sim::split_seed;
use radio::RadioNet;

pub mod radio;

/// Frame loss on every simulated channel.
const LOSS: f64 = 0.10;
/// The seed of every channel's losses: the same run every time.
const SEED: u64 = 5066;
/// How long the AUS adjunct is off the air.
const OUTAGE: Duration = Duration::from_secs(6 * 3600);

struct Station {
    name: &'static str,
    address: u32,
    control: mpsc::Sender<Request>,
}

/// A simulated net and each of its stations' member index on it, in station order.
type NetMembers = (RadioNet, Vec<usize>);

/// The nets: a name and the stations (by index) on it.
const NETS: [(&str, &[usize]); 4] = [
    ("alpha", &[0, 1]),
    ("bravo", &[1, 2, 4]),
    ("charlie", &[2, 3]),
    ("delta", &[4, 5]),
];

const STATIONS: [(&str, u32); 6] = [
    ("GBR HQ", 1),
    ("GBR relay", 2),
    ("USA HQ", 3),
    ("USA ship", 4),
    ("AUS HQ", 5),
    ("AUS adjunct", 6),
];

/// An agent as the demo runs it, on `links`: its store in `dir`, and neither a trust
/// directory nor a control socket (its roots are added and its commands sent in process).
pub fn agent_config(
    dir: &Path,
    address: u32,
    links: Vec<LinkConfig>,
) -> anyhow::Result<AgentConfig> {
    Ok(AgentConfig {
        address: Address::new(address).map_err(|e| anyhow::anyhow!("{e}"))?,
        sap: DEFAULT_SAP,
        trust: PathBuf::new(),
        store: dir.join(format!("node-{address}.db")),
        store_max_bytes: None,
        socket: PathBuf::new(),
        group_access: false,
        links,
        rooms: Vec::new(),
        guard: None,
        log_level: None,
        inbox_max: DEFAULT_INBOX_MAX,
        cpdu_id_seed: None,
    })
}

async fn ask(station: &Station, command: Command) -> anyhow::Result<Reply> {
    let (reply, answer) = oneshot::channel();
    station
        .control
        .send(Request { command, reply })
        .await
        .map_err(|_| anyhow::anyhow!("{} stopped", station.name))?;
    Ok(answer.await?)
}

async fn status(station: &Station) -> anyhow::Result<StatusReport> {
    match ask(station, Command::Status).await? {
        Reply::Status(s) => Ok(s),
        other => anyhow::bail!("{}: unexpected reply {other:?}", station.name),
    }
}

async fn publish(station: &Station, what: &str, artifact: Vec<u8>) -> anyhow::Result<()> {
    match ask(station, Command::Publish { artifact }).await? {
        Reply::Admitted { .. } => Ok(()),
        other => anyhow::bail!("{}: {what} not admitted: {other:?}", station.name),
    }
}

/// A SECRET GBR label for operation HERRICK decided for `audience` at `station`: the
/// decision's basis keyword and the decision in words.
async fn decide(
    station: &Station,
    audience: skywave_protocol::policy::Domain,
) -> anyhow::Result<(String, String)> {
    let command = Command::Decide {
        label: LabelArgs {
            domain: GBR,
            policy: 1,
            classification: gbr::SECRET,
        },
        categories: vec![gbr::OP_HERRICK],
        audience,
    };
    match ask(station, command).await? {
        Reply::Decision { decision, .. } => Ok((decision.basis.clone(), decision.describe())),
        other => anyhow::bail!("{}: no decision: {other:?}", station.name),
    }
}

/// The demo's clock and narrator.
struct Story {
    start: Instant,
}

impl Story {
    fn say(&self, text: &str) -> std::io::Result<()> {
        let t = self.start.elapsed().as_secs();
        outln!(
            "[T+{:02}:{:02}:{:02}] {text}",
            t / 3600,
            t / 60 % 60,
            t % 60
        )
    }

    /// Seconds of airtime every station has spent transmitting so far.
    async fn airtime(&self, stations: &[Station]) -> anyhow::Result<f64> {
        let modem = Modem::hf_2400_short();
        let mut bytes = 0;
        for s in stations {
            bytes += status(s)
                .await?
                .links
                .iter()
                .map(|l| l.bytes_out)
                .sum::<u64>();
        }
        Ok(bytes as f64 * 8.0 / f64::from(modem.bit_rate))
    }

    /// Waits (in simulated time) until `done` holds, checking every 5 s; returns how long.
    async fn until<F, Fut>(
        &self,
        limit: Duration,
        what: &str,
        mut done: F,
    ) -> anyhow::Result<Duration>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<bool>>,
    {
        let begun = Instant::now();
        while !done().await? {
            if begun.elapsed() > limit {
                anyhow::bail!("not within {limit:?}: {what}");
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        Ok(begun.elapsed())
    }
}

async fn all_hold(stations: &[Station], count: usize) -> anyhow::Result<bool> {
    for s in stations {
        if status(s).await?.artifacts < count {
            return Ok(false);
        }
    }
    Ok(true)
}

fn modem() -> Modem {
    Modem::hf_2400_short()
}

/// Builds the six stations in `dir`; returns them with the nets (for the outage).
fn build(dir: &Path, c: &Coalition) -> anyhow::Result<(Vec<Station>, Vec<NetMembers>)> {
    let nets: Vec<RadioNet> = NETS.iter().map(|_| RadioNet::new(modem())).collect();
    let mut stations = Vec::new();
    // Each station's membership index on each of its nets.
    let mut members: Vec<NetMembers> = nets.iter().map(|n| (n.clone(), Vec::new())).collect();
    for (index, (name, address)) in STATIONS.iter().enumerate() {
        let mut links = Vec::new();
        let mut bearers = Vec::new();
        for (n, (net_name, on)) in NETS.iter().enumerate() {
            if !on.contains(&index) {
                continue;
            }
            let neighbours = on
                .iter()
                .filter(|&&i| i != index)
                .map(|&i| Address::new(STATIONS[i].1))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (member, bearer) = nets[n].join(|from| {
                Channel::new(
                    Model::Bernoulli { p: LOSS },
                    split_seed(SEED, n as u64, (index * 16 + from) as u64),
                )
            });
            members[n].1.push(member);
            bearers.push(bearer);
            links.push(LinkConfig {
                name: (*net_name).to_owned(),
                bearer: BearerConfig::Simulated,
                modem: modem(),
                neighbours,
                reset_after_link: false,
            });
        }
        let config = agent_config(dir, *address, links)?;
        let mut trust = TrustStore::new();
        for root in c.roots() {
            trust
                .add_root(&root, Some(skywave_host::cli::time::now()))
                .map_err(|r| anyhow::anyhow!("root: {r}"))?;
        }
        let (node, store) = open_node(&config, trust)?;
        let (control, _task) = spawn_core(&config, node, store, bearers, std::future::pending())?;
        stations.push(Station {
            name,
            address: *address,
            control,
        });
    }
    Ok((stations, members))
}

/// Runs the story; returns when it is told.
async fn story(dir: &std::path::Path) -> anyhow::Result<()> {
    let c = Coalition::new();
    let (stations, nets) = build(dir, &c)?;
    let story = Story {
        start: Instant::now(),
    };
    outln!(
        "Skywave demo: a GBR, USA and AUS coalition on simulated HF (2400 bit/s, 10 % frame loss)."
    )?;
    outln!(
        "Stations: GBR HQ - GBR relay; the relay shares a net with USA HQ and AUS HQ; USA HQ - USA ship; AUS HQ - AUS adjunct."
    )?;
    outln!(
        "Times are simulated; each station keeps its own store in {}.\n",
        dir.display()
    )?;

    // 1. National artifacts at each headquarters. The sample coalition's order: signer
    // credentials (GBR, USA, AUS), liaison credentials (GBR, USA, GBR, AUS), policies (GBR,
    // USA, AUS), translators (GBR-USA, GBR-AUS).
    let artifacts = c.artifacts();
    let at = |i: usize| &stations[i];
    let home = [0, 2, 4, 0, 2, 0, 4, 0, 2, 4];
    for (artifact, station) in artifacts.iter().zip(home) {
        publish(at(station), "national artifact", artifact.clone()).await?;
    }
    story.say("GBR, USA and AUS signing cells publish their signers' credentials, the liaison offices' credentials and their policies at their headquarters.")?;
    let took = story
        .until(
            Duration::from_secs(3600),
            "national artifacts everywhere",
            || all_hold(&stations, 10),
        )
        .await?;
    story.say(&format!(
        "Every station has verified and admitted all 10 ({} s after publication; {:.0} s of airtime so far).",
        took.as_secs(),
        story.airtime(&stations).await?
    ))?;

    // 2. Translators, from the liaison offices (credentialed by both partners).
    for artifact in &artifacts[10..] {
        publish(at(0), "translator", artifact.clone()).await?;
    }
    story.say("The GBR-USA and GBR-AUS liaison offices publish their translators at GBR HQ.")?;
    let took = story
        .until(Duration::from_secs(3600), "translators everywhere", || {
            all_hold(&stations, 12)
        })
        .await?;
    story.say(&format!(
        "All stations hold both translators after {} s.",
        took.as_secs()
    ))?;

    // 3. Decisions through the translators.
    let (_, said) = decide(at(3), USA).await?;
    story.say(&format!(
        "USA ship: may GBR SECRET data for operation HERRICK go to USA? {said}."
    ))?;
    let (_, said) = decide(at(5), AUS).await?;
    story.say(&format!("AUS adjunct: the same data to AUS? {said}."))?;

    // 4. GBR revokes the GBR-USA translator.
    let revocation = sample::revocation(
        GBR,
        &c.gbr_root,
        1,
        &[Revoked::Translator { id: 1, version: 1 }],
    );
    publish(
        at(0),
        "revocation",
        sample::sign(&c.gbr_root, &Artifact::Revocation(revocation)),
    )
    .await?;
    story.say("GBR's root revokes the GBR-USA translator (revocation delta 1, expedited).")?;
    let took = story
        .until(
            Duration::from_secs(3600),
            "the ship degrades to home-only",
            || async { Ok(decide(at(3), USA).await?.0 == "home_only_translator_revoked") },
        )
        .await?;
    let (_, said) = decide(at(3), USA).await?;
    story.say(&format!(
        "{} s later, three hops away, the USA ship decides again: {said}.",
        took.as_secs()
    ))?;

    // 5. The AUS adjunct drops off the air; GBR issues a new policy version meanwhile.
    let (delta, members) = &nets[3];
    delta.set_down(members[1], true);
    story.say("The AUS adjunct goes off the air for six hours.")?;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    publish(at(0), "policy v2", c.gbr_policy(2, &sample::gbr_rules())).await?;
    story.say("GBR publishes version 2 of its policy.")?;
    let others: Vec<&Station> = stations.iter().filter(|s| s.address != 6).collect();
    let begun = Instant::now();
    loop {
        let mut versions = 0;
        for s in &others {
            let reply = ask(s, Command::Policies).await?;
            if let Reply::Policies { artifacts } = reply
                && artifacts
                    .iter()
                    .any(|a| a.kind == "policy" && a.domain == "GBR" && a.version == 2)
            {
                versions += 1;
            }
        }
        if versions == others.len() || begun.elapsed() > OUTAGE {
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    story.say(&format!(
        "Every station on the air holds GBR policy v2 after {} s.",
        begun.elapsed().as_secs()
    ))?;
    tokio::time::sleep(OUTAGE.saturating_sub(Duration::from_secs(3600) + begun.elapsed())).await;
    let before = story.airtime(&stations).await?;
    delta.set_down(members[1], false);
    story.say("The AUS adjunct is back on the air.")?;
    let took = story
        .until(Duration::from_secs(3 * 3600), "the adjunct catches up", || async {
            let reply = ask(at(5), Command::Policies).await?;
            Ok(matches!(reply, Reply::Policies { artifacts } if artifacts.iter().any(|a| a.kind == "policy" && a.domain == "GBR" && a.version == 2)))
        })
        .await?;
    let after = story.airtime(&stations).await?;
    story.say(&format!(
        "It caught up {} s after its return: inventory sync sent it only what it lacked ({:.0} s of airtime across the network meanwhile).",
        took.as_secs(),
        after - before
    ))?;

    outln!(
        "\n| station | address | artifacts | GBR revocation | GBR SECRET HERRICK data to its own nation | airtime sent |"
    )?;
    outln!("|---|---|---|---|---|---|")?;
    for s in &stations {
        let st = status(s).await?;
        let audience = match s.address {
            1 | 2 => GBR,
            3 | 4 => USA,
            _ => AUS,
        };
        let (_, said) = decide(s, audience).await?;
        let airtime: u64 = st.links.iter().map(|l| l.bytes_out).sum();
        let gbr = st
            .revocation
            .iter()
            .find(|(d, _)| *d == GBR)
            .map_or(0, |(_, seq)| *seq);
        outln!(
            "| {} | {} | {} | #{gbr} | {said} | {:.0} s |",
            s.name,
            st.address,
            st.artifacts,
            airtime as f64 * 8.0 / f64::from(modem().bit_rate)
        )?;
    }
    outln!(
        "\nTotal simulated time {:.1} h.",
        story.start.elapsed().as_secs_f64() / 3600.0
    )?;
    labelled_traffic()
}

/// The guard, told from the simulator's `labelled-traffic` scenario: the agents above do not
/// guard client data yet (they do not drive a `Station`), the simulator's stations do.
fn labelled_traffic() -> anyhow::Result<()> {
    let scenario = CoalitionScenario::from_toml(include_str!(
        "../../scenarios/coalition/labelled-traffic.toml"
    ))?;
    let (report, _) = crate::sim::coalition::run(&scenario, 1, false, false)?;
    outln!(
        "\nLabelled traffic (simulated stations, tools/scenarios/coalition/labelled-traffic.toml, seed 1):"
    )?;
    let said = |v: &Option<VerdictRecord>| match v {
        None => "never on the air".to_string(),
        Some(v) => match (&v.reason, &v.translator) {
            (Some(reason), _) => format!("refused ({reason})"),
            (None, Some(t)) => format!("released through {t}"),
            (None, None) => "released".to_string(),
        },
    };
    for m in report.messages.iter().filter(|m| {
        [
            "GBR SECRET TELIC to USA #1",
            "GBR SECRET TELIC to AUS",
            "GBR SECRET TELIC to USA #4",
            "GBR SECRET TELIC to USA #5",
        ]
        .contains(&m.name.as_str())
    }) {
        outln!(
            "  {} ({} -> {}, {:.0} s): sender {}; receiver {}.",
            m.name,
            m.from,
            m.to,
            m.submitted_s,
            said(&m.sender),
            said(&m.receiver)
        )?;
    }
    Ok(())
}

/// `skywave-sim demo`, on a thread with room for six agents' protocol state.
pub fn run() -> anyhow::Result<()> {
    on_agent_stack(run_here)
}

fn run_here() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("skywave-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let told = runtime.block_on(story(&dir));
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
    told
}
