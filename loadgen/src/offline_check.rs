//! `loadgen check`: the money check re-run offline, from the files a run saved (or a live
//! gateway's ledger) instead of from a run in memory. Only the money checks are judged:
//! there is no latency data offline.
//!
//! Its own file because it is the only part of checking that does I/O (it reads
//! `outcomes.ndjson` and loads the ledger over HTTP or from files): the check itself
//! (`reconcile.rs`) and the thresholds (`thresholds.rs`) stay pure.

use std::path::Path;

use crate::ledger_source::LedgerError;
use crate::outcomes::OutcomeError;
use crate::reconcile::{Reconciliation, reconcile};
use crate::thresholds::{CheckResult, CheckThresholds};

/// `loadgen check` failed before it could judge anything.
#[derive(Debug, thiserror::Error)]
pub enum CheckOfflineError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Outcomes(#[from] OutcomeError),
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
    let outcomes = crate::outcomes::read_ndjson(outcomes)?;
    let ledger = crate::ledger_source::load(ledger, admin_token).await?;
    let reconciliation = reconcile(&outcomes, &ledger);
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
}
