//! `GET /_sim/reports/discrepancies`: the answer key. Every mistake the processor made on
//! purpose (`[gateway.settlement.discrepancies]`), with the transaction at fault, and the
//! count of each kind, so a reconciliation job can be scored against it.

use std::collections::BTreeMap;

use http::{Response, StatusCode};
use serde::Serialize;

use crate::engine::DiscrepancyKind;
use crate::response::Body;
use crate::state::SimState;

#[derive(Serialize)]
struct AnswerKey {
    counts: BTreeMap<&'static str, usize>,
    discrepancies: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    kind: &'static str,
    merchant: String,
    balance_transaction: String,
    /// The correctly booked transaction beside a duplicate or unknown row; the same as
    /// `balance_transaction` for the other kinds.
    original: String,
    /// What it settles, as the report's `source_id` shows it (`ch_`, `re_`, `dp_`).
    source: String,
    reporting_category: &'static str,
    expected_fee: i64,
    fee: i64,
    payout: Option<String>,
}

pub(crate) fn answer_key(state: &SimState) -> Response<Body> {
    let engine = super::settled(state);
    let found = engine.discrepancies();
    let mut counts: BTreeMap<&'static str, usize> = DiscrepancyKind::ALL
        .iter()
        .map(|k| (k.as_str(), 0))
        .collect();
    for d in &found {
        *counts.entry(d.kind.as_str()).or_default() += 1;
    }
    let discrepancies = found
        .iter()
        .map(|d| Entry {
            kind: d.kind.as_str(),
            merchant: engine.merchant_api_key(d.merchant).to_string(),
            balance_transaction: d.balance_transaction.to_string(),
            original: d.original.to_string(),
            source: super::payout_reconciliation::source_id(&d.source),
            reporting_category: d.category.as_str(),
            expected_fee: d.expected_fee,
            fee: d.fee,
            payout: d.payout.map(|p| p.to_string()),
        })
        .collect();
    crate::control::json(
        StatusCode::OK,
        &AnswerKey {
            counts,
            discrepancies,
        },
    )
}
