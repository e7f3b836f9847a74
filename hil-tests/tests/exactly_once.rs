//! (d) SIS client messages with delivery confirmation cross two agents exactly once while both
//! are killed (SIGKILL) again and again: 200 messages from a client of node 1 to a client of
//! node 2 over the link emulator at 9600 bit/s and 10 % loss, each agent killed 10 times at
//! seeded random moments and restarted. Every message reaches the receiving client once, its
//! sender hears one confirmation for it, and neither agent keeps anything queued or held.
//!
//! The sending client behaves as a 5066 client must when its connection drops: requests it
//! wrote but had no answer for are "in doubt". It waits for the ones the agent stored (their
//! confirmations reach it when it binds its SAP again, or later), and once the agent holds
//! nothing unconfirmed it sends again those it never heard of: the agent was killed before it
//! stored them, or it told the outcome just before it died. The receiving agent recognises a
//! message it delivered before (docs/sis.md), so neither case delivers anything twice.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use skywave_hil_tests::{
    Agent, Emulator, SerialLink, agents_built, eventually, test_dir, write_node,
};
use skywave_protocol::policy::sample::Coalition;
use skywave_protocol::sis::{
    HEADER_LEN, Primitive, ServiceType, SisAddress, UnidataRequest, confirm, frame_len,
};
use skywave_protocol::wire::Address;

const MESSAGES: usize = 200;
const KILLS_EACH: usize = 10;
const SAP: u8 = 7;
/// Requests a client has unanswered on one connection.
const WINDOW: usize = 8;
const MODEM: &str =
    "{ bit_rate = 9600, preamble_ms = 50, interleaver_ms = 50, turnaround_ms = 50 }";

/// Message `i`'s U_PDU: its number first, so the 16 bytes a confirmation echoes tell it.
fn payload(i: usize) -> Vec<u8> {
    format!("m{i:03} exactly once over HF").into_bytes()
}

fn index(updu: &[u8]) -> Option<usize> {
    std::str::from_utf8(updu.get(1..4)?).ok()?.parse().ok()
}

/// A SIS client connection bound to [`SAP`].
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(port: u16) -> Option<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .ok()?;
        let mut c = Client {
            stream,
            buf: Vec::new(),
        };
        c.send(&Primitive::BindRequest {
            sap: SAP,
            rank: 0,
            service: ServiceType::arq(confirm::CLIENT, false),
        })
        .ok()?;
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            match c.next() {
                Ok(Some(f)) if f.first() == Some(&skywave_protocol::sis::kind::BIND_ACCEPTED) => {
                    return Some(c);
                }
                Ok(Some(f)) if f.first() == Some(&skywave_protocol::sis::kind::BIND_REJECTED) => {
                    // The killed connection's bind is not gone yet: try again.
                    return None;
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// The connection in `client`, made again (after a pause) if there is none.
    fn reconnect(client: &mut Option<Client>, port: u16) -> Option<&mut Client> {
        if client.is_none() {
            *client = Client::connect(port);
            if client.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        client.as_mut()
    }

    fn send(&mut self, p: &Primitive<'_>) -> std::io::Result<()> {
        let mut frame = vec![0; p.frame_len()];
        let n = p.emit(&mut frame).expect("a valid primitive");
        self.stream.write_all(&frame[..n])
    }

    /// The next primitive's body, `None` after a quiet moment; an error once the agent is gone.
    fn next(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(len) = frame_len(&self.buf).map_err(|_| ErrorKind::InvalidData)?
                && self.buf.len() >= len
            {
                let body = self.buf[HEADER_LEN..len].to_vec();
                self.buf.drain(..len);
                return Ok(Some(body));
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What the sending client saw.
#[derive(Default)]
struct Sender {
    next: usize,
    /// Sent on the current connection, unanswered.
    outstanding: Vec<usize>,
    /// Sent on a connection that dropped, unanswered.
    in_doubt: Vec<usize>,
    /// Requests to send again (the test moves in-doubt ones here).
    again: Vec<usize>,
    confirmed: BTreeMap<usize, u32>,
    rejected: Vec<(usize, u8)>,
    requests: usize,
}

impl Sender {
    fn answered(&mut self, i: usize) {
        self.outstanding.retain(|&o| o != i);
        self.in_doubt.retain(|&o| o != i);
    }
}

fn run_sender(port: u16, state: &Mutex<Sender>, stop: &AtomicBool) {
    let mut client: Option<Client> = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(c) = Client::reconnect(&mut client, port) else {
            continue;
        };
        let mut lost = false;
        {
            let mut s = state.lock().unwrap();
            while s.outstanding.len() < WINDOW {
                let i = match s.again.pop() {
                    Some(i) => i,
                    None if s.next < MESSAGES => {
                        s.next += 1;
                        s.next - 1
                    }
                    None => break,
                };
                let data = payload(i);
                let request = UnidataRequest {
                    priority: 5,
                    dest_sap: SAP,
                    dest: SisAddress::node(Address::new(2).unwrap()),
                    service: ServiceType::default(),
                    ttl: 0,
                    updu: &data,
                };
                s.outstanding.push(i);
                s.requests += 1;
                if c.send(&Primitive::UnidataRequest {
                    expedited: false,
                    request,
                })
                .is_err()
                {
                    lost = true;
                    break;
                }
            }
        }
        while !lost {
            match c.next() {
                Ok(None) => break,
                Ok(Some(body)) => {
                    let Ok(p) = Primitive::parse(&body) else {
                        continue;
                    };
                    let mut s = state.lock().unwrap();
                    match p {
                        Primitive::UnidataConfirm { report, .. } => {
                            if let Some(i) = index(report.updu) {
                                *s.confirmed.entry(i).or_default() += 1;
                                s.answered(i);
                            }
                        }
                        Primitive::UnidataRejected { report, .. } => {
                            if let Some(i) = index(report.updu) {
                                s.rejected.push((i, report.reason));
                                s.answered(i);
                            }
                        }
                        _ => {}
                    }
                }
                Err(_) => lost = true,
            }
        }
        if lost {
            let mut s = state.lock().unwrap();
            let dropped = std::mem::take(&mut s.outstanding);
            s.in_doubt.extend(dropped);
            client = None;
        }
    }
}

fn run_receiver(port: u16, got: &Mutex<BTreeMap<usize, u32>>, stop: &AtomicBool) {
    let mut client: Option<Client> = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(c) = Client::reconnect(&mut client, port) else {
            continue;
        };
        match c.next() {
            Ok(Some(body)) => {
                if let Ok(Primitive::UnidataIndication { indication, .. }) = Primitive::parse(&body)
                    && let Some(i) = index(indication.updu)
                {
                    *got.lock().unwrap().entry(i).or_default() += 1;
                }
            }
            Ok(None) => {}
            Err(_) => client = None,
        }
    }
}

/// A small seeded generator (xorshift64*): the kill schedule is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn sis_node(dir: &Path, name: &str, address: u32, device: &Path, peer: u32, port: u16) -> Agent {
    let c = Coalition::new();
    let link = SerialLink {
        device,
        neighbours: &[peer],
        modem: MODEM,
    };
    let config = write_node(dir, name, address, &[link], &c);
    let mut text = std::fs::read_to_string(&config).expect("config");
    text += &format!("\n[sis]\nlisten = \"127.0.0.1:{port}\"\nconfirm_wait_s = 3\n");
    std::fs::write(&config, text).expect("config");
    Agent::start(config)
}

/// The SIS counters of `agent`'s status: unconfirmed, untold, held, pending.
fn sis_counts(agent: &Agent) -> [u64; 4] {
    let status = agent.status();
    let sis = &status["sis"];
    ["unconfirmed", "untold", "held", "pending"].map(|k| sis[k].as_u64().unwrap_or(u64::MAX))
}

#[test]
fn sis_messages_cross_exactly_once_while_both_agents_are_killed() {
    if !agents_built() {
        return;
    }
    let started = Instant::now();
    let dir = test_dir("exactly-once");
    let emu = Emulator::start_at(
        9600,
        50,
        50,
        50,
        &["--channel", "bernoulli:0.1", "--seed", "16"],
    );
    let base = 20_000 + (std::process::id() % 20_000) as u16;
    let (port_a, port_b) = (base, base + 1);
    let mut agents = [
        sis_node(&dir, "a", 1, &emu.a, 2, port_a),
        sis_node(&dir, "b", 2, &emu.b, 1, port_b),
    ];

    let sender = Arc::new(Mutex::new(Sender::default()));
    let got = Arc::new(Mutex::new(BTreeMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let threads = [
        {
            let (state, stop) = (sender.clone(), stop.clone());
            std::thread::spawn(move || run_sender(port_a, &state, &stop))
        },
        {
            let (got, stop) = (got.clone(), stop.clone());
            std::thread::spawn(move || run_receiver(port_b, &got, &stop))
        },
    ];

    // Ten kills each, in a seeded order, at seeded moments while the messages cross.
    let mut rng = Rng(0x5EED_0016);
    let mut order: Vec<usize> = (0..2 * KILLS_EACH).map(|k| k % 2).collect();
    for k in (1..order.len()).rev() {
        let j = rng.below(k as u64 + 1) as usize;
        order.swap(k, j);
    }
    // 0.8 to 3.8 s apart: the kills spread over the transfer, and hit every stage of it.
    let mut at_kill = Vec::new();
    for &victim in &order {
        std::thread::sleep(Duration::from_millis(800 + rng.below(3000)));
        at_kill.push(got.lock().unwrap().len());
        agents[victim].kill();
        agents[victim].restart();
    }
    eprintln!("delivered at each kill: {at_kill:?}");
    let at_last_kill = got.lock().unwrap().len();
    eprintln!("{at_last_kill} of {MESSAGES} messages delivered by the last kill");

    // Once the sender's agent holds nothing unconfirmed, what the client still has in doubt
    // never reached its store (or its answer died with the agent): the client sends it again.
    let quiet = |agents: &[Agent; 2]| {
        let [a, b] = [sis_counts(&agents[0]), sis_counts(&agents[1])];
        a[0] == 0 && a[1] == 0 && a[3] == 0 && b[2] == 0
    };
    let mut resent = 0;
    eventually(Duration::from_secs(120), "every message confirmed", || {
        let s = sender.lock().unwrap();
        if s.confirmed.len() + s.rejected.len() >= MESSAGES {
            return true;
        }
        if s.next == MESSAGES && s.outstanding.is_empty() && !s.in_doubt.is_empty() {
            drop(s);
            if quiet(&agents) {
                let mut s = sender.lock().unwrap();
                let doubt = std::mem::take(&mut s.in_doubt);
                resent += doubt.len();
                s.again.extend(doubt);
            }
        }
        false
    });
    eventually(Duration::from_secs(30), "both agents quiet", || {
        quiet(&agents)
    });
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("client thread");
    }

    let s = sender.lock().unwrap();
    let got = got.lock().unwrap();
    assert!(s.rejected.is_empty(), "rejected: {:?}", s.rejected);
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(got.len(), MESSAGES, "every message delivered");
    let confirmed_twice: Vec<_> = s.confirmed.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        confirmed_twice.is_empty(),
        "confirmed more than once: {confirmed_twice:?}"
    );
    assert_eq!(s.confirmed.len(), MESSAGES, "every message confirmed");
    for agent in &agents {
        let [unconfirmed, untold, held, pending] = sis_counts(agent);
        assert_eq!(
            [unconfirmed, untold, held, pending],
            [0; 4],
            "nothing left queued"
        );
    }
    eprintln!(
        "{MESSAGES} messages, {} requests ({resent} sent again after being in doubt), \
         {} kills, {:.1} s",
        s.requests,
        2 * KILLS_EACH,
        started.elapsed().as_secs_f64()
    );
}
