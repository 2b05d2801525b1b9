//! IPv4 and IPv6 CIDR blocks for `ipBlock` peers.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A CIDR block such as `10.0.0.0/8` or `fd00::/8`; a bare IP is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    v6: bool,
    base: u128,
    prefix: u8,
}

/// A CIDR that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR {0:?}; expected an IP or ADDRESS/PREFIX such as 10.0.0.0/8 or fd00::/8")]
pub struct CidrError(pub String);

fn bits(v6: bool) -> u8 {
    if v6 { 128 } else { 32 }
}

fn to_u128(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u32::from(a) as u128),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn mask(v6: bool, prefix: u8) -> u128 {
    let width = bits(v6);
    if prefix == 0 {
        return 0;
    }
    let all: u128 = if v6 { u128::MAX } else { u32::MAX as u128 };
    all & !((1u128 << (width - prefix)) - 1)
}

impl Cidr {
    pub fn from_ip(ip: IpAddr) -> Self {
        let (v6, base) = to_u128(ip);
        Self {
            v6,
            base,
            prefix: bits(v6),
        }
    }

    pub fn is_v6(&self) -> bool {
        self.v6
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn last(&self) -> u128 {
        let width = bits(self.v6);
        if self.prefix == 0 {
            return if self.v6 { u128::MAX } else { u32::MAX as u128 };
        }
        self.base | ((1u128 << (width - self.prefix)) - 1)
    }

    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        let (v6, value) = to_u128(ip);
        v6 == self.v6 && value & mask(v6, self.prefix) == self.base
    }

    /// Whether every address of `other` is in `self`.
    pub fn contains(&self, other: &Cidr) -> bool {
        other.v6 == self.v6
            && other.prefix >= self.prefix
            && other.base & mask(self.v6, self.prefix) == self.base
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// Whether `other` lies entirely within the union of `blocks` (blocks may overlap).
    pub fn covered_by(other: &Cidr, blocks: &[Cidr]) -> bool {
        let mut ranges: Vec<(u128, u128)> = blocks
            .iter()
            .filter(|b| b.v6 == other.v6 && b.overlaps(other))
            .map(|b| (b.base, b.last()))
            .collect();
        ranges.sort();
        let mut next = other.base;
        for (start, end) in ranges {
            if start > next {
                return false;
            }
            if end >= other.last() {
                return true;
            }
            next = next.max(end + 1);
        }
        false
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CidrError(s.to_string());
        let text = s.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| err())?;
        let (v6, value) = to_u128(ip);
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| err())?,
            None => bits(v6),
        };
        if prefix > bits(v6) {
            return Err(err());
        }
        Ok(Self {
            v6,
            base: value & mask(v6, prefix),
            prefix,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip: IpAddr = if self.v6 {
            IpAddr::V6(self.base.into())
        } else {
            IpAddr::V4((self.base as u32).into())
        };
        write!(f, "{ip}/{}", self.prefix)
    }
}

/// Address ranges that are not on the public internet (private, loopback, link-local, CGNAT, ULA).
pub fn non_public_ranges() -> Vec<Cidr> {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/8",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .filter_map(|c| c.parse().ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_and_ipv6_containment() {
        assert!(c("10.0.0.0/8").contains_ip("10.1.2.3".parse().unwrap()));
        assert!(!c("10.0.0.0/8").contains_ip("11.0.0.1".parse().unwrap()));
        assert!(c("0.0.0.0/0").contains_ip("8.8.8.8".parse().unwrap()));
        assert!(!c("0.0.0.0/0").contains_ip("::1".parse().unwrap()));
        assert!(c("::/0").contains_ip("2001:db8::1".parse().unwrap()));
        assert!(c("2001:db8::/32").contains(&c("2001:db8:1::/48")));
        assert!(!c("2001:db8:1::/48").contains(&c("2001:db8::/32")));
    }

    #[test]
    fn host_bits_are_masked_and_bare_ips_are_single_hosts() {
        assert_eq!(c("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(c("8.8.8.8").to_string(), "8.8.8.8/32");
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nope".parse::<Cidr>().is_err());
    }

    #[test]
    fn coverage_by_union_of_blocks() {
        let blocks = [c("10.0.0.0/9"), c("10.128.0.0/9")];
        assert!(Cidr::covered_by(&c("10.0.0.0/8"), &blocks));
        assert!(!Cidr::covered_by(&c("10.0.0.0/7"), &blocks));
    }
}
