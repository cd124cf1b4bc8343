//! One shard of the payments: a hash table of boxed payments found by their own id.
//!
//! A `HashMap<PaymentId, Box<Payment>>` stores each id twice, once as the key and once in
//! the payment, and its 24-byte slots are paid for up to twice over in empty slots (a table
//! doubles when seven eighths full). Keyed by the payment's own id, a slot is the 8-byte
//! pointer alone: at a million payments, about 33 bytes less per payment.

use hashbrown::HashTable;

use super::ids::PaymentId;
use super::payment::Payment;
use super::shard::room_for_churn;

#[derive(Default)]
pub(super) struct PaymentTable {
    table: HashTable<Box<Payment>>,
}

/// Not `shard_hash`: that one picked the shard, so within a shard its low bits are all
/// alike, and the table indexes its buckets by the low bits.
fn hash(id: &PaymentId) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x7061_796d_656e_7473).hash_one(id)
}

impl PaymentTable {
    pub(super) fn get(&self, id: &PaymentId) -> Option<&Payment> {
        self.table.find(hash(id), |p| p.id == *id).map(|p| &**p)
    }

    pub(super) fn get_mut(&mut self, id: &PaymentId) -> Option<&mut Payment> {
        self.table
            .find_mut(hash(id), |p| p.id == *id)
            .map(|p| &mut **p)
    }

    /// Stores `payment` under its id, replacing (and returning) one stored there already.
    pub(super) fn insert(&mut self, payment: Box<Payment>) -> Option<Box<Payment>> {
        let id = payment.id;
        match self.table.entry(hash(&id), |p| p.id == id, |p| hash(&p.id)) {
            hashbrown::hash_table::Entry::Occupied(mut held) => {
                Some(std::mem::replace(held.get_mut(), payment))
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(payment);
                None
            }
        }
    }

    pub(super) fn remove(&mut self, id: &PaymentId) -> Option<Box<Payment>> {
        self.table
            .find_entry(hash(id), |p| p.id == *id)
            .ok()
            .map(|held| held.remove().0)
    }

    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Payment> {
        self.table.iter().map(|p| &**p)
    }

    pub(super) fn clear(&mut self) {
        self.table.clear();
    }

    /// At most half full, so that retention's churn never doubles it late (see
    /// [`super::shard::room_for_churn`]).
    pub(super) fn keep_room_for_churn(&mut self) {
        let slot = std::mem::size_of::<Box<Payment>>();
        if let Some(more) = room_for_churn(self.table.len(), self.table.allocation_size(), slot) {
            self.table.reserve(more, |p| hash(&p.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Cause;
    use crate::engine::tests::{engine, new_payment};

    #[test]
    fn payments_are_found_changed_replaced_and_removed_by_their_id() {
        let e = engine();
        let m = e.merchant("sk_table");
        let payment = |amount: i64| {
            let made =
                e.create_payment(m, new_payment(amount, true, "table"), &Cause::none(), None);
            Box::new(made.expect("a valid payment"))
        };
        let mut table = PaymentTable::default();
        let many: Vec<Box<Payment>> = (1..=1000).map(payment).collect();
        let ids: Vec<PaymentId> = many.iter().map(|p| p.id).collect();
        for p in many {
            assert!(table.insert(p).is_none());
        }
        assert_eq!(table.len(), 1000);
        assert_eq!(table.get(&ids[41]).map(|p| p.amount), Some(42));
        table.get_mut(&ids[41]).expect("held").amount_refunded = 5;
        assert_eq!(table.get(&ids[41]).map(|p| p.amount_refunded), Some(5));

        let mut again = payment(7);
        again.id = ids[0];
        assert_eq!(table.insert(again).map(|p| p.amount), Some(1));
        assert_eq!(table.get(&ids[0]).map(|p| p.amount), Some(7));

        assert_eq!(table.remove(&ids[1]).map(|p| p.amount), Some(2));
        assert!(table.get(&ids[1]).is_none());
        assert!(table.remove(&ids[1]).is_none());
        assert_eq!(table.values().count(), 999);
        table.clear();
        assert!(table.get(&ids[2]).is_none());
    }
}
