//! The agent's configuration file (`skywave run --config node.toml`).
//!
//! ```toml
//! [node]
//! address = "0.0.0.12"     # this node's STANAG 5066 address (dotted, or an integer)
//! trust = "trust"          # directory of root credentials, one file each
//! store = "node.db"        # the SQLite store (artifacts, queues, decision log)
//! store_max_bytes = 104857600  # optional cap on the store's size
//! sap = 13                 # Skywave's SAP ID (13: unassigned in Annex F, free for use)
//!
//! [control]
//! socket = "skywave.sock"  # the operator's control socket (owner-only permissions)
//! group_access = false     # true: the agent's group may use the socket (0660), read the store (0640)
//!
//! [[link]]
//! name = "hf1"
//! neighbours = ["0.0.0.13"]
//! modem = { bit_rate = 2400, preamble_ms = 600, interleaver_ms = 600, turnaround_ms = 200 }
//! serial = { device = "/dev/ttyUSB0", baud = 9600 }    # or: udp = { bind = "...", peer = "..." }
//!
//! [[link]]                 # a link through an installed 5066 node, as its SIS client
//! name = "stack"
//! neighbours = ["0.0.0.14"]
//! sis = { server = "127.0.0.1:5066", sap = 13 }        # no modem: the node has its own
//!
//! [sis]                    # optional: serve SIS to 5066 client applications
//! listen = "127.0.0.1:5066"
//! max_clients = 16
//!
//! [guard]                  # optional: the guard on labelled client data (docs/labels.md)
//! key = "node-12.pem"      # this node's key (PKCS#8 PEM), certified by a node credential
//!
//! [[guard.sap]]            # a guarded SAP: its clients' data is labelled and decided
//! sap = 5
//! label = "secret.xml"     # the label for this SAP's clients' data (a 4774 label)
//! policy = "GBR:40"        # the label's policy (domain:id), which compaction needs
//! spif = "nato.xml"        # optional: the SPIF naming its values (else the admitted policy)
//!
//! [[guard.sap]]
//! sap = 6
//! envelope = true          # or: the clients send the labelled envelope themselves
//!
//! [log]                    # optional: the log's filter (RUST_LOG syntax; RUST_LOG overrides)
//! level = "info"
//!
//! [[room]]                 # optional: a domain's room in the trust store (docs/policy.md)
//! domain = "GBR"
//! policies = 60            # omitted tables keep the domain's equal share
//! ```
//!
//! Relative paths are relative to the configuration file's directory. Every error names the
//! file and, where the file says it, the line and the field.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use serde::Deserialize;
use skywave_protocol::link::Modem;
use skywave_protocol::policy::{Domain, Room, RoomError, TrustStore};
use skywave_protocol::time::Duration;
use skywave_protocol::wire::Address;

use crate::bearer::serial::SerialConfig;
use crate::bearer::sis::SisBearerConfig;
use crate::bearer::udp::UdpConfig;
use crate::sis::SisServerConfig;

/// The Skywave SAP ID unless configured: 13 is unassigned in STANAG 5066 Annex F and free for
/// arbitrary use, so Skywave does not collide with HMTP, CFTP or IP clients.
pub const DEFAULT_SAP: u8 = 13;

/// A configuration that could not be used, with where and why.
#[derive(Debug)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, with the line and field where known.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The parsed configuration, paths resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentConfig {
    /// This node's address.
    pub address: Address,
    /// Skywave's SAP ID.
    pub sap: u8,
    /// Directory of root credentials.
    pub trust: PathBuf,
    /// The SQLite store.
    pub store: PathBuf,
    /// The most bytes the store may grow to (the disk is the limit when absent).
    pub store_max_bytes: Option<u64>,
    /// The control socket.
    pub socket: PathBuf,
    /// Operators in the agent's group may use the control socket (0660) and read the store
    /// (0640); otherwise both are the agent user's alone (0600).
    pub group_access: bool,
    /// The links to the air.
    pub links: Vec<LinkConfig>,
    /// Rooms set at provisioning, in file order (`[[room]]`).
    pub rooms: Vec<RoomConfig>,
    /// The guard on labelled client data (`[guard]`); `None`: no guard, nothing labelled.
    pub guard: Option<GuardSettings>,
    /// The log's filter (`[log] level`, `RUST_LOG` syntax); `RUST_LOG` overrides it, `info`
    /// when neither is set.
    pub log_level: Option<String>,
}

/// The `[guard]` section: this node's key and the SAPs whose client data is labelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardSettings {
    /// This node's private key (PKCS#8 PEM, as `skywave-authority keygen` writes it); a node
    /// credential in the trust store certifies its public half.
    pub key: PathBuf,
    /// The guarded SAPs, in file order (`[[guard.sap]]`).
    pub saps: Vec<GuardSap>,
}

impl GuardSettings {
    /// Reads the node key; the error names `guard.key` and the file.
    pub fn load_key(&self) -> Result<p256::ecdsa::SigningKey, String> {
        use p256::pkcs8::DecodePrivateKey as _;
        let at = format!("guard.key: {}", self.key.display());
        let pem = std::fs::read_to_string(&self.key).map_err(|e| format!("{at}: {e}"))?;
        p256::ecdsa::SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| format!("{at}: not a PKCS#8 PEM P-256 private key: {e}"))
    }

    /// The guarded SAP IDs.
    pub fn sap_ids(&self) -> Vec<u8> {
        self.saps.iter().map(|s| s.sap).collect()
    }
}

/// One guarded SAP and how its SIS clients' data gets its label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardSap {
    /// The SAP ID.
    pub sap: u8,
    /// Where the label comes from.
    pub label: SapLabel,
    /// The policy the SAP's XML labels are under: the default label's (required with one), or
    /// the one an envelope's XML label is read under (an envelope with a compact label names
    /// its own).
    pub policy: Option<PolicyName>,
    /// The SPIF that names the policy's values; without it, names resolve through the
    /// admitted policy and values must be LACVs.
    pub spif: Option<PathBuf>,
}

/// A policy as a label needs it named: its domain and policy id (`"GBR:40"`). The version is
/// not part of it: a label stays valid across versions that keep its codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyName {
    /// The labelling domain.
    pub domain: Domain,
    /// The policy id.
    pub id: u32,
}

impl std::str::FromStr for PolicyName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not DOMAIN:ID (three letters, a number: \"GBR:40\")");
        let (domain, id) = text.split_once(':').ok_or_else(bad)?;
        Ok(PolicyName {
            domain: Domain::new(domain).ok_or_else(bad)?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

impl std::fmt::Display for PolicyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.domain, self.id)
    }
}

/// Where a guarded SAP's client data gets its label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SapLabel {
    /// Every U_PDU of the SAP's clients carries this 4774 label (a file).
    Default(PathBuf),
    /// The clients send the labelled envelope of docs/labels.md themselves.
    Envelope,
}

/// A domain's room in the trust store as the file sets it: how many of each table's places
/// its artifacts may fill, so that no partner can fill another's (docs/policy.md, "Sovereign
/// trust"). A table the file leaves out keeps the share the domain has when the room is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomConfig {
    /// The domain, whose root must be in the trust directory.
    pub domain: Domain,
    /// Credentials, its root's included.
    pub credentials: Option<usize>,
    /// Policies.
    pub policies: Option<usize>,
    /// Translators from the domain.
    pub translators: Option<usize>,
    /// Revocation entries in force.
    pub revoked: Option<usize>,
}

impl RoomConfig {
    /// Sets this room in `trust`, whose roots are installed. Errors name the section.
    pub fn apply<const C: usize, const P: usize, const T: usize, const R: usize, const E: usize>(
        &self,
        index: usize,
        trust: &mut TrustStore<C, P, T, R, E>,
    ) -> Result<(), String> {
        let share = trust.room(self.domain);
        let room = Room {
            credentials: self.credentials.unwrap_or(share.credentials),
            policies: self.policies.unwrap_or(share.policies),
            translators: self.translators.unwrap_or(share.translators),
            revoked: self.revoked.unwrap_or(share.revoked),
        };
        trust.set_room(self.domain, room).map_err(|e| {
            let at = format!("room[{index}] ({})", self.domain);
            match e {
                RoomError::UnknownDomain(d) => {
                    format!("{at}.domain: no root of {d} in the trust directory")
                }
                RoomError::Exceeds(table) => format!(
                    "{at}: with the rooms before it, more {table:?} than the trust store holds \
                     ({})",
                    trust.capacity(table)
                ),
            }
        })
    }
}

/// Sets every room of `config` in `trust`, in file order, after its roots are installed.
pub fn apply_rooms<
    const C: usize,
    const P: usize,
    const T: usize,
    const R: usize,
    const E: usize,
>(
    config: &AgentConfig,
    trust: &mut TrustStore<C, P, T, R, E>,
) -> Result<(), String> {
    config
        .rooms
        .iter()
        .enumerate()
        .try_for_each(|(i, room)| room.apply(i, trust))
}

/// One link: a bearer, the modem's timing and the neighbours reached through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// The operator's name for it.
    pub name: String,
    /// How the agent reaches the modem.
    pub bearer: BearerConfig,
    /// The modem's timing.
    pub modem: Modem,
    /// Nodes reached through this link.
    pub neighbours: Vec<Address>,
    /// FULL RESET only once the link is made, in the annex order (`link::Config::
    /// reset_after_link`, docs/link.md): two more turns per new peer, for a foreign stack that
    /// warns about a FULL RESET beside a link request.
    pub reset_after_link: bool,
}

/// The bearer of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BearerConfig {
    /// An HF modem on a serial port.
    Serial(SerialConfig),
    /// One D_PDU per UDP datagram.
    Udp(UdpConfig),
    /// Another 5066 node, as its SIS client.
    Sis(SisBearerConfig),
    /// A simulated HF net in this process (`skywave demo`; not available in files).
    Simulated,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    node: NodeSection,
    #[serde(default)]
    control: ControlSection,
    #[serde(default, rename = "link")]
    links: Vec<LinkSection>,
    sis: Option<SisServerConfig>,
    #[serde(default, rename = "room")]
    rooms: Vec<RoomSection>,
    guard: Option<GuardSection>,
    #[serde(default)]
    log: LogSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LogSection {
    level: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuardSection {
    key: PathBuf,
    #[serde(default, rename = "sap")]
    saps: Vec<GuardSapSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuardSapSection {
    sap: u8,
    label: Option<PathBuf>,
    #[serde(default)]
    envelope: bool,
    policy: Option<String>,
    spif: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoomSection {
    domain: String,
    credentials: Option<usize>,
    policies: Option<usize>,
    translators: Option<usize>,
    revoked: Option<usize>,
}

/// Everything a configuration file says: the agent's settings and, if it has a `[sis]`
/// section, the SIS server's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullConfig {
    /// The agent.
    pub agent: AgentConfig,
    /// The SIS server, when the file asks for one.
    pub sis: Option<SisServerConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeSection {
    address: AddressText,
    trust: PathBuf,
    #[serde(default = "default_store")]
    store: PathBuf,
    store_max_bytes: Option<u64>,
    #[serde(default = "default_sap")]
    sap: u8,
}

fn default_store() -> PathBuf {
    PathBuf::from("skywave.db")
}

fn default_sap() -> u8 {
    DEFAULT_SAP
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ControlSection {
    socket: Option<PathBuf>,
    #[serde(default)]
    group_access: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkSection {
    name: String,
    #[serde(default)]
    neighbours: Vec<AddressText>,
    modem: Option<ModemSection>,
    serial: Option<SerialConfig>,
    udp: Option<UdpConfig>,
    sis: Option<SisBearerConfig>,
    #[serde(default)]
    reset_after_link: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModemSection {
    bit_rate: u32,
    #[serde(default = "default_preamble_ms")]
    preamble_ms: u64,
    #[serde(default = "default_interleaver_ms")]
    interleaver_ms: u64,
    #[serde(default = "default_turnaround_ms")]
    turnaround_ms: u64,
    #[serde(default = "default_max_transmission_ms")]
    max_transmission_ms: u64,
}

impl Default for ModemSection {
    fn default() -> Self {
        let m = Modem::hf_2400_short();
        ModemSection {
            bit_rate: m.bit_rate,
            preamble_ms: m.preamble.millis(),
            interleaver_ms: m.interleaver.millis(),
            turnaround_ms: m.turnaround.millis(),
            max_transmission_ms: m.max_transmission.millis(),
        }
    }
}

fn default_preamble_ms() -> u64 {
    Modem::hf_2400_short().preamble.millis()
}
fn default_interleaver_ms() -> u64 {
    Modem::hf_2400_short().interleaver.millis()
}
fn default_turnaround_ms() -> u64 {
    Modem::hf_2400_short().turnaround.millis()
}
fn default_max_transmission_ms() -> u64 {
    Modem::hf_2400_short().max_transmission.millis()
}

/// An address as written in the file: dotted (`"0.0.1.44"`, as Wireshark shows it) or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum AddressText {
    Number(u32),
    Dotted(String),
}

/// Parses a node address: dotted bytes (`0.0.1.44`) or a plain number, 28 bits at most.
pub fn parse_address(text: &str) -> Result<Address, String> {
    let value = if text.contains('.') {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 4 {
            return Err(format!("{text:?} is not four dotted numbers"));
        }
        parts.iter().try_fold(0u32, |acc, p| {
            let byte: u8 = p
                .parse()
                .map_err(|_| format!("{text:?}: {p:?} is not 0..=255"))?;
            Ok::<u32, String>(acc << 8 | u32::from(byte))
        })?
    } else {
        text.parse()
            .map_err(|_| format!("{text:?} is not an address"))?
    };
    Address::new(value).map_err(|_| format!("{text:?} needs more than 28 bits"))
}

impl AddressText {
    fn resolve(&self) -> Result<Address, String> {
        match self {
            AddressText::Number(n) => {
                Address::new(*n).map_err(|_| format!("{n} needs more than 28 bits"))
            }
            AddressText::Dotted(s) => parse_address(s),
        }
    }
}

impl AgentConfig {
    /// Reads and checks the configuration at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_full(path).map(|full| full.agent)
    }

    /// Reads and checks the configuration at `path`, with its `[sis]` section.
    pub fn load_full(path: &Path) -> Result<FullConfig, ConfigError> {
        let fail = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse_full(&text, base).map_err(fail)
    }

    /// Parses configuration `text`, resolving relative paths against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        Self::parse_full(text, base).map(|full| full.agent)
    }

    /// Parses configuration `text` with its `[sis]` section.
    pub fn parse_full(text: &str, base: &Path) -> Result<FullConfig, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        let address = file
            .node
            .address
            .resolve()
            .map_err(|e| format!("node.address: {e}"))?;
        if file.node.sap > 15 {
            return Err(format!(
                "node.sap: {} is not a SAP ID (0..=15)",
                file.node.sap
            ));
        }
        let resolve = |p: &Path| base.join(p);
        let trust = resolve(&file.node.trust);
        let store = resolve(&file.node.store);
        let socket = file
            .control
            .socket
            .as_deref()
            .map(resolve)
            .unwrap_or_else(|| base.join("skywave.sock"));
        if socket == store {
            return Err(format!(
                "control.socket: {} is the store (node.store); give the socket a path of its own",
                socket.display()
            ));
        }
        let mut links = Vec::new();
        for (i, l) in file.links.into_iter().enumerate() {
            let at = format!("link[{i}] ({})", l.name);
            if links.iter().any(|x: &LinkConfig| x.name == l.name) {
                return Err(format!("{at}.name: used twice"));
            }
            let bearer = match (l.serial, l.udp, l.sis) {
                (Some(s), None, None) => {
                    s.validate().map_err(|e| format!("{at}.serial.{e}"))?;
                    BearerConfig::Serial(s)
                }
                (None, Some(u), None) => BearerConfig::Udp(u),
                (None, None, Some(s)) => {
                    s.validate().map_err(|e| format!("{at}.sis.{e}"))?;
                    BearerConfig::Sis(s)
                }
                _ => return Err(format!("{at}: give exactly one of serial, udp or sis")),
            };
            // A 5066 node reached over SIS keys its own modem: the timing is not ours to set.
            let m = match (l.modem, &bearer) {
                (Some(m), _) => m,
                (None, BearerConfig::Sis(_)) => ModemSection::default(),
                (None, _) => return Err(format!("{at}: missing field `modem`")),
            };
            let m = &m;
            if !(75..=9600).contains(&m.bit_rate) {
                return Err(format!(
                    "{at}.modem.bit_rate: {} is not 75..=9600",
                    m.bit_rate
                ));
            }
            if m.max_transmission_ms > skywave_protocol::link::timing::MAX_TRANSMISSION.millis() {
                return Err(format!(
                    "{at}.modem.max_transmission_ms: {} is above the 127500 ms EOT allows",
                    m.max_transmission_ms
                ));
            }
            let modem = Modem {
                bit_rate: m.bit_rate,
                preamble: Duration::from_millis(m.preamble_ms),
                interleaver: Duration::from_millis(m.interleaver_ms),
                turnaround: Duration::from_millis(m.turnaround_ms),
                max_transmission: Duration::from_millis(m.max_transmission_ms),
            };
            let neighbours = l
                .neighbours
                .iter()
                .enumerate()
                .map(|(j, a)| {
                    a.resolve()
                        .map_err(|e| format!("{at}.neighbours[{j}]: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            links.push(LinkConfig {
                name: l.name,
                bearer,
                modem,
                neighbours,
                reset_after_link: l.reset_after_link,
            });
        }
        if links.is_empty() {
            return Err("no [[link]]: the node would have nothing to talk through".into());
        }
        if let Some(sis) = &file.sis
            && sis.max_clients == 0
        {
            return Err("sis.max_clients: must be at least 1".into());
        }
        let mut rooms: Vec<RoomConfig> = Vec::new();
        for (i, r) in file.rooms.into_iter().enumerate() {
            let domain = Domain::new(&r.domain).ok_or_else(|| {
                format!(
                    "room[{i}].domain: {:?} is not a three-letter domain code",
                    r.domain
                )
            })?;
            if rooms.iter().any(|x| x.domain == domain) {
                return Err(format!("room[{i}].domain: {domain} has a room already"));
            }
            rooms.push(RoomConfig {
                domain,
                credentials: r.credentials,
                policies: r.policies,
                translators: r.translators,
                revoked: r.revoked,
            });
        }
        let guard = file
            .guard
            .map(|g| guard_settings(g, file.node.sap, base))
            .transpose()?;
        if let Some(level) = &file.log.level {
            tracing_subscriber::EnvFilter::try_new(level)
                .map_err(|e| format!("log.level: {level:?} is not a log filter: {e}"))?;
        }
        let agent = AgentConfig {
            address,
            sap: file.node.sap,
            trust,
            store,
            store_max_bytes: file.node.store_max_bytes,
            socket,
            group_access: file.control.group_access,
            links,
            rooms,
            guard,
            log_level: file.log.level,
        };
        Ok(FullConfig {
            agent,
            sis: file.sis,
        })
    }
}

/// Checks the `[guard]` section; errors name the field.
fn guard_settings(g: GuardSection, node_sap: u8, base: &Path) -> Result<GuardSettings, String> {
    let mut saps: Vec<GuardSap> = Vec::new();
    for (i, s) in g.saps.into_iter().enumerate() {
        let at = format!("guard.sap[{i}]");
        if s.sap > 15 {
            return Err(format!("{at}.sap: {} is not a SAP ID (0..=15)", s.sap));
        }
        if s.sap == node_sap {
            // Skywave's own SAP carries node messages, which are signed artifacts, not
            // labelled client data.
            return Err(format!(
                "{at}.sap: {} is Skywave's own SAP (node.sap)",
                s.sap
            ));
        }
        if saps.iter().any(|x| x.sap == s.sap) {
            return Err(format!("{at}.sap: {} is guarded twice", s.sap));
        }
        let label = match (s.label, s.envelope) {
            (Some(label), false) => SapLabel::Default(base.join(label)),
            (None, true) => SapLabel::Envelope,
            _ => {
                return Err(format!(
                    "{at}: give exactly one of label or envelope = true"
                ));
            }
        };
        let policy = s
            .policy
            .map(|p| p.parse::<PolicyName>())
            .transpose()
            .map_err(|e| format!("{at}.policy: {e}"))?;
        if policy.is_none() {
            if matches!(label, SapLabel::Default(_)) {
                // Compaction writes the policy's domain and id into the label.
                return Err(format!(
                    "{at}.policy: a label needs its policy (\"DOMAIN:ID\") to be compacted"
                ));
            }
            if s.spif.is_some() {
                return Err(format!("{at}.spif: a SPIF needs policy = \"DOMAIN:ID\""));
            }
        }
        saps.push(GuardSap {
            sap: s.sap,
            label,
            policy,
            spif: s.spif.map(|p| base.join(p)),
        });
    }
    Ok(GuardSettings {
        key: base.join(g.key),
        saps,
    })
}

/// How long a control request may take before the CLI gives up.
pub const CONTROL_TIMEOUT: StdDuration = StdDuration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::policy::Table;

    /// examples/node.toml as shipped, and with its commented-out links switched on: every
    /// option it shows must be one the agent takes.
    #[test]
    fn the_example_configuration_parses_with_every_option() {
        let text = include_str!("../../../examples/node.toml");
        let shipped = AgentConfig::parse_full(text, Path::new("/etc/skywave")).unwrap();
        assert_eq!(shipped.agent.links.len(), 1);
        assert!(shipped.agent.group_access && shipped.sis.is_some());
        let options = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let every = AgentConfig::parse_full(&options, Path::new("/etc/skywave")).unwrap();
        let names: Vec<&str> = every.agent.links.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["hf1", "soft", "stack"]);
        assert_eq!(every.agent.rooms.len(), 1);
        let guard = every.agent.guard.unwrap();
        assert_eq!(guard.key, Path::new("/etc/skywave/node-12.pem"));
        assert_eq!(
            guard.saps,
            [
                GuardSap {
                    sap: 5,
                    label: SapLabel::Default("/etc/skywave/secret.xml".into()),
                    policy: Some("GBR:40".parse().unwrap()),
                    spif: Some("/etc/skywave/nato.xml".into()),
                },
                GuardSap {
                    sap: 6,
                    label: SapLabel::Envelope,
                    policy: None,
                    spif: None,
                }
            ]
        );
    }

    #[test]
    fn guard_errors_name_the_field() {
        let guard = |saps: &str| {
            AgentConfig::parse(
                &format!("{GOOD}[guard]\nkey = \"k.pem\"\n{saps}"),
                Path::new("/etc/skywave"),
            )
        };
        assert!(guard("").unwrap().guard.unwrap().saps.is_empty());
        for (saps, want) in [
            (
                "[[guard.sap]]\nsap = 16\nenvelope = true\n",
                "guard.sap[0].sap: 16 is not",
            ),
            (
                "[[guard.sap]]\nsap = 13\nenvelope = true\n",
                "guard.sap[0].sap: 13 is Skywave",
            ),
            (
                "[[guard.sap]]\nsap = 5\nenvelope = true\n[[guard.sap]]\nsap = 5\nlabel = \"l.xml\"\n",
                "guard.sap[1].sap: 5 is guarded twice",
            ),
            (
                "[[guard.sap]]\nsap = 5\nlabel = \"l.xml\"\n",
                "guard.sap[0].policy: a label needs its policy",
            ),
            (
                "[[guard.sap]]\nsap = 5\nlabel = \"l.xml\"\npolicy = \"GBR-40\"\n",
                "guard.sap[0].policy: \"GBR-40\" is not DOMAIN:ID",
            ),
            (
                "[[guard.sap]]\nsap = 5\nenvelope = true\nspif = \"s.xml\"\n",
                "guard.sap[0].spif: a SPIF needs policy",
            ),
            ("[[guard.sap]]\nsap = 5\n", "guard.sap[0]: give exactly one"),
            (
                "[[guard.sap]]\nsap = 5\nenvelope = true\nlabel = \"l.xml\"\n",
                "guard.sap[0]: give exactly one",
            ),
        ] {
            let e = guard(saps).unwrap_err();
            assert!(e.starts_with(want), "{saps}: {e}");
        }
    }

    /// The sample coalition's roots in a trust store, as `skywave run` loads them.
    fn sample_trust() -> TrustStore {
        let coalition = skywave_protocol::policy::sample::Coalition::new();
        let mut trust = TrustStore::new();
        for root in coalition.roots() {
            trust.add_root(&root, None).unwrap();
        }
        trust
    }

    fn with_rooms(rooms: &str) -> Result<AgentConfig, String> {
        AgentConfig::parse(&format!("{GOOD}{rooms}"), Path::new("/etc/skywave"))
    }

    #[test]
    fn rooms_set_what_they_name_and_leave_the_rest_at_the_share() {
        let config = with_rooms(
            "[[room]]\ndomain = \"GBR\"\npolicies = 80\n\n[[room]]\ndomain = \"AUS\"\nrevoked = 8\n",
        )
        .unwrap();
        let mut trust = sample_trust();
        let share = trust.room(Domain::new("GBR").unwrap());
        apply_rooms(&config, &mut trust).unwrap();
        let gbr = trust.room(Domain::new("GBR").unwrap());
        assert_eq!(gbr.policies, 80);
        assert_eq!(gbr.credentials, share.credentials);
        let aus = trust.room(Domain::new("AUS").unwrap());
        assert_eq!(aus.revoked, 8);
        // USA has no room set: it shares what the two set rooms leave.
        let usa = trust.room(Domain::new("USA").unwrap());
        assert_eq!(
            usa.policies,
            trust.capacity(Table::Policies) - 80 - aus.policies
        );
    }

    #[test]
    fn a_room_the_operator_gets_wrong_is_refused_with_its_section() {
        for (rooms, expected) in [
            (
                "[[room]]\ndomain = \"gbr\"\n",
                "room[0].domain: \"gbr\" is not",
            ),
            (
                "[[room]]\ndomain = \"GBR\"\n[[room]]\ndomain = \"GBR\"\n",
                "room[1].domain: GBR has a room already",
            ),
            (
                "[[room]]\ndomain = \"GBR\"\npolicy = 3\n",
                "unknown field `policy`",
            ),
            ("[[room]]\npolicies = 3\n", "missing field `domain`"),
        ] {
            let e = with_rooms(rooms).unwrap_err();
            assert!(e.contains(expected), "{rooms:?}: {e}");
        }
        let mut trust = sample_trust();
        let unknown = with_rooms("[[room]]\ndomain = \"FRA\"\n").unwrap();
        let e = apply_rooms(&unknown, &mut trust).unwrap_err();
        assert_eq!(
            e,
            "room[0] (FRA).domain: no root of FRA in the trust directory"
        );
        let too_big = with_rooms(
            "[[room]]\ndomain = \"GBR\"\npolicies = 100\n[[room]]\ndomain = \"USA\"\npolicies = 100\n",
        )
        .unwrap();
        let e = apply_rooms(&too_big, &mut trust).unwrap_err();
        assert!(
            e.starts_with("room[1] (USA): with the rooms before it, more Policies"),
            "{e}"
        );
    }

    const GOOD: &str = r#"
[node]
address = "0.0.0.12"
trust = "trust"

[[link]]
name = "hf1"
neighbours = ["0.0.0.13", 14]
modem = { bit_rate = 2400 }
serial = { device = "/dev/ttyUSB0", baud = 9600 }

[[link]]
name = "lab"
modem = { bit_rate = 9600, turnaround_ms = 150 }
udp = { bind = "127.0.0.1:15066", peer = "127.0.0.1:15067" }
"#;

    #[test]
    fn a_full_configuration_parses() {
        let c = AgentConfig::parse(GOOD, Path::new("/etc/skywave")).unwrap();
        assert_eq!(c.address, Address::new(12).unwrap());
        assert_eq!(c.sap, DEFAULT_SAP);
        assert_eq!(c.trust, PathBuf::from("/etc/skywave/trust"));
        assert_eq!(c.store, PathBuf::from("/etc/skywave/skywave.db"));
        assert_eq!(c.socket, PathBuf::from("/etc/skywave/skywave.sock"));
        assert_eq!(c.links.len(), 2);
        assert_eq!(
            c.links[0].neighbours,
            [Address::new(13).unwrap(), Address::new(14).unwrap()]
        );
        assert_eq!(c.links[1].modem.turnaround, Duration::from_millis(150));
        assert!(matches!(c.links[1].bearer, BearerConfig::Udp(_)));
        assert!(
            !c.links[0].reset_after_link,
            "FULL RESET rides with the link request"
        );
    }

    #[test]
    fn a_link_can_ask_for_the_annex_order_of_full_reset() {
        let annex = GOOD.replace(
            "modem = { bit_rate = 9600, turnaround_ms = 150 }",
            "modem = { bit_rate = 9600, turnaround_ms = 150 }\nreset_after_link = true",
        );
        let c = AgentConfig::parse(&annex, Path::new(".")).unwrap();
        assert!(c.links[1].reset_after_link && !c.links[0].reset_after_link);
        let config = crate::agent::link::hf_config(Address::new(12).unwrap(), &c.links[1]);
        assert!(config.reset_after_link, "the link is built with it");
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let typo = GOOD.replace("baud = 9600", "bauds = 9600");
        let err = AgentConfig::parse(&typo, Path::new(".")).unwrap_err();
        assert!(err.contains("line 10") && err.contains("bauds"), "{err}");
        let bad_rate = GOOD.replace("bit_rate = 9600", "bit_rate = 19200");
        let err = AgentConfig::parse(&bad_rate, Path::new(".")).unwrap_err();
        assert_eq!(err, "link[1] (lab).modem.bit_rate: 19200 is not 75..=9600");
        let bad_addr = GOOD.replace("\"0.0.0.13\"", "\"0.0.300.13\"");
        let err = AgentConfig::parse(&bad_addr, Path::new(".")).unwrap_err();
        assert!(err.starts_with("link[0] (hf1).neighbours[0]:"), "{err}");
        let both = GOOD.replace(
            "serial = { device",
            "udp = { bind = \"127.0.0.1:1\", peer = \"127.0.0.1:2\" }\nserial = { device",
        );
        let err = AgentConfig::parse(&both, Path::new(".")).unwrap_err();
        assert_eq!(err, "link[0] (hf1): give exactly one of serial, udp or sis");
    }

    #[test]
    fn sis_server_and_sis_links_parse_and_errors_name_the_field() {
        let with_sis = format!(
            "{GOOD}\n[[link]]\nname = \"stack\"\nsis = {{ server = \"10.0.0.5:5066\", sap = 14 }}\n\n[sis]\nmax_clients = 4\n"
        );
        let full = AgentConfig::parse_full(&with_sis, Path::new(".")).unwrap();
        let sis = full.sis.unwrap();
        assert_eq!(sis.listen, "127.0.0.1:5066".parse().unwrap());
        assert_eq!(sis.max_clients, 4);
        let BearerConfig::Sis(b) = &full.agent.links[2].bearer else {
            panic!("not a sis link");
        };
        assert_eq!((b.server.as_str(), b.sap), ("10.0.0.5:5066", 14));
        assert!(
            AgentConfig::parse_full(GOOD, Path::new("."))
                .unwrap()
                .sis
                .is_none()
        );
        let bad_sap = with_sis.replace("sap = 14", "sap = 16");
        let err = AgentConfig::parse(&bad_sap, Path::new(".")).unwrap_err();
        assert_eq!(err, "link[2] (stack).sis.sap: 16 is not a SAP ID (0..=15)");
        let bad_listen = with_sis.replace("max_clients = 4", "listen = \"localhost\"");
        let err = AgentConfig::parse(&bad_listen, Path::new(".")).unwrap_err();
        assert!(err.contains("line 22") && err.contains("listen"), "{err}");
        let no_clients = with_sis.replace("max_clients = 4", "max_clients = 0");
        let err = AgentConfig::parse(&no_clients, Path::new(".")).unwrap_err();
        assert_eq!(err, "sis.max_clients: must be at least 1");
        let no_modem = GOOD.replace("modem = { bit_rate = 2400 }\n", "");
        let err = AgentConfig::parse(&no_modem, Path::new(".")).unwrap_err();
        assert_eq!(err, "link[0] (hf1): missing field `modem`");
    }

    #[test]
    fn load_names_the_file() {
        let err = AgentConfig::load(Path::new("/nonexistent/node.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/node.toml: cannot read"),
            "{err}"
        );
    }

    #[test]
    fn addresses_parse_dotted_or_plain() {
        assert_eq!(parse_address("0.0.1.44").unwrap().value(), 300);
        assert_eq!(parse_address("300").unwrap().value(), 300);
        assert!(parse_address("16.0.0.0").is_err());
        assert!(parse_address("1.2.3").is_err());
    }
}
