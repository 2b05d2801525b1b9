//! Ports and protocols: what a query asks for and what a rule allows.

use std::fmt;
use std::str::FromStr;

/// Transport protocol of a NetworkPolicy port (default TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// Parses `TCP`, `UDP` or `SCTP` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            "SCTP" => Some(Self::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
        })
    }
}

/// One port a connection is made to: `53/UDP`, `443/TCP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortSpec {
    pub port: u16,
    pub protocol: Protocol,
}

impl PortSpec {
    pub fn tcp(port: u16) -> Self {
        Self {
            port,
            protocol: Protocol::Tcp,
        }
    }
    pub fn udp(port: u16) -> Self {
        Self {
            port,
            protocol: Protocol::Udp,
        }
    }
}

/// A port that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid port {input:?}: {reason}; expected PORT or PORT/PROTOCOL, e.g. 443, 53/UDP, 3000/TCP (port 1-65535, protocol TCP, UDP or SCTP)"
)]
pub struct PortSpecError {
    pub input: String,
    pub reason: String,
}

impl FromStr for PortSpec {
    type Err = PortSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| PortSpecError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let text = s.trim();
        let (port, protocol) = match text.split_once('/') {
            Some((p, proto)) => (
                p.trim(),
                Protocol::parse(proto.trim()).ok_or_else(|| err("unknown protocol"))?,
            ),
            None => (text, Protocol::Tcp),
        };
        let port: u16 = port.parse().map_err(|_| err("the port is not a number"))?;
        if port == 0 {
            return Err(err("port 0 is not a port"));
        }
        Ok(Self { port, protocol })
    }
}

impl TryFrom<String> for PortSpec {
    type Error = PortSpecError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<PortSpec> for String {
    fn from(value: PortSpec) -> Self {
        value.to_string()
    }
}

impl serde::Serialize for PortSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PortSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u16),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => format!("{n}").parse().map_err(serde::de::Error::custom),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)
    }
}

/// A port a container declares (`containerPort`, optional `name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
}

/// The `port` of a NetworkPolicy port entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortRef {
    Number(u16),
    /// Resolved against the destination pod's container ports.
    Name(String),
}

/// One entry of a rule's `ports`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortRule {
    pub protocol: Protocol,
    /// `None`: every port of the protocol.
    pub port: Option<PortRef>,
    pub end_port: Option<u16>,
}

impl PortRule {
    /// Whether this entry allows `spec` on a destination with these container ports.
    pub fn matches(&self, spec: PortSpec, dest_ports: &[ContainerPort]) -> bool {
        match self.matches_any_destination(spec) {
            Some(answer) => answer,
            None => {
                let Some(PortRef::Name(name)) = &self.port else {
                    return false;
                };
                dest_ports.iter().any(|cp| {
                    cp.name.as_deref() == Some(name.as_str())
                        && cp.protocol == self.protocol
                        && cp.port == spec.port
                })
            }
        }
    }

    /// The answer when it does not depend on the destination; `None` for named ports.
    pub fn matches_any_destination(&self, spec: PortSpec) -> Option<bool> {
        if spec.protocol != self.protocol {
            return Some(false);
        }
        match &self.port {
            None => Some(true),
            Some(PortRef::Number(p)) => {
                let end = self.end_port.unwrap_or(*p).max(*p);
                Some((*p..=end).contains(&spec.port))
            }
            Some(PortRef::Name(_)) => None,
        }
    }
}

impl fmt::Display for PortRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.port, self.end_port) {
            (None, _) => write!(f, "all/{}", self.protocol),
            (Some(PortRef::Number(p)), Some(end)) if end > *p => {
                write!(f, "{p}-{end}/{}", self.protocol)
            }
            (Some(PortRef::Number(p)), _) => write!(f, "{p}/{}", self.protocol),
            (Some(PortRef::Name(n)), _) => write!(f, "{n}/{}", self.protocol),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_spec_parses_number_and_protocol() {
        assert_eq!("53/UDP".parse::<PortSpec>().unwrap(), PortSpec::udp(53));
        assert_eq!("80".parse::<PortSpec>().unwrap(), PortSpec::tcp(80));
        assert_eq!("443/tcp".parse::<PortSpec>().unwrap(), PortSpec::tcp(443));
        assert_eq!(
            "9/SCTP".parse::<PortSpec>().unwrap().protocol,
            Protocol::Sctp
        );
    }

    #[test]
    fn port_spec_errors_say_what_was_expected() {
        for bad in ["http", "80/HTTP", "0", "70000/TCP", ""] {
            let err = bad.parse::<PortSpec>().unwrap_err().to_string();
            assert!(err.contains("expected PORT or PORT/PROTOCOL"), "{err}");
        }
    }

    #[test]
    fn port_entry_without_port_allows_every_port_of_its_protocol() {
        let rule = PortRule {
            protocol: Protocol::Udp,
            port: None,
            end_port: None,
        };
        assert!(rule.matches(PortSpec::udp(9999), &[]));
        assert!(!rule.matches(PortSpec::tcp(9999), &[]));
    }

    #[test]
    fn end_port_allows_a_range() {
        let rule = PortRule {
            protocol: Protocol::Tcp,
            port: Some(PortRef::Number(8000)),
            end_port: Some(8010),
        };
        assert!(rule.matches(PortSpec::tcp(8000), &[]));
        assert!(rule.matches(PortSpec::tcp(8010), &[]));
        assert!(!rule.matches(PortSpec::tcp(8011), &[]));
    }

    #[test]
    fn named_port_resolves_against_destination_container_ports() {
        let rule = PortRule {
            protocol: Protocol::Tcp,
            port: Some(PortRef::Name("metrics".into())),
            end_port: None,
        };
        let ports = [ContainerPort {
            name: Some("metrics".into()),
            port: 3001,
            protocol: Protocol::Tcp,
        }];
        assert!(rule.matches(PortSpec::tcp(3001), &ports));
        assert!(!rule.matches(PortSpec::tcp(3000), &ports));
        assert!(!rule.matches(PortSpec::tcp(3001), &[]));
    }
}
