//! Built-in probes and sinks made from settings (`probes.http({…})`, `sinks.email({…})`): each
//! is checked when it is made by the core's own config validation, as the one `[[checks]]`
//! entry or `[sinks.NAME]` section of a config, so its errors read as the config's do.

use forewarn::Config;
use napi_derive::napi;

use crate::error::IntoJs;

/// Checks a built-in probe's settings (a `[[checks]]` entry without its name, as JSON text);
/// errors name `what` (`forewarn.probes.http`) as their file.
#[napi]
pub fn validate_probe(what: String, table: String) -> napi::Result<()> {
    Config::check_probe_json(&what, &table).js()
}

/// Checks a built-in sink's settings (a `[sinks.NAME]` section, as JSON text); errors name
/// `what` (`forewarn.sinks.email`) as their file.
#[napi]
pub fn validate_sink(what: String, table: String) -> napi::Result<()> {
    Config::check_sink_json(&what, &table).js()
}
