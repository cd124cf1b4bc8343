//! The processor's mistakes on purpose, and the answer key that lists them. A mistake is
//! drawn once per transaction that a capture, refund or dispute made, from (seed, the order
//! reference or payment, what kind of movement, which one of its kind), so the same orders get
//! the same mistakes whatever order the requests arrived in.

use super::balance_transaction::{ReportingCategory, TxnSource};
use super::draw;
use super::policy::DiscrepancyRates;
use crate::engine::ids::{BalanceTransactionId, MerchantId, PayoutId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscrepancyKind {
    /// The transaction never reaches the books: no row, no money.
    MissingRow,
    /// The transaction is booked twice: a second row, paid twice.
    DuplicateRow,
    /// The fee differs from the schedule.
    FeeOff,
    /// Paid one payout later than its `available_on` says.
    Late,
    /// A transaction no API call made.
    UnknownRow,
}

impl DiscrepancyKind {
    pub const ALL: [DiscrepancyKind; 5] = [
        DiscrepancyKind::MissingRow,
        DiscrepancyKind::DuplicateRow,
        DiscrepancyKind::FeeOff,
        DiscrepancyKind::Late,
        DiscrepancyKind::UnknownRow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyKind::MissingRow => "missing_row",
            DiscrepancyKind::DuplicateRow => "duplicate_row",
            DiscrepancyKind::FeeOff => "fee_off",
            DiscrepancyKind::Late => "late",
            DiscrepancyKind::UnknownRow => "unknown_row",
        }
    }

    pub fn parse(s: &str) -> Option<DiscrepancyKind> {
        DiscrepancyKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One entry of the answer key.
#[derive(Debug, Clone)]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    pub merchant: MerchantId,
    /// The transaction at fault: the one missing (never booked), the duplicate, the one
    /// with the wrong fee, the late one, or the unknown one.
    pub balance_transaction: BalanceTransactionId,
    /// The transaction the mistake was made on (for a duplicate or unknown row, the one
    /// booked correctly beside it; for the others, the same as `balance_transaction`).
    pub original: BalanceTransactionId,
    /// What the transaction at fault settles, and how it is reported: for a missing row,
    /// the only handle a merchant has (its transaction was never booked).
    pub source: TxnSource,
    pub category: ReportingCategory,
    /// The fee the schedule asks, and the fee booked (they differ for `fee_off` only).
    pub expected_fee: i64,
    pub fee: i64,
    /// Filled in when reading the key: the payout that paid the transaction, if any has.
    pub payout: Option<PayoutId>,
}

/// Which mistake (if any) is made on the transaction `words` identify.
pub(super) fn draw(
    rates: &DiscrepancyRates,
    seed: u64,
    words: [u64; 3],
) -> Option<DiscrepancyKind> {
    let u = draw::unit(&[seed, 0x6469_7363_7265_7061, words[0], words[1], words[2]]);
    let mut edge = 0.0;
    for (kind, p) in [
        (DiscrepancyKind::MissingRow, rates.missing_row),
        (DiscrepancyKind::DuplicateRow, rates.duplicate_row),
        (DiscrepancyKind::FeeOff, rates.fee_off),
        (DiscrepancyKind::Late, rates.late),
        (DiscrepancyKind::UnknownRow, rates.unknown_row),
    ] {
        edge += p;
        if u < edge {
            return Some(kind);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_give_their_share() {
        let rates = DiscrepancyRates {
            missing_row: 0.1,
            late: 0.2,
            ..DiscrepancyRates::default()
        };
        let drawn: Vec<_> = (0..10_000u64).map(|n| draw(&rates, 7, [n, 0, 0])).collect();
        let count = |k| drawn.iter().filter(|d| **d == Some(k)).count();
        assert!((800..1200).contains(&count(DiscrepancyKind::MissingRow)));
        assert!((1750..2250).contains(&count(DiscrepancyKind::Late)));
        assert_eq!(count(DiscrepancyKind::FeeOff), 0);
        assert_eq!(
            drawn,
            (0..10_000u64)
                .map(|n| draw(&rates, 7, [n, 0, 0]))
                .collect::<Vec<_>>()
        );
    }
}
