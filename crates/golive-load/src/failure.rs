//! Naming a failed exchange for the metrics: I/O and hyper errors classified into an
//! [`ErrorKind`], shared by the HTTP/1.1 connection and the HTTP/2 client.

use std::io;

use crate::stats::ErrorKind;

/// A socket or TLS error; rustls reports through `io::Error` with its own error inside.
pub(crate) fn io_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
        _ => {
            if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
                ErrorKind::Tls
            } else {
                ErrorKind::Connect
            }
        }
    }
}

/// hyper wraps the socket's `io::Error` when there is one: that names the cause best.
pub(crate) fn hyper_kind(e: &hyper::Error) -> ErrorKind {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return io_kind(io);
        }
        source = s.source();
    }
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_parse() || e.is_user() {
        ErrorKind::Protocol
    } else {
        // Incomplete message, canceled or closed: the peer went away mid-exchange.
        ErrorKind::Reset
    }
}
