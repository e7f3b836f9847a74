//! The connection task: one per client, owning its socket. It frames and parses what the client
//! sends, answers what needs no node state, holds indications while the client has flow off,
//! and hands everything else to the core as a [`ToCore`].

use super::{
    Arc, ClientId, Duration, HEADER_LEN, HELD_INDICATIONS, HardLink, MAX_INVALID, Primitive,
    Request, Semaphore, SisServerConfig, SocketAddr, TO_CLIENT_CAPACITY, TcpListener, TcpStream,
    ToClient, ToCore, VecDeque, encode, frame_len, kind, mpsc, unbind,
};
use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;

/// Binds the server's listening socket.
pub async fn bind(config: &SisServerConfig) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("SIS server on {}: {e}", config.listen))
}

/// Accepts clients until the core has gone, one task each, at most `max_connections` at once
/// (more than may bind, so a client can still connect to hear why its bind is refused; a flood
/// of connections costs a closed socket each, not a task).
pub async fn serve(listener: TcpListener, events: mpsc::Sender<ToCore>, max_connections: usize) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut next: ClientId = 1;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(%e, "SIS accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if events.is_closed() {
            return;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max_connections, "SIS connection refused: too many open");
            continue;
        };
        let id = next;
        next += 1;
        let _ = stream.set_nodelay(true);
        let events = events.clone();
        tokio::spawn(async move {
            connection(id, peer, stream, events).await;
            drop(permit);
        });
    }
}

/// Per-connection state the task keeps.
struct Connection {
    id: ClientId,
    events: mpsc::Sender<ToCore>,
    invalid: u32,
    client_flow_on: bool,
    held: VecDeque<Vec<u8>>,
    replies: Vec<Vec<u8>>,
    /// The node is closing the connection (after an S_UNBIND_INDICATION).
    closing: bool,
}

/// What to do after a primitive from the client.
enum After {
    Continue,
    /// Unbind the client for this reason and close.
    Drop(u8),
    /// The core has gone.
    Stop,
}

async fn connection(
    id: ClientId,
    peer: SocketAddr,
    stream: TcpStream,
    events: mpsc::Sender<ToCore>,
) {
    let (tx, mut rx) = mpsc::channel(TO_CLIENT_CAPACITY);
    if events
        .send(ToCore::Connected { id, peer, tx })
        .await
        .is_err()
    {
        return;
    }
    tracing::info!(client = id, %peer, "SIS client connected");
    let (mut rd, mut wr) = stream.into_split();
    let mut conn = Connection {
        id,
        events: events.clone(),
        invalid: 0,
        client_flow_on: true,
        held: VecDeque::new(),
        replies: Vec::new(),
        closing: false,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let why = 'conn: loop {
        tokio::select! {
            read = rd.read(&mut chunk) => {
                let n = match read {
                    Ok(0) => break 'conn "closed by the client".to_owned(),
                    Ok(n) => n,
                    Err(e) => break 'conn format!("read: {e}"),
                };
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                loop {
                    // The size field has 16 bits, so a frame is at most 64 KiB: a well-formed
                    // primitive longer than this node's MTU is read whole and answered (an
                    // over-long S_UNIDATA_REQUEST is rejected "too long" by the hub), and the
                    // connection stays up (Annex A).
                    let len = match frame_len(&buf) {
                        Ok(None) => break,
                        Ok(Some(len)) if buf.len() < len => break,
                        Ok(Some(len)) => len,
                        Err(e) => {
                            // TCP loses nothing: a stream out of step has a broken client.
                            conn.unbind_and_close(&mut wr, unbind::INVALID_PRIMITIVES).await;
                            break 'conn format!("framing: {e}");
                        }
                    };
                    let frame: Vec<u8> = buf.drain(..len).collect();
                    let after = conn.handle(frame.get(HEADER_LEN..).unwrap_or_default()).await;
                    for reply in std::mem::take(&mut conn.replies) {
                        if let Err(e) = wr.write_all(&reply).await {
                            break 'conn format!("write: {e}");
                        }
                    }
                    match after {
                        After::Continue => {}
                        After::Drop(reason) => {
                            conn.unbind_and_close(&mut wr, reason).await;
                            break 'conn "too many invalid primitives".to_owned();
                        }
                        After::Stop => break 'conn "agent stopping".to_owned(),
                    }
                }
            }
            out = rx.recv() => match out {
                Some(ToClient::Frame(f)) => {
                    if let Err(e) = wr.write_all(&f).await {
                        break 'conn format!("write: {e}");
                    }
                }
                Some(ToClient::Indication(f)) if conn.client_flow_on => {
                    if let Err(e) = wr.write_all(&f).await {
                        break 'conn format!("write: {e}");
                    }
                }
                Some(ToClient::Indication(f)) => {
                    if conn.held.len() >= HELD_INDICATIONS {
                        conn.held.pop_front();
                        tracing::warn!(client = id, "indication dropped: the client holds its data flow off");
                    }
                    conn.held.push_back(f);
                }
                None => {
                    let _ = wr.shutdown().await;
                    break 'conn "closed by the node".to_owned();
                }
            },
        }
        if conn.client_flow_on {
            while let Some(f) = conn.held.pop_front() {
                if let Err(e) = wr.write_all(&f).await {
                    break 'conn format!("write: {e}");
                }
            }
        }
    };
    if conn.closing {
        // Read what the client still sends until it closes too (briefly): closing a socket
        // with unread input makes TCP send a reset, which can destroy the S_UNBIND_INDICATION
        // before the client reads it.
        let drain = async { while matches!(rd.read(&mut chunk).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    }
    tracing::info!(client = id, %peer, %why, "SIS client gone");
    let _ = events.send(ToCore::Closed { id }).await;
}

impl Connection {
    /// Takes one primitive body from the client.
    async fn handle(&mut self, body: &[u8]) -> After {
        let primitive = match Primitive::parse(body) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(client = self.id, %e, "invalid SIS primitive");
                return self.invalid();
            }
        };
        let to_core = match primitive {
            Primitive::BindRequest { sap, rank, service } => ToCore::Bind {
                id: self.id,
                sap,
                rank,
                service,
            },
            Primitive::UnbindRequest => ToCore::Unbind { id: self.id },
            Primitive::UnidataRequest { expedited, request } => ToCore::Unidata {
                id: self.id,
                expedited,
                request: Request {
                    priority: request.priority,
                    dest_sap: request.dest_sap,
                    dest: request.dest,
                    service: request.service,
                    ttl: request.ttl,
                    data: request.updu.to_vec(),
                },
            },
            Primitive::KeepAlive => {
                self.reply(&Primitive::KeepAlive);
                return After::Continue;
            }
            Primitive::DataflowOn => {
                self.client_flow_on = true;
                return After::Continue;
            }
            Primitive::DataflowOff => {
                self.client_flow_on = false;
                return After::Continue;
            }
            Primitive::HardLink(h) if h.kind == kind::HARD_LINK_ESTABLISH => {
                // Hard links (Annex A's reserved circuits) are not offered: refused at once,
                // naming the link asked for, so the client can fall back to soft links.
                self.reply(&Primitive::HardLink(HardLink {
                    kind: kind::HARD_LINK_REJECTED,
                    code: 0,
                    params: h.params,
                    remote: h.remote,
                }));
                return After::Continue;
            }
            Primitive::Management {
                indication: false,
                message_type,
                ..
            } => {
                tracing::info!(
                    client = self.id,
                    message_type,
                    "SIS management message ignored"
                );
                return After::Continue;
            }
            other => {
                // A node-to-client primitive, or a hard-link answer to a request this node
                // never made.
                tracing::warn!(
                    client = self.id,
                    kind = other.kind(),
                    "SIS primitive out of place"
                );
                return self.invalid();
            }
        };
        if self.events.send(to_core).await.is_err() {
            return After::Stop;
        }
        After::Continue
    }

    fn invalid(&mut self) -> After {
        self.invalid += 1;
        if self.invalid > MAX_INVALID {
            After::Drop(unbind::INVALID_PRIMITIVES)
        } else {
            After::Continue
        }
    }

    fn reply(&mut self, p: &Primitive<'_>) {
        self.replies.extend(encode(p));
    }

    async fn unbind_and_close(&mut self, wr: &mut tokio::net::tcp::OwnedWriteHalf, reason: u8) {
        if let Some(f) = encode(&Primitive::UnbindIndication { reason }) {
            let _ = wr.write_all(&f).await;
        }
        let _ = wr.shutdown().await;
        self.closing = true;
    }
}
