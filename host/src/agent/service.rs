//! What running as a system service takes beyond the protocol: file modes, one agent per
//! store, a control socket that appears whole, and systemd's readiness protocol.
//!
//! **Modes.** The store holds the decision log and every artifact; the control socket steers
//! the agent. Both are the agent user's alone (0600) unless the configuration sets
//! `[control] group_access = true`, when operators in the agent's group may use the socket
//! (0660) and read the store (0640). SQLite gives its `-wal` and `-shm` files the mode of the
//! database file, so setting the database's mode before SQLite opens it covers all three.
//!
//! **The socket appears whole.** `bind(2)` creates the socket file with the process's umask,
//! and a `chmod` after it leaves a window in which another local user can connect. The umask
//! is process-wide (changing it races every other thread that creates files), so instead the
//! socket is bound inside a fresh 0700 directory beside its final path, given its mode there,
//! where nobody else can reach it, and then hard-linked into place. `link(2)` is atomic and,
//! unlike `rename(2)`, never replaces what is already there: a path that names anything other
//! than a stale socket is refused, so a socket path pointed at the store by mistake cannot
//! delete the store.
//!
//! **One agent per store.** Two agents on one store would interleave two decision-log chains
//! and resend each other's queues. The agent holds an exclusive `flock` on `<store>.lock` for
//! as long as it runs (the kernel drops it when the process dies, even by SIGKILL, so a crash
//! never leaves a stale lock); a second agent is refused with the first one's pid.
//! `skywave audit` reads the store without the lock, as SQLite's WAL allows.
//!
//! **Readiness.** Under `Type=notify`, systemd waits for `READY=1` on the datagram socket
//! named by `NOTIFY_SOCKET`; the agent sends it once the store is open, the links are started
//! and the control socket answers, and `STOPPING=1` when it begins to stop. The protocol is one
//! datagram of `KEY=value` lines, written here directly rather than through a crate.
//!
//! SIGHUP is [`super::reload`]'s.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, FileTypeExt as _, OpenOptionsExt as _, PermissionsExt,
};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

use super::config::AgentConfig;

/// The mode of the store's files: the agent user's alone, or readable by its group.
pub fn store_mode(config: &AgentConfig) -> u32 {
    if config.group_access { 0o640 } else { 0o600 }
}

/// The mode of the control socket: the agent user's alone, or usable by its group.
pub fn socket_mode(config: &AgentConfig) -> u32 {
    if config.group_access { 0o660 } else { 0o600 }
}

/// Gives the store at `path` (and its `-wal` and `-shm` files, where they exist) `mode`,
/// creating an empty database file with it if there is none, so SQLite never creates one with
/// the umask's mode.
pub fn prepare_store(path: &Path, mode: u32) -> anyhow::Result<()> {
    let fail = |what: &Path, e: std::io::Error| anyhow::anyhow!("store {}: {e}", what.display());
    if !path.exists() {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(|e| fail(path, e))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            // Exactly `mode`: the umask may have taken bits away at creation.
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
                .map_err(|e| fail(&file, e))?;
        }
    }
    Ok(())
}

/// The exclusive hold on a store, released when dropped or when the process exits.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock beside the store at `store`, or says which agent holds it.
    pub fn acquire(store: &Path, mode: u32) -> anyhow::Result<StoreLock> {
        let path = PathBuf::from(format!("{}.lock", store.display()));
        let fail = |e: std::io::Error| anyhow::anyhow!("store lock {}: {e}", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(mode)
            .open(&path)
            .map_err(fail)?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0).map_err(fail)?;
                writeln!(file, "{}", std::process::id()).map_err(fail)?;
                Ok(StoreLock { _file: file })
            }
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                anyhow::bail!(
                    "store {} is in use by another agent (pid {}): stop it first, or give \
                     this node its own store",
                    store.display(),
                    pid.trim()
                )
            }
            Err(TryLockError::Error(e)) => Err(fail(e)),
        }
    }
}

/// Refuses a control socket path that names anything but a socket, before anything else is
/// opened, so a socket path pointed at a file (the store itself, say) fails without harm.
pub fn check_socket_path(path: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => Ok(()),
        Ok(_) => anyhow::bail!(
            "control socket {} is not a socket: something else is at that path, and the agent \
             will not replace it (give [control] socket a path of its own)",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => anyhow::bail!("control socket {}: {e}", path.display()),
    }
}

/// Creates the control socket at `path` with `mode`, atomically (see the module's docs). A
/// stale socket (no agent answers on it) is replaced; a live one, or anything that is not a
/// socket, is refused.
pub fn bind_socket(path: &Path, mode: u32) -> anyhow::Result<UnixListener> {
    check_socket_path(path)?;
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            anyhow::bail!(
                "another agent is running on {} (stop it first, or give this one its own \
                 socket and store)",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .map_err(|e| anyhow::anyhow!("removing stale socket {}: {e}", path.display()))?;
    }
    let fail = |e: std::io::Error| anyhow::anyhow!("control socket {}: {e}", path.display());
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let staging = path.with_file_name(format!(".{name}.{}.new", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(fail)?;
    let staged = staging.join("socket");
    let bound = std::os::unix::net::UnixListener::bind(&staged)
        .and_then(|listener| {
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))?;
            std::fs::hard_link(&staged, path)?;
            Ok(listener)
        })
        .map_err(fail);
    let _ = std::fs::remove_dir_all(&staging);
    let listener = bound?;
    listener.set_nonblocking(true).map_err(fail)?;
    UnixListener::from_std(listener).map_err(fail)
}

/// Tells systemd (when it started us with `Type=notify`) about a change of state: `state` is
/// one or more `KEY=value` lines (`READY=1`, `STOPPING=1`, `STATUS=...`). Without
/// `NOTIFY_SOCKET` it does nothing; a notification that cannot be sent is logged, not fatal.
pub fn notify(state: &str) {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send_notification(&target, state) {
        tracing::warn!(%e, socket = ?target, "cannot notify systemd");
    }
}

fn send_notification(target: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let socket = std::os::unix::net::UnixDatagram::unbound()?;
    let bytes = target.as_bytes();
    // `@name` is a socket in Linux's abstract namespace.
    if let Some(name) = bytes.strip_prefix(b"@") {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt as _;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &address)?;
            return Ok(());
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            return Err(std::io::Error::other("abstract sockets need Linux"));
        }
    }
    socket.send_to(state.as_bytes(), Path::new(target))?;
    Ok(())
}
