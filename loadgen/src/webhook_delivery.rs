//! What the gateway did to tell the merchant about an order: one [`WebhookDelivery`] per
//! attempt (or per delivery never attempted), as gateway-sim records it in
//! `GET /_sim/webhooks/deliveries`. Attached to the merchant-view violations, it shows *why*
//! the merchant's books disagree with the ledger: the same event delivered twice, one copy
//! with `duplicate`, explains a double fulfilment; a `dropped` delivery explains an order
//! never marked paid.
//!
//! Its own file because three places share it: the money check's `Violation` carries it, the
//! reports print it, and `webhook_deliveries.rs` reads it from the gateway. Pure: reading the
//! NDJSON and grouping it by order need no gateway, so they are tested here.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// One delivery attempt of one event, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub event_id: String,
    /// `payment.succeeded`, `payment_intent.succeeded`, ... (the endpoint's dialect).
    pub event_type: String,
    /// 1 for the first attempt; 0 when none was made (dropped on purpose, or the queue was full).
    #[serde(default)]
    pub attempt: u32,
    /// `delivered`, `failed` (retried later), `exhausted` (no attempts left), `dropped` (a
    /// fault: never sent), `overflow` (the gateway's queue was full). Kept as text, so a
    /// gateway that learns a new outcome does not make its records unreadable.
    pub outcome: String,
    /// The merchant's HTTP status; `None` when it never answered or nothing was sent.
    #[serde(default)]
    pub status: Option<u16>,
    /// Faults the gateway applied on purpose: `duplicate`, `delay`, `reorder`, `early`,
    /// `drop`, `outage`, and `resend` for a resend.
    #[serde(default)]
    pub faults: Vec<String>,
    /// Unix milliseconds when the attempt started; 0 when none was made.
    #[serde(default)]
    pub sent_at_ms: u64,
}

impl fmt::Display for WebhookDelivery {
    /// One compact line: `evt_... payment.succeeded attempt 1 delivered 200 [duplicate]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} attempt {} {}",
            self.event_id, self.event_type, self.attempt, self.outcome
        )?;
        match self.status {
            Some(status) => write!(f, " {status}")?,
            None => f.write_str(" -")?,
        }
        if !self.faults.is_empty() {
            write!(f, " [{}]", self.faults.join(", "))?;
        }
        Ok(())
    }
}

/// One line of the gateway's NDJSON: a delivery and the order it was for.
#[derive(Deserialize)]
struct RecordLine {
    /// The payment's merchant reference, which is loadgen's order id. Absent on records of
    /// payments without one, and on gateways that predate the field.
    #[serde(default)]
    reference: Option<String>,
    #[serde(flatten)]
    delivery: WebhookDelivery,
}

/// The deliveries of the orders asked for, grouped by order id.
#[derive(Debug, Default, PartialEq)]
pub struct DeliveriesByOrder {
    /// Each order's deliveries in the gateway's order (oldest record first).
    pub orders: HashMap<String, Vec<WebhookDelivery>>,
    /// Lines that were not a delivery record (skipped, counted for a warning).
    pub unreadable: usize,
}

/// Reads the gateway's NDJSON (`GET /_sim/webhooks/deliveries`) and keeps the deliveries of
/// the orders in `wanted`; everything else is dropped as it is read, so what is kept grows
/// with the orders asked for, not with the gateway's whole record. Blank lines are skipped.
pub fn group_by_order(ndjson: &[u8], wanted: &HashSet<&str>) -> DeliveriesByOrder {
    let mut grouped = DeliveriesByOrder::default();
    for line in ndjson.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(record) = serde_json::from_slice::<RecordLine>(line) else {
            grouped.unreadable += 1;
            continue;
        };
        let Some(reference) = record.reference else {
            continue;
        };
        if wanted.contains(reference.as_str()) {
            grouped
                .orders
                .entry(reference)
                .or_default()
                .push(record.delivery);
        }
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    const NDJSON: &str = concat!(
        r#"{"event_id":"evt_1","event_type":"payment.succeeded","payment_id":"pay_a","reference":"order-a","endpoint":"config[0]","url":"http://x/h","attempt":1,"sent_at_ms":10,"status":200,"error":null,"duration_ms":3,"faults":[],"outcome":"delivered"}"#,
        "\n",
        r#"{"event_id":"evt_2","event_type":"payment.succeeded","payment_id":"pay_b","reference":"order-b","endpoint":"config[0]","url":"http://x/h","attempt":0,"sent_at_ms":0,"status":null,"error":null,"duration_ms":0,"faults":["drop"],"outcome":"dropped"}"#,
        "\n\n",
        r#"{"event_id":"evt_1","event_type":"payment.succeeded","payment_id":"pay_a","reference":"order-a","endpoint":"config[0]","url":"http://x/h","attempt":1,"sent_at_ms":12,"status":200,"error":null,"duration_ms":3,"faults":["duplicate"],"outcome":"delivered"}"#,
        "\n",
        r#"{"event_id":"evt_3","event_type":"payment.created","payment_id":"pay_c","endpoint":"config[0]","url":"http://x/h","attempt":1,"sent_at_ms":5,"status":500,"error":null,"duration_ms":1,"faults":[],"outcome":"failed"}"#,
        "\n",
        "not json\n",
    );

    #[test]
    fn deliveries_are_grouped_by_order_and_only_the_orders_asked_for_are_kept() {
        let wanted: HashSet<&str> = ["order-a", "order-z"].into_iter().collect();
        let grouped = group_by_order(NDJSON.as_bytes(), &wanted);
        assert_eq!(grouped.unreadable, 1, "the line that is not JSON");
        assert_eq!(
            grouped.orders.keys().collect::<Vec<_>>(),
            ["order-a"],
            "order-b was not asked for; order-z had no deliveries; evt_3 names no order"
        );
        let a = &grouped.orders["order-a"];
        assert_eq!(a.len(), 2);
        assert_eq!(
            a[0],
            WebhookDelivery {
                event_id: "evt_1".into(),
                event_type: "payment.succeeded".into(),
                attempt: 1,
                outcome: "delivered".into(),
                status: Some(200),
                faults: vec![],
                sent_at_ms: 10,
            }
        );
        assert_eq!(a[1].faults, ["duplicate"], "in the gateway's order");
    }

    #[test]
    fn a_gateway_without_references_gives_no_deliveries() {
        let old = r#"{"event_id":"evt_1","event_type":"payment.succeeded","attempt":1,"status":200,"faults":[],"outcome":"delivered","sent_at_ms":1}"#;
        let wanted: HashSet<&str> = ["order-a"].into_iter().collect();
        assert_eq!(
            group_by_order(old.as_bytes(), &wanted),
            DeliveriesByOrder::default()
        );
    }

    #[test]
    fn a_delivery_reads_as_one_compact_line() {
        let grouped = group_by_order(
            NDJSON.as_bytes(),
            &["order-a", "order-b"].into_iter().collect(),
        );
        assert_eq!(
            grouped.orders["order-a"][1].to_string(),
            "evt_1 payment.succeeded attempt 1 delivered 200 [duplicate]"
        );
        assert_eq!(
            grouped.orders["order-b"][0].to_string(),
            "evt_2 payment.succeeded attempt 0 dropped - [drop]"
        );
    }
}
