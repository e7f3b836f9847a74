//! `skywave check-config FILE`: everything the agent would find wrong at start, found without
//! starting it, so an operator can check a file before a restart or in a provisioning script.
//!
//! Loading the file already checks every field's syntax and range ([`AgentConfig::load_full`]);
//! this adds what needs the machine: the trust directory's roots, the directories the store
//! and socket go in, what is already at the socket path, serial devices, and settings that
//! contradict each other (two links on one port, a link to this agent's own SIS server, a
//! neighbour that is this node). A finding is an error if the agent would fail or misbehave
//! with it, a warning if it would run but the operator should know (a serial device that is
//! not plugged in yet: the bearer retries until it appears).
//!
//! Exit codes, for scripts: 0 no errors (warnings may be printed), 1 errors found, 2 the file
//! cannot be read or parsed.

use std::fs::{OpenOptions, TryLockError};
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::os::unix::fs::FileTypeExt as _;
use std::path::Path;

use skywave_protocol::policy::TrustStore;

use super::config::{AgentConfig, BearerConfig, ConfigError, FullConfig};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The agent would fail to start or would misbehave.
    Error,
    /// The agent would run; the operator should know.
    Warning,
}

/// One thing found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// The setting it concerns (`link hf1 serial.device`) and what is wrong.
    pub message: String,
}

impl Finding {
    fn error(message: String) -> Finding {
        Finding {
            severity: Severity::Error,
            message,
        }
    }

    fn warning(message: String) -> Finding {
        Finding {
            severity: Severity::Warning,
            message,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.message)
    }
}

/// Loads the configuration at `path` and checks it against this machine.
pub fn check(path: &Path) -> Result<Vec<Finding>, ConfigError> {
    let full = AgentConfig::load_full(path)?;
    Ok(check_loaded(&full))
}

/// Checks a loaded configuration against this machine.
pub fn check_loaded(full: &FullConfig) -> Vec<Finding> {
    let config = &full.agent;
    let mut findings = Vec::new();
    let mut error = |message: String| findings.push(Finding::error(message));
    let mut trust = TrustStore::new();
    match super::load_roots(&config.trust, &mut trust) {
        Ok(_) => {
            if let Err(e) = super::config::apply_rooms(config, &mut trust) {
                error(e);
            }
        }
        Err(e) => error(format!("node.trust: {e}")),
    }
    for (field, path) in [
        ("node.store", &config.store),
        ("control.socket", &config.socket),
    ] {
        let dir = path.parent().unwrap_or(Path::new("."));
        if !dir.is_dir() {
            error(format!(
                "{field}: directory {} does not exist (StateDirectory= / RuntimeDirectory= \
                 create it under systemd)",
                dir.display()
            ));
        }
    }
    if config.store.exists() && !config.store.is_file() {
        error(format!(
            "node.store: {} is not a file",
            config.store.display()
        ));
    }
    if let Err(e) = super::service::check_socket_path(&config.socket) {
        error(format!("control.socket: {e}"));
    }
    for link in &config.links {
        if link.neighbours.contains(&config.address) {
            error(format!(
                "link {}: neighbour {} is this node's own address",
                link.name, config.address
            ));
        }
    }
    if let Some(guard) = &config.guard {
        if let Err(e) = guard.load_key() {
            error(e);
        }
        // The default labels compacted as at start: against the SPIF, and the admitted
        // policy when the store holds it.
        admit_stored(config, &mut trust);
        if let Err(e) = super::sap_label::rules(guard, Some(&trust)) {
            error(e);
        }
    }
    findings.extend(link_conflicts(full));
    findings.extend(devices(config));
    if let Some(holder) = running_agent(&config.store) {
        findings.push(Finding::warning(format!(
            "node.store: an agent is running on {} now{holder}; a second one will be refused",
            config.store.display()
        )));
    }
    findings
}

/// Admits what the store holds into `trust` (whose roots are in), as the agent does at start,
/// so that labels can be checked against admitted policies. No store yet: nothing to add.
fn admit_stored(config: &AgentConfig, trust: &mut TrustStore) {
    use skywave_protocol::node::Storage as _;
    let Ok(store) = crate::store::Store::open_existing(&config.store, config.address) else {
        return;
    };
    let Ok(artifacts) = store.artifacts() else {
        return;
    };
    for index in 0..artifacts.len() {
        if let Some((_, bytes)) = artifacts.get(index) {
            // One that no longer admits is the agent's to report; the rest still check.
            let _ = trust.admit(bytes, super::core::wall_time());
        }
    }
}

/// Two links on one port, a UDP link whose peer is itself, a link to our own SIS server.
fn link_conflicts(full: &FullConfig) -> Vec<Finding> {
    let config = &full.agent;
    let mut findings = Vec::new();
    let mut error = |message: String| findings.push(Finding::error(message));
    let mut serial_devices: Vec<(&str, &str)> = Vec::new();
    let mut udp_binds: Vec<(&str, SocketAddr)> = Vec::new();
    for link in &config.links {
        match &link.bearer {
            BearerConfig::Serial(s) => {
                if let Some((other, _)) = serial_devices.iter().find(|(_, d)| *d == s.device) {
                    error(format!(
                        "link {}: serial device {} is also link {other}'s",
                        link.name, s.device
                    ));
                }
                serial_devices.push((&link.name, &s.device));
            }
            BearerConfig::Udp(u) => {
                if u.bind.port() != 0 {
                    if let Some((other, _)) = udp_binds.iter().find(|(_, b)| *b == u.bind) {
                        error(format!(
                            "link {}: udp.bind {} is also link {other}'s",
                            link.name, u.bind
                        ));
                    }
                    udp_binds.push((&link.name, u.bind));
                }
                if u.peer == u.bind {
                    error(format!(
                        "link {}: udp.peer is its own udp.bind {}: it would talk to itself",
                        link.name, u.bind
                    ));
                }
            }
            BearerConfig::Sis(s) => {
                let Some(listen) = full.sis.as_ref().map(|sis| sis.listen) else {
                    continue;
                };
                if reaches(&s.server, listen) {
                    error(format!(
                        "link {}: sis.server {} is this agent's own SIS server ([sis] listen \
                         {listen}): the link would bind on itself; give the 5066 node's address",
                        link.name, s.server
                    ));
                }
            }
            BearerConfig::Simulated => {}
        }
    }
    findings
}

/// Whether connecting to `server` (`host:port`) would reach a listener on `listen`.
fn reaches(server: &str, listen: SocketAddr) -> bool {
    let Ok(addresses) = server.to_socket_addrs() else {
        return false;
    };
    addresses.into_iter().any(|a| {
        a.port() == listen.port()
            && (a.ip() == listen.ip()
                || listen.ip().is_unspecified()
                || (a.ip().is_loopback() && listen.ip().is_loopback()))
    })
}

/// Serial devices: absent is a warning (the bearer retries), not a character device an error.
fn devices(config: &AgentConfig) -> Vec<Finding> {
    let mut findings = Vec::new();
    for link in &config.links {
        let BearerConfig::Serial(s) = &link.bearer else {
            continue;
        };
        match std::fs::metadata(&s.device) {
            Ok(meta) if meta.file_type().is_char_device() => {}
            Ok(_) => findings.push(Finding::error(format!(
                "link {}: serial.device {} is not a serial device",
                link.name, s.device
            ))),
            Err(e) => findings.push(Finding::warning(format!(
                "link {}: serial.device {}: {e} (the agent retries until it appears)",
                link.name, s.device
            ))),
        }
    }
    findings
}

/// `Some(" (pid N)")` if an agent holds the store's lock now.
fn running_agent(store: &Path) -> Option<String> {
    let path = format!("{}.lock", store.display());
    let file = OpenOptions::new().read(true).open(&path).ok()?;
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path).unwrap_or_default();
            Some(format!(" (pid {})", pid.trim()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<String> {
        let full = AgentConfig::parse_full(text, Path::new("/nonexistent")).unwrap();
        link_conflicts(&full)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const NODE: &str = "[node]\naddress = 1\ntrust = \"trust\"\n";

    #[test]
    fn a_link_to_our_own_sis_port_is_an_error() {
        let text = format!(
            "{NODE}[sis]\nlisten = \"127.0.0.1:5066\"\n\n[[link]]\nname = \"stack\"\nneighbours = [2]\nsis = {{ server = \"localhost:5066\", sap = 13 }}\n"
        );
        let found = findings(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with(
            "error: link stack: sis.server localhost:5066 is this agent's own SIS server"
        ));
        let elsewhere = text.replace("localhost:5066", "127.0.0.1:5067");
        assert!(findings(&elsewhere).is_empty());
    }

    #[test]
    fn links_sharing_a_port_or_talking_to_themselves_are_errors() {
        let link = |name: &str, bind: &str, peer: &str| {
            format!(
                "\n[[link]]\nname = \"{name}\"\nneighbours = [2]\nmodem = {{ bit_rate = 2400 }}\nudp = {{ bind = \"{bind}\", peer = \"{peer}\" }}\n"
            )
        };
        let text = format!(
            "{NODE}{}{}{}",
            link("a", "127.0.0.1:7000", "127.0.0.1:7001"),
            link("b", "127.0.0.1:7000", "127.0.0.1:7002"),
            link("c", "127.0.0.1:7003", "127.0.0.1:7003"),
        );
        assert_eq!(
            findings(&text),
            [
                "error: link b: udp.bind 127.0.0.1:7000 is also link a's",
                "error: link c: udp.peer is its own udp.bind 127.0.0.1:7003: it would talk to itself",
            ]
        );
    }
}
