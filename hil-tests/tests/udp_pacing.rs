//! A paced UDP bearer looks like air (issue 20): the same transfer between two agents takes
//! the same time over UDP paced to the modem's 2400 bit/s as over the serial link emulator at
//! 2400 bit/s, within 10 %. Unpaced, UDP would deliver at loopback speed and hide timing bugs.

use std::path::Path;
use std::time::{Duration, Instant};

use skywave_hil_tests::{
    Agent, Emulator, MODEM, agents_built, eventually, pair, test_dir, write_node,
};
use skywave_protocol::policy::sample::Coalition;

/// Artifacts moved in each run: the first few of the sample coalition (credentials before
/// what they sign), enough for several transmissions. The first one only makes the link (an
/// agent's first frames can go out before its peer's socket is bound, which costs UDP
/// retries that are start-up, not pacing) and is not timed.
const ARTIFACTS: usize = 10;

/// Publishes the artifacts at `agents[0]` and times until `agents[1]` holds them all.
fn transfer(agents: &[Agent; 2], artifacts: &[Vec<u8>], dir: &Path) -> Duration {
    let held_before = agents[1].held().unwrap_or(0);
    let start = Instant::now();
    agents[0].publish_all(artifacts, dir);
    eventually(Duration::from_secs(120), "the transfer completes", || {
        agents[1].held() == Some(held_before + artifacts.len())
    });
    start.elapsed()
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

#[test]
fn paced_udp_takes_as_long_as_the_serial_link_emulator() {
    if !agents_built() {
        return;
    }
    let c = Coalition::new();
    let artifacts: Vec<Vec<u8>> = c.artifacts().into_iter().take(ARTIFACTS).collect();

    let dir = test_dir("pacing-serial");
    let emu = Emulator::start(&[]);
    let serial = {
        let agents = pair(&dir, &c, &emu);
        transfer(&agents, &artifacts[..1], &dir);
        transfer(&agents, &artifacts[1..], &dir)
    };
    drop(emu);

    let dir = test_dir("pacing-udp");
    let ports = [free_udp_port(), free_udp_port()];
    let agents = [(1, 2, ports[0], ports[1]), (2, 1, ports[1], ports[0])].map(
        |(address, neighbour, bind, peer)| {
            let config = write_node(&dir, &format!("n{address}"), address, &[], &c);
            let link = format!(
                "\n[[link]]\nname = \"soft\"\nneighbours = [{neighbour}]\nmodem = {MODEM}\nudp = {{ bind = \"127.0.0.1:{bind}\", peer = \"127.0.0.1:{peer}\", rate_bps = 2400, preamble_ms = 200, latency_ms = 200 }}\n"
            );
            let text = std::fs::read_to_string(&config).expect("config") + &link;
            std::fs::write(&config, text).expect("config");
            Agent::start(config)
        },
    );
    transfer(&agents, &artifacts[..1], &dir);
    let udp = transfer(&agents, &artifacts[1..], &dir);

    let (s, u) = (serial.as_secs_f64(), udp.as_secs_f64());
    let timed = ARTIFACTS - 1;
    eprintln!("{timed} artifacts: serial link emulator {s:.2} s, paced UDP {u:.2} s");
    assert!(
        (u - s).abs() <= 0.1 * s,
        "paced UDP {u:.2} s against the serial link emulator's {s:.2} s"
    );
}
