//! Stripe's pages: `limit`, `starting_after` and `ending_before` over lists
//! newest first, and the list object (`{"object": "list", "data", "has_more",
//! "url"}`). Its own file because every list resource pages the same way,
//! whether the engine pages (PaymentIntents, charges) or the list is in memory
//! (a payment's refunds).

use serde_json::{Value, json};

use super::ids::engine_id;
use crate::engine::{Cursor, PageQuery};

/// Stripe's page sizes: 1 to 100, 10 when not given.
pub(super) const MAX_LIMIT: usize = 100;
pub(super) const DEFAULT_LIMIT: usize = 10;

/// A page request, with Stripe ids as the client sent them.
#[derive(Debug, Clone)]
pub(super) struct Page {
    pub(super) limit: usize,
    pub(super) cursor: PageCursor,
}

/// Where a page starts: the newest, or past (`starting_after`) or before
/// (`ending_before`) an id.
#[derive(Debug, Clone)]
pub(super) enum PageCursor {
    Start,
    After(String),
    Before(String),
}

/// The largest first page: what a list shows when the request set no page.
pub(super) static LARGEST_FIRST: Page = Page {
    limit: MAX_LIMIT,
    cursor: PageCursor::Start,
};

impl Page {
    /// The engine query: one more than asked, so the renderer knows whether more
    /// pages follow without a second look.
    pub(super) fn query(&self, prefix: &str, confirmed_only: bool) -> PageQuery {
        PageQuery {
            limit: self.limit + 1,
            cursor: match &self.cursor {
                PageCursor::Start => Cursor::Newest,
                PageCursor::After(id) => Cursor::OlderThan(engine_id(id, prefix)),
                PageCursor::Before(id) => Cursor::NewerThan(engine_id(id, prefix)),
            },
            confirmed_only,
        }
    }

    /// Trims the engine's limit+1 answer (newest first) to the page; `true` when
    /// more follow in the page's direction.
    pub(super) fn trim<T>(&self, mut items: Vec<T>) -> (Vec<T>, bool) {
        if items.len() <= self.limit {
            return (items, false);
        }
        match self.cursor {
            // Walking backwards, the extra item is the newest: the first.
            PageCursor::Before(_) => {
                let extra = items.len() - self.limit;
                items.drain(..extra);
            }
            _ => items.truncate(self.limit),
        }
        (items, true)
    }

    /// A page of an in-memory list (newest first); `None` when the cursor is not in it.
    pub(super) fn slice<T: Clone>(
        &self,
        items: &[T],
        id: impl Fn(&T) -> String,
    ) -> Option<(Vec<T>, bool)> {
        let position = |cursor: &str| items.iter().position(|item| id(item) == cursor);
        Some(match &self.cursor {
            PageCursor::Start => {
                let end = items.len().min(self.limit);
                (items[..end].to_vec(), items.len() > end)
            }
            PageCursor::After(cursor) => {
                let rest = &items[position(cursor)? + 1..];
                let end = rest.len().min(self.limit);
                (rest[..end].to_vec(), rest.len() > end)
            }
            PageCursor::Before(cursor) => {
                let before = &items[..position(cursor)?];
                let start = before.len().saturating_sub(self.limit);
                (before[start..].to_vec(), start > 0)
            }
        })
    }
}

/// Stripe's list object.
pub(super) fn list_json(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_in_memory_lists_follow_cursors_both_ways() {
        let items: Vec<u32> = (0..5).rev().collect(); // newest first: 4 3 2 1 0
        let id = |n: &u32| n.to_string();
        let page = |limit, cursor| Page { limit, cursor };
        assert_eq!(
            page(2, PageCursor::Start).slice(&items, id),
            Some((vec![4, 3], true))
        );
        assert_eq!(
            page(2, PageCursor::After("3".into())).slice(&items, id),
            Some((vec![2, 1], true))
        );
        assert_eq!(
            page(2, PageCursor::After("1".into())).slice(&items, id),
            Some((vec![0], false))
        );
        assert_eq!(
            page(2, PageCursor::Before("1".into())).slice(&items, id),
            Some((vec![3, 2], true))
        );
        assert_eq!(
            page(9, PageCursor::Before("1".into())).slice(&items, id),
            Some((vec![4, 3, 2], false))
        );
        assert_eq!(
            page(2, PageCursor::After("9".into())).slice(&items, id),
            None
        );
        assert_eq!(
            page(2, PageCursor::Start).trim(vec![1, 2, 3]),
            (vec![1, 2], true)
        );
        assert_eq!(
            page(2, PageCursor::Before("x".into())).trim(vec![1, 2, 3]),
            (vec![2, 3], true)
        );
        assert_eq!(
            page(3, PageCursor::Start).trim(vec![1, 2, 3]),
            (vec![1, 2, 3], false)
        );
    }
}
