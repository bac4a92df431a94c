//! Monitors made in code (`Monitor.builder()`): the package assembles a config from the
//! built-in probes and sinks and the builder's settings, and the core builds it exactly as it
//! builds a config file, with the probes and sinks written in JavaScript put in place of their
//! stand-ins.

use std::collections::BTreeMap;
use std::sync::Arc;

use forewarn::{AlertSink, Config, Probe};
use napi_derive::napi;

use crate::custom::{JsProbe, JsSink, ProbeFn, SinkFn};
use crate::error::{IntoJs, other};
use crate::monitor::NativeMonitor;

/// How errors in a builder's settings name where they are.
const ORIGIN: &str = "<builder>";

/// A check whose probe is written in JavaScript.
#[napi(object)]
pub struct JsProbeInfo {
    /// The check's name.
    pub check: String,
    /// The probe's kind (`custom` unless it says).
    pub kind: String,
    /// What it probes (may be empty).
    pub target: String,
}

/// Builds the monitor of `config` (the config's tables as JSON text), with `probes` running
/// their checks through `callProbe` and the sinks named in `sinks` delivering through
/// `callSink`; opens the history store and restores saved states.
#[napi]
pub async fn build_monitor(
    config: String,
    probes: Vec<JsProbeInfo>,
    sinks: Vec<String>,
    #[napi(ts_arg_type = "(call: ProbeCall) => ProbeAnswer | Promise<ProbeAnswer>")]
    call_probe: ProbeFn,
    #[napi(ts_arg_type = "(call: SinkCall) => SinkAnswer | Promise<SinkAnswer>")] call_sink: SinkFn,
) -> napi::Result<NativeMonitor> {
    let config = tokio::task::spawn_blocking(move || Config::from_json(&config, ORIGIN))
        .await
        .map_err(other)?
        .js()?;
    let call_probe = Arc::new(call_probe);
    let call_sink = Arc::new(call_sink);
    let probes: BTreeMap<String, Arc<dyn Probe>> = probes
        .into_iter()
        .map(|p| {
            let probe: Arc<dyn Probe> = Arc::new(JsProbe::new(
                p.check.clone(),
                call_probe.clone(),
                p.kind,
                p.target,
            ));
            (p.check, probe)
        })
        .collect();
    let sinks: Vec<(String, Arc<dyn AlertSink>)> = sinks
        .into_iter()
        .map(|name| {
            let sink: Arc<dyn AlertSink> = Arc::new(JsSink::new(name.clone(), call_sink.clone()));
            (name, sink)
        })
        .collect();
    let inner = forewarn::Monitor::from_config_with(&config, &probes, sinks)
        .await
        .js()?;
    Ok(NativeMonitor::new(inner, config.status_title()))
}
