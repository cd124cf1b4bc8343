//! What an order is before any request is sent: its id, its merchant's API key, and every
//! random choice about it (flow, amount, partial amounts), drawn from `(seed, n)`.
//!
//! Its own file because the order id is the one thing the money check relies on across
//! processes: it is the gateway `reference` the check finds an order's money by, so it must
//! be made in one place and stay unique per run, per worker and per capacity step. Nothing
//! here sends or times anything.

use crate::pacing::WorkerShare;
use crate::scenario::{FlowKind, LoadPlan};

/// Draw salts: one per independent random choice, so changing how one choice is
/// drawn never shifts another.
pub(crate) mod salt {
    pub const FLOW: u64 = 0x9e37_79b9_0000_0001;
    pub const AMOUNT: u64 = 0x9e37_79b9_0000_0002;
    pub const MERCHANT: u64 = 0x9e37_79b9_0000_0003;
    pub const PARTIAL: u64 = 0x9e37_79b9_0000_0004;
    pub const PARTIAL_AMOUNT: u64 = 0x9e37_79b9_0000_0005;
    pub const VOID: u64 = 0x9e37_79b9_0000_0006;
    pub const ABANDON: u64 = 0x9e37_79b9_0000_0007;
}

/// A uniformly distributed 64-bit number fixed by `(seed, n, salt)`: splitmix64
/// over the three. Stable across versions of any crate, unlike a library RNG.
pub fn draw(seed: u64, n: u64, salt: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0xbf58_476d_1ce4_e5b9)
        .wrapping_add(n.wrapping_mul(0x94d0_49bb_1331_11eb))
        .wrapping_add(salt)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw from `lo..=hi` (requires `lo <= hi`).
fn draw_between(seed: u64, n: u64, salt: u64, lo: i64, hi: i64) -> i64 {
    let span = hi.abs_diff(lo).saturating_add(1);
    let offset = draw(seed, n, salt) % span;
    lo.saturating_add_unsigned(offset)
}

/// How order ids are made. Every id comes from [`OrderIds::order_id`], so order
/// ids stay unique across `--worker` runs by this one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderIds {
    seed: u64,
    /// Empty for an embedded gateway (a fresh ledger: ids repeat run to run, on
    /// purpose); a per-run tag against a long-running gateway, whose idempotency
    /// keys would otherwise replay the previous run's answers.
    run_tag: String,
    /// `w<I>of<N>` for a worker's share: its orders' run-wide numbers are already
    /// disjoint from the other workers', and the id says which worker sent it even
    /// when two workers were started in the same millisecond with the same tag.
    worker: Option<String>,
}

impl OrderIds {
    pub fn new(seed: u64, run_tag: impl Into<String>) -> Self {
        Self {
            seed,
            run_tag: run_tag.into(),
            worker: None,
        }
    }

    /// The ids of `worker`'s orders (`ord-<seed>[-<tag>]-w<I>of<N>-<n>`).
    pub fn for_worker(mut self, worker: WorkerShare) -> Self {
        self.worker = Some(format!("w{}of{}", worker.index(), worker.count()));
        self
    }

    /// A tag for this moment, for runs against a gateway that outlives them.
    pub fn fresh_tag() -> String {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!("{ms:x}")
    }

    /// `ord-<seed>-<n>`, `ord-<seed>-<tag>-<n>`, with `-w<I>of<N>` before `-<n>` for a
    /// worker: also the gateway `reference`. `n` is the run-wide order number, last,
    /// so the same order of a one-machine run and of a worker's share reads alike.
    pub fn order_id(&self, n: u64) -> String {
        let mut id = format!("ord-{}", self.seed);
        for part in [Some(self.run_tag.as_str()), self.worker.as_deref()]
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
        {
            id.push('-');
            id.push_str(part);
        }
        id.push('-');
        id.push_str(&n.to_string());
        id
    }
}

/// The API key of merchant `m`.
pub fn merchant_key(m: u32) -> String {
    format!("sk_test_loadgen_{m}")
}

/// Everything decided about one order before any request is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlan {
    pub n: u64,
    pub seed: u64,
    pub order_id: String,
    /// The merchant's API key.
    pub merchant: String,
    pub amount: i64,
    pub currency: String,
    pub flow: FlowKind,
    /// A `three_ds` order whose buyer walks away from the challenge (`[load.three_ds]
    /// abandon`), drawn per order so the same seed abandons the same orders.
    pub abandons_challenge: bool,
}

impl OrderPlan {
    /// The plan of order `n`; the same `(plan.seed, n)` always gives the same order.
    pub fn new(load: &LoadPlan, ids: &OrderIds, n: u64) -> Self {
        let seed = load.seed;
        let flow = load
            .mix
            .pick(draw(seed, n, salt::FLOW))
            .unwrap_or(FlowKind::Purchase);
        let amount = draw_between(seed, n, salt::AMOUNT, load.amount_min, load.amount_max);
        let merchant = (draw(seed, n, salt::MERCHANT) % u64::from(load.merchants.max(1))) as u32;
        let abandons_challenge = load.three_ds.abandons(draw(seed, n, salt::ABANDON));
        Self {
            n,
            seed,
            order_id: ids.order_id(n),
            merchant: merchant_key(merchant),
            amount,
            currency: load.currency.clone(),
            flow,
            abandons_challenge,
        }
    }

    /// `Some(part)` for the orders (one in `one_in`) whose capture or refund
    /// covers only part of the amount; `part` is in `1..amount`.
    pub fn partial_amount(&self, one_in: u64) -> Option<i64> {
        if self.amount < 2 || !draw(self.seed, self.n, salt::PARTIAL).is_multiple_of(one_in.max(1))
        {
            return None;
        }
        Some(draw_between(
            self.seed,
            self.n,
            salt::PARTIAL_AMOUNT,
            1,
            self.amount - 1,
        ))
    }

    /// The idempotency key of this order's `i`-th create attempt with a key of its own.
    pub fn create_key(&self, i: u32) -> String {
        format!("{}-k{i}", self.order_id)
    }

    /// The idempotency key of a follow-up step (capture, cancel, refund).
    pub fn step_key(&self, step: &str) -> String {
        format!("{}-{step}", self.order_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn load(text: &str) -> LoadPlan {
        Scenario::parse(text, "t", "t.toml").expect("valid").load
    }

    #[test]
    fn draws_are_reproducible_and_spread() {
        assert_eq!(draw(7, 3, salt::FLOW), draw(7, 3, salt::FLOW));
        assert_ne!(draw(7, 3, salt::FLOW), draw(8, 3, salt::FLOW));
        assert_ne!(draw(7, 3, salt::FLOW), draw(7, 4, salt::FLOW));
        assert_ne!(draw(7, 3, salt::FLOW), draw(7, 3, salt::AMOUNT));
        // Roughly uniform: the low bit is set about half the time.
        let ones = (0..10_000)
            .filter(|n| draw(1, *n, salt::FLOW) & 1 == 1)
            .count();
        assert!((4_500..5_500).contains(&ones), "{ones}");
    }

    #[test]
    fn order_plans_follow_the_load_plan() {
        let plan = load(
            "[load]\nseed = 5\nmerchants = 3\namount_min = 100\namount_max = 110\n[load.mix]\npurchase = 1\nretry_new_key = 1\n",
        );
        let ids = OrderIds::new(5, "");
        let mut flows = std::collections::BTreeSet::new();
        let mut merchants = std::collections::BTreeSet::new();
        for n in 0..500 {
            let order = OrderPlan::new(&plan, &ids, n);
            assert_eq!(order, OrderPlan::new(&plan, &ids, n), "reproducible");
            assert_eq!(order.order_id, format!("ord-5-{n}"));
            assert!((100..=110).contains(&order.amount));
            flows.insert(order.flow);
            merchants.insert(order.merchant.clone());
            if let Some(part) = order.partial_amount(2) {
                assert!(part >= 1 && part < order.amount);
            }
        }
        assert_eq!(
            flows.into_iter().collect::<Vec<_>>(),
            vec![FlowKind::Purchase, FlowKind::RetryNewKey]
        );
        assert_eq!(merchants.len(), 3);
    }

    #[test]
    fn order_ids_are_unique_per_order_and_per_tag() {
        let plain = OrderIds::new(9, "");
        let tagged = OrderIds::new(9, "abc");
        assert_ne!(plain.order_id(1), plain.order_id(2));
        assert_eq!(tagged.order_id(1), "ord-9-abc-1");
        assert_ne!(plain.order_id(1), tagged.order_id(1));
    }

    #[test]
    fn worker_order_ids_name_the_worker_and_the_run_wide_number() {
        let share = |i| WorkerShare::new(i, 2).expect("valid");
        let first = OrderIds::new(9, "abc").for_worker(share(1));
        let second = OrderIds::new(9, "abc").for_worker(share(2));
        assert_eq!(first.order_id(4), "ord-9-abc-w1of2-4");
        assert_eq!(second.order_id(5), "ord-9-abc-w2of2-5");
        // Even a misconfigured pair playing the same numbers cannot collide.
        assert_ne!(first.order_id(4), second.order_id(4));
        let embedded = OrderIds::new(9, "").for_worker(share(2));
        assert_eq!(embedded.order_id(7), "ord-9-w2of2-7");
    }
}
