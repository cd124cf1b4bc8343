//! `/v1/balance_transactions`: list (`payout=`, `type=`, `source=`, `created[...]`, pages)
//! and retrieve. The books derive them from the ledger (`engine/settlement/`): a capture's
//! is its charge's `balance_transaction`.

use http::Method;
use serde_json::{Value, json};

use super::ids::{CHARGE, INTENT, engine_id, stripe_id};
use super::pages::list_json;
use super::params::Params;
use super::presentation::{Expand, Presentation, shown};
use super::resource::{ReadRoute, Request, Resource};
use crate::api::request::path_segment;
use crate::api::{ApiError, Call, Operation, Outcome, Reply, SettlementRead, SettlementView};
use crate::engine::{BalanceTransaction, Engine, TxnQuery, TxnSource};

/// `/v1/balance_transactions`.
pub(super) struct BalanceTransactions;

impl Resource for BalanceTransactions {
    type Route<'a> = ReadRoute<'a>;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<ReadRoute<'a>> {
        ReadRoute::of(method, path)
    }

    fn operation(
        route: ReadRoute<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError> {
        let params = &request.params;
        match route {
            ReadRoute::List => list(params),
            ReadRoute::Retrieve(id) => {
                params.only(&["expand"], false)?;
                params.expand(Expand::NONE)?;
                let id = path_segment(id)?;
                let presentation = Presentation::object(
                    show,
                    "balance_transaction",
                    Expand::NONE,
                    Some(&id),
                    "id",
                );
                Ok((
                    Operation::Settlement(SettlementRead::Transaction { id }),
                    presentation,
                ))
            }
        }
    }
}

fn list(params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(
        &[
            "payout",
            "type",
            "source",
            "currency",
            "created",
            "limit",
            "starting_after",
            "ending_before",
            "expand",
        ],
        false,
    )?;
    let page = params.page()?;
    params.expand(Expand::NONE)?;
    let (created_gte, created_lte) = params.time_range("created")?;
    let source = params.string("source")?.map(|s| {
        if s.starts_with(CHARGE) {
            engine_id(s, CHARGE)
        } else if s.starts_with(INTENT) {
            engine_id(s, INTENT)
        } else {
            s.to_string()
        }
    });
    let query = TxnQuery {
        payout: params.string("payout")?.map(str::to_string),
        kind: params.string("type")?.map(str::to_string),
        source,
        created_gte,
        created_lte,
    };
    let presentation = Presentation::list(
        show_list,
        "balance_transaction",
        Expand::NONE,
        page,
        "/v1/balance_transactions",
    );
    Ok((
        Operation::Settlement(SettlementRead::Transactions(query)),
        presentation,
    ))
}

fn show(
    engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Settlement(SettlementView::Transaction(txn)) = outcome else {
        return None;
    };
    Some(match txn {
        Some(txn) => shown(balance_transaction(txn, now_ms(engine))),
        None => presentation.missing(),
    })
}

fn show_list(
    engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Settlement(SettlementView::Transactions(all)) = outcome else {
        return None;
    };
    let now = now_ms(engine);
    Some(match presentation.page().slice(all, |t| t.id.to_string()) {
        Some((items, has_more)) => {
            let data = items.iter().map(|t| balance_transaction(t, now)).collect();
            shown(list_json(presentation.url, data, has_more))
        }
        None => presentation.missing(),
    })
}

/// The Stripe id of what a transaction settles: a capture's charge, a refund, a dispute,
/// a payout.
pub(super) fn source_id(source: &TxnSource) -> String {
    match source {
        TxnSource::Payment(p) => stripe_id(*p, CHARGE),
        other => other.engine_id(),
    }
}

/// A Stripe balance transaction object.
pub(super) fn balance_transaction(t: &BalanceTransaction, now_ms: u64) -> Value {
    let fee_details: Vec<Value> = if t.fee == 0 {
        Vec::new()
    } else {
        vec![json!({
            "amount": t.fee,
            "application": null,
            "currency": t.currency.as_str(),
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        })]
    };
    json!({
        "id": t.id.to_string(),
        "object": "balance_transaction",
        "amount": t.amount,
        "available_on": t.available_on(),
        "created": t.created(),
        "currency": t.currency.as_str(),
        "description": t.description(),
        "exchange_rate": null,
        "fee": t.fee,
        "fee_details": fee_details,
        "net": t.net(),
        "reporting_category": t.category.as_str(),
        "source": source_id(&t.source),
        "status": t.status(now_ms).as_str(),
        "type": t.category.stripe_type(),
    })
}

fn now_ms(engine: &Engine) -> u64 {
    engine.clock().now_ms()
}
