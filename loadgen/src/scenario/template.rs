//! A text with `{{name}}` placeholders ([`Template`]), filled per order: `[target]`'s request
//! and `[target.order]`'s read share it. Its own file so that neither table's file imports the
//! other's.

/// One placeholder of a [`Template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    OrderId,
    Amount,
    /// The amount in major units with the currency's decimals (`19.99`, `1999` for JPY), for
    /// services whose API takes a decimal amount.
    AmountDecimal,
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
                "amount_decimal" => Placeholder::AmountDecimal,
                "currency" => Placeholder::Currency,
                "idempotency_key" => Placeholder::IdempotencyKey,
                other => {
                    return Err(format!(
                        "unknown placeholder {{{{{other}}}}}; known: {{{{order_id}}}}, {{{{amount}}}}, {{{{amount_decimal}}}}, {{{{currency}}}}, {{{{idempotency_key}}}}"
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
                Segment::Slot(Placeholder::AmountDecimal) => {
                    out.push_str(&decimal_amount(values.amount, values.currency))
                }
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

/// Minor units as a decimal string in the currency's major unit, by ISO 4217's exponent as
/// card networks use it: none for JPY, KRW and the like, three for BHD, JOD, KWD, OMR and
/// TND, two otherwise. Integer arithmetic only: money never passes through a float.
pub fn decimal_amount(minor: i64, currency: &str) -> String {
    const ZERO_DECIMAL: &[&str] = &[
        "bif", "clp", "djf", "gnf", "isk", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
        "vuv", "xaf", "xof", "xpf",
    ];
    const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];
    let currency = currency.to_ascii_lowercase();
    let decimals: u32 = if ZERO_DECIMAL.contains(&currency.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&currency.as_str()) {
        3
    } else {
        2
    };
    if decimals == 0 {
        return minor.to_string();
    }
    let unit = 10_u64.pow(decimals);
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        magnitude / unit,
        magnitude % unit,
        width = decimals as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_amounts_use_the_currency_exponent_without_floats() {
        assert_eq!(decimal_amount(1999, "usd"), "19.99");
        assert_eq!(decimal_amount(5, "EUR"), "0.05");
        assert_eq!(decimal_amount(100, "gbp"), "1.00");
        assert_eq!(decimal_amount(1999, "jpy"), "1999");
        assert_eq!(decimal_amount(1999, "kwd"), "1.999");
        assert_eq!(decimal_amount(-250, "usd"), "-2.50");
        assert_eq!(decimal_amount(i64::MIN, "usd"), "-92233720368547758.08");
    }

    #[test]
    fn the_decimal_placeholder_renders_in_a_body() {
        let t = Template::compile(r#"{"amount": "{{amount_decimal}}", "cents": {{amount}}}"#)
            .expect("valid");
        let values = TemplateValues {
            order_id: "o",
            amount: 12345,
            currency: "usd",
            idempotency_key: "k",
        };
        assert_eq!(t.render(&values), r#"{"amount": "123.45", "cents": 12345}"#);
        assert!(t.uses(Placeholder::AmountDecimal));
    }
}
