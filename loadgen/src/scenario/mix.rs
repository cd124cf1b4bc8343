//! `[load.mix]`: the flows loadgen can play ([`FlowKind`]) and how often each is picked
//! ([`FlowMixWeights`] as written, [`FlowMix`] ready to pick from).
//!
//! Apart from `[load]` because the flows, the reports and the money check name flows by
//! these kinds, while the rest of `[load]` is only the run's traffic.

use serde::Deserialize;

/// The flows loadgen can play against gateway-sim's native API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowKind {
    /// Authorize and capture in one create (`capture: true`).
    Purchase,
    /// Authorize, then capture (sometimes part of the amount).
    AuthCapture,
    /// Authorize, then cancel.
    AuthCancel,
    /// Purchase, then refund all or part of it.
    PurchaseRefund,
    /// The same create sent twice at once with one idempotency key (the double click).
    DoubleSubmit,
    /// On an ambiguous failure, retry with the same idempotency key (a correct client).
    RetrySameKey,
    /// On an ambiguous failure, retry with a fresh key (the classic double-charge bug).
    RetryNewKey,
    /// A purchase with a card that asks for 3-D Secure: the buyer completes the challenge,
    /// or abandons it (`[load.three_ds] abandon`).
    ThreeDs,
    /// A Stripe Checkout session, paid on its hosted page's script endpoint.
    Checkout,
}

impl FlowKind {
    pub const ALL: [FlowKind; 9] = [
        FlowKind::Purchase,
        FlowKind::AuthCapture,
        FlowKind::AuthCancel,
        FlowKind::PurchaseRefund,
        FlowKind::DoubleSubmit,
        FlowKind::RetrySameKey,
        FlowKind::RetryNewKey,
        FlowKind::ThreeDs,
        FlowKind::Checkout,
    ];

    /// The name used in `[load.mix]`, reports and request names.
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Purchase => "purchase",
            FlowKind::AuthCapture => "auth_capture",
            FlowKind::AuthCancel => "auth_cancel",
            FlowKind::PurchaseRefund => "purchase_refund",
            FlowKind::DoubleSubmit => "double_submit",
            FlowKind::RetrySameKey => "retry_same_key",
            FlowKind::RetryNewKey => "retry_new_key",
            FlowKind::ThreeDs => "three_ds",
            FlowKind::Checkout => "checkout",
        }
    }
}

impl std::fmt::Display for FlowKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[load.mix]` as written: absent flows weigh 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowMixWeights {
    #[serde(default)]
    pub purchase: u32,
    #[serde(default)]
    pub auth_capture: u32,
    #[serde(default)]
    pub auth_cancel: u32,
    #[serde(default)]
    pub purchase_refund: u32,
    #[serde(default)]
    pub double_submit: u32,
    #[serde(default)]
    pub retry_same_key: u32,
    #[serde(default)]
    pub retry_new_key: u32,
    #[serde(default)]
    pub three_ds: u32,
    #[serde(default)]
    pub checkout: u32,
}

impl FlowMixWeights {
    fn weight(&self, kind: FlowKind) -> u32 {
        match kind {
            FlowKind::Purchase => self.purchase,
            FlowKind::AuthCapture => self.auth_capture,
            FlowKind::AuthCancel => self.auth_cancel,
            FlowKind::PurchaseRefund => self.purchase_refund,
            FlowKind::DoubleSubmit => self.double_submit,
            FlowKind::RetrySameKey => self.retry_same_key,
            FlowKind::RetryNewKey => self.retry_new_key,
            FlowKind::ThreeDs => self.three_ds,
            FlowKind::Checkout => self.checkout,
        }
    }
}

/// The weighted flow mix, ready to pick from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowMix {
    weights: FlowMixWeights,
    /// Running totals, one per flow with a weight above 0.
    cumulative: Vec<(u64, FlowKind)>,
    total: u64,
}

impl FlowMix {
    pub fn new(weights: FlowMixWeights) -> Self {
        let mut total = 0u64;
        let mut cumulative = Vec::new();
        for kind in FlowKind::ALL {
            let w = u64::from(weights.weight(kind));
            if w > 0 {
                total += w;
                cumulative.push((total, kind));
            }
        }
        Self {
            weights,
            cumulative,
            total,
        }
    }

    pub fn weights(&self) -> FlowMixWeights {
        self.weights
    }

    pub fn total_weight(&self) -> u64 {
        self.total
    }

    /// The flow a uniformly random `draw` picks; each flow gets a share of draws
    /// in proportion to its weight. `None` only when every weight is 0.
    pub fn pick(&self, draw: u64) -> Option<FlowKind> {
        if self.total == 0 {
            return None;
        }
        let point = draw % self.total;
        self.cumulative
            .iter()
            .find(|(upto, _)| point < *upto)
            .map(|(_, kind)| *kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_picks_in_proportion_to_weights() {
        let mix = FlowMix::new(FlowMixWeights {
            purchase: 3,
            retry_new_key: 1,
            ..FlowMixWeights::default()
        });
        let picks: Vec<_> = (0..8).filter_map(|d| mix.pick(d)).collect();
        let purchases = picks.iter().filter(|k| **k == FlowKind::Purchase).count();
        assert_eq!(purchases, 6);
        assert_eq!(picks.len() - purchases, 2);
        assert!(
            !picks.contains(&FlowKind::AuthCapture),
            "weight 0 never picked"
        );
        assert_eq!(FlowMix::new(FlowMixWeights::default()).pick(1), None);
    }
}
