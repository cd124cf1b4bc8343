//! `GET /_sim/reports/bank_statement[?from=&to=]`: the merchant's bank side, one line per
//! payout that reached the account (paid; a returned payout never arrived), for jobs that
//! reconcile the bank statement against the payouts.

use http::{HeaderValue, Response};

use super::csv;
use crate::engine::PayoutStatus;
use crate::response::{Body, full};
use crate::state::SimState;

pub(crate) fn bank_statement(state: &SimState, query: Option<&str>) -> Response<Body> {
    let (from, to) = match super::selection(query) {
        Ok(crate::engine::ReportSelection::Between { from, to }) => (from, to),
        Ok(crate::engine::ReportSelection::Payout(_)) => (0, u64::MAX),
        Err(e) => return super::refused(e),
    };
    let engine = super::settled(state);
    let mut payouts = engine.payouts(None);
    payouts.reverse();
    let mut out = String::new();
    csv::row(
        &mut out,
        &[
            "value_date",
            "account",
            "description",
            "reference",
            "amount",
            "currency",
        ],
    );
    for p in payouts
        .iter()
        .filter(|p| p.status == PayoutStatus::Paid)
        .filter(|p| (from..to).contains(&p.arrival_date()))
    {
        csv::row(
            &mut out,
            &[
                &csv::time(p.arrival_date()),
                &engine.merchant_api_key(p.merchant),
                "STRIPE PAYOUT",
                &p.id.to_string(),
                &p.amount.to_string(),
                p.currency.as_str(),
            ],
        );
    }
    let mut r = Response::new(full(out.into()));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r
}
