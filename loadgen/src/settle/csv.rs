//! Reading the gateway's CSVs: the payout reconciliation report and the bank statement,
//! with RFC 4180 quoting (an order id may hold a comma), by header name so a column added
//! later breaks nothing. Times come back from UTC `YYYY-MM-DD HH:MM:SS` to Unix seconds.

use std::collections::HashMap;

/// A CSV the check cannot read, and why.
#[derive(Debug, thiserror::Error)]
#[error("{what}, line {line}: {message}")]
pub struct CsvError {
    pub what: &'static str,
    pub line: usize,
    pub message: String,
}

/// One line of the payout reconciliation report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLine {
    pub payout: String,
    /// Unix seconds.
    pub payout_effective_at: u64,
    pub balance_transaction: String,
    pub created: u64,
    pub available_on: u64,
    pub currency: String,
    pub gross: i64,
    pub fee: i64,
    pub net: i64,
    pub category: String,
    pub source: String,
    /// Empty for rows no payment made (payouts' returns, unknown rows).
    pub charge: String,
    pub order_id: String,
}

/// One line of the bank statement: a payout that reached the merchant's account.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementLine {
    pub value_date: u64,
    pub account: String,
    pub payout: String,
    pub amount: i64,
    pub currency: String,
}

/// Splits CSV text into records of fields.
fn records(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        out.push(record);
    }
    out
}

/// Records as header → value maps.
fn table(text: &str) -> Vec<HashMap<String, String>> {
    let mut all = records(text).into_iter();
    let Some(header) = all.next() else {
        return Vec::new();
    };
    all.map(|r| header.iter().cloned().zip(r).collect())
        .collect()
}

struct Reader<'a> {
    what: &'static str,
    line: usize,
    row: &'a HashMap<String, String>,
}

impl Reader<'_> {
    fn err(&self, message: String) -> CsvError {
        CsvError {
            what: self.what,
            line: self.line,
            message,
        }
    }

    fn text(&self, column: &str) -> Result<String, CsvError> {
        self.row
            .get(column)
            .cloned()
            .ok_or_else(|| self.err(format!("no `{column}` column")))
    }

    fn int(&self, column: &str) -> Result<i64, CsvError> {
        let v = self.text(column)?;
        v.parse()
            .map_err(|_| self.err(format!("`{column}` is not a whole number: {v:?}")))
    }

    fn time(&self, column: &str) -> Result<u64, CsvError> {
        let v = self.text(column)?;
        unix_seconds(&v).ok_or_else(|| {
            self.err(format!(
                "`{column}` is not a time YYYY-MM-DD HH:MM:SS: {v:?}"
            ))
        })
    }
}

pub fn read_report(text: &str) -> Result<Vec<ReportLine>, CsvError> {
    table(text)
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let r = Reader {
                what: "payout reconciliation report",
                line: i + 2,
                row,
            };
            Ok(ReportLine {
                payout: r.text("automatic_payout_id")?,
                payout_effective_at: r.time("automatic_payout_effective_at")?,
                balance_transaction: r.text("balance_transaction_id")?,
                created: r.time("created")?,
                available_on: r.time("available_on")?,
                currency: r.text("currency")?,
                gross: r.int("gross")?,
                fee: r.int("fee")?,
                net: r.int("net")?,
                category: r.text("reporting_category")?,
                source: r.text("source_id")?,
                charge: r.text("charge_id")?,
                order_id: r.text("payment_metadata[order_id]")?,
            })
        })
        .collect()
}

pub fn read_statement(text: &str) -> Result<Vec<StatementLine>, CsvError> {
    table(text)
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let r = Reader {
                what: "bank statement",
                line: i + 2,
                row,
            };
            Ok(StatementLine {
                value_date: r.time("value_date")?,
                account: r.text("account")?,
                payout: r.text("reference")?,
                amount: r.int("amount")?,
                currency: r.text("currency")?,
            })
        })
        .collect()
}

/// UTC `YYYY-MM-DD HH:MM:SS` as Unix seconds (days from civil, Howard Hinnant's algorithm).
pub fn unix_seconds(text: &str) -> Option<u64> {
    let (date, time) = text.split_once(' ')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back_as_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01 00:00:00"), Some(0));
        assert_eq!(unix_seconds("2000-02-29 00:00:00"), Some(951_782_400));
        assert_eq!(unix_seconds("2023-11-14 22:13:20"), Some(1_700_000_000));
        assert_eq!(unix_seconds("yesterday"), None);
    }

    #[test]
    fn quoted_fields_keep_their_commas_and_quotes() {
        let rows = records("a,b\n\"x,1\",\"say \"\"hi\"\"\"\n");
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x,1", "say \"hi\""]]);
    }
}
