//! TFRecord framing and the CRC32C checksum it uses.
//!
//! A TFRecord file is a plain sequence of records, each
//! `u64 LE length | u32 LE masked CRC32C(length bytes) | data | u32 LE masked CRC32C(data)`.
//! Nothing else (no header, no footer), so a reader only needs this module.

use std::io::{self, Read, Write};

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) lookup table, built at
/// compile time so the checksum needs no dependency.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC32C of `data` (the checksum TFRecord uses; `crc32c(b"123456789") == 0xE3069283`).
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = CRC32C_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// TFRecord's masked CRC32C: rotating and offsetting keeps a CRC of data that
/// itself contains CRCs from being trivially zero.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// Why reading one record failed. Positions are filled in by the caller, which
/// knows the file name and record number.
#[derive(Debug)]
pub(crate) enum FrameError {
    Io(io::Error),
    /// The file ended inside a record: `needed` bytes were expected at `offset`.
    Truncated {
        offset: u64,
        needed: u64,
    },
    /// A checksum did not match (`what` is "length" or "data").
    Crc {
        what: &'static str,
        offset: u64,
        stored: u32,
        computed: u32,
    },
}

/// Streams records out of any reader, reusing one buffer.
pub(crate) struct RecordReader<R> {
    inner: R,
    offset: u64,
    buf: Vec<u8>,
}

impl<R: Read> RecordReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            buf: Vec::new(),
        }
    }

    /// Fill `out` completely; returns how many bytes were read before EOF.
    fn read_full(&mut self, out: &mut [u8]) -> Result<usize, FrameError> {
        let mut got = 0;
        while got < out.len() {
            match self.inner.read(&mut out[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FrameError::Io(e)),
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    fn read_exact_or_truncated(&mut self, out: &mut [u8]) -> Result<(), FrameError> {
        let start = self.offset;
        let got = self.read_full(out)?;
        if got < out.len() {
            return Err(FrameError::Truncated {
                offset: start,
                needed: (out.len() - got) as u64,
            });
        }
        Ok(())
    }

    /// The next record's data, or `None` at a clean end of file.
    pub(crate) fn next_record(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let mut header = [0u8; 12];
        let start = self.offset;
        let got = self.read_full(&mut header)?;
        if got == 0 {
            return Ok(None);
        }
        if got < header.len() {
            return Err(FrameError::Truncated {
                offset: start + got as u64,
                needed: (header.len() - got) as u64,
            });
        }
        let len_bytes: [u8; 8] = header[..8].try_into().expect("8 bytes");
        let stored = u32::from_le_bytes(header[8..].try_into().expect("4 bytes"));
        let computed = masked_crc32c(&len_bytes);
        if stored != computed {
            // A bad length CRC means the length itself cannot be trusted, so
            // stop before allocating whatever it claims.
            return Err(FrameError::Crc {
                what: "length",
                offset: start,
                stored,
                computed,
            });
        }
        let len = u64::from_le_bytes(len_bytes);
        let data_offset = self.offset;
        // Grow the buffer in bounded steps: a length that passed its CRC can
        // still exceed what the file holds, and truncation should be reported
        // rather than a huge allocation attempted.
        self.buf.clear();
        let mut remaining = len;
        let mut chunk = [0u8; 64 * 1024];
        while remaining > 0 {
            let want = remaining.min(chunk.len() as u64) as usize;
            let got = self.read_full(&mut chunk[..want])?;
            self.buf.extend_from_slice(&chunk[..got]);
            if got < want {
                return Err(FrameError::Truncated {
                    offset: self.offset,
                    needed: remaining - got as u64,
                });
            }
            remaining -= want as u64;
        }
        let mut crc = [0u8; 4];
        self.read_exact_or_truncated(&mut crc)?;
        let stored = u32::from_le_bytes(crc);
        let computed = masked_crc32c(&self.buf);
        if stored != computed {
            return Err(FrameError::Crc {
                what: "data",
                offset: data_offset,
                stored,
                computed,
            });
        }
        Ok(Some(&self.buf))
    }
}

/// Write one framed record.
pub fn write_record<W: Write>(out: &mut W, data: &[u8]) -> io::Result<()> {
    let len = (data.len() as u64).to_le_bytes();
    out.write_all(&len)?;
    out.write_all(&masked_crc32c(&len).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc32c(data).to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_values() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn frames_round_trip() {
        let mut file = Vec::new();
        write_record(&mut file, b"hello").unwrap();
        write_record(&mut file, b"").unwrap();
        write_record(&mut file, &[7u8; 100_000]).unwrap();
        let mut r = RecordReader::new(&file[..]);
        assert_eq!(r.next_record().unwrap().unwrap(), b"hello");
        assert_eq!(r.next_record().unwrap().unwrap(), b"");
        assert_eq!(r.next_record().unwrap().unwrap(), &[7u8; 100_000][..]);
        assert!(r.next_record().unwrap().is_none());
    }
}
