//! A host-sized link sending to a board-sized one: the sender's ARQ window (64) is much wider
//! than the receiver's slots (5, as in the firmware). Frames beyond the receiver's slots go
//! unacknowledged and are sent again; a lost frame at the lower edge must still find a slot
//! when it is resent, or the window never moves (which it did not, before the receiver took
//! only frames within its slots of the lower edge).

use skywave_protocol::link::{Config, Event, HostLink, Link, Message, Mode, Modem, SpduHeader};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::{Address, MAX_DPDU_LEN};

/// The firmware's link as it was: 4 queued client C_PDUs (7 places with the link's own), 5
/// receive slots of full segments, 2 expedited slots.
type BoardLink = Link<4, 1031, 5, 1023, 2, 1, 1>;

fn modem() -> Modem {
    Modem::hf_2400_short()
}

/// One node on the shared half-duplex channel.
trait Station {
    fn transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, Instant, Instant)>;
    fn input(&mut self, now: Instant, bytes: &[u8]);
    fn timeout(&self) -> Option<Instant>;
    fn tick(&mut self, now: Instant);
    fn received(&mut self) -> usize;
}

macro_rules! station {
    ($t:ty) => {
        impl Station for $t {
            fn transmit(
                &mut self,
                now: Instant,
                buf: &mut [u8],
            ) -> Option<(usize, Instant, Instant)> {
                self.poll_transmit(now, buf)
                    .map(|t| (t.len, t.on_air, t.end))
            }
            fn input(&mut self, now: Instant, bytes: &[u8]) {
                let _ = self.handle_input(now, bytes);
            }
            fn timeout(&self) -> Option<Instant> {
                self.poll_timeout()
            }
            fn tick(&mut self, now: Instant) {
                self.handle_timeout(now);
            }
            fn received(&mut self) -> usize {
                let mut n = 0;
                while let Some(e) = self.poll_event() {
                    n += usize::from(matches!(e, Event::Received(_)));
                }
                n
            }
        }
    };
}
station!(HostLink);
station!(BoardLink);

#[test]
fn a_wide_window_sender_and_a_five_slot_receiver_recover_a_lost_lowest_frame() {
    let host = Address::new(1).unwrap();
    let board = Address::new(42).unwrap();
    let mut sender: Box<HostLink> = Box::new(HostLink::new(Config::new(host, modem())).unwrap());
    let mut config = Config::new(board, modem());
    config.arq_window = 3;
    let mut receiver: Box<BoardLink> = Box::new(BoardLink::new(config).unwrap());

    let ttd = Instant::ZERO + Duration::from_secs(3600);
    let data = vec![0x5A; 200];
    let messages = 20;
    for _ in 0..messages {
        let m = Message {
            dest: board,
            header: SpduHeader {
                priority: 8,
                src_sap: 13,
                dest_sap: 13,
            },
            mode: Mode::Arq { in_order: false },
            confirm: false,
            ttd,
            data: &data,
        };
        sender.submit(Instant::ZERO, &m).unwrap();
    }

    let mut now = Instant::ZERO;
    let mut in_flight: Vec<(Instant, bool, Vec<u8>)> = Vec::new();
    let mut buf = vec![0u8; MAX_DPDU_LEN];
    let mut busy_until = [Instant::ZERO; 2];
    let mut got = 0;
    let mut data_frames = 0;
    while got < messages && now < Instant::ZERO + Duration::from_secs(1800) {
        let stations: [&mut dyn Station; 2] = [&mut *sender, &mut *receiver];
        for (i, s) in stations.into_iter().enumerate() {
            while let Some((len, on_air, end)) = s.transmit(now, &mut buf) {
                busy_until[i] = end;
                let frame = buf[..len].to_vec();
                // The sender's first data frame (sequence 0, the lower edge) is lost once.
                let data = i == 0 && frame[2] >> 4 == 0;
                if data {
                    data_frames += 1;
                    if data_frames == 1 {
                        continue;
                    }
                }
                in_flight.push((modem().arrival(on_air, len), i == 0, frame));
            }
        }
        got += receiver.received();
        let _ = sender.received();
        let next = in_flight
            .iter()
            .map(|f| f.0)
            .chain(sender.timeout())
            .chain(receiver.timeout())
            .min();
        let Some(next) = next else { break };
        now = next.max(now);
        in_flight.sort_by_key(|f| f.0);
        while in_flight.first().is_some_and(|f| f.0 <= now) {
            let (_, to_receiver, bytes) = in_flight.remove(0);
            let (target, listener): (&mut dyn Station, usize) = if to_receiver {
                (&mut *receiver, 1)
            } else {
                (&mut *sender, 0)
            };
            if busy_until[listener] + modem().turnaround <= now {
                target.input(now, &bytes);
            }
        }
        if sender.timeout().is_some_and(|t| t <= now) {
            sender.tick(now);
        }
        if receiver.timeout().is_some_and(|t| t <= now) {
            receiver.tick(now);
        }
    }
    assert_eq!(got, messages, "delivered by {now}");
}
