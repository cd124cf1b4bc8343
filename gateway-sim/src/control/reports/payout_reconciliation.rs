//! `GET /_sim/reports/payout_reconciliation[?payout=po_...|?from=&to=]`: the itemized payout
//! reconciliation report, one row per transaction a payout paid out, with the columns of
//! Stripe's and the order each belongs to. Streamed a chunk of rows at a time, so a report
//! over a million payments starts at once and never sits in memory whole.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Response};
use http_body_util::BodyExt;
use hyper::body::Frame;

use super::csv;
use crate::api::ApiError;
use crate::engine::{Engine, ReportRow, TxnSource};
use crate::response::Body;
use crate::state::SimState;

/// Rows rendered per chunk of the stream.
const ROWS_PER_CHUNK: usize = 4096;

/// The columns, in order: Stripe's itemized report's, then the payment's.
pub(crate) const COLUMNS: [&str; 15] = [
    "automatic_payout_id",
    "automatic_payout_effective_at",
    "balance_transaction_id",
    "created",
    "available_on",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "payment_intent_id",
    "charge_id",
    "payment_metadata[order_id]",
];

pub(crate) fn payout_reconciliation(state: &SimState, query: Option<&str>) -> Response<Body> {
    let selection = match super::selection(query) {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let engine = super::settled(state);
    let Some(payouts) = engine.report_payouts(&selection) else {
        return crate::control::answer(
            ApiError::not_found("resource_missing", "No such payout.")
                .with_param("payout")
                .into_reply(),
        );
    };
    let stream = ReportStream {
        engine: engine.clone(),
        payouts,
        at: 0,
        row: 0,
        header_sent: false,
    };
    let mut r = Response::new(stream.boxed());
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r
}

struct ReportStream {
    engine: Engine,
    /// The payouts' positions in the books, oldest first.
    payouts: Vec<usize>,
    at: usize,
    row: usize,
    header_sent: bool,
}

impl hyper::body::Body for ReportStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if !this.header_sent {
            this.header_sent = true;
            let mut out = String::new();
            csv::row(&mut out, &COLUMNS);
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
        }
        while let Some(&position) = this.payouts.get(this.at) {
            let rows = this.engine.report_rows(position, this.row, ROWS_PER_CHUNK);
            if rows.is_empty() {
                this.at += 1;
                this.row = 0;
                continue;
            }
            this.row += rows.len();
            let mut out = String::with_capacity(rows.len() * 260);
            for row in &rows {
                render(&mut out, row);
            }
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
        }
        Poll::Ready(None)
    }
}

fn render(out: &mut String, row: &ReportRow) {
    let t = &row.txn;
    let source = source_id(&t.source);
    let (intent, charge) = match t.payment {
        Some(p) => {
            let d = digits(&p.to_string()).to_string();
            (format!("pi_{d}"), format!("ch_{d}"))
        }
        None => (String::new(), String::new()),
    };
    let order = order_id(row).unwrap_or_default();
    csv::row(
        out,
        &[
            &row.payout.to_string(),
            &csv::time(row.payout_effective_at),
            &t.id.to_string(),
            &csv::time(t.created()),
            &csv::time(t.available_on()),
            t.currency.as_str(),
            &t.amount.to_string(),
            &t.fee.to_string(),
            &t.net().to_string(),
            t.category.as_str(),
            &source,
            t.description(),
            &intent,
            &charge,
            &order,
        ],
    );
}

/// What a transaction settles, as Stripe names it: a capture's charge `ch_`, a refund
/// `re_`, a dispute `dp_`, a payout `po_`.
pub(super) fn source_id(source: &TxnSource) -> String {
    match source {
        TxnSource::Payment(p) => format!("ch_{}", digits(&p.to_string())),
        other => other.engine_id(),
    }
}

/// A payment id's digits, without `pay_`.
fn digits(printed: &str) -> &str {
    printed.split_once('_').map_or(printed, |(_, d)| d)
}

/// The order: `metadata[order_id]` as Stripe's merchants set it, else the native reference.
fn order_id(row: &ReportRow) -> Option<String> {
    let from_metadata = row.metadata.as_deref().and_then(|text| {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
        map.get("order_id")?.as_str().map(str::to_string)
    });
    from_metadata.or_else(|| row.reference.as_deref().map(str::to_string))
}
