//! `GET /v1/balance`: the merchant's available and pending balance per currency, read from
//! the settlement books (`engine/settlement/`) up to simulator time.

use http::Method;
use serde_json::{Value, json};

use super::params::Params;
use super::presentation::{Expand, Presentation, shown};
use super::resource::{Request, Resource};
use crate::api::{ApiError, Call, Operation, Outcome, Reply, SettlementRead, SettlementView};
use crate::engine::Engine;

/// `/v1/balance`.
pub(super) struct Balance;

impl Resource for Balance {
    type Route<'a> = ();

    fn route(method: &Method, path: &[&str]) -> Option<()> {
        (path.is_empty() && method == Method::GET).then_some(())
    }

    fn operation(_route: (), request: &Request<'_>) -> Result<(Operation, Presentation), ApiError> {
        only_expand(&request.params)?;
        let presentation = Presentation::object(show, "balance", Expand::NONE, None, "balance");
        Ok((Operation::Settlement(SettlementRead::Balance), presentation))
    }
}

fn only_expand(params: &Params) -> Result<(), ApiError> {
    params.only(&["expand"], false)?;
    params.expand(Expand::NONE)?;
    Ok(())
}

pub(super) fn show(
    _engine: &Engine,
    _call: Option<&Call>,
    _presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Settlement(SettlementView::Balance(balances)) = outcome else {
        return None;
    };
    let part = |amount: fn(&crate::engine::Balance) -> i64| -> Vec<Value> {
        balances
            .iter()
            .map(|b| {
                json!({
                    "amount": amount(b),
                    "currency": b.currency.as_str(),
                    "source_types": {"card": amount(b)},
                })
            })
            .collect()
    };
    Some(shown(json!({
        "object": "balance",
        "available": part(|b| b.available),
        "pending": part(|b| b.pending),
        "livemode": false,
    })))
}
