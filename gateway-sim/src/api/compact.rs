//! Compaction of the answers stored under idempotency keys.
//!
//! Every stored answer must be replayed byte for byte, so it is kept; but most
//! of each answer is the same JSON keys and fixed values over and over (a
//! Stripe PaymentIntent is 1.3 KB, of which 1 KB never changes). Those runs are
//! replaced by one-byte codes taken from the control characters, which JSON
//! text never holds raw. A million stored answers then take a third of the
//! memory, and expanding one for a replay is a single pass.
//!
//! The format: a first byte `RAW` (the body as is, for anything that holds a
//! control byte already) or `PACKED` (codes and literal bytes).

use std::sync::OnceLock;

use bytes::Bytes;

const RAW: u8 = 0;
const PACKED: u8 = 1;

/// The runs replaced, at most 32 (codes 0x00..=0x1F). Order does not matter:
/// the longest run that matches wins. Changing this table only changes how
/// answers stored from now on are kept; it must stay the same within a run.
const FRAGMENTS: [&str; 32] = [
    // Native payments
    r#"{"id":"pay_"#,
    r#"","object":"payment","status":""#,
    r#"succeeded","amount":"#,
    r#"requires_capture","amount":"#,
    r#","amount_capturable":"#,
    r#","amount_captured":"#,
    r#","amount_refunded":"#,
    r#","currency":""#,
    r#"","reference":""#,
    r#"","created":"#,
    r#","payment_method":"pm_card_"#,
    r#","decline_code":null,"metadata":{},"refunds":[]}"#,
    r#","decline_code":null,"metadata":"#,
    // Native refunds
    r#"{"id":"re_"#,
    r#"","object":"refund","amount":"#,
    r#","payment_id":"pay_"#,
    r#"","status":"succeeded","created":"#,
    // Declines
    r#"{"error":{"type":"card_error","code":"card_declined","message":"Your card "#,
    r#"","param":null,"decline_code":""#,
    // Stripe PaymentIntents (keys in the sorted order they are rendered in)
    r#"{"amount":"#,
    r#","amount_details":{"tip":{}},"amount_received":"#,
    r#","application":null,"application_fee_amount":null,"automatic_payment_methods":null,"canceled_at":null,"cancellation_reason":null,"capture_method":""#,
    r#"automatic","client_secret":"pi_"#,
    r#"manual","client_secret":"pi_"#,
    r#"_secret_"#,
    r#"","confirmation_method":"automatic","created":"#,
    r#","customer":null,"description":null,"id":"pi_"#,
    r#"","last_payment_error":null,"latest_charge":"ch_"#,
    r#"","livemode":false,"metadata":{},"next_action":null,"object":"payment_intent","on_behalf_of":null,"payment_method":"pm_card_"#,
    r#"","payment_method_configuration_details":null,"payment_method_options":{"card":{"request_three_d_secure":"automatic"}},"payment_method_types":["card"],"processing":null,"receipt_email":null,"review":null,"setup_future_usage":null,"shipping":null,"source":null,"statement_descriptor":null,"statement_descriptor_suffix":null,"status":""#,
    r#"","transfer_data":null,"transfer_group":null}"#,
    r#"","object":"charge","#,
];

/// Every fragment is at least this long, so its first 8 bytes, read as one word, reject
/// almost every place it does not start at without a byte-by-byte compare.
const HEAD: usize = 8;

struct Index {
    /// For each first byte, the fragments starting with it, longest first.
    by_first_byte: [Vec<u8>; 256],
    /// Each fragment's first [`HEAD`] bytes as a word.
    heads: [u64; 32],
}

fn head(bytes: &[u8]) -> u64 {
    let mut word = [0u8; HEAD];
    word.copy_from_slice(&bytes[..HEAD]);
    u64::from_le_bytes(word)
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut by_first_byte: [Vec<u8>; 256] = std::array::from_fn(|_| Vec::new());
        for (code, fragment) in FRAGMENTS.iter().enumerate() {
            by_first_byte[usize::from(fragment.as_bytes()[0])].push(code as u8);
        }
        for codes in &mut by_first_byte {
            codes.sort_by_key(|c| std::cmp::Reverse(FRAGMENTS[usize::from(*c)].len()));
        }
        Index {
            by_first_byte,
            heads: std::array::from_fn(|code| head(FRAGMENTS[code].as_bytes())),
        }
    })
}

/// Compacts an answer for storage; [`unpack`] gives the same bytes back.
pub fn pack(body: &[u8]) -> Box<[u8]> {
    if body.iter().any(|b| *b < 0x20) {
        let mut raw = Vec::with_capacity(body.len() + 1);
        raw.push(RAW);
        raw.extend_from_slice(body);
        return raw.into_boxed_slice();
    }
    let index = index();
    let mut out = Vec::with_capacity(body.len() / 2 + 1);
    out.push(PACKED);
    let mut i = 0;
    // Bytes no fragment starts at are copied in runs, not one by one.
    let mut literal_from = 0;
    while i + HEAD <= body.len() {
        let rest = &body[i..];
        let codes = &index.by_first_byte[usize::from(rest[0])];
        if codes.is_empty() {
            i += 1;
            continue;
        }
        let word = head(rest);
        let matched = codes.iter().find(|code| {
            let code = usize::from(**code);
            index.heads[code] == word && rest.starts_with(FRAGMENTS[code].as_bytes())
        });
        match matched {
            Some(code) => {
                out.extend_from_slice(&body[literal_from..i]);
                out.push(*code);
                i += FRAGMENTS[usize::from(*code)].len();
                literal_from = i;
            }
            None => i += 1,
        }
    }
    out.extend_from_slice(&body[literal_from..]);
    out.into_boxed_slice()
}

/// Expands what [`pack`] stored.
pub fn unpack(stored: &[u8]) -> Bytes {
    match stored.split_first() {
        Some((&PACKED, packed)) => {
            let mut out = Vec::with_capacity(packed.len() * 3);
            for b in packed {
                match FRAGMENTS.get(usize::from(*b)) {
                    Some(fragment) if *b < 0x20 => out.extend_from_slice(fragment.as_bytes()),
                    _ => out.push(*b),
                }
            }
            Bytes::from(out)
        }
        Some((_, raw)) => Bytes::copy_from_slice(raw),
        None => Bytes::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fragment_is_long_enough_for_its_head_word() {
        for fragment in FRAGMENTS {
            assert!(fragment.len() >= HEAD, "{fragment:?}");
        }
    }

    #[test]
    fn answers_come_back_byte_for_byte_and_smaller() {
        let native = br#"{"id":"pay_02BrN9ClKYcIvb1q6vh82a","object":"payment","status":"succeeded","amount":1000,"amount_capturable":0,"amount_captured":1000,"amount_refunded":0,"currency":"usd","reference":"order-1","created":1795312028,"payment_method":"pm_card_visa","decline_code":null,"metadata":{},"refunds":[]}"#;
        let packed = pack(native);
        assert_eq!(unpack(&packed), &native[..]);
        assert!(
            packed.len() * 3 < native.len(),
            "{} of {}",
            packed.len(),
            native.len()
        );
        for body in [
            &b""[..],
            b"{}",
            br#"{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined.","param":null,"decline_code":"generic_decline","payment_id":"pay_6QK3tB62dFJZ1YNUns62o5"}}"#,
            br#"{"id":"re_5RWZLPcUbMs6xZRsaqnrdP","object":"refund","amount":500,"payment_id":"pay_6SwLItm9clITdW0LDhLZMv","status":"succeeded","created":1795314487}"#,
            "non-ASCII: é ü 支付".as_bytes(),
        ] {
            assert_eq!(unpack(&pack(body)), body);
        }
    }

    #[test]
    fn bodies_holding_control_bytes_are_kept_raw() {
        let odd = b"\x00\x01\x1f{\"id\":\"pay_\x02";
        assert_eq!(pack(odd)[0], RAW);
        assert_eq!(unpack(&pack(odd)), &odd[..]);
    }

    #[test]
    fn arbitrary_bytes_round_trip() {
        // A deterministic stream of bytes biased toward the fragments' alphabet.
        let alphabet: Vec<u8> = FRAGMENTS.concat().into_bytes();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..400 {
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x.is_multiple_of(5) {
                        (x >> 8) as u8
                    } else {
                        alphabet[(x >> 16) as usize % alphabet.len()]
                    }
                })
                .collect();
            assert_eq!(unpack(&pack(&body)), body, "length {len}");
        }
    }

    #[test]
    fn fragments_are_distinct_json_text() {
        for (i, a) in FRAGMENTS.iter().enumerate() {
            assert!(
                a.bytes().all(|b| b >= 0x20),
                "fragment {i} holds a control byte"
            );
            assert!(
                FRAGMENTS.iter().skip(i + 1).all(|b| a != b),
                "fragment {i} repeats"
            );
        }
    }
}
