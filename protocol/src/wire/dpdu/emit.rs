//! [`Dpdu::emit`]: writing a D_PDU, both CRCs included, after checking that every value fits
//! its field.

use super::{Body, Dpdu, Error, Field, MAX_SEGMENT_LEN, Management, SYNC, SelectiveAck};
use crate::codec::{BufferTooSmall, Writer};
use crate::wire::address;
use crate::wire::crc::{data_crc, header_crc};

impl Dpdu<'_> {
    fn check_ranges(&self) -> Result<(), Error> {
        let out_of_range = |ok: bool, field: Field| {
            if ok {
                Ok(())
            } else {
                Err(Error::FieldOutOfRange(field))
            }
        };
        out_of_range(self.eow.eow_type <= 0x0F, Field::EowType)?;
        if let Some(seg) = self.body.segment() {
            out_of_range(seg.len() <= MAX_SEGMENT_LEN, Field::SegmentLen)?;
        }
        match &self.body {
            Body::ExpeditedDataOnly(d) => out_of_range(d.cpdu_id <= 0x0F, Field::ExpeditedCpduId),
            Body::NonArqData(d) | Body::ExpeditedNonArqData(d) => {
                out_of_range(d.cpdu_id <= 0x0FFF, Field::NonArqCpduId)
            }
            Body::Management(m) => out_of_range(
                m.extended_message.len() <= Management::MAX_EXTENDED_LEN,
                Field::ManagementMessage,
            ),
            Body::Warning(w) => {
                out_of_range(w.received_type <= 0x0F && w.reason <= 0x0F, Field::Warning)
            }
            _ => Ok(()),
        }
    }

    /// Writes the D_PDU, both CRCs included, at the start of `buf`; returns the bytes written
    /// ([`Dpdu::buffer_len`]).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.check_ranges()?;
        let total = self.buffer_len();
        let out = buf.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        let m = usize::from(self.address_size());
        let h = self.header_size();
        let mut w = Writer::new(out);
        w.put(&SYNC)?;
        w.put(&[
            (self.body.dpdu_type() as u8) << 4 | self.eow.eow_type,
            self.eow.data,
            self.eot,
            (m as u8) << 5 | h as u8,
        ])?;
        address::encode_pair(self.dest, self.src, w.take(m)?)?;
        self.emit_type_header(&mut w)?;
        let crc = header_crc(w.written().get(2..).ok_or(Error::BufferTooSmall)?);
        w.put(&crc.to_le_bytes())?;
        if let Some(segment) = self.body.segment() {
            w.put(segment)?;
            w.put(&data_crc(segment).to_le_bytes())?;
        }
        Ok(w.len())
    }

    fn emit_type_header(&self, w: &mut Writer<'_>) -> Result<(), BufferTooSmall> {
        let size_hi = |seg: &[u8]| ((seg.len() >> 8) & 0x03) as u8;
        let size_lo = |seg: &[u8]| (seg.len() & 0xFF) as u8;
        let ack = |w: &mut Writer<'_>, ack: &SelectiveAck| {
            w.put(&[ack.rx_lwe])?;
            w.put(ack.bitmap())
        };
        match &self.body {
            Body::DataOnly(d) => w.put(&[
                d.flags.to_bits() | size_hi(d.segment),
                size_lo(d.segment),
                d.tx_seq,
            ]),
            Body::DataAck(d, a) => {
                w.put(&[
                    d.flags.to_bits() | size_hi(d.segment),
                    size_lo(d.segment),
                    d.tx_seq,
                ])?;
                ack(w, a)
            }
            Body::AckOnly(a) | Body::ExpeditedAckOnly(a) => ack(w, a),
            Body::ResetWinResync(r) => w.put(&[
                u8::from(r.full_reset) << 3
                    | u8::from(r.tx_win_request) << 2
                    | u8::from(r.rx_win_command) << 1
                    | u8::from(r.reset_ack),
                r.new_rx_lwe,
                r.reset_frame_id,
            ]),
            Body::ExpeditedDataOnly(d) => w.put(&[
                u8::from(d.cpdu_start) << 7
                    | u8::from(d.cpdu_end) << 6
                    | d.cpdu_id << 2
                    | size_hi(d.segment),
                size_lo(d.segment),
                d.tx_seq,
            ]),
            Body::Management(m) => {
                w.put(&[
                    u8::from(m.extended) << 2 | u8::from(m.valid) << 1 | u8::from(m.ack),
                    m.frame_id,
                ])?;
                w.put(m.extended_message)
            }
            Body::NonArqData(d) | Body::ExpeditedNonArqData(d) => {
                w.put(&[
                    ((d.cpdu_id >> 8) as u8) << 4
                        | u8::from(d.deliver_in_order) << 3
                        | u8::from(d.group) << 2
                        | size_hi(d.segment),
                    size_lo(d.segment),
                    (d.cpdu_id & 0xFF) as u8,
                ])?;
                w.put(&d.cpdu_size.to_be_bytes())?;
                w.put(&d.segment_offset.to_be_bytes())?;
                w.put(&d.reception_window.to_be_bytes())
            }
            Body::Warning(x) => w.put(&[x.received_type << 4 | x.reason]),
        }
    }
}
