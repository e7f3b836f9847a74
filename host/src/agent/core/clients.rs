//! The SIS server's clients as the core serves them: their requests are fed to the station
//! ([`Station::submit`](skywave_protocol::station::Station::submit)) under the room rules of the
//! node's own messages, and the station's reports about them become their answers.

use skywave_protocol::link::SubmitError;
use skywave_protocol::station::{LinkId, StationError};
use skywave_protocol::time::{Duration, Instant};
use tokio::sync::mpsc;

use super::Core;
use crate::sis::server::{ClientQueue, Hub, ToCore};

/// The SIS server as the core holds it: bindings, requests waiting for link room and for
/// their outcome, and the connections' events (taken by [`Core::run`]).
pub(super) struct Sis {
    pub(super) hub: Hub,
    pub(super) queue: ClientQueue,
    pub(super) events: Option<mpsc::Receiver<ToCore>>,
    /// SAPs a client held when the agent last stopped and no client holds again yet (bit n
    /// for SAP n): the links go on answering for them, and what arrives waits in the store.
    pub(super) held_saps: u16,
}

impl Core {
    /// Serves SIS: `hub` keeps the bindings, `events` brings the connections' primitives.
    pub fn with_sis(mut self, hub: Hub, events: mpsc::Receiver<ToCore>) -> Self {
        let mut hub = hub;
        hub.set_available(self.ports.iter().any(|p| p.bearer_up));
        let wait = u64::try_from(hub.confirm_wait().as_millis()).unwrap_or(u64::MAX);
        self.sis = Some(Sis {
            hub,
            queue: ClientQueue::new(Duration::from_millis(wait)),
            events: Some(events),
            held_saps: 0,
        });
        self.restore_sis();
        self.tell_links_bound_saps(self.answered_saps());
        self
    }

    /// Takes one event from an SIS client connection.
    pub(super) fn handle_sis(&mut self, event: ToCore) {
        let now = self.now();
        let Some(sis) = &mut self.sis else {
            return;
        };
        let (id, bind) = match &event {
            ToCore::Closed { id } => {
                sis.queue.forget(*id);
                (*id, None)
            }
            ToCore::Bind { id, sap, .. } => (*id, Some(*sap)),
            ToCore::Connected { id, .. } | ToCore::Unbind { id } | ToCore::Unidata { id, .. } => {
                (*id, None)
            }
        };
        let held = sis.hub.sap_of(id);
        let submission = sis.hub.handle(event, now);
        let left = held.filter(|_| sis.hub.sap_of(id).is_none());
        if let Some(sap) = bind.filter(|&sap| sis.hub.sap_of(id) == Some(sap) && held.is_none()) {
            self.sap_bound(id, sap);
        }
        if let Some(sap) = left
            && let Err(e) = self.store.set_sap_bound(sap, false)
        {
            tracing::error!(%e, sap, "unbound SAP not stored");
        }
        if let Some(submission) = submission.and_then(|s| self.store_request(s))
            && let Some(sis) = &mut self.sis
        {
            sis.queue.push(submission);
        }
        self.tell_links_bound_saps(self.answered_saps());
        self.poll();
    }

    /// Tells every link which SAPs have a client here (`saps`, a bit per SAP, and the guarded
    /// SAPs, whose client is the operator's inbox when no SIS client holds them).
    pub(super) fn tell_links_bound_saps(&mut self, saps: u16) {
        let saps = saps | self.messages.guarded_saps();
        for index in 0..self.station.links() {
            if let Some(link) = self.station.link_mut(LinkId(index as u8)) {
                link.set_bound_saps(saps);
            }
        }
    }

    /// Tells SIS clients whether any link's bearer is up.
    pub(super) fn sis_availability(&mut self) {
        let up = self.ports.iter().any(|p| p.bearer_up);
        if let Some(sis) = &mut self.sis {
            sis.hub.set_available(up);
        }
    }

    /// Feeds SIS clients' requests to the station, oldest first, while their links take them:
    /// a group address goes out on every link, a node address on the link that lists it as a
    /// neighbour, or the first link (5066 reaches any node on the channel). A request whose
    /// links are down or full waits (and its client's backlog with it). Returns whether any
    /// was fed.
    pub(super) fn submit_clients(&mut self, now: Instant) -> bool {
        let Core {
            station,
            sis,
            guarded,
            ..
        } = self;
        let Some(sis) = sis else {
            return false;
        };
        sis.queue.resend_due(now);
        let links = (0..station.links()).map(|i| LinkId(i as u8));
        let mut fed = false;
        loop {
            // A guarded SAP's requests go through the guard (guarded.rs).
            match guarded.submit_front(now, station, sis) {
                Some(true) => {
                    fed = true;
                    continue;
                }
                Some(false) => break,
                None => {}
            }
            let Some(next) = sis.queue.front() else {
                break;
            };
            let message = next.message();
            let targets: Vec<LinkId> = if next.dest.group {
                links.clone().collect()
            } else {
                let reaches = |id: &LinkId| station.neighbours(*id).contains(&message.dest);
                vec![links.clone().find(reaches).unwrap_or(LinkId(0))]
            };
            let mut first = None;
            for &id in &targets {
                match station.submit(now, id, &message) {
                    Err(StationError::NoRoom(_) | StationError::LinkDown(_)) => {}
                    result => {
                        first.get_or_insert((id, result));
                    }
                }
            }
            // Every link it goes on is down or full: nothing was queued, it waits.
            let Some((id, result)) = first else {
                break;
            };
            let result = result.map_err(|e| match e {
                StationError::Submit(e) => e,
                // The node's own SAP is the node's alone.
                StationError::NodeSap => SubmitError::Sap,
                _ => SubmitError::QueueFull,
            });
            let Some(submission) = sis.queue.pop(&mut sis.hub) else {
                break;
            };
            sis.queue
                .submitted(&sis.hub, usize::from(id.0), submission, result);
            fed = true;
        }
        fed
    }
}
