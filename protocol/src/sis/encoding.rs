//! Reading and writing [`Primitive`]s: [`Primitive::parse`] and [`Primitive::emit`], field by
//! field through the shared [`crate::codec`] reader and writer.

use super::{
    Error, HEADER_LEN, HardLink, MAX_TTL, PREAMBLE, Packet, Primitive, ServiceType, SisAddress,
    UnidataIndication, UnidataReport, UnidataRequest, VERSION, kind, tx_mode,
};
use crate::codec::{BufferTooSmall, Reader, Truncated, Writer};

impl From<Truncated> for Error {
    fn from(_: Truncated) -> Self {
        Error::Truncated
    }
}

impl From<BufferTooSmall> for Error {
    fn from(_: BufferTooSmall) -> Self {
        Error::BufferTooSmall
    }
}

/// The next SIS address in `r`.
fn read_address(r: &mut Reader<'_>) -> Result<SisAddress, Error> {
    Ok(SisAddress::from_bytes(r.array()?))
}

/// The whole of `r` read: anything left is [`Error::Trailing`].
fn finish(r: &Reader<'_>) -> Result<(), Error> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(Error::Trailing)
    }
}

/// Two 4-bit values in one byte, checked.
fn nibbles(high: u8, low: u8) -> Result<u8, Error> {
    if high > 15 || low > 15 {
        return Err(Error::FieldOutOfRange);
    }
    Ok(high << 4 | low)
}

/// A U_PDU's length as its 16-bit size field.
fn size_of(updu: &[u8]) -> Result<u16, Error> {
    u16::try_from(updu.len()).map_err(|_| Error::FieldOutOfRange)
}

/// Reads the mode-3 block lists: a count and that many 4-byte pairs, twice.
fn block_lists<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Error> {
    let start = r.rest();
    let mut len = 0usize;
    for _ in 0..2 {
        let count = usize::from(r.u16()?);
        r.take(count * 4)?;
        len += 2 + count * 4;
    }
    start.get(..len).ok_or(Error::Truncated)
}

impl<'a> Primitive<'a> {
    /// The primitive type byte (1..=27).
    pub fn kind(&self) -> u8 {
        let expedited = |e: bool, k: u8| if e { k + kind::EXPEDITED_OFFSET } else { k };
        match self {
            Primitive::BindRequest { .. } => kind::BIND_REQUEST,
            Primitive::UnbindRequest => kind::UNBIND_REQUEST,
            Primitive::BindAccepted { .. } => kind::BIND_ACCEPTED,
            Primitive::BindRejected { .. } => kind::BIND_REJECTED,
            Primitive::UnbindIndication { .. } => kind::UNBIND_INDICATION,
            Primitive::HardLink(h) => h.kind,
            Primitive::SubnetAvailability { .. } => kind::SUBNET_AVAILABILITY,
            Primitive::DataflowOn => kind::DATAFLOW_ON,
            Primitive::DataflowOff => kind::DATAFLOW_OFF,
            Primitive::KeepAlive => kind::KEEP_ALIVE,
            Primitive::Management { indication, .. } => {
                if *indication {
                    kind::MANAGEMENT_INDICATION
                } else {
                    kind::MANAGEMENT_REQUEST
                }
            }
            Primitive::UnidataRequest { expedited: e, .. } => expedited(*e, kind::UNIDATA_REQUEST),
            Primitive::UnidataIndication { expedited: e, .. } => {
                expedited(*e, kind::UNIDATA_INDICATION)
            }
            Primitive::UnidataConfirm { expedited: e, .. } => {
                expedited(*e, kind::UNIDATA_REQUEST_CONFIRM)
            }
            Primitive::UnidataRejected { expedited: e, .. } => {
                expedited(*e, kind::UNIDATA_REQUEST_REJECTED)
            }
        }
    }

    /// Parses a checked frame.
    pub fn parse_packet<T: AsRef<[u8]>>(packet: &'a Packet<T>) -> Result<Self, Error> {
        Self::parse(packet.body())
    }

    /// Parses a primitive body (type byte and fields, without the 5-byte header). Every field
    /// must be there and nothing may follow the last one.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(body);
        let kind = r.u8().map_err(|_| Error::Empty)?;
        let primitive = match kind {
            kind::BIND_REQUEST => {
                let sap_rank = r.u8()?;
                let service = r.u16()?;
                Primitive::BindRequest {
                    sap: sap_rank >> 4,
                    rank: sap_rank & 0xF,
                    service: ServiceType::from_bits(service >> 4),
                }
            }
            kind::UNBIND_REQUEST => Primitive::UnbindRequest,
            kind::BIND_ACCEPTED => Primitive::BindAccepted {
                sap: r.u8()? >> 4,
                mtu: r.u16()?,
            },
            kind::BIND_REJECTED => Primitive::BindRejected { reason: r.u8()? },
            kind::UNBIND_INDICATION => Primitive::UnbindIndication { reason: r.u8()? },
            6..=13 => {
                let code = if HardLink::has_code(kind) { r.u8()? } else { 0 };
                let params = if HardLink::has_params(kind) {
                    r.u8()?
                } else {
                    0
                };
                Primitive::HardLink(HardLink {
                    kind,
                    code,
                    params,
                    remote: read_address(&mut r)?,
                })
            }
            kind::SUBNET_AVAILABILITY => Primitive::SubnetAvailability {
                status: r.u8()?,
                reason: r.u8()?,
            },
            kind::DATAFLOW_ON => Primitive::DataflowOn,
            kind::DATAFLOW_OFF => Primitive::DataflowOff,
            kind::KEEP_ALIVE => Primitive::KeepAlive,
            kind::MANAGEMENT_REQUEST | kind::MANAGEMENT_INDICATION => {
                let message_type = r.u8()?;
                let body = r.take(r.rest().len())?;
                Primitive::Management {
                    indication: kind == kind::MANAGEMENT_INDICATION,
                    message_type,
                    body,
                }
            }
            20 | 24 => {
                let expedited = kind == 24;
                let head = r.u8()?;
                let dest = read_address(&mut r)?;
                let st_ttl = u32::from_be_bytes(r.array()?);
                let size = usize::from(r.u16()?);
                let updu = r.take(size)?;
                Primitive::UnidataRequest {
                    expedited,
                    request: UnidataRequest {
                        priority: if expedited { 0 } else { head >> 4 },
                        dest_sap: head & 0xF,
                        dest,
                        service: ServiceType::from_bits((st_ttl >> 20) as u16),
                        ttl: st_ttl & MAX_TTL,
                        updu,
                    },
                }
            }
            21 | 25 => {
                let expedited = kind == 25;
                let head = r.u8()?;
                let dest = read_address(&mut r)?;
                let mode_sap = r.u8()?;
                let src = read_address(&mut r)?;
                let size = usize::from(r.u16()?);
                let tx_mode = mode_sap >> 4;
                let blocks = if tx_mode == tx_mode::NON_ARQ_WITH_ERRORS {
                    block_lists(&mut r)?
                } else {
                    if r.rest().len() == size + 4 {
                        // Old stacks' 4 zero bytes after the size (see the module docs).
                        r.take(4)?;
                    }
                    &[]
                };
                let updu = r.take(size)?;
                Primitive::UnidataIndication {
                    expedited,
                    indication: UnidataIndication {
                        priority: if expedited { 0 } else { head >> 4 },
                        dest_sap: head & 0xF,
                        dest,
                        tx_mode,
                        src_sap: mode_sap & 0xF,
                        src,
                        blocks,
                        updu,
                    },
                }
            }
            22 | 23 | 26 | 27 => {
                let expedited = kind >= 26;
                let head = r.u8()?;
                let dest = read_address(&mut r)?;
                let size = usize::from(r.u16()?);
                let updu = r.take(size)?;
                let confirm = kind == 22 || kind == 26;
                let report = UnidataReport {
                    reason: if confirm { 0 } else { head >> 4 },
                    sap: head & 0xF,
                    dest,
                    updu,
                };
                if confirm {
                    Primitive::UnidataConfirm { expedited, report }
                } else {
                    Primitive::UnidataRejected { expedited, report }
                }
            }
            other => return Err(Error::UnknownType(other)),
        };
        finish(&r)?;
        Ok(primitive)
    }

    /// The bytes [`Primitive::emit`] writes (header included).
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    fn body_len(&self) -> usize {
        1 + match self {
            Primitive::BindRequest { .. } => 3,
            Primitive::UnbindRequest
            | Primitive::DataflowOn
            | Primitive::DataflowOff
            | Primitive::KeepAlive => 0,
            Primitive::BindAccepted { .. } => 3,
            Primitive::BindRejected { .. } | Primitive::UnbindIndication { .. } => 1,
            Primitive::HardLink(h) => {
                4 + usize::from(HardLink::has_code(h.kind))
                    + usize::from(HardLink::has_params(h.kind))
            }
            Primitive::SubnetAvailability { .. } => 2,
            Primitive::Management { body, .. } => 1 + body.len(),
            Primitive::UnidataRequest { request, .. } => 11 + request.updu.len(),
            Primitive::UnidataIndication { indication, .. } => {
                12 + indication.blocks.len() + indication.updu.len()
            }
            Primitive::UnidataConfirm { report, .. }
            | Primitive::UnidataRejected { report, .. } => 7 + report.updu.len(),
        }
    }

    /// Writes the framed primitive (preamble, version, size, body) into `buf`; returns its
    /// length. Fails if a value does not fit its field or `buf` is too small.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let body_len = self.body_len();
        let size = u16::try_from(body_len).map_err(|_| Error::FieldOutOfRange)?;
        let mut w = Writer::new(buf);
        w.put(&PREAMBLE)?;
        w.u8(VERSION)?;
        w.u16(size)?;
        w.u8(self.kind())?;
        match *self {
            Primitive::BindRequest { sap, rank, service } => {
                w.u8(nibbles(sap, rank)?)?;
                w.u16(service.to_bits()? << 4)?;
            }
            Primitive::UnbindRequest
            | Primitive::DataflowOn
            | Primitive::DataflowOff
            | Primitive::KeepAlive => {}
            Primitive::BindAccepted { sap, mtu } => {
                w.u8(nibbles(sap, 0)?)?;
                w.u16(mtu)?;
            }
            Primitive::BindRejected { reason } | Primitive::UnbindIndication { reason } => {
                w.u8(reason)?;
            }
            Primitive::HardLink(h) => {
                if !(6..=13).contains(&h.kind) {
                    return Err(Error::FieldOutOfRange);
                }
                if HardLink::has_code(h.kind) {
                    w.u8(h.code)?;
                }
                if HardLink::has_params(h.kind) {
                    w.u8(h.params)?;
                }
                w.put(&h.remote.to_bytes())?;
            }
            Primitive::SubnetAvailability { status, reason } => {
                w.u8(status)?;
                w.u8(reason)?;
            }
            Primitive::Management {
                message_type, body, ..
            } => {
                w.u8(message_type)?;
                w.put(body)?;
            }
            Primitive::UnidataRequest { expedited, request } => {
                let priority = if expedited { 0 } else { request.priority };
                w.u8(nibbles(priority, request.dest_sap)?)?;
                w.put(&request.dest.to_bytes())?;
                if request.ttl > MAX_TTL {
                    return Err(Error::FieldOutOfRange);
                }
                let st = u32::from(request.service.to_bits()?);
                w.put(&(st << 20 | request.ttl).to_be_bytes())?;
                w.u16(size_of(request.updu)?)?;
                w.put(request.updu)?;
            }
            Primitive::UnidataIndication {
                expedited,
                indication: i,
            } => {
                let priority = if expedited { 0 } else { i.priority };
                w.u8(nibbles(priority, i.dest_sap)?)?;
                w.put(&i.dest.to_bytes())?;
                w.u8(nibbles(i.tx_mode, i.src_sap)?)?;
                w.put(&i.src.to_bytes())?;
                w.u16(size_of(i.updu)?)?;
                // The block lists belong to mode 3 only; anything else would be read back
                // as part of the U_PDU.
                let mode3 = i.tx_mode == tx_mode::NON_ARQ_WITH_ERRORS;
                if mode3 == i.blocks.is_empty() {
                    return Err(Error::FieldOutOfRange);
                }
                if mode3 {
                    let mut check = Reader::new(i.blocks);
                    block_lists(&mut check).map_err(|_| Error::FieldOutOfRange)?;
                    finish(&check).map_err(|_| Error::FieldOutOfRange)?;
                }
                w.put(i.blocks)?;
                w.put(i.updu)?;
            }
            Primitive::UnidataConfirm { report, .. } => {
                w.u8(nibbles(0, report.sap)?)?;
                w.put(&report.dest.to_bytes())?;
                w.u16(size_of(report.updu)?)?;
                w.put(report.updu)?;
            }
            Primitive::UnidataRejected { report, .. } => {
                w.u8(nibbles(report.reason, report.sap)?)?;
                w.put(&report.dest.to_bytes())?;
                w.u16(size_of(report.updu)?)?;
                w.put(report.updu)?;
            }
        }
        Ok(w.len())
    }
}
