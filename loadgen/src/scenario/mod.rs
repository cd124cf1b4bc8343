//! Reads a scenario file into a validated plan for one run.
//!
//! One TOML file has several readers. loadgen reads:
//!
//! - `[load]`: the arrival rate, duration, users, order amounts and the weighted
//!   flow mix ([`LoadPlan`]); command-line flags override it ([`LoadOverrides`]);
//! - `[checks]`: the pass/fail thresholds (kept as a TOML table here and turned
//!   into the check's own type by the run);
//! - `[target]`: the request template for `--service` mode ([`TargetTemplate`]);
//! - `[capacity]`: how `loadgen capacity` steps the arrival rate
//!   ([`CapacitySettings`]); its flags override it;
//! - `[settle]`: the settlement step of `loadgen run` ([`SettlePlan`]): the gateway's clock
//!   moved during the load, and `loadgen settle`'s check after it;
//! - `[gateway]`: not read here beyond being a table; the embedded gateway-sim
//!   reads it from the same text ([`Scenario::text`]).
//!
//! Any other top-level table, and any unknown key inside `[load]`, `[target]` or `[capacity]`,
//! is an error naming it: a misspelt key that is silently ignored would run a
//! different experiment from the one the file describes.
//!
//! Durations are read with gateway-sim's parser ([`gateway_sim::parse_duration`]), so one
//! file has one duration grammar whichever tool reads it; each table then applies its own
//! bounds.
//!
//! No I/O beyond reading the file.
//!
//! A file per table, because each table has its own readers and grows on its own:
//!
//! - this file: [`Scenario`] (the whole file), [`ScenarioError`], reading the file and the
//!   top-level table check;
//! - `load.rs`: `[load]`, the traffic of one run, and the flags that override it;
//! - `mix.rs`: `[load.mix]`, the flow kinds and their weights (the flows pick from it);
//! - `three_ds.rs`: `[load.three_ds]`, how the `three_ds` flow's buyers answer the challenge;
//! - `capacity.rs`: `[capacity]`, the staircase `loadgen capacity` climbs (read only there);
//! - `settle.rs`: `[settle]`, the settlement a run plays and checks (read only by the run);
//! - `target.rs`: `[target]`, the request template of `--service` mode (read only there);
//! - `template.rs`: the `{{placeholder}}` text both `[target]` and `[target.order]` fill in;
//! - `order.rs`: `[target.order]`, how to read an order back from the service after the run
//!   (the merchant's view, compared with the ledger);
//! - `field.rs`: the (field, message) error each table's validation returns, which this
//!   file turns into a [`ScenarioError`] naming the file and the table. It is apart so that
//!   the table files never import from this one.

mod capacity;
mod field;
mod load;
mod mix;
mod order;
mod settle;
mod target;
mod template;
#[cfg(test)]
mod tests;
mod three_ds;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use capacity::{
    CapacitySettings, RateIncrease, check_capacity_factor, check_capacity_rate, check_step_duration,
};
pub use load::{LoadOverrides, LoadPlan, MAX_RATE};
pub use mix::FlowKind;
pub use order::OrderLookup;
pub use settle::SettlePlan;
pub use target::{SecondStep, StepRequest, TargetTemplate};
pub use template::{Template, TemplateValues};

use capacity::RawCapacity;
use load::RawLoad;
use settle::RawSettle;
use target::RawTarget;

/// Why a scenario could not be used; the message names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario {origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("scenario {origin}: {field}: {message}")]
    Invalid {
        origin: String,
        field: String,
        message: String,
    },
}

/// A whole scenario file, validated.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file's stem (`happy-path` for `scenarios/happy-path.toml`): names the report directory.
    pub name: String,
    /// Where it was read from, or a label such as `<inline>`.
    pub origin: String,
    /// The whole file text, for readers of the other tables (gateway-sim's `[gateway]`).
    pub text: String,
    pub load: LoadPlan,
    /// The `[checks]` table as written (empty when absent).
    pub checks: toml::Table,
    /// The `[gateway]` table as written, if any.
    pub gateway: Option<toml::Table>,
    /// The `[target]` template, if any.
    pub target: Option<TargetTemplate>,
    /// The `[capacity]` table, if any (read only by `loadgen capacity`).
    pub capacity: Option<CapacitySettings>,
    /// The `[settle]` table, if any: the run plays and checks settlement.
    pub settle: Option<SettlePlan>,
}

impl Scenario {
    /// Read and validate a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "scenario".to_string());
        Self::parse(&text, &name, &path.display().to_string())
    }

    /// Validate scenario text; `name` names reports, `origin` names the source in errors.
    pub fn parse(text: &str, name: &str, origin: &str) -> Result<Self, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| ScenarioError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let invalid = |field: &str, message: String| ScenarioError::Invalid {
            origin: origin.to_string(),
            field: field.to_string(),
            message,
        };
        let load = raw
            .load
            .unwrap_or_default()
            .validate()
            .map_err(|(field, message)| invalid(&format!("[load] {field}"), message))?;
        let target = raw
            .target
            .map(TargetTemplate::compile)
            .transpose()
            .map_err(|(field, message)| invalid(&format!("[target] {field}"), message))?;
        let capacity = raw
            .capacity
            .map(RawCapacity::validate)
            .transpose()
            .map_err(|(field, message)| invalid(&format!("[capacity] {field}"), message))?;
        let settle = raw
            .settle
            .map(RawSettle::validate)
            .transpose()
            .map_err(|(field, message)| invalid(&format!("[settle] {field}"), message))?;
        Ok(Self {
            name: sanitize_name(name),
            origin: origin.to_string(),
            text: text.to_string(),
            load,
            checks: raw.checks.unwrap_or_default(),
            gateway: raw.gateway,
            target,
            capacity,
            settle,
        })
    }

    /// Apply command-line overrides to `[load]` and validate the result again.
    pub fn override_load(&mut self, overrides: &LoadOverrides) -> Result<(), ScenarioError> {
        self.load = self
            .load
            .with_overrides(overrides)
            .map_err(|(field, message)| ScenarioError::Invalid {
                origin: self.origin.clone(),
                field: format!("--{field}"),
                message,
            })?;
        Ok(())
    }
}

/// Keeps a report directory name to letters, digits, `-`, `_` and `.`.
fn sanitize_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "scenario".to_string()
    } else {
        cleaned
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    gateway: Option<toml::Table>,
    load: Option<RawLoad>,
    checks: Option<toml::Table>,
    target: Option<RawTarget>,
    capacity: Option<RawCapacity>,
    settle: Option<RawSettle>,
}
