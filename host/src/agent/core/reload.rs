//! A SIGHUP's changes as the core applies them to its station (what is safe to change live,
//! and why, is in [`crate::agent::reload`]).

use skywave_protocol::station::GuardConfig;

use super::{Core, wall_time};
use crate::agent::reload::{Applied, Live};

impl Core {
    /// Installs the new roots, sets the rooms, the guarded SAPs and the inbox's bound of
    /// `live`, in that order (a room may name a domain whose root is new), and says what it
    /// did.
    pub(super) fn reload(&mut self, live: Live) -> Applied {
        let mut applied = Applied::default();
        let now = wall_time();
        for (path, bytes) in &live.roots {
            match self.station.node_mut().trust_mut().add_root(bytes, now) {
                Ok(root) => applied.done.push(format!(
                    "root {} installed (domain {})",
                    path.display(),
                    root.artifact.domain
                )),
                Err(refusal) => applied
                    .failed
                    .push(format!("root {}: {refusal}", path.display())),
            }
        }
        if let Some(rooms) = &live.rooms {
            let trust = self.station.node_mut().trust_mut();
            // Checked against the directory's roots before it came here; what can still fail
            // is a room that does not fit beside a removed room's limits, which stay.
            let set = rooms
                .iter()
                .enumerate()
                .try_for_each(|(i, room)| room.apply(i, trust));
            match set {
                Ok(()) => {
                    let domains: Vec<String> = rooms.iter().map(|r| r.domain.to_string()).collect();
                    applied
                        .done
                        .push(format!("rooms set ({})", domains.join(", ")));
                }
                Err(e) => applied
                    .failed
                    .push(format!("{e} (the rooms before it are set)")),
            }
        }
        if let Some(saps) = &live.guard_saps {
            match &self.guard {
                Some(guard) => {
                    // The same key and the next sequence number: what is reserved stays
                    // reserved, and the replay windows are kept.
                    let config = GuardConfig {
                        address: self.address,
                        key: guard.key.clone(),
                        next_seq: self.station.next_binding_seq(),
                    };
                    self.station.enable_guard(config, saps);
                    applied.done.push(format!("guarded SAPs now {saps:?}"));
                }
                None => applied
                    .failed
                    .push("guard.sap: the guard is off in this agent".into()),
            }
        }
        if let Some(max) = live.inbox_max {
            self.messages.set_limit(max);
            applied.done.push(format!("inbox.max_messages = {max}"));
        }
        self.poll();
        applied
    }
}
