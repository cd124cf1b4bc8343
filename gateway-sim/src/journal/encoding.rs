//! A frame's payload: its records in MessagePack, with field names (a map per record, as
//! the JSON it replaced), so records keep serde's tags and skipped fields, and a field
//! added later reads back from an older file as its default.
//!
//! Why not JSON, which a person could read: measured with callgrind on
//! `POST /v1/payments`, writing a frame as JSON cost 28k instructions per request (more than
//! half of what the whole request costs in memory), most of it escaping and formatting
//! text; MessagePack writes lengths and bytes. Journals and snapshots written as JSON
//! (before this format) still read: a JSON payload begins with `[`, a MessagePack array
//! never does.

use crate::engine::Record;

/// The payload of a frame holding `records`.
pub(crate) fn encode(records: &[Record]) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    // A change's frame is about a kilobyte: one allocation instead of a growing vector
    // (reallocation was a sixth of the encoding's cost).
    let mut payload = Vec::with_capacity(TYPICAL_FRAME);
    rmp_serde::encode::write_named(&mut payload, records)?;
    Ok(payload)
}

/// Bytes reserved for a frame's payload: a created payment's frame fits.
const TYPICAL_FRAME: usize = 2048;

/// The records of a frame's payload, in either format this program has written.
pub(crate) fn decode(payload: &[u8]) -> anyhow::Result<Vec<Record>> {
    Ok(if payload.first() == Some(&b'[') {
        serde_json::from_slice(payload)?
    } else {
        rmp_serde::from_slice(payload)?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StoredBody;
    use crate::engine::ids::MerchantId;

    fn records(body: StoredBody) -> Vec<Record> {
        vec![
            Record::Clock {
                advanced_ms: 86_400_000,
            },
            Record::Key {
                merchant: MerchantId(3),
                key: "order-1".into(),
                fingerprint: u64::MAX,
                created_ms: 1_796_174_801_458,
                status: 200,
                body,
            },
            Record::Reset,
        ]
    }

    #[test]
    fn a_frame_reads_back_as_written() {
        let written = records(StoredBody::of(b"\x01packed\x00{\"id\":1}"));
        let read = decode(&encode(&written).expect("encodes")).expect("decodes");
        assert_eq!(format!("{read:?}"), format!("{written:?}"));
    }

    #[test]
    fn a_stored_answer_is_written_as_bytes_not_base64() {
        let answer = b"\x01packed\x00{\"id\":1}";
        let payload = encode(&records(StoredBody::of(answer))).expect("encodes");
        assert!(
            payload.windows(answer.len()).any(|w| w == answer),
            "the raw bytes"
        );
        let Record::Key { body, .. } = decode(&payload).expect("decodes").swap_remove(1) else {
            panic!("the key record");
        };
        assert_eq!(body.into_bytes().as_deref(), Some(&answer[..]));
    }

    #[test]
    fn a_base64_frame_from_an_older_journal_still_reads() {
        let old = records(StoredBody::Encoded {
            base64: "AXBhY2tlZAA=".into(),
        });
        let Record::Key { body, .. } = decode(&encode(&old).expect("encodes"))
            .expect("decodes")
            .swap_remove(1)
        else {
            panic!("the key record");
        };
        assert_eq!(body.into_bytes().as_deref(), Some(&b"\x01packed\x00"[..]));
    }

    #[test]
    fn a_json_frame_from_an_older_journal_still_reads() {
        let old = records(StoredBody::Text("{\"id\":1}".into()));
        let json = serde_json::to_vec(&old).expect("encodes");
        let read = decode(&json).expect("decodes");
        assert_eq!(format!("{read:?}"), format!("{old:?}"));
    }
}
