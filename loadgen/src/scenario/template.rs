//! A text with `{{name}}` placeholders ([`Template`]), filled per order: `[target]`'s request
//! and `[target.order]`'s read share it. Its own file so that neither table's file imports the
//! other's.

/// One placeholder of a [`Template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    OrderId,
    Amount,
    Currency,
    IdempotencyKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Slot(Placeholder),
}

/// A text with `{{name}}` placeholders, checked when the scenario is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// The values a [`Template`] is filled with.
#[derive(Debug, Clone, Copy)]
pub struct TemplateValues<'a> {
    pub order_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub idempotency_key: &'a str,
}

impl Template {
    pub fn compile(text: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(format!("unclosed \"{{{{\" in {text:?}"));
            };
            let name = after[..close].trim();
            let slot = match name {
                "order_id" => Placeholder::OrderId,
                "amount" => Placeholder::Amount,
                "currency" => Placeholder::Currency,
                "idempotency_key" => Placeholder::IdempotencyKey,
                other => {
                    return Err(format!(
                        "unknown placeholder {{{{{other}}}}}; known: {{{{order_id}}}}, {{{{amount}}}}, {{{{currency}}}}, {{{{idempotency_key}}}}"
                    ));
                }
            };
            segments.push(Segment::Slot(slot));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_string()));
        }
        Ok(Self { segments })
    }

    pub fn render(&self, values: &TemplateValues<'_>) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Slot(Placeholder::OrderId) => out.push_str(values.order_id),
                Segment::Slot(Placeholder::Amount) => out.push_str(&values.amount.to_string()),
                Segment::Slot(Placeholder::Currency) => out.push_str(values.currency),
                Segment::Slot(Placeholder::IdempotencyKey) => out.push_str(values.idempotency_key),
            }
        }
        out
    }

    pub fn uses(&self, placeholder: Placeholder) -> bool {
        self.segments.contains(&Segment::Slot(placeholder))
    }
}
