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
//! [inbox]                  # optional: the operator's inbox of labelled messages
//! max_messages = 10000     # arrivals past it are refused (1..=1000000)
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

/// How many messages the operator's inbox holds unless `[inbox] max_messages` says: at most
/// `MAX_GUARDED_LEN` (1,828) bytes of data and a report of a few hundred bytes each, about
/// 21 MB of store when all are the largest.
pub const DEFAULT_INBOX_MAX: u64 = 10_000;
/// The most `[inbox] max_messages` may be: about 2.1 GB of store at the largest messages, far
/// past what an operator reads; a larger number is a typo, not a plan.
pub const INBOX_MAX_LIMIT: u64 = 1_000_000;

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
    /// Messages the operator's inbox holds at most (`[inbox] max_messages`,
    /// [`DEFAULT_INBOX_MAX`]); an arrival past it is refused.
    pub inbox_max: u64,
    /// Where each HF link's non-ARQ C_PDU IDs start: link `i` at this plus `i`. Not in
    /// files: `None` there, and the IDs start from the clock and the process id, so an agent
    /// restarted within a neighbour's reception window does not reuse the IDs its broadcasts
    /// just had. Tests fix it, so that runs with non-ARQ traffic repeat exactly.
    pub cpdu_id_seed: Option<u16>,
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
    #[serde(default)]
    inbox: InboxSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LogSection {
    level: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InboxSection {
    max_messages: Option<u64>,
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
        let inbox_max = file.inbox.max_messages.unwrap_or(DEFAULT_INBOX_MAX);
        if !(1..=INBOX_MAX_LIMIT).contains(&inbox_max) {
            return Err(format!(
                "inbox.max_messages: {inbox_max} is not 1..={INBOX_MAX_LIMIT} (the inbox must \
                 hold something, and past {INBOX_MAX_LIMIT} messages it could fill gigabytes)"
            ));
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
            inbox_max,
            cpdu_id_seed: None,
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
mod tests;
