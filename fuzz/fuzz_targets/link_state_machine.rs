//! Arbitrary frames, garbage, submissions and time jumps fed to one link that has a peer and
//! data in flight: never a panic, every poll answers, the queue never exceeds its capacity, and
//! what the link transmits always parses as a D_PDU.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skywave_protocol::link::{Config, HostLink, Message, Mode, Modem, SpduHeader};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::{Address, Dpdu, Frame, MAX_DPDU_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(me) = Address::new(1) else { return };
    let Ok(peer) = Address::new(2) else { return };
    let Ok(mut link) = HostLink::new(Config::new(me, Modem::hf_2400_short())).map(Box::new) else {
        return;
    };
    let mut now = Instant::ZERO;
    let mut out = vec![0u8; MAX_DPDU_LEN];
    let payload = [0x5Au8; 700];
    // Each operation: a kind byte, a length byte, then that many bytes of argument.
    let mut rest = data;
    while let [kind, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (arg, next) = tail.split_at(n);
        rest = next;
        match kind % 4 {
            0 => {
                let _ = link.handle_input(now, arg);
            }
            1 => {
                let ms = arg
                    .iter()
                    .fold(0u64, |acc, b| acc.wrapping_mul(256) | u64::from(*b));
                now = now + Duration::from_millis(ms % 10_000_000);
                link.handle_timeout(now);
            }
            2 => {
                let mode = match arg.first().copied().unwrap_or(0) % 4 {
                    0 => Mode::Arq { in_order: true },
                    1 => Mode::ExpeditedArq,
                    2 => Mode::NonArq { repeats: 2 },
                    _ => Mode::ExpeditedNonArq { repeats: 1 },
                };
                let message = Message {
                    dest: if arg.len() % 3 == 0 {
                        Address::BROADCAST
                    } else {
                        peer
                    },
                    header: SpduHeader {
                        priority: arg.get(1).copied().unwrap_or(0) % 16,
                        src_sap: 1,
                        dest_sap: 2,
                    },
                    mode,
                    confirm: arg.len() % 2 == 0,
                    ttd: now + Duration::from_secs(u64::from(*len) * 10),
                    data: payload.get(..arg.len() * 3).unwrap_or(&payload),
                };
                let _ = link.submit(now, &message);
            }
            _ => {
                if let Some(t) = link.poll_timeout() {
                    now = now.max(t);
                    link.handle_timeout(now);
                }
            }
        }
        while let Some(t) = link.poll_transmit(now, &mut out) {
            let frame = Frame::new_checked(&out[..t.len]).expect("own frame has a sound layout");
            Dpdu::parse(&frame).expect("own frame parses");
        }
        while link.poll_event().is_some() {}
        assert!(link.queued() <= 32);
    }
});
