//! `latency.hlog`: the HdrHistogram interval log, one interval per second, readable by the
//! HdrHistogram tools (HistogramLogProcessor, HdrHistogramVisualizer) and mergeable across
//! machines.
//!
//! Per second: one untagged interval (all steps, corrected: what the HdrHistogram tools plot by
//! default), then per step a `Tag=<step>` interval (corrected) and a `Tag=<step>.uncorrected`
//! one. Values are microseconds; the max column is divided to milliseconds. Timestamps are
//! seconds since `BaseTime`, the start of the run.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};

use super::ReportError;
use crate::latency::{LatencyRecorder, new_histogram};

/// Writes the recorder's per-second intervals as an interval log.
pub fn write_hlog(path: &Path, recorder: &LatencyRecorder) -> Result<(), ReportError> {
    let hlog_err = |detail: String| ReportError::Hlog {
        path: path.to_owned(),
        detail,
    };
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment("loadgen latency, microseconds, one interval per second")
            .add_comment("untagged: all steps (corrected); Tag=<step>: corrected; Tag=<step>.uncorrected: from the actual send time")
            .with_start_time(recorder.started_at())
            .with_base_time(recorder.started_at())
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut buf, &mut serializer)
            .map_err(|e| hlog_err(e.to_string()))?;
        let intervals = recorder.intervals();
        let one_second = Duration::from_secs(1);
        let mut at = 0;
        while at < intervals.len() {
            let second = intervals[at].second;
            let end = intervals[at..]
                .iter()
                .position(|i| i.second != second)
                .map_or(intervals.len(), |n| at + n);
            let start = Duration::from_secs(second);
            let mut all = new_histogram();
            for interval in &intervals[at..end] {
                let _ = all.add(&interval.corrected);
            }
            log.write_histogram(&all, start, one_second, None)
                .map_err(|e| hlog_err(e.to_string()))?;
            for interval in &intervals[at..end] {
                let step = tag_safe(&interval.step);
                let uncorrected = format!("{step}.uncorrected");
                for (h, tag) in [
                    (&interval.corrected, step.as_str()),
                    (&interval.uncorrected, uncorrected.as_str()),
                ] {
                    log.write_histogram(h, start, one_second, Tag::new(tag))
                        .map_err(|e| hlog_err(e.to_string()))?;
                }
            }
            at = end;
        }
    }
    std::fs::write(path, buf).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Tags may not hold commas, spaces or line breaks.
fn tag_safe(step: &str) -> String {
    step.chars()
        .map(|c| {
            if matches!(c, ',' | ' ' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// One interval read back from an interval log.
#[derive(Debug, Clone)]
pub struct HlogInterval {
    /// `None` for the untagged (all steps) intervals.
    pub tag: Option<String>,
    /// Seconds since the log's BaseTime.
    pub start: Duration,
    pub duration: Duration,
    /// Microseconds.
    pub histogram: Histogram<u64>,
}

/// Reads an interval log (as written by [`write_hlog`], or by any HdrHistogram tool).
pub fn read_hlog(path: &Path) -> Result<Vec<HlogInterval>, ReportError> {
    let hlog_err = |detail: String| ReportError::Hlog {
        path: path.to_owned(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut deserializer = Deserializer::new();
    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|e| hlog_err(format!("{e:?}")))?;
        let LogEntry::Interval(interval) = entry else {
            continue;
        };
        let encoded = base64::engine::general_purpose::STANDARD
            .decode(interval.encoded_histogram())
            .map_err(|e| {
                hlog_err(format!(
                    "bad base64 at {:?}: {e}",
                    interval.start_timestamp()
                ))
            })?;
        let histogram = deserializer
            .deserialize(&mut encoded.as_slice())
            .map_err(|e| {
                hlog_err(format!(
                    "bad histogram at {:?}: {e:?}",
                    interval.start_timestamp()
                ))
            })?;
        intervals.push(HlogInterval {
            tag: interval.tag().map(|t| t.as_str().to_owned()),
            start: interval.start_timestamp(),
            duration: interval.duration(),
            histogram,
        });
    }
    Ok(intervals)
}
