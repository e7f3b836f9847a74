//! The two CRCs of STANAG 5066 Annex C (code examples C-1 and C-2).
//!
//! Both are reflected CRCs with zero init and zero final XOR, sent low byte first. They are given
//! here as plain `crc` crate parameter sets so anyone can check them against the catalogue
//! format (`width`, `poly` in normal form, `check` over the ASCII bytes `123456789`).

/// The header CRC-16: polynomial x^16+x^15+x^12+x^11+x^8+x^6+x^3+1 (0x9949).
pub const CRC_16_STANAG_5066: crc::Algorithm<u16> = crc::Algorithm {
    width: 16,
    poly: 0x9949,
    init: 0,
    refin: true,
    refout: true,
    xorout: 0,
    check: 0x7D01,
    residue: 0,
};

/// The data CRC-32: polynomial 0x0AA725CF.
pub const CRC_32_STANAG_5066: crc::Algorithm<u32> = crc::Algorithm {
    width: 32,
    poly: 0x0AA7_25CF,
    init: 0,
    refin: true,
    refout: true,
    xorout: 0,
    check: 0x6738_A384,
    residue: 0,
};

/// How the CRCs are computed: through a 256-entry table per CRC on hosts, bit by bit with the
/// `small-flash` feature (a board's: the tables are 1,536 bytes of flash, and a board's
/// 2400 bit/s link leaves its CPU idle anyway). The same values either way (`tests` below).
#[cfg(not(feature = "small-flash"))]
type Lookup = crc::Table<1>;
#[cfg(feature = "small-flash")]
type Lookup = crc::NoTable;

const HEADER_CRC: crc::Crc<u16, Lookup> = crc::Crc::<u16, Lookup>::new(&CRC_16_STANAG_5066);
const DATA_CRC: crc::Crc<u32, Lookup> = crc::Crc::<u32, Lookup>::new(&CRC_32_STANAG_5066);

/// The header CRC-16 of `bytes` (a D_PDU's bytes after the sync word, up to the CRC itself).
pub fn header_crc(bytes: &[u8]) -> u16 {
    HEADER_CRC.checksum(bytes)
}

/// The data CRC-32 of `bytes` (a D_PDU's data segment).
pub fn data_crc(bytes: &[u8]) -> u32 {
    DATA_CRC.checksum(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A board (`small-flash`) computes the CRCs bit by bit and a host through tables:
        /// both must give every frame the same CRCs, or they could not hear each other.
        #[test]
        fn bitwise_and_table_crcs_agree(bytes in proptest::collection::vec(any::<u8>(), 0..1100)) {
            let bitwise = (
                crc::Crc::<u16, crc::NoTable>::new(&CRC_16_STANAG_5066).checksum(&bytes),
                crc::Crc::<u32, crc::NoTable>::new(&CRC_32_STANAG_5066).checksum(&bytes),
            );
            let table = (
                crc::Crc::<u16, crc::Table<1>>::new(&CRC_16_STANAG_5066).checksum(&bytes),
                crc::Crc::<u32, crc::Table<1>>::new(&CRC_32_STANAG_5066).checksum(&bytes),
            );
            prop_assert_eq!(bitwise, table);
            prop_assert_eq!((header_crc(&bytes), data_crc(&bytes)), table);
        }
    }

    #[test]
    fn catalogue_check_values() {
        assert_eq!(header_crc(b"123456789"), 0x7D01);
        assert_eq!(data_crc(b"123456789"), 0x6738_A384);
    }

    #[test]
    fn standard_vector_warning_dpdu_header_crc() {
        // The WARNING D_PDU 90 EB F0 00 00 47 05 64 02 5F 1E: the CRC covers F0 .. 02.
        assert_eq!(
            header_crc(&[0xF0, 0x00, 0x00, 0x47, 0x05, 0x64, 0x02]),
            0x1E5F
        );
    }

    #[test]
    fn standard_vector_crc32() {
        let crc = data_crc(&[0xF0, 0x00, 0x00, 0x47, 0x05, 0x64, 0x02]);
        assert_eq!(crc, 0xF417_8F95);
        assert_eq!(crc.to_le_bytes(), [0x95, 0x8F, 0x17, 0xF4]);
    }

    #[test]
    fn appending_the_crc_low_byte_first_leaves_the_residue() {
        let mut bytes = *b"skywave";
        let mut with_crc = [0u8; 9];
        with_crc[..7].copy_from_slice(&bytes);
        with_crc[7..].copy_from_slice(&header_crc(&bytes).to_le_bytes());
        assert_eq!(header_crc(&with_crc), CRC_16_STANAG_5066.residue);
        bytes[0] ^= 1;
        assert_ne!(header_crc(&bytes), header_crc(b"skywave"));
    }
}
