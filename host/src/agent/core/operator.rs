//! The operator's requests (`skywave status`, `publish`, `policies`, `decide`, `capture`) as
//! the core answers them, and the captures they start.

use std::collections::BTreeMap;
use std::time::SystemTime;

use skywave_protocol::capture::Timestamp;
use skywave_protocol::node::Storage;
use skywave_protocol::policy::{Kind, Label};
use skywave_protocol::station::{LinkId, StationLink};

use super::{Core, Port, wall_time};
use crate::agent::control::{
    Command, DomainStatus, LinkStatus, NeighbourStatus, Reply, Request, StatusReport,
};
use crate::frames::PcapWriter;
use crate::sis::carrier::Carrier;

/// The longest capture asked for is cut to a week.
const MAX_CAPTURE_SECS: u64 = 7 * 24 * 3600;

/// A live capture of one link's D_PDUs, both directions, until a deadline.
pub(super) struct Capture {
    pcap: PcapWriter,
    pub(super) until: tokio::time::Instant,
}

/// The capture timestamp for a frame seen now.
fn capture_time() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: since.as_secs() as u32,
        micros: since.subsec_micros(),
    }
}

impl Port {
    /// Writes `frame` to the link's capture, if one is running; stops it at its deadline or on
    /// a write error.
    pub(super) fn capture(&mut self, frame: &[u8]) {
        let Some(c) = &mut self.capture else {
            return;
        };
        if tokio::time::Instant::now() >= c.until {
            self.stop_capture();
            return;
        }
        // Flushed frame by frame: at HF rates that costs nothing, and a capture is readable
        // while it runs and complete even if the agent is killed.
        if let Err(e) = c
            .pcap
            .write(capture_time(), frame)
            .and_then(|()| c.pcap.flush())
        {
            tracing::error!(link = %self.name, %e, "capture stopped");
            self.capture = None;
        }
    }

    pub(super) fn stop_capture(&mut self) {
        if let Some(mut c) = self.capture.take() {
            let flushed = c.pcap.flush();
            tracing::info!(link = %self.name, frames = c.pcap.records(), ok = flushed.is_ok(), "capture finished");
        }
    }
}

impl Core {
    /// Answers one operator request.
    pub(super) fn handle_request(&mut self, request: Request) {
        let reply = match request.command {
            Command::Status => Reply::Status(self.status()),
            Command::Reload(live) => Reply::Reloaded(self.reload(live)),
            Command::Capture {
                link,
                path,
                seconds,
            } => self.start_capture(&link, &path, seconds),
            Command::Publish { artifact } => {
                let now = self.now();
                let published = self.station.publish(now, wall_time(), &artifact);
                // Only after the polls: what the publication queued goes out first.
                self.poll();
                match published {
                    // Admitted but not kept (a full disk): the node cannot forward what it
                    // does not store, so the operator must hear it was not taken on.
                    Ok(admitted)
                        if self
                            .station
                            .node()
                            .storage()
                            .position(&admitted.artifact.digest)
                            .is_none() =>
                    {
                        let why = self
                            .station
                            .node()
                            .storage()
                            .last_error()
                            .map_or("storage failed".to_owned(), ToString::to_string);
                        Reply::Error {
                            message: format!(
                                "not stored ({why}): it will not be forwarded and counts for \
                                 this node's decisions only until restart; free space and \
                                 publish again"
                            ),
                        }
                    }
                    Ok(admitted) => Reply::Admitted {
                        artifact: (&admitted.artifact).into(),
                        duplicate: admitted.duplicate,
                    },
                    Err(refusal) => Reply::Refused {
                        refusal: refusal.to_string(),
                    },
                }
            }
            Command::Send {
                to,
                sap,
                label,
                data,
            } => self.send(to, sap, &label, &data),
            Command::Receive { keep, after } => self.receive(keep, after),
            Command::Ack { ids } => self.ack(&ids),
            Command::Policies => Reply::Policies {
                artifacts: (0..self.station.node().storage().len())
                    .filter_map(|i| {
                        let storage = self.station.node().storage();
                        storage.get(i).map(|(a, _)| (&a).into())
                    })
                    .collect(),
            },
            Command::Decide {
                label,
                categories,
                audience,
            } => {
                let label = Label {
                    domain: label.domain,
                    policy: label.policy,
                    classification: label.classification,
                    categories: &categories,
                };
                let decision = self.station.node().decide(&label, audience, wall_time());
                // A decision counts only once it is in the log on disk: an operator never acts
                // on one a reviewer could not find later.
                match self.store.append_decision(&decision, SystemTime::now()) {
                    Ok(anchor) => Reply::Decision {
                        decision: Box::new((&decision).into()),
                        log_index: anchor.count - 1,
                    },
                    Err(e) => Reply::Error {
                        message: format!("decision not logged, so not given: {e}"),
                    },
                }
            }
        };
        let _ = request.reply.send(reply);
        self.poll();
    }

    fn start_capture(&mut self, link: &str, path: &std::path::Path, seconds: u64) -> Reply {
        let Some(index) = self.ports.iter().position(|p| p.name == link) else {
            let names: Vec<&str> = self.ports.iter().map(|p| p.name.as_str()).collect();
            return Reply::Error {
                message: format!("no link named {link:?} (links: {})", names.join(", ")),
            };
        };
        let hf = self
            .station
            .link(LinkId(index as u8))
            .is_some_and(|l| l.carrier().is_hf());
        let Some(l) = self.ports.get_mut(index) else {
            return Reply::Error {
                message: format!("no link named {link:?}"),
            };
        };
        if !hf {
            // Its frames are SIS primitives on TCP, not D_PDUs: link type 237 would lie.
            return Reply::Error {
                message: format!(
                    "link {link:?} goes through a 5066 node over SIS: capture its TCP port with tshark instead"
                ),
            };
        }
        match PcapWriter::create(path) {
            Ok(pcap) => {
                l.stop_capture();
                let Some(until) = tokio::time::Instant::now().checked_add(
                    std::time::Duration::from_secs(seconds.min(MAX_CAPTURE_SECS)),
                ) else {
                    return Reply::Error {
                        message: format!("capture of {seconds} s is too long"),
                    };
                };
                l.capture = Some(Capture { pcap, until });
                tracing::info!(link, path = %path.display(), seconds, "capture started");
                Reply::Capturing {
                    link: link.to_owned(),
                    path: path.display().to_string(),
                    seconds,
                }
            }
            Err(e) => Reply::Error {
                message: format!("{e:#}"),
            },
        }
    }

    /// The SIS server's stored messages, counted from the store.
    fn sis_status(&self) -> Option<super::super::control::SisStatus> {
        let sis = self.sis.as_ref()?;
        let counts = self.store.queue_counts().unwrap_or_default();
        let count = |f: &dyn Fn(&crate::store::QueueCount) -> bool| {
            counts.iter().filter(|c| f(c)).map(|c| c.count).sum()
        };
        Some(super::super::control::SisStatus {
            unconfirmed: count(&|c| c.state == crate::store::DeliveryState::Queued),
            untold: count(&|c| c.state != crate::store::DeliveryState::Queued && !c.told),
            held: self.store.held_count().unwrap_or(0),
            pending: sis.queue.pending(),
        })
    }

    fn status(&self) -> StatusReport {
        let now = self.now();
        let node = self.station.node();
        StatusReport {
            address: self.address.to_string(),
            sap: self.sap,
            artifacts: node.storage().len(),
            revocation: node.trust().revocation_seqs().collect(),
            queued_messages: node.queued(),
            decisions_logged: self.store.decision_anchor().map_or(0, |a| a.count),
            refused: self.refused.clone(),
            domains: self.domains(),
            sis: self.sis_status(),
            inbox: self
                .guard
                .is_some()
                .then(|| self.messages.status(&self.store)),
            links: (0u8..)
                .zip(&self.ports)
                .filter_map(|(index, p)| {
                    let id = LinkId(index);
                    let link = self.station.link(id)?;
                    let carrier = link.carrier();
                    Some(LinkStatus {
                        name: p.name.clone(),
                        bearer: p.bearer_state.clone(),
                        physical_link: carrier.peer().map(|p| p.to_string()),
                        queued: StationLink::queued(link),
                        queue_capacity: StationLink::capacity(link),
                        retransmissions: match carrier {
                            Carrier::Hf(hf) => Some(hf.stats().retransmissions),
                            Carrier::Sis(_) => None,
                        },
                        queued_by_priority: (0u8..)
                            .zip(carrier.queued_by_priority())
                            .filter(|&(_, n)| n > 0)
                            .collect(),
                        frames_in: p.frames_in,
                        frames_damaged: p.frames_damaged,
                        noise_bytes: p.noise_bytes,
                        bad_headers: p.bad_headers,
                        frames_out: p.frames_out,
                        bytes_in: p.bytes_in,
                        bytes_out: p.bytes_out,
                        neighbours: self
                            .station
                            .neighbours(id)
                            .iter()
                            .map(|&n| NeighbourStatus {
                                address: n.to_string(),
                                last_heard_s: link
                                    .last_heard(n)
                                    .map(|t| (now - t).millis() as f64 / 1000.0),
                                reads_batches: link.reads_batches(n),
                                has_our_caps: link.has_our_caps(n),
                            })
                            .collect(),
                    })
                })
                .collect(),
        }
    }

    /// What the node holds, per domain, for `skywave status`.
    fn domains(&self) -> BTreeMap<String, DomainStatus> {
        let mut domains: BTreeMap<String, DomainStatus> = BTreeMap::new();
        let storage = self.station.node().storage();
        for (artifact, _) in (0..storage.len()).filter_map(|i| storage.get(i)) {
            let domain = domains.entry(artifact.domain.to_string()).or_default();
            let highest = |versions: &mut BTreeMap<u32, u64>| {
                let held = versions.entry(artifact.id).or_default();
                *held = (*held).max(artifact.version);
            };
            match artifact.kind {
                Kind::Credential => domain.credentials += 1,
                Kind::Policy | Kind::PolicyDelta => highest(&mut domain.policies),
                Kind::Translator => highest(&mut domain.translators),
                Kind::Revocation | Kind::Checkpoint => {}
            }
        }
        for (domain, seq) in self.station.node().trust().revocation_seqs() {
            domains
                .entry(domain.to_string())
                .or_default()
                .revocation_seq = seq;
        }
        domains
    }
}
