//! Watch streams: replay from history or the current state, then live
//! events as JSON lines, bookmarks, timeouts and the 410 for expired RVs.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::catalogue::ResourceType;
use crate::object::StoredObject;
use crate::request::{Filter, Form};
use crate::respond::{Body, bad_request, status_object};
use crate::state::{Shared, lock};
use crate::store::{Event, EventType, WatchStart};
use crate::table::{IncludeObject, table};

/// Longest a watch stays open without `timeoutSeconds`, like a real
/// server's min-request-timeout.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

pub(crate) struct WatchOptions {
    pub resource_version: Option<String>,
    pub timeout: Option<Duration>,
    pub bookmarks: bool,
    pub send_initial_events: bool,
}

/// Turns store events into the JSON lines one watch stream sends.
struct WatchEncoder {
    resource: Arc<ResourceType>,
    filter: Filter,
    form: Form,
    include: IncludeObject,
    table_columns_sent: bool,
    secret_data_sent: bool,
}

impl WatchEncoder {
    fn object_line(&mut self, event_type: &str, object: &StoredObject) -> Bytes {
        let rendered = match self.form {
            Form::Full => {
                if object.index.has_secret_data() {
                    self.secret_data_sent = true;
                }
                // The stored bytes as they are: initial state can be thousands of objects.
                return stored_event_bytes(event_type, object);
            }
            Form::Metadata => object.partial_metadata(),
            Form::Table => {
                if self.include == IncludeObject::Object && object.index.has_secret_data() {
                    self.secret_data_sent = true;
                }
                let object = object.value();
                let rv = object
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                let mut rendered = table(
                    &self.resource,
                    &[&object],
                    self.include,
                    json!({"resourceVersion": rv}),
                );
                // Like real servers, only the first event carries column definitions.
                if self.table_columns_sent {
                    rendered["columnDefinitions"] = json!([]);
                }
                self.table_columns_sent = true;
                rendered
            }
        };
        event_bytes(event_type, &rendered)
    }

    fn event_line(&mut self, event: &Event) -> Option<Bytes> {
        let now = self.filter.matches(&event.object.index);
        let event_type = match event.event_type {
            EventType::Added if now => "ADDED",
            EventType::Deleted if now => "DELETED",
            EventType::Modified => {
                let before = event
                    .previous
                    .as_ref()
                    .is_some_and(|p| self.filter.matches(&p.index));
                match (before, now) {
                    (true, true) => "MODIFIED",
                    (false, true) => "ADDED",
                    (true, false) => "DELETED",
                    (false, false) => return None,
                }
            }
            _ => return None,
        };
        Some(self.object_line(event_type, &event.object))
    }

    fn bookmark_line(&self, rv: u64, initial_events_end: bool) -> Bytes {
        let (kind, api_version) = match self.form {
            Form::Metadata => (
                "PartialObjectMetadata".to_string(),
                "meta.k8s.io/v1".to_string(),
            ),
            _ => (self.resource.kind.clone(), self.resource.api_version()),
        };
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(&json!({
            "type": "BOOKMARK",
            "object": {"kind": kind, "apiVersion": api_version, "metadata": metadata},
        }))
    }
}

#[derive(serde::Serialize)]
struct WatchLine<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    object: &'a Value,
}

fn event_bytes(event_type: &str, object: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(&WatchLine { event_type, object }).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// The same line as [`event_bytes`] writes, from the object's stored JSON.
fn stored_event_bytes(event_type: &str, object: &StoredObject) -> Bytes {
    let json = object.json();
    let mut bytes = Vec::with_capacity(json.len() + event_type.len() + 24);
    bytes.extend_from_slice(b"{\"type\":\"");
    bytes.extend_from_slice(event_type.as_bytes());
    bytes.extend_from_slice(b"\",\"object\":");
    bytes.extend_from_slice(json);
    bytes.extend_from_slice(b"}\n");
    Bytes::from(bytes)
}

fn line(value: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn streaming_response(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(Frame::data(bytes)), rx))
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn start_watch(
    shared: &Arc<Shared>,
    resource: Arc<ResourceType>,
    filter: Filter,
    form: Form,
    include: IncludeObject,
    options: WatchOptions,
) -> Response<Body> {
    let from_rv = match options.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(text) => match text.parse::<u64>() {
            Ok(rv) => Some(rv),
            Err(_) => return bad_request(&format!("invalid resource version: {text:?}")),
        },
    };
    let start = lock(&shared.store).watch(&resource, from_rv);
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut encoder = WatchEncoder {
        resource,
        filter,
        form,
        include,
        table_columns_sent: false,
        secret_data_sent: false,
    };
    let (replay, initial, mut live, current_rv) = match start {
        WatchStart::Expired { requested, oldest } => {
            // Real servers answer 200 and put the 410 in the stream.
            let status = status_object(
                410,
                "Expired",
                &format!("too old resource version: {requested} ({oldest})"),
                None,
            );
            let error = line(&json!({"type": "ERROR", "object": status}));
            if tx.try_send(error).is_err() {
                tracing::debug!("watch closed before its 410 could be sent");
            }
            return streaming_response(rx);
        }
        WatchStart::Started {
            replay,
            initial,
            live,
            current_rv,
        } => (replay, initial, live, current_rv),
    };
    let shared = shared.clone();
    let mut shutdown = shared.shutdown.clone();
    tokio::spawn(async move {
        let timeout = tokio::time::sleep(options.timeout.unwrap_or(DEFAULT_WATCH_TIMEOUT));
        tokio::pin!(timeout);
        let bookmark_every = *lock(&shared.bookmark_interval);
        let mut bookmark_tick =
            tokio::time::interval_at(tokio::time::Instant::now() + bookmark_every, bookmark_every);
        let mut open = true;
        for object in &initial {
            if encoder.filter.matches(&object.index) {
                let line = encoder.object_line("ADDED", object);
                if tx.send(line).await.is_err() {
                    open = false;
                    break;
                }
            }
        }
        if open && options.send_initial_events && from_rv.is_none() {
            open = tx
                .send(encoder.bookmark_line(current_rv, true))
                .await
                .is_ok();
        }
        if open {
            for event in &replay {
                if let Some(line) = encoder.event_line(event)
                    && tx.send(line).await.is_err()
                {
                    open = false;
                    break;
                }
            }
        }
        while open {
            tokio::select! {
                event = live.recv() => match event {
                    Some(event) => {
                        if let Some(line) = encoder.event_line(&event) {
                            open = tx.send(line).await.is_ok();
                        }
                    }
                    // drop_watches() or shutdown removed our subscription.
                    None => open = false,
                },
                _ = bookmark_tick.tick(), if options.bookmarks => {
                    // Read the RV under the lock first: every event up to it is
                    // then already queued for us, so the bookmark never skips one.
                    // Events queued after it go out after the bookmark, in order.
                    let rv = lock(&shared.store).current_rv();
                    let mut later = Vec::new();
                    while let Ok(event) = live.try_recv() {
                        if event.rv > rv || !later.is_empty() {
                            later.push(event);
                        } else if let Some(line) = encoder.event_line(&event)
                            && tx.send(line).await.is_err()
                        {
                            open = false;
                            break;
                        }
                    }
                    if open {
                        open = tx.send(encoder.bookmark_line(rv, false)).await.is_ok();
                    }
                    for event in later {
                        if !open {
                            break;
                        }
                        if let Some(line) = encoder.event_line(&event) {
                            open = tx.send(line).await.is_ok();
                        }
                    }
                }
                _ = &mut timeout => open = false,
                _ = shutdown.changed() => open = false,
                _ = tx.closed() => open = false,
            }
        }
        if encoder.secret_data_sent {
            shared.count_secret_data();
        }
    });
    streaming_response(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    #[test]
    fn a_line_from_stored_bytes_equals_the_serialised_event() {
        let catalogue = Catalogue::with_built_ins();
        let pods = catalogue.by_kind("v1", "Pod").expect("built in");
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "\"b\""}},
            "status": {"phase": "Running"}});
        let stored = StoredObject::new(&pod, &pods);
        for event_type in ["ADDED", "MODIFIED", "DELETED"] {
            assert_eq!(
                stored_event_bytes(event_type, &stored),
                event_bytes(event_type, &pod)
            );
        }
    }
}
