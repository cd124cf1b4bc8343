//! What a Stripe request asked to see: which object shows the engine's record
//! (one engine payment is a PaymentIntent or its charge), which related
//! objects to expand, which page, and what to name in "No such ..." errors.
//! Decided at routing by the resource's handler and carried, opaque to the
//! shared layer, in [`Call::presentation`]. Its own file because routing
//! writes it and rendering reads it.

use bytes::Bytes;
use serde_json::Value;

use super::errors::no_such;
use super::pages::{LARGEST_FIRST, Page, PageCursor, list_json};
use crate::api::{Call, Outcome, Reply};
use crate::engine::{Engine, Payment};

/// Shows a successful outcome as the resource's JSON; `None` for an outcome
/// the route never produces. Chosen by the resource's handler, so rendering
/// needs no list of resources.
pub(super) type Show = fn(&Engine, Option<&Call>, &Presentation, &Outcome) -> Option<Reply>;

/// How a Stripe call's outcome is shown.
pub(super) struct Presentation {
    pub(super) show: Show,
    /// The object kind "No such ..." errors name (`payment_intent`, `charge`,
    /// `refund`, `PaymentMethod`, as Stripe words each).
    pub(super) noun: &'static str,
    pub(super) expand: Expand,
    /// The id the request named, as the client wrote it, for "No such ..." errors.
    pub(super) asked_id: Option<String>,
    /// The parameter that named it.
    pub(super) param: &'static str,
    /// The parameter an amount error points at.
    pub(super) amount_param: &'static str,
    pub(super) page: Option<Page>,
    /// A list's `url` field.
    pub(super) url: &'static str,
}

impl Presentation {
    /// One object, named by `asked_id` (from the path or from `param`).
    pub(super) fn object(
        show: Show,
        noun: &'static str,
        expand: Expand,
        asked_id: Option<&str>,
        param: &'static str,
    ) -> Presentation {
        Presentation {
            show,
            noun,
            expand,
            asked_id: asked_id.map(str::to_string),
            param,
            amount_param: "amount",
            page: None,
            url: "",
        }
    }

    /// A page of the list at `url`; a cursor naming nothing is the missing id.
    pub(super) fn list(
        show: Show,
        noun: &'static str,
        expand: Expand,
        page: Page,
        url: &'static str,
    ) -> Presentation {
        let (asked_id, param) = match &page.cursor {
            PageCursor::Start => (None, "id"),
            PageCursor::After(id) => (Some(id.clone()), "starting_after"),
            PageCursor::Before(id) => (Some(id.clone()), "ending_before"),
        };
        Presentation {
            show,
            noun,
            expand,
            asked_id,
            param,
            amount_param: "amount",
            page: Some(page),
            url,
        }
    }

    /// The page asked for; a list shown without one shows the largest first page.
    pub(super) fn page(&self) -> &Page {
        self.page.as_ref().unwrap_or(&LARGEST_FIRST)
    }

    /// 404: the object the request named does not exist.
    pub(super) fn missing(&self) -> Reply {
        no_such(
            self.noun,
            self.param,
            self.asked_id.as_deref().unwrap_or_default(),
        )
    }
}

/// A 200 answer showing `value`.
pub(super) fn shown(value: Value) -> Reply {
    // `to_vec`, not `to_string`: `Display` goes through `fmt`, twice the instructions.
    Reply::ok(Bytes::from(serde_json::to_vec(&value).unwrap_or_default()))
}

/// Which related objects to render in full instead of by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Expand(u8);

impl Expand {
    pub(super) const NONE: Expand = Expand(0);
    pub(super) const LATEST_CHARGE: Expand = Expand(1);
    pub(super) const PAYMENT_METHOD: Expand = Expand(2);
    pub(super) const PAYMENT_INTENT: Expand = Expand(4);
    pub(super) const CHARGE: Expand = Expand(8);
    /// What each object can expand.
    pub(super) const ON_INTENT: Expand = Expand(1 | 2);
    pub(super) const ON_CHARGE: Expand = Expand(4 | 2);
    pub(super) const ON_REFUND: Expand = Expand(8 | 4);

    pub(super) fn named(field: &str) -> Option<Expand> {
        match field {
            "latest_charge" => Some(Expand::LATEST_CHARGE),
            "payment_method" => Some(Expand::PAYMENT_METHOD),
            "payment_intent" => Some(Expand::PAYMENT_INTENT),
            "charge" => Some(Expand::CHARGE),
            _ => None,
        }
    }

    pub(super) fn contains(self, other: Expand) -> bool {
        self.0 & other.0 == other.0
    }

    pub(super) fn with(self, other: Expand) -> Expand {
        Expand(self.0 | other.0)
    }
}

/// A page of payments, each shown as `object` (a PaymentIntent or a charge): what the list
/// endpoints of both share.
pub(super) fn payments_page(
    presentation: &Presentation,
    outcome: &Outcome,
    object: fn(&Payment, Expand) -> Value,
) -> Option<Reply> {
    let Outcome::Payments(list) = outcome else {
        return None;
    };
    let (items, has_more) = presentation.page().trim(list.iter().collect());
    let data = items
        .into_iter()
        .map(|p| object(p, presentation.expand))
        .collect();
    Some(shown(list_json(presentation.url, data, has_more)))
}
