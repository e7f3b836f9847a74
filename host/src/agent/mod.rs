//! The agent: `skywave run`.
//!
//! - [`config`]: the configuration file, with errors that name the file, line and field.
//! - [`check`]: `skywave check-config`, the configuration checked against the machine.
//! - [`core`]: the one task that drives the node's station.
//! - [`link`]: the agent's link type: a carrier with compressed batches and CAPS.
//! - [`sap_label`]: the labels of guarded SAPs' SIS clients (default label, envelope).
//! - [`control`]: the operator's control socket and the client the CLI uses.
//! - [`explain`]: release decisions in words, for `decide` and `audit show`.
//! - [`message`]: the guard's decisions on labelled messages, for `send`, `receive` and `audit`.
//! - [`service`]: file and socket modes, the store's lock, systemd readiness.
//! - [`reload`]: SIGHUP: what is safe applied live, the rest named for a restart.
//! - [`status_text`]: `skywave status` in words and units.
//!
//! Wiring: one bearer task per link moves bytes; a forwarder per bearer tags its events with
//! the link's index into one channel; the core takes those, the operator's requests and its own
//! deadlines in turn. With a `[sis]` section, a task accepts SIS client connections and a task
//! per connection feeds its primitives to the core too (`crate::sis::server`). SIGINT and
//! SIGTERM stop it cleanly: the core answers the requests already queued, the store is closed,
//! the socket removed. SIGHUP re-reads the configuration and trust directory, applies what is
//! safe (new roots, rooms, guarded SAPs, the group's access) and names the rest as waiting for
//! a restart ([`reload`]).

pub mod check;
pub mod config;
pub mod control;
pub mod core;
pub mod explain;
mod link;
pub mod message;
pub mod reload;
pub mod sap_label;
pub mod service;
pub mod status_text;

use std::path::Path;

use skywave_protocol::node::{self, Node};
use skywave_protocol::policy::TrustStore;
use tokio::sync::mpsc;

use crate::bearer::{self, Bearer};
use crate::sis::server::{self as sis_server, Hub, ToCore};
use crate::store::{ArtifactStore, Store, StoreOptions};
use config::{AgentConfig, BearerConfig};

/// Installs every file in `dir` as a trust anchor (a root's self-signed credential).
pub fn load_roots(dir: &Path, trust: &mut TrustStore) -> anyhow::Result<usize> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("trust directory {}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut count = 0;
    for path in paths.iter().filter(|p| p.is_file()) {
        let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        trust
            .add_root(&bytes, crate::agent::core::wall_time())
            .map_err(|r| anyhow::anyhow!("{}: not a usable root: {r}", path.display()))?;
        count += 1;
    }
    if count == 0 {
        anyhow::bail!("trust directory {} holds no roots", dir.display());
    }
    Ok(count)
}

/// Opens the store of `config`, and a node that re-admits everything it holds, in order, so a
/// restarted node is where it was.
pub fn open_node(
    config: &AgentConfig,
    trust: TrustStore,
) -> anyhow::Result<(Box<Node<ArtifactStore>>, Store)> {
    let options = StoreOptions {
        max_bytes: config.store_max_bytes,
    };
    let store = Store::open(&config.store, config.address, options)
        .map_err(|e| anyhow::anyhow!("store {}: {e}", config.store.display()))?;
    let artifacts = store
        .artifacts()
        .map_err(|e| anyhow::anyhow!("store {}: {e}", config.store.display()))?;
    // The node's own address, so that of the listeners of a SUMMARY broadcast only one
    // supplies what its sender lacks, and its summaries jittered from it, so that neighbours
    // that came up together do not key up together (as a station's node is configured).
    let node_config = node::Config {
        address: Some(config.address),
        jitter_seed: config.address.value(),
        ..node::Config::new(config.sap)
    };
    let node = Box::new(Node::new(node_config, trust, artifacts, core::wall_time()));
    Ok((node, store))
}

/// Starts the core for `config` over `bearers` (one per link, in order), with a forwarder per
/// bearer feeding its events, tagged with the link's index, into the core. Returns where
/// operator requests go; the core stops when `shutdown` completes.
pub fn spawn_core(
    config: &AgentConfig,
    node: Box<Node<ArtifactStore>>,
    store: Store,
    bearers: Vec<Bearer>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(mpsc::Sender<control::Request>, tokio::task::JoinHandle<()>)> {
    spawn_core_with_sis(config, node, store, bearers, None, None, shutdown)
}

/// [`spawn_core`], with an SIS server's hub and the events of its connections, and an observer
/// of the station's events ([`core::Core::with_observer`]).
pub fn spawn_core_with_sis(
    config: &AgentConfig,
    node: Box<Node<ArtifactStore>>,
    store: Store,
    bearers: Vec<Bearer>,
    sis: Option<(Hub, mpsc::Receiver<ToCore>)>,
    observer: Option<core::EventObserver>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(mpsc::Sender<control::Request>, tokio::task::JoinHandle<()>)> {
    let (merged_tx, merged) = mpsc::channel(bearer::EVENT_CAPACITY);
    let mut senders = Vec::new();
    for (index, bearer) in bearers.into_iter().enumerate() {
        let (sender, mut events) = bearer.split();
        senders.push(sender);
        let merged_tx = merged_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if merged_tx.send((index, event)).await.is_err() {
                    return;
                }
            }
        });
    }
    let (control_tx, control_rx) = mpsc::channel(16);
    let mut core = core::Core::new(config, node, store, senders)?;
    if let Some((hub, events)) = sis {
        core = core.with_sis(hub, events);
    }
    if let Some(observer) = observer {
        core = core.with_observer(observer);
    }
    let task = tokio::spawn(core.run(merged, control_rx, shutdown));
    Ok((control_tx, task))
}

/// Runs the agent described by the file at `path` until SIGINT or SIGTERM.
pub async fn run(path: &Path) -> anyhow::Result<()> {
    let full = AgentConfig::load_full(path)?;
    let config = full.agent.clone();
    let trust_files = reload::trust_files(&config.trust);
    let mut trust = TrustStore::new();
    let roots = load_roots(&config.trust, &mut trust)?;
    config::apply_rooms(&config, &mut trust)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    // Refused before the store is touched: a socket path naming the store must not harm it.
    service::check_socket_path(&config.socket)?;
    let _lock = service::StoreLock::acquire(&config.store, service::store_mode(&config))?;
    service::prepare_store(&config.store, service::store_mode(&config))?;
    let (node, store) = open_node(&config, trust)?;
    let mut bearers = Vec::new();
    for link in &config.links {
        bearers.push(match &link.bearer {
            BearerConfig::Serial(s) => bearer::serial::spawn(s.clone()),
            BearerConfig::Udp(u) => bearer::udp::spawn(u.clone()),
            BearerConfig::Sis(s) => bearer::sis::spawn(s.clone()),
            BearerConfig::Simulated => {
                anyhow::bail!(
                    "link {}: simulated links exist only in skywave demo",
                    link.name
                )
            }
        });
    }
    let listener = service::bind_socket(&config.socket, service::socket_mode(&config))?;
    let sis = match &full.sis {
        Some(sis_config) => {
            let listener = sis_server::bind(sis_config).await?;
            let (events_tx, events) = mpsc::channel(bearer::EVENT_CAPACITY);
            let connections = sis_config.max_clients * 2 + 4;
            tokio::spawn(sis_server::serve(listener, events_tx, connections));
            tracing::info!(listen = %sis_config.listen, "SIS server listening");
            Some((Hub::new(config.address, config.sap, sis_config), events))
        }
        None => None,
    };
    let (stop_tx, stop) = tokio::sync::oneshot::channel();
    let (control_tx, core) =
        spawn_core_with_sis(&config, node, store, bearers, sis, None, async {
            let _ = stop.await;
        })?;
    tokio::spawn(control::serve(listener, control_tx.clone()));
    tracing::info!(
        address = %config.address,
        links = config.links.len(),
        roots,
        store = %config.store.display(),
        socket = %config.socket.display(),
        "skywave agent running"
    );
    service::notify(&format!(
        "READY=1\nSTATUS=running: node {}, {} links\nMAINPID={}",
        config.address,
        config.links.len(),
        std::process::id()
    ));
    let config_path = path.to_path_buf();
    let mut running = reload::Running {
        config: full,
        roots: trust_files,
    };
    tokio::spawn(async move {
        signals(&config_path, &mut running, &control_tx).await;
        service::notify("STOPPING=1\nSTATUS=stopping");
        let _ = stop_tx.send(());
    });
    let stopped = core.await;
    let _ = std::fs::remove_file(&config.socket);
    tracing::info!("stopped");
    // A core that panicked must make the process fail, so a supervisor restarts it.
    stopped.map_err(|e| anyhow::anyhow!("the agent's core stopped: {e}"))
}

/// Waits for SIGINT or SIGTERM, answering each SIGHUP on the way with a reload
/// ([`reload::reload`]) of what is `running`, through the core's request channel `core`.
async fn signals(
    path: &Path,
    running: &mut reload::Running,
    core: &mpsc::Sender<control::Request>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::warn!("cannot watch SIGTERM and SIGHUP: only SIGINT stops the agent");
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                // The outcome is logged; a failed reload leaves the agent as it was.
                let _ = reload::reload(path, running, core).await;
            }
        }
    }
}
