//! Scoring a merchant's own reconciliation against the answer key: the ids its job flagged
//! (one per line, or CSV with a kind column), precision and recall per discrepancy kind.
//! Pure: the caller reads the files and the key.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::check::KINDS;

/// One entry of `GET /_sim/reports/discrepancies`.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyEntry {
    pub kind: String,
    pub balance_transaction: String,
    #[serde(default)]
    pub source: String,
}

/// The answer key as the gateway serves it.
#[derive(Debug, Clone, Deserialize)]
pub struct AnswerKey {
    pub counts: BTreeMap<String, usize>,
    pub discrepancies: Vec<KeyEntry>,
}

/// One kind's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindScore {
    pub kind: String,
    /// Entries of this kind in the key.
    pub expected: usize,
    /// Ids flagged as (or matching) this kind.
    pub flagged: usize,
    pub true_positives: usize,
    /// 1 when nothing was flagged (nothing wrongly).
    pub precision: f64,
    /// 1 when the key has none of this kind.
    pub recall: f64,
}

/// A flagged id, with the kind the merchant gave it if it gave one.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub id: String,
    pub kind: Option<String>,
}

/// Reads the merchant's file: one id per line, or CSV lines holding an id (`txn_`, `ch_`,
/// `re_`, `dp_`, `po_`) and optionally a kind; a header or any line without an id is skipped.
pub fn read_flags(text: &str) -> Vec<Flag> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line
                .split(',')
                .map(|f| f.trim().trim_matches('"'))
                .collect();
            let id = fields.iter().find(|f| {
                ["txn_", "ch_", "re_", "dp_", "po_"]
                    .iter()
                    .any(|p| f.starts_with(p))
            })?;
            let kind = fields
                .iter()
                .find(|f| KINDS.contains(f))
                .map(|k| k.to_string());
            Some(Flag {
                id: id.to_string(),
                kind,
            })
        })
        .collect()
}

/// Precision and recall per kind. An entry is found when an id flagged names its
/// transaction, or (for a missing row, which has no row to name) what it settled.
pub fn score(key: &AnswerKey, flags: &[Flag]) -> Vec<KindScore> {
    let mut by_id: HashMap<&str, &KeyEntry> = HashMap::new();
    for e in &key.discrepancies {
        by_id.insert(e.balance_transaction.as_str(), e);
        if e.kind == "missing_row" && !e.source.is_empty() {
            by_id.entry(e.source.as_str()).or_insert(e);
        }
    }
    let mut found: HashMap<&str, usize> = HashMap::new();
    let mut flagged: HashMap<String, usize> = HashMap::new();
    let mut hit: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for f in flags {
        let entry = by_id.get(f.id.as_str());
        let kind = f
            .kind
            .clone()
            .or_else(|| entry.map(|e| e.kind.clone()))
            .unwrap_or_else(|| "unattributed".into());
        *flagged.entry(kind.clone()).or_default() += 1;
        if let Some(e) = entry
            && e.kind == kind
            && hit.insert(e.balance_transaction.as_str())
        {
            *found.entry(e.kind.as_str()).or_default() += 1;
        }
    }
    let mut kinds: Vec<String> = KINDS.iter().map(|k| k.to_string()).collect();
    if flagged.contains_key("unattributed") {
        kinds.push("unattributed".into());
    }
    kinds
        .into_iter()
        .map(|kind| {
            let expected = key.discrepancies.iter().filter(|e| e.kind == kind).count();
            let flagged = flagged.get(&kind).copied().unwrap_or_default();
            let tp = found.get(kind.as_str()).copied().unwrap_or_default();
            let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
            KindScore {
                precision: ratio(tp, flagged),
                recall: ratio(tp, expected),
                kind,
                expected,
                flagged,
                true_positives: tp,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AnswerKey {
        let e = |kind: &str, txn: &str, source: &str| KeyEntry {
            kind: kind.into(),
            balance_transaction: txn.into(),
            source: source.into(),
        };
        AnswerKey {
            counts: BTreeMap::new(),
            discrepancies: vec![
                e("missing_row", "txn_m", "ch_m"),
                e("fee_off", "txn_f", "ch_f"),
                e("fee_off", "txn_g", "ch_g"),
            ],
        }
    }

    #[test]
    fn precision_and_recall_are_per_kind() {
        let flags = read_flags("id,kind\nch_m,missing_row\ntxn_f\ntxn_nothing,fee_off\n");
        let scores = score(&key(), &flags);
        let of = |k: &str| scores.iter().find(|s| s.kind == k).unwrap().clone();
        assert_eq!(
            (of("missing_row").precision, of("missing_row").recall),
            (1.0, 1.0)
        );
        assert_eq!((of("fee_off").precision, of("fee_off").recall), (0.5, 0.5));
        assert_eq!((of("late").precision, of("late").recall), (1.0, 1.0));
    }

    #[test]
    fn a_flag_twice_counts_once_and_a_stranger_is_unattributed() {
        let flags = read_flags("txn_f\ntxn_f\ntxn_zzz\n");
        let scores = score(&key(), &flags);
        let fee = scores.iter().find(|s| s.kind == "fee_off").unwrap();
        assert_eq!((fee.true_positives, fee.flagged), (1, 2));
        assert!(
            scores
                .iter()
                .any(|s| s.kind == "unattributed" && s.precision == 0.0)
        );
    }
}
