//! The merchant's view of one order: what the service under test says it did with the order
//! (its status, how many times it fulfilled it, what it thinks was paid and refunded), read
//! back after a `--service` run with `[target.order]`.
//!
//! The gateway's ledger says where the money went; the merchant's view says what the merchant
//! believes. The money check (`reconcile.rs`) compares the two, so a service that drops a
//! webhook, applies one twice or lets an old event overwrite a newer one is caught even when
//! every client answer was right.
//!
//! Its own file because three readers share it: the run that fetches the views, the NDJSON
//! file they are saved in ([`MERCHANT_VIEWS_NDJSON`]) and the pure check that judges them.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Written beside the ledger after a run that read merchant views, for `loadgen check
/// --merchant-views`.
pub const MERCHANT_VIEWS_NDJSON: &str = "merchant-views.ndjson";

/// The order's state as the merchant reports it, mapped through `[target.order]`'s value lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    Paid,
    Pending,
    Failed,
    Refunded,
    /// The view could not be read (no answer, an error status, no value at the pointer) or its
    /// value is in none of the lists. Never judged: a read that failed says nothing about the
    /// merchant's books.
    Unknown,
}

/// What the merchant says about one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantView {
    pub order_id: String,
    pub status: MerchantStatus,
    /// How many times the merchant fulfilled (shipped) the order; `None` when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillments: Option<u32>,
    /// Minor units the merchant believes it was paid; `None` when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_paid: Option<i64>,
    /// Minor units the merchant believes it refunded; `None` when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_refunded: Option<i64>,
    /// Why the status is [`MerchantStatus::Unknown`], for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MerchantView {
    /// A view that could not be read, saying why.
    pub fn unreadable(order_id: &str, error: impl Into<String>) -> Self {
        Self {
            order_id: order_id.to_owned(),
            status: MerchantStatus::Unknown,
            fulfillments: None,
            amount_paid: None,
            amount_refunded: None,
            error: Some(error.into()),
        }
    }
}

/// Why a merchant-views file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum MerchantViewError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} line {line}: {source}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
}

/// Writes views as NDJSON, one object per line.
pub fn write_ndjson(path: &Path, views: &[MerchantView]) -> Result<(), MerchantViewError> {
    let io_err = |source| MerchantViewError::Io {
        path: path.to_owned(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io_err)?);
    for view in views {
        serde_json::to_writer(&mut out, view).map_err(|e| io_err(e.into()))?;
        out.write_all(b"\n").map_err(io_err)?;
    }
    out.flush().map_err(io_err)
}

/// Reads an NDJSON views file; blank lines are skipped.
pub fn read_ndjson(path: &Path) -> Result<Vec<MerchantView>, MerchantViewError> {
    let io_err = |source| MerchantViewError::Io {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut views = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(io_err)?;
        if line.trim().is_empty() {
            continue;
        }
        let view = serde_json::from_str(&line).map_err(|source| MerchantViewError::Parse {
            path: path.to_owned(),
            line: index + 1,
            source,
        })?;
        views.push(view);
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_survive_a_round_trip_through_ndjson() {
        let dir = std::env::temp_dir().join(format!("loadgen-views-{}", std::process::id()));
        assert!(std::fs::create_dir_all(&dir).is_ok());
        let path = dir.join(MERCHANT_VIEWS_NDJSON);
        let views = vec![
            MerchantView {
                order_id: "o-1".into(),
                status: MerchantStatus::Paid,
                fulfillments: Some(1),
                amount_paid: Some(1000),
                amount_refunded: Some(0),
                error: None,
            },
            MerchantView::unreadable("o-2", "HTTP 404"),
        ];
        let written = write_ndjson(&path, &views);
        let read = read_ndjson(&path);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(written.is_ok(), "{written:?}");
        assert_eq!(read.ok(), Some(views));
    }
}
