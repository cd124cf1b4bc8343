//! `/v1/payouts`: list and retrieve the automatic payouts the schedule made
//! (`engine/settlement/`). Payouts are made by the simulator's schedule, never by a
//! request, so there is no create.

use http::Method;
use serde_json::{Value, json};

use super::pages::list_json;
use super::presentation::{Expand, Presentation, shown};
use super::resource::{ReadRoute, Request, Resource};
use crate::api::request::path_segment;
use crate::api::{ApiError, Call, Operation, Outcome, Reply, SettlementRead, SettlementView};
use crate::engine::{Engine, Payout, PayoutStatus};

/// `/v1/payouts`.
pub(super) struct Payouts;

impl Resource for Payouts {
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
            ReadRoute::List => {
                params.only(
                    &["limit", "starting_after", "ending_before", "expand"],
                    false,
                )?;
                let page = params.page()?;
                params.expand(Expand::NONE)?;
                let presentation =
                    Presentation::list(show_list, "payout", Expand::NONE, page, "/v1/payouts");
                Ok((Operation::Settlement(SettlementRead::Payouts), presentation))
            }
            ReadRoute::Retrieve(id) => {
                params.only(&["expand"], false)?;
                params.expand(Expand::NONE)?;
                let id = path_segment(id)?;
                let presentation =
                    Presentation::object(show, "payout", Expand::NONE, Some(&id), "id");
                Ok((
                    Operation::Settlement(SettlementRead::Payout { id }),
                    presentation,
                ))
            }
        }
    }
}

fn show(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Settlement(SettlementView::Payout(payout)) = outcome else {
        return None;
    };
    Some(match payout {
        Some(p) => shown(payout_json(p)),
        None => presentation.missing(),
    })
}

fn show_list(
    _engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Settlement(SettlementView::Payouts(all)) = outcome else {
        return None;
    };
    Some(match presentation.page().slice(all, |p| p.id.to_string()) {
        Some((items, has_more)) => {
            let data = items.iter().map(payout_json).collect();
            shown(list_json(presentation.url, data, has_more))
        }
        None => presentation.missing(),
    })
}

/// A Stripe payout object (also a `payout.*` event's `data.object`).
pub(super) fn payout_json(p: &Payout) -> Value {
    let failure_message = p.failure_code.map(|code| match code {
        "account_closed" => "The bank account has been closed.",
        "no_account" => "The bank account details on file are probably incorrect.",
        _ => "The bank could not process this payout.",
    });
    json!({
        "id": p.id.to_string(),
        "object": "payout",
        "amount": p.amount,
        "arrival_date": p.arrival_date(),
        "automatic": true,
        "balance_transaction": p.balance_transaction.to_string(),
        "created": p.created(),
        "currency": p.currency.as_str(),
        "description": "STRIPE PAYOUT",
        "destination": null,
        "failure_balance_transaction": p.failure_balance_transaction.map(|t| t.to_string()),
        "failure_code": p.failure_code,
        "failure_message": failure_message,
        "livemode": false,
        "metadata": {},
        "method": "standard",
        "reconciliation_status": if p.status == PayoutStatus::Pending { "not_applicable" } else { "completed" },
        "source_type": "card",
        "statement_descriptor": null,
        "status": p.status.as_str(),
        "type": "bank_account",
    })
}
