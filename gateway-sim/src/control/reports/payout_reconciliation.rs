//! `GET /_sim/reports/payout_reconciliation[?payout=po_...|?from=&to=]`: the itemized payout
//! reconciliation report, one row per transaction a payout paid out, with the columns of
//! Stripe's and the order each belongs to. Streamed a chunk of rows at a time, so a report
//! over a million payments starts at once and never sits in memory whole.

use std::convert::Infallible;
use std::fmt::Write;
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
        Err(e) => return super::refused(e),
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
        renderer: Renderer::default(),
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
    renderer: Renderer,
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
                this.renderer.row(&mut out, row);
            }
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
        }
        Poll::Ready(None)
    }
}

/// Writes rows straight into the chunk's buffer: ids and numbers without a String each, and
/// the three times from a one-entry cache per column (a payout's rows share its time and
/// their `available_on`, and thousands share a creation second). A million rows is then
/// seconds of work, not tens.
#[derive(Default)]
struct Renderer {
    times: [(u64, String); 3],
    scratch: String,
}

impl Renderer {
    fn time(&mut self, column: usize, unix: u64) -> &str {
        let (at, text) = &mut self.times[column];
        if *at != unix || text.is_empty() {
            *at = unix;
            *text = csv::time(unix);
        }
        text
    }

    fn row(&mut self, out: &mut String, row: &ReportRow) {
        let t = &row.txn;
        let _ = write!(out, "{},", row.payout);
        out.push_str(self.time(0, row.payout_effective_at));
        let _ = write!(out, ",{},", t.id);
        out.push_str(self.time(1, t.created()));
        out.push(',');
        out.push_str(self.time(2, t.available_on()));
        let _ = write!(
            out,
            ",{},{},{},{},{},",
            t.currency,
            t.amount,
            t.fee,
            t.net(),
            t.category.as_str()
        );
        match t.source {
            TxnSource::Payment(p) => self.with_digits(p, |d| {
                out.push_str("ch_");
                out.push_str(d);
            }),
            other => {
                let _ = write!(out, "{}", other.engine_id());
            }
        }
        out.push(',');
        out.push_str(t.description());
        out.push(',');
        if let Some(p) = t.payment {
            self.with_digits(p, |d| {
                let _ = write!(out, "pi_{d},ch_{d}");
            });
        } else {
            out.push(',');
        }
        out.push(',');
        if let Some(order) = order_id(row) {
            csv::field(out, &order);
        }
        out.push('\n');
    }

    /// Calls `f` with a payment id's digits (without `pay_`), printed into the scratch buffer.
    fn with_digits(&mut self, p: crate::engine::ids::PaymentId, f: impl FnOnce(&str)) {
        self.scratch.clear();
        let _ = write!(self.scratch, "{p}");
        f(digits(&self.scratch));
    }
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
    // Only metadata that names an order is parsed: most rows carry none.
    let from_metadata = row
        .metadata
        .as_deref()
        .filter(|text| text.contains("order_id"))
        .and_then(|text| {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).ok()?;
            map.get("order_id")?.as_str().map(str::to_string)
        });
    from_metadata.or_else(|| row.reference.as_deref().map(str::to_string))
}
