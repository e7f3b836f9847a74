//! Events: reports and received U_PDUs handed to the driver, and the answers to client
//! delivery confirmation requests (the driver's, through [`Link::answer`], or DATA DELIVERY
//! FAIL for a SAP nobody holds).

use super::{
    Answer, Carriage, Channel, ConfirmRequest, Cpdu, Event, Link, Note, Received, Service, Spdu,
    pdu,
};
use crate::wire::Address;

impl<
    const QUEUE: usize,
    const CPDU: usize,
    const RX: usize,
    const SEG: usize,
    const XRX: usize,
    const NARQ: usize,
    const INB: usize,
> Link<QUEUE, CPDU, RX, SEG, XRX, NARQ, INB>
{
    /// The next report or received U_PDU, or `None`. Call after every other method until it
    /// returns `None`; received data borrows the link until the next call. A U_PDU whose
    /// sender asked for confirmation comes with a [`ConfirmRequest`] for [`Link::answer`];
    /// one for a SAP nobody holds is not reported and is answered DATA DELIVERY FAIL here.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        if let Some(note) = self.notes.pop_front() {
            return Some(match note {
                Note::Delivered(id) => Event::Delivered(id),
                Note::Sent(id) => Event::Sent(id),
                Note::Failed(id, f) => Event::Failed(id, f),
                Note::LinkUp(a) => Event::LinkUp(a),
                Note::LinkDown(a) => Event::LinkDown(a),
                Note::Reset(a) => Event::Reset(a),
            });
        }
        // Skip C_PDUs that carry nothing for a client (unknown or unsupported S_PDUs, data
        // for a SAP nobody holds), answering those that ask for confirmation on the way.
        let (src, service, len, confirm) = loop {
            let (src, service, len) = self.next_cpdu()?;
            let cpdu = self.rx_buf.get(..len).unwrap_or(&[]);
            let request = match Cpdu::parse(cpdu) {
                Ok(Cpdu::Data(Spdu::Data(d))) => {
                    let bound = self.bound_saps & (1 << (d.header.dest_sap & 0x0F)) != 0;
                    let mut echo = [0u8; pdu::ECHO_LEN];
                    let n = d.updu.len().min(pdu::ECHO_LEN);
                    if let (Some(dst), Some(src)) = (echo.get_mut(..n), d.updu.get(..n)) {
                        dst.copy_from_slice(src);
                    }
                    let request = ConfirmRequest {
                        to: src,
                        header: d.header,
                        echo,
                        // At most ECHO_LEN (16).
                        echo_len: n as u8,
                    };
                    Some((d.confirm.then_some(request), bound))
                }
                Ok(Cpdu::Data(Spdu::DeliveryConfirm { .. } | Spdu::DeliveryFail { .. })) => None,
                _ => {
                    self.stats.ignored += 1;
                    continue;
                }
            };
            let Some((request, bound)) = request else {
                break (src, service, len, None);
            };
            if bound {
                break (src, service, len, request);
            }
            // Delivered to nobody (Annex A): no client holds that SAP.
            if let Some(request) = request {
                self.answer(request, Answer::Fail(pdu::fail::SAP_NOT_BOUND));
            }
            self.stats.ignored += 1;
        };
        let cpdu = self.rx_buf.get(..len).unwrap_or(&[]);
        match Cpdu::parse(cpdu) {
            Ok(Cpdu::Data(Spdu::Data(d))) => Some(Event::Received(Received {
                src,
                service,
                header: d.header,
                confirm,
                data: d.updu,
            })),
            Ok(Cpdu::Data(Spdu::DeliveryConfirm { header, echo })) => Some(Event::Confirmed {
                from: src,
                header,
                echo,
            }),
            Ok(Cpdu::Data(Spdu::DeliveryFail {
                header,
                reason,
                echo,
            })) => Some(Event::NotDelivered {
                from: src,
                header,
                reason,
                echo,
            }),
            _ => {
                self.stats.ignored += 1;
                None
            }
        }
    }

    /// Answers a received U_PDU's request for client delivery confirmation
    /// ([`Received::confirm`]): DATA DELIVERY CONFIRM, or DATA DELIVERY FAIL with its reason,
    /// queued to the node that asked (ARQ, at the priority of the link's own C_PDUs). Call
    /// once the client has the U_PDU, or once it is known it never will; then poll
    /// transmit. A queue without room drops the answer (counted in [`super::Stats::ignored`])
    /// as a lost frame would: the sender's time-to-live settles it.
    pub fn answer(&mut self, request: ConfirmRequest, answer: Answer) {
        // Annex A: CONFIRM and FAIL carry the DATA S_PDU's SAP byte, unchanged.
        let (header, echo) = (request.header, request.echo());
        let spdu = match answer {
            Answer::Confirm => Spdu::DeliveryConfirm { header, echo },
            Answer::Fail(reason) => Spdu::DeliveryFail {
                header,
                reason: if reason > 0x0F {
                    pdu::fail::REFUSED
                } else {
                    reason
                },
                echo,
            },
        };
        let carriage = Carriage::Arq {
            in_order: false,
            expedited: false,
        };
        self.enqueue_control(request.to, &Cpdu::Data(spdu), carriage);
    }

    /// Moves the next complete received C_PDU into `rx_buf`: non-ARQ first, then expedited,
    /// then normal ARQ.
    fn next_cpdu(&mut self) -> Option<(Address, Service, usize)> {
        if let Some(item) = self.inbox.pop_front() {
            let n = item.len.min(CPDU);
            if let (Some(dst), Some(src)) = (self.rx_buf.get_mut(..n), item.bytes.get(..n)) {
                dst.copy_from_slice(src);
            }
            return Some((item.src, item.service, n));
        }
        let peer = self.peer()?;
        if matches!(self.channel, Channel::Receiving { .. }) {
            // ARQ C_PDUs are handed out between the peer's transmissions, so a DROP anywhere in
            // a transmission takes effect before anything it cancels could be delivered.
            return None;
        }
        for expedited in [true, false] {
            let popped = if expedited {
                self.expedited.rx.pop(&mut self.rx_buf)
            } else {
                self.normal.rx.pop(&mut self.rx_buf)
            };
            match popped {
                Ok(Some(d)) => {
                    let service = if expedited {
                        Service::ExpeditedArq
                    } else {
                        Service::Arq
                    };
                    return Some((peer, service, d.len));
                }
                Ok(None) => {}
                Err(_) => {
                    // A C_PDU larger than this node's buffers: the peer broke the rules.
                    // Discard what is held so the window can move (counted, not delivered).
                    self.stats.ignored += 1;
                    if expedited {
                        let n = self.expedited.rx.next_seq();
                        self.expedited.rx.reset(n);
                    } else {
                        let n = self.normal.rx.next_seq();
                        self.normal.rx.reset(n);
                    }
                }
            }
        }
        None
    }
}
