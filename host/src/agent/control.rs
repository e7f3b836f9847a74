//! The operator's control API: JSON lines over a Unix socket.
//!
//! The socket is created with owner-only permissions (0600), or 0660 for the agent's group with
//! `[control] group_access = true`, atomically (`super::service`), in a directory the operator
//! chooses, so only the agent's own user (and its group, and root) can steer it; no token, port
//! or TLS to manage, and nothing reachable from the network. Each connection carries one request line and
//! gets one reply line:
//!
//! ```text
//! {"cmd":"status"}
//! {"cmd":"publish","artifact_hex":"01..."}
//! {"cmd":"policies"}
//! {"cmd":"capture","link":"hf1","path":"/tmp/hf1.pcap","seconds":60}
//! {"cmd":"decide","domain":"GBR","policy":1,"classification":2,"categories":[[2,10]],"audience":"USA"}
//! {"cmd":"send","to":2,"sap":5,"label_hex":"0147...","data_hex":"68656c6c6f"}
//! {"cmd":"receive"}
//! {"cmd":"receive","keep":true,"after":41}
//! {"cmd":"ack","ids":[42,43]}
//! ```
//!
//! `receive` returns up to 64 inbox messages (each with its `id`) and how many more there are
//! (`remaining`). Alone it removes what it returns; with `keep` it removes nothing, and the
//! caller `ack`s the ids once it has the messages safe (`skywave receive` does, so a message
//! leaves the inbox only after it was written to `--out` or printed). `after` skips the ids up
//! to it, for reading past a batch without removing it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use skywave_protocol::policy::{
    ArtifactRef, Basis, CategoryValue, Decision, Domain, MAX_LABEL_CATEGORIES, Verdict,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::message::MessageJson;
use skywave_protocol::codec;
use skywave_protocol::label::MAX_COMPACT_LABEL_LEN;
use skywave_protocol::station::MAX_GUARDED_LEN;
use skywave_protocol::wire::Address;

/// The longest request line accepted: a publish of the largest artifact, hex-encoded, with room.
const MAX_REQUEST: usize = 8192;

/// A request as it arrives on the socket.
#[derive(Deserialize, Serialize, Debug)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Wire {
    /// Links, neighbours, queues, revocation state.
    Status,
    /// Admit and distribute an artifact made by `skywave-authority`.
    Publish {
        /// The artifact's bytes, hex-encoded.
        artifact_hex: String,
    },
    /// The artifacts this node holds.
    Policies,
    /// Capture one link's D_PDUs, both directions, to a pcap file for a while.
    Capture {
        /// The link's name.
        link: String,
        /// The pcap file to write (link type 237).
        path: String,
        /// For how long.
        seconds: u64,
    },
    /// A release decision.
    Decide {
        /// The labelling domain (three letters).
        domain: String,
        /// The labelling domain's policy id.
        policy: u32,
        /// The classification code.
        classification: u8,
        /// Category values as `[tag, value]` pairs.
        #[serde(default)]
        categories: Vec<(u8, u16)>,
        /// The audience domain.
        audience: String,
    },
    /// Send labelled data through the guard (`skywave send`).
    Send {
        /// The destination node's address.
        to: u32,
        /// The SAP at both ends (a guarded SAP); the first guarded SAP when absent.
        #[serde(default)]
        sap: Option<u8>,
        /// The compact label, hex.
        label_hex: String,
        /// The data, hex.
        data_hex: String,
    },
    /// The labelled messages that arrived for the operator (`skywave receive`).
    Receive {
        /// Remove nothing (the caller acks what it has); without it the batch is taken.
        #[serde(default)]
        keep: bool,
        /// Only messages whose id is above this.
        #[serde(default)]
        after: u64,
    },
    /// Remove inbox messages the operator has (`skywave receive` after writing them).
    Ack {
        /// Their ids, as `receive` gave them.
        ids: Vec<u64>,
    },
}

/// The labelling part of a decide request.
#[derive(Clone, Copy, Debug)]
pub struct LabelArgs {
    /// The labelling domain.
    pub domain: Domain,
    /// The policy id.
    pub policy: u32,
    /// The classification code.
    pub classification: u8,
}

/// A request, checked, for the core.
#[derive(Debug)]
pub enum Command {
    /// See [`Wire::Status`].
    Status,
    /// See [`Wire::Publish`].
    Publish {
        /// The artifact's bytes.
        artifact: Vec<u8>,
    },
    /// See [`Wire::Policies`].
    Policies,
    /// See [`Wire::Capture`].
    Capture {
        /// The link's name.
        link: String,
        /// The pcap file.
        path: std::path::PathBuf,
        /// For how long.
        seconds: u64,
    },
    /// See [`Wire::Decide`].
    Decide {
        /// Domain, policy, classification.
        label: LabelArgs,
        /// Category values.
        categories: Vec<CategoryValue>,
        /// The audience.
        audience: Domain,
    },
    /// SIGHUP's changes for the station ([`super::reload`]); never from the socket.
    Reload(super::reload::Live),
    /// See [`Wire::Send`].
    Send {
        /// The destination node.
        to: Address,
        /// The SAP, if given.
        sap: Option<u8>,
        /// The compact label.
        label: Vec<u8>,
        /// The data.
        data: Vec<u8>,
    },
    /// See [`Wire::Receive`].
    Receive {
        /// Remove nothing.
        keep: bool,
        /// Only ids above this.
        after: u64,
    },
    /// See [`Wire::Ack`].
    Ack {
        /// The ids to remove.
        ids: Vec<u64>,
    },
}

/// A command and where its reply goes.
#[derive(Debug)]
pub struct Request {
    /// What is asked.
    pub command: Command,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Reply>,
}

/// What the core answers.
#[derive(Serialize, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Reply {
    /// The node's state.
    Status(StatusReport),
    /// The artifact was admitted (and is being distributed unless it was a duplicate).
    Admitted {
        /// What was admitted.
        artifact: ArtifactJson,
        /// It was already held.
        duplicate: bool,
    },
    /// The artifact was refused, and why.
    Refused {
        /// The typed refusal, in words.
        refusal: String,
    },
    /// The artifacts held.
    Policies {
        /// In admission order.
        artifacts: Vec<ArtifactJson>,
    },
    /// A decision and its place in the decision log.
    Decision {
        /// The decision with its lineage.
        decision: Box<DecisionJson>,
        /// Its index in the hash-chained log.
        log_index: u64,
    },
    /// A labelled message was taken by the guard (`skywave send`).
    Sent(Box<SentJson>),
    /// Labelled messages in the operator's inbox.
    Received {
        /// Oldest first.
        messages: Vec<InboxJson>,
        /// Messages in the inbox after these (ask again with `after`).
        remaining: u64,
    },
    /// Inbox messages removed by an `ack`.
    Acked {
        /// How many of the ids were still there.
        removed: usize,
    },
    /// A capture has started.
    Capturing {
        /// The link.
        link: String,
        /// The file.
        path: String,
        /// For how long.
        seconds: u64,
    },
    /// What a reload applied and what it could not ([`Command::Reload`]).
    Reloaded(super::reload::Applied),
    /// The request could not be carried out.
    Error {
        /// Why.
        message: String,
    },
}

/// What `skywave send` is told: the message, and the sender's verdict when the guard has
/// given it.
#[derive(Serialize, Deserialize, Debug)]
pub struct SentJson {
    /// SHA-256 of the data, hex.
    pub digest: String,
    /// The guard's handle for it (`null` when it was refused at once).
    pub ticket: Option<u32>,
    /// `released` (sealed and on its link), `refused`, or `held` (waiting for its link: it is
    /// decided again when it goes, and that decision is logged).
    pub state: String,
    /// The guard's report, when it has decided.
    pub message: Option<MessageJson>,
    /// The policy decision and its lineage, when one was made.
    pub decision: Option<DecisionJson>,
    /// Where the guard's report is in the decision log.
    pub log_index: Option<u64>,
}

/// One labelled message that arrived for the operator: the receiver's verdict, and the data
/// when it was released.
#[derive(Serialize, Deserialize, Debug)]
pub struct InboxJson {
    /// Its place in the inbox (arrival order, never reused): what an `ack` names.
    #[serde(default)]
    pub id: u64,
    /// The receiver's report.
    pub message: MessageJson,
    /// The policy decision and its lineage, when one was made.
    pub decision: Option<DecisionJson>,
    /// Where the report is in the decision log.
    pub log_index: Option<u64>,
    /// When it arrived (Unix seconds).
    pub received_unix: u64,
    /// The data, hex; `null` when refused (the guard does not hand refused data on).
    pub data_hex: Option<String>,
}

/// `skywave status`.
#[derive(Serialize, Deserialize, Debug)]
pub struct StatusReport {
    /// This node.
    pub address: String,
    /// Skywave's SAP.
    pub sap: u8,
    /// Artifacts held.
    pub artifacts: usize,
    /// Last revocation sequence admitted per domain.
    #[serde(serialize_with = "revocations", skip_deserializing)]
    pub revocation: Vec<(Domain, u32)>,
    /// Node messages waiting for a link.
    pub queued_messages: usize,
    /// Decisions in the log.
    pub decisions_logged: u64,
    /// Artifacts refused since the agent started, by kind of refusal (`BadSignature`,
    /// `RolledBack`, ...): what neighbours or operators offered that did not pass admission.
    #[serde(default)]
    pub refused: std::collections::BTreeMap<String, u64>,
    /// What is held per domain: highest version of each policy and translator, credentials,
    /// last revocation sequence number.
    #[serde(default)]
    pub domains: std::collections::BTreeMap<String, DomainStatus>,
    /// Per link.
    pub links: Vec<LinkStatus>,
    /// SIS client messages kept in the store, when the agent serves SIS.
    #[serde(default)]
    pub sis: Option<SisStatus>,
    /// The operator's inbox of labelled messages, when the agent guards.
    #[serde(default)]
    pub inbox: Option<super::core::InboxStatus>,
}

/// The SIS server's stored messages in `skywave status` (docs/sis.md).
#[derive(Serialize, Deserialize, Debug, Default, PartialEq, Eq)]
pub struct SisStatus {
    /// Messages sent with client confirmation whose far client has not confirmed them yet.
    pub unconfirmed: u64,
    /// Finished messages whose sending client has not been told yet (it is, when a client
    /// binds their SAP).
    pub untold: u64,
    /// Received messages no client has had yet.
    pub held: u64,
    /// Requests in the agent's memory: waiting for link room, or on a link for an answer.
    pub pending: usize,
}

/// One domain in `skywave status`.
#[derive(Serialize, Deserialize, Debug, Default, PartialEq, Eq)]
pub struct DomainStatus {
    /// Policy id to the highest version held (a delta counts as the version it makes).
    pub policies: std::collections::BTreeMap<u32, u64>,
    /// Translator id to the highest version held.
    pub translators: std::collections::BTreeMap<u32, u64>,
    /// Credentials held for the domain.
    pub credentials: usize,
    /// The last revocation sequence number admitted (0: none yet).
    pub revocation_seq: u32,
}

/// One link in `skywave status`.
#[derive(Serialize, Deserialize, Debug)]
pub struct LinkStatus {
    /// Its name.
    pub name: String,
    /// The bearer's state.
    pub bearer: String,
    /// The node a physical link is up with, if any.
    pub physical_link: Option<String>,
    /// C_PDUs queued on the link.
    pub queued: usize,
    /// How many the link's queue holds at most.
    #[serde(default)]
    pub queue_capacity: usize,
    /// C_PDUs queued on the link per priority (only priorities with any).
    pub queued_by_priority: std::collections::BTreeMap<u8, usize>,
    /// D_PDUs received with good CRCs.
    pub frames_in: u64,
    /// D_PDUs received with damaged data.
    pub frames_damaged: u64,
    /// Bytes received that belonged to no D_PDU (line noise, false sync words).
    #[serde(default)]
    pub noise_bytes: u64,
    /// Sync words received whose header was impossible or failed its CRC.
    #[serde(default)]
    pub bad_headers: u64,
    /// D_PDUs sent.
    pub frames_out: u64,
    /// Bytes of good D_PDUs received.
    pub bytes_in: u64,
    /// Bytes of D_PDUs sent.
    pub bytes_out: u64,
    /// ARQ data D_PDUs sent more than once (`null` on a link through a 5066 node over SIS,
    /// whose node does its own ARQ); against `frames_out`, the retransmission rate.
    #[serde(default)]
    pub retransmissions: Option<u64>,
    /// The neighbours reached through it.
    pub neighbours: Vec<NeighbourStatus>,
}

/// One neighbour in `skywave status`.
#[derive(Serialize, Deserialize, Debug)]
pub struct NeighbourStatus {
    /// Its address.
    pub address: String,
    /// Seconds since a U_PDU last came from it.
    pub last_heard_s: Option<f64>,
    /// It announced (CAPS) that it reads compressed batches, so runs of artifacts go to it as
    /// one BATCH.
    pub reads_batches: bool,
    /// Its link acknowledged our own CAPS since its ARQ state was last reset.
    pub has_our_caps: bool,
}

/// Decodes hex, for artifacts sent over the socket (surrounding whitespace ignored).
pub fn unhex(text: &str) -> Result<Vec<u8>, String> {
    codec::unhex(text.trim().as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

/// An artifact reference as the operator reads it.
#[derive(Serialize, Deserialize, Debug)]
pub struct ArtifactJson {
    /// credential, policy, translator, revocation.
    pub kind: String,
    /// The domain it is filed under.
    pub domain: String,
    /// Its id (a revocation's sequence number).
    pub id: u32,
    /// Its version.
    pub version: u64,
    /// SHA-256 of its bytes, hex.
    pub digest: String,
}

impl From<&ArtifactRef> for ArtifactJson {
    fn from(a: &ArtifactRef) -> Self {
        ArtifactJson {
            kind: format!("{:?}", a.kind).to_lowercase(),
            domain: a.domain.to_string(),
            id: a.id,
            version: a.version,
            digest: a.digest.to_string(),
        }
    }
}

fn revocations<S: serde::Serializer>(r: &[(Domain, u32)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(r.iter().map(|(d, seq)| (d.to_string(), seq)))
}

/// A label as the operator reads it.
#[derive(Serialize, Deserialize, Debug)]
pub struct LabelJson {
    /// The labelling domain.
    pub domain: String,
    /// The labelling domain's policy id.
    pub policy: u32,
    /// The classification code.
    pub classification: u8,
    /// Category values as `[tag, value]` pairs, as in a decide request.
    pub categories: Vec<(u8, u16)>,
}

/// A decision and its lineage as the operator reads it. `verdict`, `deny_reason` and `basis`
/// are stable keywords for scripts; `reason` and [`DecisionJson::in_words`] say the same in
/// words.
#[derive(Serialize, Deserialize, Debug)]
pub struct DecisionJson {
    /// The label decided on.
    pub label: LabelJson,
    /// The audience domain.
    pub audience: String,
    /// `release` or `deny`.
    pub verdict: String,
    /// Why not, when denied: the protocol's `DenyReason` variant (`UnknownClassification`,
    /// `Restricted(..)`, ...).
    pub deny_reason: Option<String>,
    /// Why, in a sentence.
    pub reason: String,
    /// Whose authority it rests on: `same_domain`, `translated`, `home_only`, or
    /// `home_only_translator_revoked`.
    pub basis: String,
    /// The home policy used.
    pub home: Option<ArtifactJson>,
    /// The translator used.
    pub translator: Option<ArtifactJson>,
    /// The revoked translator the decision would have used.
    pub revoked_translator: Option<ArtifactJson>,
    /// The audience's policy mapped into.
    pub target: Option<ArtifactJson>,
    /// The spiral gap bridged, as `home -> audience`.
    pub spiral_gap: Option<String>,
    /// Revocation sequence per domain at the time.
    pub revocation: std::collections::BTreeMap<String, u32>,
    /// Wall-clock time of the decision (Unix seconds).
    pub time: Option<u64>,
}

impl From<&Decision> for DecisionJson {
    fn from(d: &Decision) -> Self {
        let (verdict, deny_reason) = match &d.verdict {
            Verdict::Release => ("release", None),
            Verdict::Deny(why) => ("deny", Some(format!("{why:?}"))),
        };
        let (basis, revoked) = match &d.basis {
            Basis::SameDomain => ("same_domain", None),
            Basis::Translated => ("translated", None),
            Basis::HomeOnly => ("home_only", None),
            Basis::HomeOnlyTranslatorRevoked(r) => ("home_only_translator_revoked", Some(r)),
        };
        DecisionJson {
            label: LabelJson {
                domain: d.label.domain.to_string(),
                policy: d.label.policy,
                classification: d.label.classification,
                categories: d
                    .label
                    .categories
                    .iter()
                    .map(|c| (c.tag, c.value))
                    .collect(),
            },
            audience: d.audience.to_string(),
            verdict: verdict.to_owned(),
            deny_reason,
            reason: super::explain::reason(d),
            basis: basis.to_owned(),
            home: d.lineage.home.as_ref().map(ArtifactJson::from),
            translator: d.lineage.translator.as_ref().map(ArtifactJson::from),
            revoked_translator: revoked.map(ArtifactJson::from),
            target: d.lineage.target.as_ref().map(ArtifactJson::from),
            spiral_gap: d
                .lineage
                .spiral_gap
                .as_ref()
                .map(|g| format!("{} -> {}", g.from, g.to)),
            revocation: d
                .lineage
                .revocation_seqs
                .iter()
                .map(|(dom, seq)| (dom.to_string(), *seq))
                .collect(),
            time: d.lineage.time.map(|t| t.0),
        }
    }
}

/// More category values than a label may carry, refused at the socket: the protocol would log
/// such a decision with its categories cut away, leaving a reviewer an entry that does not say
/// what was asked.
fn check_categories(categories: &[(u8, u16)]) -> Result<(), String> {
    if categories.len() > MAX_LABEL_CATEGORIES {
        return Err(format!(
            "{} category values: a label carries at most {MAX_LABEL_CATEGORIES}",
            categories.len()
        ));
    }
    Ok(())
}

fn domain(text: &str, field: &str) -> Result<Domain, String> {
    Domain::new(text).ok_or_else(|| format!("{field}: {text:?} is not a three-letter domain code"))
}

impl Wire {
    /// Checks a request's fields.
    pub fn into_command(self) -> Result<Command, String> {
        Ok(match self {
            Wire::Status => Command::Status,
            Wire::Policies => Command::Policies,
            Wire::Capture {
                link,
                path,
                seconds,
            } => Command::Capture {
                link,
                path: path.into(),
                seconds,
            },
            Wire::Publish { artifact_hex } => Command::Publish {
                artifact: unhex(&artifact_hex).map_err(|e| format!("artifact_hex: {e}"))?,
            },
            Wire::Decide {
                domain: d,
                policy,
                classification,
                categories,
                audience,
            } => {
                check_categories(&categories)?;
                Command::Decide {
                    label: LabelArgs {
                        domain: domain(&d, "domain")?,
                        policy,
                        classification,
                    },
                    categories: categories
                        .into_iter()
                        .map(|(tag, value)| CategoryValue { tag, value })
                        .collect(),
                    audience: domain(&audience, "audience")?,
                }
            }
            Wire::Send {
                to,
                sap,
                label_hex,
                data_hex,
            } => {
                let label = unhex(&label_hex).map_err(|e| format!("label_hex: {e}"))?;
                if label.is_empty() || label.len() > MAX_COMPACT_LABEL_LEN {
                    return Err(format!(
                        "label_hex: {} bytes; a compact label has 1 to {MAX_COMPACT_LABEL_LEN}",
                        label.len()
                    ));
                }
                let data = unhex(&data_hex).map_err(|e| format!("data_hex: {e}"))?;
                if data.len() > MAX_GUARDED_LEN {
                    return Err(format!(
                        "{} bytes of data: a labelled message carries at most {MAX_GUARDED_LEN}",
                        data.len()
                    ));
                }
                let to = Address::new(to)
                    .ok()
                    .filter(|a| *a != Address::BROADCAST)
                    .ok_or_else(|| format!("to: {to} is not a node address"))?;
                Command::Send {
                    to,
                    sap,
                    label,
                    data,
                }
            }
            Wire::Receive { keep, after } => Command::Receive { keep, after },
            Wire::Ack { ids } => Command::Ack { ids },
        })
    }
}

/// Accepts operator connections forever, handing each request to the core.
pub async fn serve(listener: UnixListener, core: mpsc::Sender<Request>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let core = core.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, core).await {
                tracing::debug!(%e, "control connection");
            }
        });
    }
}

async fn answer(stream: UnixStream, core: mpsc::Sender<Request>) -> anyhow::Result<()> {
    let (rx, mut tx) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(rx.take(MAX_REQUEST as u64));
    reader.read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Wire>(&line).map_err(|e| e.to_string()) {
        Ok(wire) => match wire.into_command() {
            Ok(command) => {
                let (reply, answer) = oneshot::channel();
                core.send(Request { command, reply }).await?;
                answer.await?
            }
            Err(message) => Reply::Error { message },
        },
        Err(message) => Reply::Error {
            message: format!("bad request: {message}"),
        },
    };
    let mut text = serde_json::to_string(&reply)?;
    text.push('\n');
    tx.write_all(text.as_bytes()).await?;
    Ok(())
}

/// Sends one request to the agent at `socket` and returns its reply line, for the CLI.
pub async fn request(socket: &Path, wire: &Wire) -> anyhow::Result<serde_json::Value> {
    let stream = UnixStream::connect(socket).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot reach the agent at {} ({e}): is `skywave run` running?",
            socket.display()
        )
    })?;
    let (rx, mut tx) = stream.into_split();
    let mut text = serde_json::to_string(wire)?;
    text.push('\n');
    // Not an `io::Error` in the chain: a socket the agent closed on us is a failed request,
    // never the CLI's quiet exit for a reader that closed our stdout.
    let failed = |e: std::io::Error| anyhow::anyhow!("the agent at {}: {e}", socket.display());
    tx.write_all(text.as_bytes()).await.map_err(failed)?;
    let mut line = String::new();
    BufReader::new(rx)
        .read_line(&mut line)
        .await
        .map_err(failed)?;
    Ok(serde_json::from_str(&line)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::codec::Hex;

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(
            unhex(&Hex(&[0, 1, 0xAB, 0xFF]).to_string()).unwrap(),
            [0, 1, 0xAB, 0xFF]
        );
        assert!(unhex("abc").is_err());
        assert!(unhex("zz").is_err());
    }

    #[test]
    fn requests_are_checked() {
        let wire: Wire = serde_json::from_str(
            r#"{"cmd":"decide","domain":"GBR","policy":1,"classification":2,"categories":[[2,10]],"audience":"usa"}"#,
        )
        .unwrap();
        let err = wire.into_command().unwrap_err();
        assert_eq!(err, "audience: \"usa\" is not a three-letter domain code");
        assert!(serde_json::from_str::<Wire>(r#"{"cmd":"reboot"}"#).is_err());
    }

    #[test]
    fn the_first_receive_request_still_takes_and_the_new_forms_read() {
        let command = |line: &str| serde_json::from_str::<Wire>(line).unwrap().into_command();
        assert!(matches!(
            command(r#"{"cmd":"receive"}"#),
            Ok(Command::Receive {
                keep: false,
                after: 0
            })
        ));
        assert!(matches!(
            command(r#"{"cmd":"receive","keep":true,"after":41}"#),
            Ok(Command::Receive {
                keep: true,
                after: 41
            })
        ));
        assert!(matches!(
            command(r#"{"cmd":"ack","ids":[42,43]}"#),
            Ok(Command::Ack { ids }) if ids == [42, 43]
        ));
    }
}
