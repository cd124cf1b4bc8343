//! The journal's bytes: a frame is a 4-byte little-endian length, the CRC-32 of the payload
//! (4 bytes, little-endian), then the payload. A crash can leave the last frame short or its
//! bytes half-written; both show (too few bytes, or a checksum that does not match), and
//! reading stops there, so a torn frame is dropped whole, never half-applied.

use std::io::{self, Read};

/// A frame longer than this is not one we wrote: its length field is garbage.
pub(crate) const MAX_FRAME: usize = 256 * 1024 * 1024;

const HEADER: usize = 8;

/// Appends `payload` as one frame to `out`.
pub(crate) fn encode(payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Reads frames one after another, keeping count of the bytes that hold whole frames.
pub(crate) struct FrameReader<R> {
    source: R,
    /// Bytes of whole, intact frames read so far: where a torn tail begins.
    pub(crate) intact: u64,
    /// Set when reading stopped at a torn or corrupt frame rather than at the end.
    pub(crate) torn: bool,
}

impl<R: Read> FrameReader<R> {
    pub(crate) fn new(source: R) -> Self {
        FrameReader {
            source,
            intact: 0,
            torn: false,
        }
    }

    /// The next intact frame's payload; `None` at the end or at a torn frame.
    pub(crate) fn next_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut header = [0u8; HEADER];
        match read_full(&mut self.source, &mut header)? {
            0 => return Ok(None),
            n if n < HEADER => {
                self.torn = true;
                return Ok(None);
            }
            _ => {}
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if len > MAX_FRAME {
            self.torn = true;
            return Ok(None);
        }
        let mut payload = vec![0u8; len];
        if read_full(&mut self.source, &mut payload)? < len || crc32fast::hash(&payload) != crc {
            self.torn = true;
            return Ok(None);
        }
        self.intact += (HEADER + len) as u64;
        Ok(Some(payload))
    }
}

/// Reads until `buf` is full or the source ends; how many bytes were read.
fn read_full(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8]) -> (Vec<Vec<u8>>, u64, bool) {
        let mut reader = FrameReader::new(bytes);
        let mut out = Vec::new();
        while let Some(frame) = reader.next_frame().expect("reading memory cannot fail") {
            out.push(frame);
        }
        (out, reader.intact, reader.torn)
    }

    #[test]
    fn whole_frames_read_back_in_order() {
        let mut bytes = Vec::new();
        encode(b"first", &mut bytes);
        encode(b"", &mut bytes);
        encode(b"third", &mut bytes);
        let (read, intact, torn) = frames(&bytes);
        assert_eq!(read, [&b"first"[..], b"", b"third"]);
        assert_eq!(intact, bytes.len() as u64);
        assert!(!torn);
    }

    #[test]
    fn a_torn_last_frame_is_dropped_at_every_cut() {
        let mut bytes = Vec::new();
        encode(b"kept", &mut bytes);
        let kept = bytes.len();
        encode(b"{\"torn\":true}", &mut bytes);
        // Every cut inside the last frame (header or payload) drops it whole.
        for cut in kept + 1..bytes.len() {
            let (read, intact, torn) = frames(&bytes[..cut]);
            assert_eq!(read, [&b"kept"[..]], "cut at {cut}");
            assert_eq!(intact, kept as u64, "cut at {cut}");
            assert!(torn, "cut at {cut}");
        }
    }

    #[test]
    fn a_frame_with_a_flipped_byte_is_dropped() {
        let mut bytes = Vec::new();
        encode(b"kept", &mut bytes);
        let kept = bytes.len();
        encode(b"changed later", &mut bytes);
        let last = bytes.len() - 1;
        bytes[last] ^= 0x20;
        let (read, intact, torn) = frames(&bytes);
        assert_eq!(read, [&b"kept"[..]]);
        assert_eq!(intact, kept as u64);
        assert!(torn);
    }
}
