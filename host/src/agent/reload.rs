//! SIGHUP: the configuration file and trust directory read again, what is safe applied to the
//! running agent, and the rest named as waiting for a restart.
//!
//! What is applied live, and why that is safe:
//!
//! - **A new root** (a file in the trust directory whose contents the agent does not hold) is
//!   installed into the running trust store. Adding an anchor only lets more artifacts in; each
//!   still passes admission in full.
//! - **`[[room]]`** limits are set again. A room smaller than what its domain holds keeps what
//!   is held and admits nothing more of that kind (`TrustStore::set_room`), so nothing is
//!   dropped mid-flight. The new rooms are first checked against a scratch trust store with the
//!   directory's roots, so either every room is set or none is.
//! - **`[[guard.sap]]`**: the set of guarded SAPs is replaced, keeping the node key, the binding
//!   sequence numbers and the replay windows (`Station::enable_guard`).
//! - **`[control] group_access`**: the socket's and the store's modes are set again (`chmod` of
//!   an existing socket only narrows or widens who may connect next; it opens no window the
//!   atomic creation at start guards against).
//! - **`[log] level`**: the log's filter is replaced (unless `RUST_LOG` is set, which the
//!   file never overrides), through the hook the binary installs with [`on_log_level`].
//! - **`[inbox] max_messages`**: the operator's inbox takes the new bound for the next
//!   arrival. A bound below what it holds drops nothing: arrivals are refused (their senders
//!   told, when they asked) until the operator has taken enough.
//!
//! What waits for a restart, and why:
//!
//! - **A root removed or changed** (contents the agent holds that are no longer in the
//!   directory) stays trusted until the agent restarts: the trust store cannot withdraw an
//!   anchor without dropping everything admitted under it and the decisions made from it. A
//!   restart re-admits the store under the roots then present, refusing what hangs from a
//!   removed root. A changed file is both: its new contents are installed now, the old ones
//!   stay until the restart.
//! - **A room removed**: a set room cannot be unset in the running trust store.
//! - **Links, `[sis]`, the node's address, SAP, store, trust directory path, socket path, and
//!   the guard's key or the guard itself turned on or off**: the station, its links and the
//!   guard's sequence numbers are built once, and a half-applied link change could drop
//!   traffic in flight.
//!
//! A configuration or trust directory that no longer loads changes nothing: the agent carries
//! on as it was and says why (a restart would refuse the same files). The running Station lives
//! in the core task, so what is applied there goes to it as a request over the operator
//! channel ([`super::control::Command::Reload`]) rather than through shared state.

use std::path::{Path, PathBuf};

use skywave_protocol::policy::TrustStore;
use tokio::sync::{mpsc, oneshot};

use super::config::{AgentConfig, FullConfig, RoomConfig};
use super::control::{Command, Reply, Request};
use super::service;

/// What the agent runs with, as far as SIGHUP is concerned: the configuration in effect (the
/// file as it read at start, with the changes applied live since) and the root files installed.
#[derive(Debug, Clone)]
pub struct Running {
    /// The configuration in effect.
    pub config: FullConfig,
    /// The trust directory's files as installed: where each was read from, and its bytes.
    pub roots: Vec<(PathBuf, Vec<u8>)>,
}

/// What the core applies to its station.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// New roots to install: the file each came from, and its bytes.
    pub roots: Vec<(PathBuf, Vec<u8>)>,
    /// The rooms to set, in file order, when they changed.
    pub rooms: Option<Vec<RoomConfig>>,
    /// The guarded SAPs, when they changed.
    pub guard_saps: Option<Vec<u8>>,
    /// The operator's inbox's bound, when it changed.
    pub inbox_max: Option<u64>,
}

impl Live {
    /// Whether there is nothing for the core to do.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
            && self.rooms.is_none()
            && self.guard_saps.is_none()
            && self.inbox_max.is_none()
    }
}

/// What a SIGHUP found, checked: what is applied live and what waits for a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// For the core.
    pub live: Live,
    /// The modes to give the socket and store, when `group_access` changed.
    pub group_access: Option<bool>,
    /// The log's filter, when `[log] level` changed (`None` inside: back to the default).
    pub log_level: Option<Option<String>>,
    /// Each change that takes effect only after a restart, in words.
    pub restart: Vec<String>,
}

/// Why a SIGHUP changed nothing.
#[derive(Debug)]
pub enum ReloadError {
    /// The configuration file no longer loads.
    Config(super::config::ConfigError),
    /// A file in the trust directory is not a usable root, or there are none.
    Trust(anyhow::Error),
    /// The new `[[room]]` sections do not fit with the directory's roots.
    Rooms(String),
}

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadError::Config(e) => write!(f, "the configuration no longer loads: {e}"),
            ReloadError::Trust(e) => write!(f, "the trust directory no longer loads: {e}"),
            ReloadError::Rooms(e) => write!(f, "the rooms no longer fit: {e}"),
        }
    }
}

impl std::error::Error for ReloadError {}

/// The trust directory's files and contents, sorted by path (unreadable entries left out:
/// [`super::load_roots`] reports them).
pub fn trust_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect();
    files.sort();
    files
}

/// Compares `now` (the file as it reads) and `files` (the trust directory as it reads) with
/// what is `running`, checks what is new, and sorts each change into live or restart.
pub fn plan(
    running: &Running,
    now: &FullConfig,
    files: &[(PathBuf, Vec<u8>)],
) -> Result<Plan, ReloadError> {
    let (a, b) = (&running.config.agent, &now.agent);
    let mut restart = Vec::new();
    let mut field = |name: &str, differs: bool| {
        if differs {
            restart.push(format!("{name} changed"));
        }
    };
    field("node.address", a.address != b.address);
    field("node.sap", a.sap != b.sap);
    field("node.trust", a.trust != b.trust);
    field("node.store", a.store != b.store);
    field(
        "node.store_max_bytes",
        a.store_max_bytes != b.store_max_bytes,
    );
    field("control.socket", a.socket != b.socket);
    field("the [sis] section", running.config.sis != now.sis);
    for link in &a.links {
        match b.links.iter().find(|l| l.name == link.name) {
            None => restart.push(format!("link {} removed", link.name)),
            Some(l) if l != link => restart.push(format!("link {} changed", link.name)),
            Some(_) => {}
        }
    }
    for link in b
        .links
        .iter()
        .filter(|l| !a.links.iter().any(|x| x.name == l.name))
    {
        restart.push(format!("link {} added", link.name));
    }
    let guard_saps = match (&a.guard, &b.guard) {
        (None, None) => None,
        (Some(_), None) => {
            restart.push("[guard] removed".into());
            None
        }
        (None, Some(_)) => {
            restart.push("[guard] added".into());
            None
        }
        (Some(x), Some(y)) => {
            if x.key != y.key {
                restart.push("guard.key changed".into());
            }
            (x.saps != y.saps).then(|| y.sap_ids())
        }
    };

    // The directory must load as a whole, as it would at a restart, and the rooms must fit
    // beside its roots as a restart would set them. One scratch store serves both: a trust
    // store is hundreds of KiB, and this runs on a runtime thread's stack.
    let rooms_changed = a.rooms != b.rooms;
    if a.trust == b.trust || rooms_changed {
        let mut scratch = TrustStore::new();
        super::load_roots(&b.trust, &mut scratch).map_err(ReloadError::Trust)?;
        if rooms_changed {
            super::config::apply_rooms(b, &mut scratch).map_err(ReloadError::Rooms)?;
        }
    }
    let held = |bytes: &Vec<u8>| running.roots.iter().any(|(_, r)| r == bytes);
    let mut roots = Vec::new();
    if a.trust == b.trust {
        roots = files.iter().filter(|(_, b)| !held(b)).cloned().collect();
        for (path, bytes) in &running.roots {
            if !files.iter().any(|(_, b)| b == bytes) {
                restart.push(format!(
                    "root {} removed or changed: it stays trusted",
                    path.display()
                ));
            }
        }
    }
    for room in a
        .rooms
        .iter()
        .filter(|r| !b.rooms.iter().any(|x| x.domain == r.domain))
    {
        restart.push(format!("room {} removed: its limits stay", room.domain));
    }
    let rooms = rooms_changed.then(|| b.rooms.clone());

    Ok(Plan {
        live: Live {
            roots,
            rooms,
            guard_saps,
            inbox_max: (a.inbox_max != b.inbox_max).then_some(b.inbox_max),
        },
        group_access: (a.group_access != b.group_access).then_some(b.group_access),
        log_level: (a.log_level != b.log_level).then(|| b.log_level.clone()),
        restart,
    })
}

/// Gives the socket and the store's files the modes of `config` (after `group_access`
/// changed).
pub fn apply_modes(config: &AgentConfig) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        &config.socket,
        std::fs::Permissions::from_mode(service::socket_mode(config)),
    )
    .map_err(|e| anyhow::anyhow!("control socket {}: {e}", config.socket.display()))?;
    let mode = service::store_mode(config);
    service::prepare_store(&config.store, mode)?;
    let lock = PathBuf::from(format!("{}.lock", config.store.display()));
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(mode))
        .map_err(|e| anyhow::anyhow!("store lock {}: {e}", lock.display()))
}

/// Replaces the log's filter: given `RUST_LOG` syntax, says whether it took.
pub type LogFilter = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

static LOG_FILTER: std::sync::OnceLock<LogFilter> = std::sync::OnceLock::new();

/// Installs how SIGHUP replaces the log's filter (the binary that set up logging knows how;
/// without it a changed `[log] level` is reported as not applied). The first one stays.
pub fn on_log_level(set: LogFilter) {
    let _ = LOG_FILTER.set(set);
}

/// The filter the log starts with: `RUST_LOG` when set, else the file's `[log] level`, else
/// `info`.
pub fn log_filter(level: Option<&str>) -> String {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| level.unwrap_or("info").to_owned())
}

/// Sets the log's filter for `level` (the default when `None`); returns the filter set.
fn set_log_level(level: Option<&str>) -> Result<String, String> {
    if std::env::var("RUST_LOG").is_ok_and(|v| !v.is_empty()) {
        return Err("RUST_LOG is set and overrides the file".into());
    }
    let filter = log_filter(level);
    let set = LOG_FILTER
        .get()
        .ok_or_else(|| "this process's log cannot be changed while it runs".to_owned())?;
    set(&filter)?;
    Ok(filter)
}

/// What the core said it did with a [`Live`] reload.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Each change made, in words.
    pub done: Vec<String>,
    /// Each change that could not be made, and why.
    pub failed: Vec<String>,
}

/// SIGHUP: reads the configuration at `path` and its trust directory again, applies what is
/// safe (through `core` for the station's part) and logs every change, updating `running` to
/// what is now in effect. Returns what the core did, for tests; the log says the same.
pub async fn reload(
    path: &Path,
    running: &mut Running,
    core: &mpsc::Sender<Request>,
) -> Result<Applied, ReloadError> {
    let outcome = reload_inner(path, running, core).await;
    if let Err(e) = &outcome {
        tracing::error!("SIGHUP: {e}; still running as before");
    }
    outcome
}

async fn reload_inner(
    path: &Path,
    running: &mut Running,
    core: &mpsc::Sender<Request>,
) -> Result<Applied, ReloadError> {
    let now = AgentConfig::load_full(path).map_err(ReloadError::Config)?;
    let files = trust_files(&now.agent.trust);
    let plan = plan(running, &now, &files)?;
    let mut applied = Applied::default();
    if let Some(group) = plan.group_access {
        let mut config = running.config.agent.clone();
        config.group_access = group;
        match apply_modes(&config) {
            Ok(()) => {
                running.config.agent.group_access = group;
                applied.done.push(format!(
                    "control.group_access = {group}: socket {:o}, store {:o}",
                    service::socket_mode(&config),
                    service::store_mode(&config)
                ));
            }
            Err(e) => applied.failed.push(format!("control.group_access: {e}")),
        }
    }
    if let Some(level) = &plan.log_level {
        match set_log_level(level.as_deref()) {
            Ok(filter) => {
                running.config.agent.log_level.clone_from(level);
                applied.done.push(format!("log.level = {filter:?}"));
            }
            Err(e) => applied.failed.push(format!("log.level: {e}")),
        }
    }
    if !plan.live.is_empty() {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            command: Command::Reload(plan.live.clone()),
            reply,
        };
        let core_said = match core.send(request).await {
            Ok(()) => answer.await.ok(),
            Err(_) => None,
        };
        match core_said {
            Some(Reply::Reloaded(done)) => {
                note_applied(running, &now, &plan.live, &done);
                applied.done.extend(done.done);
                applied.failed.extend(done.failed);
            }
            _ => applied
                .failed
                .push("the core did not answer (it is stopping)".into()),
        }
    }
    if applied.done.is_empty() && applied.failed.is_empty() && plan.restart.is_empty() {
        tracing::info!("SIGHUP: configuration re-read: nothing changed");
    }
    for change in &applied.done {
        tracing::info!("SIGHUP: {change}: applied");
    }
    for change in &applied.failed {
        tracing::error!("SIGHUP: {change}: not applied");
    }
    for change in &plan.restart {
        tracing::warn!("SIGHUP: {change}: takes effect after a restart");
    }
    Ok(applied)
}

/// Records in `running` what the core applied of `live` (the file reading `now`): the roots it
/// installed (by their files, as its report names them), and the rooms, guarded SAPs and inbox
/// bound, which it sets whole or not at all.
fn note_applied(running: &mut Running, now: &FullConfig, live: &Live, applied: &Applied) {
    for (path, bytes) in &live.roots {
        let installed = format!("root {} installed", path.display());
        if applied.done.iter().any(|d| d.starts_with(&installed)) {
            running.roots.push((path.clone(), bytes.clone()));
        }
    }
    if live.rooms.is_some() && applied.done.iter().any(|d| d.starts_with("rooms set")) {
        running.config.agent.rooms = now.agent.rooms.clone();
    }
    if let (Some(_), Some(guard), Some(new)) = (
        &live.guard_saps,
        &mut running.config.agent.guard,
        &now.agent.guard,
    ) && applied.done.iter().any(|d| d.starts_with("guarded SAPs"))
    {
        guard.saps = new.saps.clone();
    }
    if let Some(max) = live.inbox_max
        && applied
            .done
            .iter()
            .any(|d| d.starts_with("inbox.max_messages"))
    {
        running.config.agent.inbox_max = max;
    }
}

#[cfg(test)]
mod tests;
