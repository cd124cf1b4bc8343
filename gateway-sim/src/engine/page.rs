//! Which page of a merchant's payments to list, newest first: the page size and the cursor.

/// Listing pages never hold more than this many payments.
pub const MAX_PAGE: usize = 1000;

/// Which page of a merchant's payments to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// At most this many payments (capped at [`MAX_PAGE`]).
    pub limit: usize,
    pub cursor: Cursor,
    /// Only payments that were confirmed at least once (those with a charge).
    pub confirmed_only: bool,
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The newest payments.
    Newest,
    /// Payments created before this one (the next page).
    OlderThan(String),
    /// Payments created after this one, the nearest first taken (the previous page).
    NewerThan(String),
}
