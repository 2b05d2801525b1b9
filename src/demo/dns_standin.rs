//! A STAND-IN for the DNS provider, for `golive demo` only: a UDP nameserver on 127.0.0.1
//! that answers A, AAAA and CNAME queries from a fixed table (the demo Ingress's hosts),
//! NXDOMAIN for every other name. It is no DNS server: no zones, no TCP, no recursion;
//! messages are read and written with hickory's protocol types, not by hand.

use hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, CNAME};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// One name in the stand-in's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandInRecord {
    A(Ipv4Addr),
    Cname(String),
}

/// The Gravl demo's records: the Ingress host at its load-balancer address, and the API
/// host as a CNAME to it (`assets/demo/gravl/operations.yaml`).
pub fn gravl_records() -> Vec<(String, StandInRecord)> {
    vec![
        (
            "staging.gravl.example".into(),
            StandInRecord::A(Ipv4Addr::new(198, 51, 100, 20)),
        ),
        (
            "api.staging.gravl.example".into(),
            StandInRecord::Cname("staging.gravl.example".into()),
        ),
    ]
}

pub struct DnsStandIn {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl DnsStandIn {
    /// Binds 127.0.0.1 on a free port and answers from `records`.
    pub async fn start(records: Vec<(String, StandInRecord)>) -> std::io::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = socket.local_addr()?;
        let records = Arc::new(records);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                if let Some(reply) = answer(&buf[..n], &records) {
                    let _ = socket.send_to(&reply, from).await;
                }
            }
        });
        Ok(Self { addr, task })
    }

    /// `127.0.0.1:PORT`, as a plan's `nameserver:` takes it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for DnsStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn normal(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

fn fqdn(text: &str) -> Option<Name> {
    Name::from_str(&format!("{}.", text.trim_end_matches('.'))).ok()
}

/// The reply to one query message; `None` for what cannot be parsed (dropped, as a
/// server drops garbage).
fn answer(bytes: &[u8], records: &[(String, StandInRecord)]) -> Option<Vec<u8>> {
    let request = Message::from_vec(bytes).ok()?;
    let mut reply = Message::response(request.metadata.id, OpCode::Query);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    let Some(query) = request.queries.first().cloned() else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return reply.to_vec().ok();
    };
    reply.add_query(query.clone());
    let mut name = normal(query.name());
    let mut owner = query.name().clone();
    let mut known = false;
    // Follow CNAMEs inside the table, as a recursive resolver hands back the chain.
    for _ in 0..8 {
        let Some((_, record)) = records.iter().find(|(n, _)| *n == name) else {
            break;
        };
        known = true;
        match record {
            StandInRecord::Cname(target) => {
                let Some(target_name) = fqdn(target) else {
                    break;
                };
                reply.add_answer(Record::from_rdata(
                    owner.clone(),
                    30,
                    RData::CNAME(CNAME(target_name.clone())),
                ));
                if query.query_type() == RecordType::CNAME {
                    break;
                }
                owner = target_name;
                name = target.trim_end_matches('.').to_ascii_lowercase();
            }
            StandInRecord::A(ip) => {
                if query.query_type() == RecordType::A {
                    reply.add_answer(Record::from_rdata(owner.clone(), 30, RData::A(A(*ip))));
                }
                break;
            }
        }
    }
    if !known {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.to_vec().ok()
}
