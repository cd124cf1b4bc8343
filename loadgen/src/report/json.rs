//! `report.json`: the [`RunReport`] as pretty-printed JSON (schema in the module doc of
//! [`crate::report`]), and reading it back (for comparisons and merges across runs).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use super::{ReportError, RunReport};

pub fn write_json(path: &Path, report: &RunReport) -> Result<(), ReportError> {
    let io_err = |source| ReportError::Io {
        path: path.to_owned(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io_err)?);
    serde_json::to_writer_pretty(&mut out, report).map_err(|source| ReportError::Json {
        path: path.to_owned(),
        source,
    })?;
    out.write_all(b"\n").map_err(io_err)?;
    out.flush().map_err(io_err)
}

pub fn read_json(path: &Path) -> Result<RunReport, ReportError> {
    let file = File::open(path).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_reader(BufReader::new(file)).map_err(|source| ReportError::Json {
        path: path.to_owned(),
        source,
    })
}
