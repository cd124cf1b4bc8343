//! When each kind of violation happened: for every kind found, how many orders, and the first
//! and last time in the run (seconds since its start) such an order's first request went out.
//!
//! Its own file because it answers a question the violation list does not: did the double
//! charges come with the brownout, or all run long? The list shows at most a couple of hundred
//! orders, in the order the check found them; this reads every violation. report.html and
//! capacity.html show the same table, and report.json and capacity.json keep it as
//! `money.by_kind`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::escape_markup as esc;
use crate::reconcile::{Violation, ViolationKind};

/// One kind of violation over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindTimes {
    pub kind: ViolationKind,
    /// Violations of this kind.
    pub orders: u64,
    /// The earliest first-request time among them, seconds since the run's start; `None` when
    /// none of them recorded one (outcomes saved before loadgen kept it).
    pub first_s: Option<f64>,
    /// The latest one.
    pub last_s: Option<f64>,
}

/// Every kind found in `violations`, in [`ViolationKind`] order, with its count and its first
/// and last time.
pub fn kind_times(violations: &[Violation]) -> Vec<KindTimes> {
    let mut by_kind: BTreeMap<ViolationKind, KindTimes> = BTreeMap::new();
    for v in violations {
        let entry = by_kind.entry(v.kind).or_insert(KindTimes {
            kind: v.kind,
            orders: 0,
            first_s: None,
            last_s: None,
        });
        entry.orders += 1;
        if let Some(ms) = v.first_sent_ms {
            let s = ms as f64 / 1000.0;
            entry.first_s = Some(entry.first_s.map_or(s, |f| f.min(s)));
            entry.last_s = Some(entry.last_s.map_or(s, |l| l.max(s)));
        }
    }
    by_kind.into_values().collect()
}

/// The HTML table of [`kind_times`] (empty when there is nothing to show).
pub(crate) fn kind_times_table(kinds: &[KindTimes]) -> String {
    if kinds.is_empty() {
        return String::new();
    }
    let mut h = String::from(
        "<table><tr><th class=\"l\">kind</th><th>orders</th><th>first</th><th>last</th></tr>\n",
    );
    let at = |s: Option<f64>| s.map_or_else(|| "–".to_owned(), |s| format!("{s:.1} s"));
    for k in kinds {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(k.kind.as_str()),
            k.orders,
            at(k.first_s),
            at(k.last_s)
        );
    }
    h.push_str("</table>\n<p>First and last: when the first request of the earliest and the latest order of each kind went out, in seconds since the run started.</p>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcomes::ClientResult;
    use crate::reconcile::fixtures::{Ledger, order};
    use crate::reconcile::reconcile;

    /// Violations of the given kinds, their orders' first requests sent at the given times.
    fn violations(found: &[(ViolationKind, Option<u64>)]) -> Vec<Violation> {
        let ledger = Ledger::new();
        let outcome = order(
            "o-1",
            "purchase",
            1000,
            (1000, 0),
            ClientResult::Succeeded,
            vec![],
        );
        // A success with nothing captured: one lost charge, reshaped below per case.
        let template = reconcile(&[outcome], &ledger.0).violations.remove(0);
        found
            .iter()
            .enumerate()
            .map(|(i, (kind, ms))| Violation {
                kind: *kind,
                order_id: format!("o-{i}"),
                first_sent_ms: *ms,
                ..template.clone()
            })
            .collect()
    }

    #[test]
    fn each_kind_gets_its_count_first_and_last_time() {
        let found = violations(&[
            (ViolationKind::LostCharge, Some(12_500)),
            (ViolationKind::DoubleCharge, Some(30_000)),
            (ViolationKind::DoubleCharge, Some(10_250)),
            (ViolationKind::DoubleCharge, Some(24_000)),
            (ViolationKind::LostCharge, None),
        ]);
        let kinds = kind_times(&found);
        assert_eq!(
            kinds,
            vec![
                KindTimes {
                    kind: ViolationKind::DoubleCharge,
                    orders: 3,
                    first_s: Some(10.25),
                    last_s: Some(30.0),
                },
                KindTimes {
                    kind: ViolationKind::LostCharge,
                    orders: 2,
                    first_s: Some(12.5),
                    last_s: Some(12.5),
                },
            ]
        );
    }

    #[test]
    fn kinds_without_times_say_so_and_nothing_gives_no_table() {
        let kinds = kind_times(&violations(&[(ViolationKind::OrphanCharge, None)]));
        assert_eq!(kinds[0].orders, 1);
        assert_eq!((kinds[0].first_s, kinds[0].last_s), (None, None));
        let table = kind_times_table(&kinds);
        assert!(table.contains("<td class=\"l\">orphan_charge</td><td>1</td><td>–</td><td>–</td>"));
        assert!(kind_times(&[]).is_empty());
        assert_eq!(kind_times_table(&[]), "");
        let table = kind_times_table(&kind_times(&violations(&[(
            ViolationKind::DoubleCharge,
            Some(10_300),
        )])));
        assert!(table.contains("<td>10.3 s</td><td>10.3 s</td>"), "{table}");
    }
}
