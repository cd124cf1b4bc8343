//! Settlement in the native dialect: `GET /v1/balance`, `/v1/balance-transactions[/{id}]`
//! and `/v1/payouts[/{id}]` (the first and last, like `/v1/disputes`, left to the Stripe
//! door for Stripe's clients): the list query's rules, and the books' records as JSON.

use bytes::Bytes;
use serde::Serialize;

use super::objects::to_json;
use crate::api::{ApiError, Reply, SettlementView, query_param};
use crate::engine::{Balance, BalanceTransaction, Payout, TxnQuery};

/// The filters `GET /v1/balance-transactions` takes.
const FILTERS: [&str; 5] = ["payout", "type", "source", "created_gte", "created_lte"];

/// `GET /v1/balance-transactions?payout=&type=&source=&created_gte=&created_lte=`; unknown
/// parameters are refused, so a misspelt filter never lists everything.
pub(super) fn query(query: Option<&str>) -> Result<TxnQuery, ApiError> {
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        if !FILTERS.contains(&key) {
            return Err(ApiError::invalid(
                "parameter_unknown",
                format!(
                    "Unknown query parameter '{key}'; GET /v1/balance-transactions takes {}.",
                    FILTERS.join(", ")
                ),
            )
            .with_param(key.to_string()));
        }
    }
    let seconds = |name: &'static str| -> Result<Option<u64>, ApiError> {
        query_param(query, name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::invalid(
                        "parameter_invalid",
                        format!("{name} is Unix seconds of simulator time; got '{v}'."),
                    )
                    .with_param(name)
                })
            })
            .transpose()
    };
    let text = |name| query_param(query, name).filter(|v| !v.is_empty());
    Ok(TxnQuery {
        payout: text("payout"),
        kind: text("type"),
        source: text("source"),
        created_gte: seconds("created_gte")?,
        created_lte: seconds("created_lte")?,
    })
}

#[derive(Serialize)]
struct BalanceJson<'a> {
    object: &'static str,
    currency: &'a str,
    available: i64,
    pending: i64,
}

#[derive(Serialize)]
struct TxnJson {
    id: String,
    object: &'static str,
    amount: i64,
    fee: i64,
    net: i64,
    currency: String,
    created: u64,
    available_on: u64,
    status: &'static str,
    reporting_category: &'static str,
    /// The engine's id of what it settles: `pay_`, `re_`, `dp_` or `po_`.
    source: String,
    payout: Option<String>,
}

#[derive(Serialize)]
pub(super) struct PayoutJson {
    id: String,
    object: &'static str,
    amount: i64,
    currency: String,
    created: u64,
    arrival_date: u64,
    status: &'static str,
    failure_code: Option<&'static str>,
    balance_transaction: String,
    failure_balance_transaction: Option<String>,
    rows: usize,
}

#[derive(Serialize)]
struct ListJson<T> {
    object: &'static str,
    data: Vec<T>,
}

fn balance(b: &Balance) -> BalanceJson<'_> {
    BalanceJson {
        object: "balance",
        currency: b.currency.as_str(),
        available: b.available,
        pending: b.pending,
    }
}

fn txn(t: &BalanceTransaction, now_ms: u64) -> TxnJson {
    TxnJson {
        id: t.id.to_string(),
        object: "balance_transaction",
        amount: t.amount,
        fee: t.fee,
        net: t.net(),
        currency: t.currency.to_string(),
        created: t.created(),
        available_on: t.available_on(),
        status: t.status(now_ms).as_str(),
        reporting_category: t.category.as_str(),
        source: t.source.engine_id(),
        payout: t.payout.map(|p| p.to_string()),
    }
}

/// A payout as native JSON (also a `payout.*` event's `data.object`).
pub(super) fn payout(p: &Payout) -> PayoutJson {
    PayoutJson {
        id: p.id.to_string(),
        object: "payout",
        amount: p.amount,
        currency: p.currency.to_string(),
        created: p.created(),
        arrival_date: p.arrival_date(),
        status: p.status.as_str(),
        failure_code: p.failure_code,
        balance_transaction: p.balance_transaction.to_string(),
        failure_balance_transaction: p.failure_balance_transaction.map(|t| t.to_string()),
        rows: p.rows,
    }
}

fn list<T: Serialize>(data: Vec<T>) -> Bytes {
    to_json(&ListJson {
        object: "list",
        data,
    })
}

/// The books' answer as native JSON; a one-object read of nothing is a 404.
pub(super) fn render(view: &SettlementView, now_ms: u64) -> Reply {
    let missing = |what: &str| {
        ApiError::not_found("resource_missing", format!("No such {what}.")).into_reply()
    };
    match view {
        SettlementView::Balance(all) => Reply::ok(list(all.iter().map(balance).collect())),
        SettlementView::Transactions(all) => {
            Reply::ok(list(all.iter().map(|t| txn(t, now_ms)).collect()))
        }
        SettlementView::Transaction(Some(t)) => Reply::ok(to_json(&txn(t, now_ms))),
        SettlementView::Transaction(None) => missing("balance transaction"),
        SettlementView::Payouts(all) => Reply::ok(list(all.iter().map(payout).collect())),
        SettlementView::Payout(Some(p)) => Reply::ok(to_json(&payout(p))),
        SettlementView::Payout(None) => missing("payout"),
    }
}
