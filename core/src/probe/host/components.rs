//! Temperature sensors on systems without Linux's hwmon tree (macOS, Windows, the BSDs), through
//! sysinfo's components. They give the critical limit, where the platform tells it, but no high
//! limit.

use super::linux::Temperature;

/// Every sensor sysinfo finds, `None` when it finds none.
pub fn temperatures() -> Option<Vec<Temperature>> {
    let components = sysinfo::Components::new_with_refreshed_list().ok()?;
    let out: Vec<Temperature> = components
        .iter()
        .filter_map(|c| {
            let celsius = f64::from(c.temperature()?);
            celsius.is_finite().then(|| Temperature {
                sensor: c.label().to_owned(),
                celsius,
                high: None,
                critical: c
                    .critical()
                    .map(f64::from)
                    .filter(|v| v.is_finite() && *v > 0.0),
            })
        })
        .collect();
    (!out.is_empty()).then_some(out)
}
