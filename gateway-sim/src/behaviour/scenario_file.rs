//! Reading a scenario file's `[gateway]` table (TOML) into a validated [`BehaviourConfig`],
//! with errors that name the field's full path. The control plane's JSON (`PUT /_sim/config`)
//! goes through the same tracked deserializer.

use std::path::Path;

use super::config::{BehaviourConfig, ConfigError};

/// A scenario file's `[gateway]` table under the name it is switched to by
/// (`POST /_sim/scenarios/{name}/activate`): the file's name without its extension.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioBehaviour {
    pub name: String,
    pub behaviour: BehaviourConfig,
}

/// The name a scenario file goes by: `scenarios/flaky-network.toml` is `flaky-network`.
pub fn scenario_name(path: &Path) -> String {
    path.file_stem()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// Reads a scenario file and returns its validated `[gateway]` table (the default when absent);
/// every other top-level table (`[load]`, `[checks]`, ...) is ignored.
pub fn load_scenario_gateway(path: &Path) -> Result<BehaviourConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "scenario",
            format!("cannot read scenario file {}: {e}", path.display()),
        )
    })?;
    parse_scenario_gateway(&text).map_err(|mut e| {
        if e.field == "scenario" {
            e.message = format!("{}: {}", path.display(), e.message);
        }
        e
    })
}

/// Parses scenario TOML text and returns its validated `[gateway]` table (see
/// [`load_scenario_gateway`]).
pub fn parse_scenario_gateway(toml_text: &str) -> Result<BehaviourConfig, ConfigError> {
    let document: toml::Table = toml::from_str(toml_text)
        .map_err(|e| ConfigError::new("scenario", format!("not valid TOML: {e}")))?;
    let config = match document.get("gateway") {
        None => BehaviourConfig::default(),
        // toml's own message would repeat the key path; ours is in `field`.
        Some(table) => deserialize_tracked(table.clone(), |e| e.message().to_string())?,
    };
    config.validate()?;
    Ok(config)
}

impl BehaviourConfig {
    /// Parses and validates a JSON behaviour (the body of `PUT /_sim/config`: the `[gateway]`
    /// table as JSON). Errors name the field as in a scenario file (`gateway.faults.reset`).
    pub fn from_json(json_text: &str) -> Result<BehaviourConfig, ConfigError> {
        let mut deserializer = serde_json::Deserializer::from_str(json_text);
        let config = deserialize_tracked(&mut deserializer, |e| e.to_string())?;
        deserializer
            .end()
            .map_err(|e| ConfigError::new("gateway", format!("not valid JSON: {e}")))?;
        config.validate()?;
        Ok(config)
    }
}

/// Deserializes a `[gateway]` table, turning serde's error into one that names the field.
fn deserialize_tracked<'de, D>(
    deserializer: D,
    describe: impl Fn(&D::Error) -> String,
) -> Result<BehaviourConfig, ConfigError>
where
    D: serde::Deserializer<'de>,
{
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let mut field = String::from("gateway");
        for segment in error.path().iter() {
            match segment {
                serde_path_to_error::Segment::Map { key } => {
                    field.push('.');
                    field.push_str(key);
                }
                serde_path_to_error::Segment::Seq { index } => {
                    field.push_str(&format!("[{index}]"));
                }
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        ConfigError::new(field, describe(error.inner()))
    })
}
