//! `loadgen check`: the money check re-run offline, from the files a run saved (or a live
//! gateway's ledger) instead of from a run in memory. Only the money checks are judged:
//! there is no latency data offline. Given the merchant's saved views
//! (`merchant-views.ndjson`), the merchant's books are checked against the ledger too.
//!
//! Its own file because it is the only part of checking that does I/O (it reads
//! `outcomes.ndjson` and the merchant's views, and loads the ledger over HTTP or from files): the check itself
//! (`reconcile.rs`) and the thresholds (`thresholds.rs`) stay pure.

use std::path::Path;

use crate::ledger_source::LedgerError;
use crate::merchant_view::MerchantViewError;
use crate::outcomes::OutcomeError;
use crate::reconcile::{Reconciliation, reconcile_with_views};
use crate::thresholds::{CheckResult, CheckThresholds};

/// `loadgen check` failed before it could judge anything.
#[derive(Debug, thiserror::Error)]
pub enum CheckOfflineError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Outcomes(#[from] OutcomeError),
    #[error(transparent)]
    MerchantViews(#[from] MerchantViewError),
}

/// Re-runs the money check offline: `ledger` is a gateway-sim base URL, an NDJSON ledger file,
/// or several of either separated by commas (shards, merged); `outcomes` an `outcomes.ndjson`.
/// Only the money checks are evaluated (there is no latency data offline).
pub async fn check_offline(
    ledger: &str,
    outcomes: &Path,
    thresholds: &CheckThresholds,
) -> Result<(Reconciliation, Vec<CheckResult>), CheckOfflineError> {
    check_offline_with_token(ledger, outcomes, thresholds, None).await
}

/// [`check_offline`] against a gateway-sim started with an admin token.
pub async fn check_offline_with_token(
    ledger: &str,
    outcomes: &Path,
    thresholds: &CheckThresholds,
    admin_token: Option<&str>,
) -> Result<(Reconciliation, Vec<CheckResult>), CheckOfflineError> {
    check_offline_with_views(ledger, outcomes, None, thresholds, admin_token).await
}

/// [`check_offline_with_token`], and with `merchant_views` (a `merchant-views.ndjson` saved by
/// a `--service` run with `[target.order]`) the merchant's books checked against the ledger
/// too, with the same thresholds as the run.
pub async fn check_offline_with_views(
    ledger: &str,
    outcomes: &Path,
    merchant_views: Option<&Path>,
    thresholds: &CheckThresholds,
    admin_token: Option<&str>,
) -> Result<(Reconciliation, Vec<CheckResult>), CheckOfflineError> {
    let outcomes = crate::outcomes::read_ndjson(outcomes)?;
    let views = merchant_views
        .map(crate::merchant_view::read_ndjson)
        .transpose()?;
    let ledger = crate::ledger_source::load(ledger, admin_token).await?;
    let reconciliation = reconcile_with_views(&outcomes, &ledger, views.as_deref());
    let results = thresholds.evaluate_money(&reconciliation.counts);
    Ok((reconciliation, results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcomes::ClientResult;
    use crate::reconcile::fixtures::{Ledger, only, order};

    #[tokio::test]
    async fn check_offline_reads_saved_outcomes_and_ledger_and_judges_money_only() {
        let dir =
            std::env::temp_dir().join(format!("loadgen-check-offline-{}", std::process::id()));
        assert!(std::fs::create_dir_all(&dir).is_ok());
        let outcomes_path = dir.join("outcomes.ndjson");
        let ledger_path = dir.join("ledger.ndjson");
        let outcomes = vec![
            order(
                "o-1",
                "retry_new_key",
                1000,
                (1000, 0),
                ClientResult::Succeeded,
                vec![],
            ),
            order(
                "o-2",
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Succeeded,
                vec![],
            ),
        ];
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "k1", 1000)
            .charge("pay_b", "o-1", "k2", 1000)
            .charge("pay_c", "o-2", "k3", 1000);
        let ledger_text: String =
            l.0.iter()
                .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
                .collect();
        assert!(crate::outcomes::write_ndjson(&outcomes_path, &outcomes).is_ok());
        assert!(std::fs::write(&ledger_path, ledger_text).is_ok());

        let strict = check_offline(
            &ledger_path.display().to_string(),
            &outcomes_path,
            &CheckThresholds::default(),
        )
        .await;
        let lenient = CheckThresholds {
            max_double_charges: Some(1),
            ..CheckThresholds::default()
        };
        let relaxed =
            check_offline(&ledger_path.display().to_string(), &outcomes_path, &lenient).await;
        let missing = check_offline(
            &dir.join("nope.ndjson").display().to_string(),
            &outcomes_path,
            &lenient,
        )
        .await;
        let _ = std::fs::remove_dir_all(&dir);

        let (rec, results) = match strict {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(rec.counts.double_charges, 1);
        assert_eq!(only(&rec).order_id, "o-1");
        assert!(
            results
                .iter()
                .any(|r| r.name == "double_charges" && !r.passed)
        );
        // Money only: no latency or rate verdicts offline.
        assert!(
            results
                .iter()
                .all(|r| !r.name.ends_with("_ms") && r.name != "error_rate")
        );
        let (_, results) = match relaxed {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert!(results.iter().all(|r| r.passed));
        assert!(matches!(missing, Err(CheckOfflineError::Ledger(_))));
    }

    #[tokio::test]
    async fn saved_merchant_views_are_judged_against_the_ledger() {
        use crate::merchant_view::{MerchantStatus, MerchantView};
        let dir = std::env::temp_dir().join(format!("loadgen-check-views-{}", std::process::id()));
        assert!(std::fs::create_dir_all(&dir).is_ok());
        let (outcomes_path, ledger_path, views_path) = (
            dir.join("outcomes.ndjson"),
            dir.join("ledger.ndjson"),
            dir.join("merchant-views.ndjson"),
        );
        let outcomes: Vec<_> = ["o-1", "o-2"]
            .into_iter()
            .map(|id| {
                order(
                    id,
                    "service",
                    1000,
                    (1000, 0),
                    ClientResult::Accepted,
                    vec![],
                )
            })
            .collect();
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "k1", 1000)
            .charge("pay_b", "o-2", "k2", 1000);
        let ledger_text: String =
            l.0.iter()
                .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
                .collect();
        let shipped = |id: &str, times| MerchantView {
            order_id: id.into(),
            status: MerchantStatus::Paid,
            fulfillments: Some(times),
            amount_paid: Some(1000),
            amount_refunded: Some(0),
            error: None,
        };
        let views = vec![shipped("o-1", 1), shipped("o-2", 2)];
        assert!(crate::outcomes::write_ndjson(&outcomes_path, &outcomes).is_ok());
        assert!(std::fs::write(&ledger_path, ledger_text).is_ok());
        assert!(crate::merchant_view::write_ndjson(&views_path, &views).is_ok());
        let ledger = ledger_path.display().to_string();
        let thresholds = CheckThresholds::default();

        let with_views = check_offline_with_views(
            &ledger,
            &outcomes_path,
            Some(&views_path),
            &thresholds,
            None,
        )
        .await;
        let without = check_offline(&ledger, &outcomes_path, &thresholds).await;
        let bad_views = check_offline_with_views(
            &ledger,
            &outcomes_path,
            Some(&dir.join("nope.ndjson")),
            &thresholds,
            None,
        )
        .await;
        let _ = std::fs::remove_dir_all(&dir);

        let (rec, results) = with_views.expect("the views check runs");
        let merchant = rec.counts.merchant.clone().expect("views were judged");
        assert_eq!((merchant.views, merchant.double_fulfilments), (2, 1));
        assert_eq!(only(&rec).order_id, "o-2");
        assert!(
            results
                .iter()
                .any(|r| r.name == "double_fulfilments" && !r.passed)
        );
        // Without the views the same money passes: the books are what went wrong.
        let (rec, results) = without.expect("the money check runs");
        assert_eq!(rec.counts.merchant, None);
        assert!(results.iter().all(|r| r.passed));
        assert!(matches!(
            bad_views,
            Err(CheckOfflineError::MerchantViews(_))
        ));
    }
}
