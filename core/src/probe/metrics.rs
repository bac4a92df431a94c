//! An observation's measured values by name: [`Metrics`] and its iterator.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Metric, MetricName};

/// Measured values by name, in name order, each name once: a map kept as a sorted vector.
///
/// Most observations carry one or two values, and hundreds of thousands of them may wait for
/// the history at once: a vector holds one value in 56 bytes where a `BTreeMap` node takes
/// over 600 (it always has room for eleven). Lookups search the sorted names.
#[derive(Clone, Default, PartialEq)]
pub struct Metrics(Vec<(MetricName, Metric)>);

impl Metrics {
    /// No values.
    pub const fn new() -> Self {
        Metrics(Vec::new())
    }

    /// No values yet, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Metrics(Vec::with_capacity(n))
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(name))
    }

    /// Sets `name` to `metric`; returns the value it replaces, if any.
    pub fn insert(&mut self, name: MetricName, metric: Metric) -> Option<Metric> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, metric)),
            Err(i) => {
                // Grown by what it holds, not doubled from four: most hold one or two.
                if self.0.len() == self.0.capacity() {
                    self.0.reserve_exact(self.0.len().max(1));
                }
                self.0.insert(i, (name, metric));
                None
            }
        }
    }

    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// The value named `name`, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Metric> {
        self.find(name).ok().map(|i| &mut self.0[i].1)
    }

    /// Whether a value is named `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Takes the value named `name` out.
    pub fn remove(&mut self, name: &str) -> Option<Metric> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names and values, in name order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.0.iter())
    }

    /// The names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &MetricName> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// The values, in name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Metric> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Keeps only the values `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&MetricName, &mut Metric) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }
}

impl std::ops::Index<&str> for Metrics {
    type Output = Metric;

    /// The value named `name`; panics when there is none, as a map's index does.
    fn index(&self, name: &str) -> &Metric {
        self.get(name)
            .unwrap_or_else(|| panic!("no metric named {name:?}"))
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The names and values of [`Metrics`], in name order.
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (MetricName, Metric)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a MetricName, &'a Metric);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Metrics {
    type Item = (&'a MetricName, &'a Metric);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Metrics {
    type Item = (MetricName, Metric);
    type IntoIter = std::vec::IntoIter<(MetricName, Metric)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<K: Into<MetricName>> Extend<(K, Metric)> for Metrics {
    fn extend<I: IntoIterator<Item = (K, Metric)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.into(), v);
        }
    }
}

impl<K: Into<MetricName>> FromIterator<(K, Metric)> for Metrics {
    fn from_iter<I: IntoIterator<Item = (K, Metric)>>(iter: I) -> Self {
        let mut all: Vec<(MetricName, Metric)> =
            iter.into_iter().map(|(k, v)| (k.into(), v)).collect();
        // A name given twice keeps its last value, as a map's insert does.
        all.reverse();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.dedup_by(|later, first| later.0 == first.0);
        all.shrink_to_fit();
        Metrics(all)
    }
}

impl<K: Into<MetricName>, const N: usize> From<[(K, Metric); N]> for Metrics {
    fn from(values: [(K, Metric); N]) -> Self {
        values.into_iter().collect()
    }
}

impl From<std::collections::BTreeMap<MetricName, Metric>> for Metrics {
    fn from(map: std::collections::BTreeMap<MetricName, Metric>) -> Self {
        // Already in order, each name once.
        Metrics(map.into_iter().collect())
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Values;
        impl<'de> Visitor<'de> for Values {
            type Value = Metrics;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of metric names to values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Metrics, A::Error> {
                let mut all = Vec::with_capacity(access.size_hint().unwrap_or(0).min(256));
                while let Some((k, v)) = access.next_entry::<String, Metric>()? {
                    all.push((MetricName::from(k), v));
                }
                Ok(all.into_iter().collect())
            }
        }
        d.deserialize_map(Values)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn m(v: f64) -> Metric {
        Metric::new(v, "s")
    }

    #[test]
    fn keeps_names_in_order_and_each_once_like_a_map() {
        let mut ours = Metrics::new();
        let mut map = BTreeMap::new();
        for (i, name) in ["b", "a", "c", "a", "d", "b"].into_iter().enumerate() {
            assert_eq!(
                ours.insert(name.into(), m(i as f64)),
                map.insert(MetricName::from(name), m(i as f64))
            );
        }
        assert!(ours.iter().eq(map.iter()));
        assert_eq!(ours.get("a"), map.get("a"));
        assert_eq!(ours.get("z"), None);
        assert_eq!(ours.remove("c"), map.remove("c"));
        assert!(!ours.contains_key("c"));
        assert_eq!(ours.len(), 3);
        assert!(ours.keys().map(|k| &**k).eq(["a", "b", "d"]));
    }

    #[test]
    fn one_value_takes_room_for_one() {
        let mut ours = Metrics::new();
        ours.insert("connect".into(), m(0.001));
        assert_eq!(ours.0.capacity(), 1);
    }

    #[test]
    fn collecting_keeps_the_last_value_of_a_name_given_twice() {
        let ours: Metrics = [("x", m(1.0)), ("a", m(2.0)), ("x", m(3.0))].into();
        assert_eq!(ours.get("x"), Some(&m(3.0)));
        assert!(ours.keys().map(|k| &**k).eq(["a", "x"]));
    }

    #[test]
    fn serializes_as_the_map_it_was() {
        let ours: Metrics = [("b", m(1.0)), ("a", Metric::new(2.0, ""))].into();
        let json = serde_json::to_string(&ours).unwrap();
        assert_eq!(json, r#"{"a":{"value":2.0},"b":{"value":1.0,"unit":"s"}}"#);
        let map: BTreeMap<MetricName, Metric> = serde_json::from_str(&json).unwrap();
        assert_eq!(Metrics::from(map), ours);
        // Unordered and repeated names, as a hand-written document may have them.
        let back: Metrics = serde_json::from_str(
            r#"{"b":{"value":0.5},"a":{"value":2.0},"b":{"value":1.0,"unit":"s"}}"#,
        )
        .unwrap();
        assert_eq!(back, ours);
    }
}
