//! Finding the printers on a network: every address of a CIDR range is polled (with bounded
//! concurrency), and those answering the Printer-MIB are returned, ready to become checks.

use std::net::IpAddr;
use std::time::Duration;

use futures::StreamExt;
use ipnet::IpNet;
use serde::Serialize;
use tokio::time::Instant;

use super::{PrinterConfig, SnmpVersion};
use crate::config::Secret;
use crate::error::{Error, Result};

/// Ranges larger than this are refused (a /16 is the most a district segment should need).
pub const MAX_ADDRESSES: usize = 65_536;

/// How to look.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// The community to try (v1/v2c). A secret: it is never printed.
    pub community: Secret,
    /// "1" or "2c".
    pub version: SnmpVersion,
    /// The UDP port (161).
    pub port: u16,
    /// How many addresses are asked at once.
    pub concurrency: usize,
    /// How long to wait for one answer.
    pub timeout: Duration,
    /// How many times an unanswered request is repeated.
    pub retries: u32,
    /// The environment variable the printed config reads the community from.
    pub community_env: String,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self {
            community: Secret::new("public"),
            version: SnmpVersion::V2c,
            port: 161,
            concurrency: 64,
            timeout: Duration::from_secs(1),
            retries: 0,
            community_env: "PRINTER_COMMUNITY".into(),
        }
    }
}

/// A printer that answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscoveredPrinter {
    /// Its address.
    pub addr: IpAddr,
    /// The model (hrDeviceDescr, else sysDescr).
    pub model: Option<String>,
    /// sysName.
    pub sys_name: Option<String>,
    /// sysLocation.
    pub location: Option<String>,
    /// The serial number.
    pub serial: Option<String>,
    /// How many marker supplies it lists.
    pub supplies: usize,
    /// How many input trays it lists.
    pub trays: usize,
}

/// The addresses of a CIDR ("10.1.0.0/24", without network and broadcast addresses) or of a
/// single address.
pub fn addresses(cidr: &str) -> Result<Vec<IpAddr>> {
    let cidr = cidr.trim();
    let net: IpNet = match cidr.parse() {
        Ok(n) => n,
        Err(_) => match cidr.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => {
                return Err(Error::invalid(
                    "cidr",
                    format!("`{cidr}` is not an address range like 10.1.0.0/24"),
                ));
            }
        },
    };
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if host_bits > MAX_ADDRESSES.trailing_zeros() {
        return Err(Error::invalid(
            "cidr",
            format!("`{cidr}` is larger than {MAX_ADDRESSES} addresses; split it"),
        ));
    }
    Ok(net.hosts().collect())
}

/// Polls every address of `cidr` and returns the printers that answer the Printer-MIB, by
/// address.
pub async fn discover(cidr: &str, options: &DiscoverOptions) -> Result<Vec<DiscoveredPrinter>> {
    if options.version == SnmpVersion::V3 {
        return Err(Error::invalid(
            "version",
            "discovery uses a community: version 1 or 2c",
        ));
    }
    if options.concurrency == 0 {
        return Err(Error::invalid("concurrency", "must be at least 1"));
    }
    let addrs = addresses(cidr)?;
    let per_host = options.timeout * (options.retries + 1) * 8;
    let found: Vec<Option<DiscoveredPrinter>> = futures::stream::iter(addrs)
        .map(|addr| async move {
            let mut cfg = PrinterConfig::new(addr.to_string());
            cfg.port = options.port;
            cfg.version = options.version;
            cfg.community = Some(options.community.clone());
            cfg.request_timeout = options.timeout;
            cfg.retries = options.retries;
            let probe = cfg.build().ok()?;
            let poll = probe.poll(Instant::now() + per_host).await.ok()?;
            let r = poll.report;
            r.has_printer_mib().then(|| DiscoveredPrinter {
                addr,
                model: r.identity.model.clone(),
                sys_name: r.identity.sys_name.clone(),
                location: r.identity.location.clone(),
                serial: r.identity.serial.clone(),
                supplies: r.supplies.len(),
                trays: r.trays.len(),
            })
        })
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    let mut out: Vec<DiscoveredPrinter> = found.into_iter().flatten().collect();
    out.sort_by_key(|p| p.addr);
    Ok(out)
}

fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `[[checks]]` blocks for the found printers, reading the community from `${ENV}` (the
/// secret itself is never printed).
pub fn to_config(printers: &[DiscoveredPrinter], options: &DiscoverOptions) -> String {
    let mut out = String::new();
    if printers.is_empty() {
        out.push_str("# No printer answered.\n");
        return out;
    }
    out.push_str(&format!(
        "# {} printer{} found. Set {} to the community before running forewarn.\n",
        printers.len(),
        if printers.len() == 1 { "" } else { "s" },
        options.community_env
    ));
    for p in printers {
        let model = p.model.clone().unwrap_or_else(|| "Printer".into());
        let mut about = vec![format!("{} supplies, {} trays", p.supplies, p.trays)];
        if let Some(s) = &p.serial {
            about.push(format!("serial {s}"));
        }
        if let Some(l) = &p.location {
            about.push(format!("location {l}"));
        }
        out.push_str(&format!(
            "\n# {model}: {}\n",
            about.join(", ").replace('\n', " ")
        ));
        out.push_str("[[checks]]\n");
        out.push_str(&format!(
            "name = {}\n",
            toml_string(&format!("{model} ({})", p.addr))
        ));
        out.push_str("type = \"printer\"\n");
        out.push_str(&format!("host = \"{}\"\n", p.addr));
        if options.port != 161 {
            out.push_str(&format!("port = {}\n", options.port));
        }
        if options.version == SnmpVersion::V1 {
            out.push_str("version = \"1\"\n");
        }
        out.push_str(&format!("community = \"${{{}}}\"\n", options.community_env));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(addresses("10.1.0.0/30").unwrap().len(), 2);
        assert_eq!(
            addresses("10.1.0.7").unwrap(),
            vec!["10.1.0.7".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(addresses("10.1.0.0/24").unwrap().len(), 254);
        assert!(addresses("10.0.0.0/8").is_err());
        assert!(addresses("printer").is_err());
    }

    #[test]
    fn config_never_prints_the_community() {
        let opts = DiscoverOptions {
            community: Secret::new("s3cret"),
            port: 1161,
            ..Default::default()
        };
        let p = DiscoveredPrinter {
            addr: "10.1.0.5".parse().unwrap(),
            model: Some("HP \"Color\" M880".into()),
            sys_name: None,
            location: None,
            serial: Some("X1".into()),
            supplies: 4,
            trays: 2,
        };
        let text = to_config(&[p], &opts);
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("community = \"${PRINTER_COMMUNITY}\""),
            "{text}"
        );
        let cfg: toml::Value = toml::from_str(&text).unwrap();
        let check = &cfg["checks"][0];
        assert_eq!(check["name"].as_str(), Some("HP \"Color\" M880 (10.1.0.5)"));
        assert_eq!(check["port"].as_integer(), Some(1161));
    }
}
