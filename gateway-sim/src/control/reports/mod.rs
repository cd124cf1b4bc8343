//! `/_sim/reports/*`: what the gateway's finance side sends a merchant, for reconciliation
//! jobs to be tested against. All read the settlement books (`engine/settlement/`), brought
//! up to simulator time first.
//!
//! - `payout_reconciliation.rs`: Stripe's itemized payout reconciliation report as CSV,
//!   streamed (a million rows start at once);
//! - `bank_statement.rs`: one line per payout that reached the merchant's bank;
//! - `discrepancies.rs`: the answer key, every mistake the processor made on purpose;
//! - `csv.rs`: fields and times as the CSVs write them.

mod bank_statement;
mod csv;
mod discrepancies;
mod payout_reconciliation;

use http::Response;

use crate::api::{ApiError, query_param};
use crate::engine::ReportSelection;
use crate::response::Body;
use crate::state::SimState;

pub(super) use bank_statement::bank_statement;
pub(super) use discrepancies::answer_key;
pub(super) use payout_reconciliation::payout_reconciliation;

/// Which payouts a report covers: `payout=po_...`, or `from=`/`to=` (Unix seconds of
/// simulator time, payouts made in `[from, to)`), or every payout when neither is given.
fn selection(query: Option<&str>) -> Result<ReportSelection, ApiError> {
    if let Some(payout) = query_param(query, "payout").filter(|p| !p.is_empty()) {
        return Ok(ReportSelection::Payout(payout));
    }
    let seconds = |name: &'static str, absent: u64| match query_param(query, name) {
        None => Ok(absent),
        Some(v) => v.parse::<u64>().map_err(|_| {
            ApiError::invalid(
                "parameter_invalid",
                format!("`{name}` is Unix seconds of simulator time; got '{v}'."),
            )
            .with_param(name)
        }),
    };
    Ok(ReportSelection::Between {
        from: seconds("from", 0)?,
        to: seconds("to", u64::MAX)?,
    })
}

/// A refused report query, answered as the control plane answers errors.
fn refused(e: ApiError) -> Response<Body> {
    super::answer(e.into_reply())
}

/// Brings the books up to simulator time, so a report read after a clock advance shows
/// every payout that fell due.
fn settled(state: &SimState) -> &crate::engine::Engine {
    let engine = state.engine();
    engine.settle();
    engine
}
