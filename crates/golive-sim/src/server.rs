//! The HTTP side: routing, discovery, get and list with pagination, access
//! denials, outages and accounting. Watches and writes are in their own modules.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::counts::Verb;
use crate::object::StoredObject;
use crate::request::{Filter, Form, Target, negotiate, resolve};
use crate::respond::{
    Body, bad_request, forbidden, json_bytes, json_response, not_found_object, not_found_path,
    respond, respond_pieces, status_response,
};
use crate::selector::{FieldSelector, LabelSelector};
use crate::state::{Shared, lock};
use crate::table::{IncludeObject, table, table_head, table_row};

fn aggregated_response(document: &Value) -> Response<Body> {
    let mut response = respond(StatusCode::OK, json_bytes(document));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(crate::discovery::AGGREGATED_CONTENT_TYPE),
    );
    response
}

/// Entry point for every HTTP request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let latency = *lock(&shared.latency);
    if let Some(delay) = latency {
        tokio::time::sleep(delay).await;
    }
    let (parts, body) = request.into_parts();
    let body = if matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
        match http_body_util::Limited::new(body, MAX_WRITE_BODY)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                shared.count(Verb::Other, None);
                return Ok(status_response(
                    413,
                    "RequestEntityTooLarge",
                    "the request body is too large or was cut off",
                    None,
                ));
            }
        }
    } else {
        Bytes::new()
    };
    // The service proxy forwards (async); during an injected outage `route` answers it.
    if let Some(proxy) = crate::proxy::parse(parts.uri.path())
        && lock(&shared.outage).is_none()
    {
        return Ok(crate::proxy::forward(&shared, &proxy, &parts, body).await);
    }
    Ok(route(&shared, &parts, body))
}

/// Bodies of writes above this are refused, as real servers cap them (3 MiB).
const MAX_WRITE_BODY: usize = 3 * 1024 * 1024;

fn route(shared: &Arc<Shared>, request: &http::request::Parts, body: Bytes) -> Response<Body> {
    let path = request.uri.path().trim_end_matches('/').to_string();
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    let query: Vec<(String, String)> = request
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let accept = request
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let form = negotiate(accept);

    // Tests inspect counts during an outage, so this endpoint is always up.
    if path == "/debug/requests" {
        shared.count(Verb::Other, None);
        let counts = lock(&shared.counts).clone();
        return json_response(&counts);
    }
    if let Some(code) = *lock(&shared.outage) {
        shared.count(Verb::Other, None);
        let reason = if code == 503 {
            "ServiceUnavailable"
        } else {
            "InternalError"
        };
        let mut response = status_response(
            code,
            reason,
            "the simulated API server is in an injected outage",
            None,
        );
        if code == 503 || code == 429 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        return response;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if request.method != Method::GET && request.method != Method::HEAD {
        let resource_path = match segments.as_slice() {
            ["api", "v1", rest @ ..] if !rest.is_empty() => Some(("", "v1", rest)),
            ["apis", group, version, rest @ ..] if !rest.is_empty() => {
                Some((*group, *version, rest))
            }
            _ => None,
        };
        if let Some((group, version, rest)) = resource_path {
            let content_type = request
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json");
            let write = crate::writes::Write {
                method: &request.method,
                content_type,
                body: &body,
                dry_run: param("dryRun").is_some(),
            };
            return crate::writes::write(shared, group, version, rest, &write, &path);
        }
        shared.count(Verb::Other, None);
        return status_response(
            405,
            "MethodNotAllowed",
            &format!("{} is not allowed on {path}", request.method),
            Some(json!({})),
        );
    }

    match segments.as_slice() {
        ["version"] => {
            shared.count(Verb::Discovery, None);
            json_response(&json!({
                "major": "1",
                "minor": "33",
                "gitVersion": "v1.33.0-golive-sim",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.24.0",
                "compiler": "gc",
                "platform": "linux/amd64",
            }))
        }
        ["healthz" | "readyz" | "livez"] => {
            shared.count(Verb::Other, None);
            respond(StatusCode::OK, Bytes::from_static(b"ok"))
        }
        ["api"] if crate::discovery::wants_aggregated(accept) => {
            shared.count(Verb::Discovery, None);
            let document = crate::discovery::aggregated(&lock(&shared.store).catalogue, true);
            aggregated_response(&document)
        }
        ["apis"] if crate::discovery::wants_aggregated(accept) => {
            shared.count(Verb::Discovery, None);
            let document = crate::discovery::aggregated(&lock(&shared.store).catalogue, false);
            aggregated_response(&document)
        }
        ["api"] => {
            shared.count(Verb::Discovery, None);
            json_response(&json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [],
            }))
        }
        ["apis"] => {
            shared.count(Verb::Discovery, None);
            let groups: Vec<Value> = lock(&shared.store)
                .catalogue
                .groups()
                .into_iter()
                .map(|(group, versions)| group_entry(&group, &versions))
                .collect();
            json_response(&json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        }
        ["apis", group] => {
            shared.count(Verb::Discovery, None);
            let groups = lock(&shared.store).catalogue.groups();
            match groups.into_iter().find(|(g, _)| g == group) {
                Some((g, versions)) => {
                    let mut entry = group_entry(&g, &versions);
                    entry["kind"] = json!("APIGroup");
                    entry["apiVersion"] = json!("v1");
                    json_response(&entry)
                }
                None => not_found_path(&path),
            }
        }
        ["api", "v1"] => resource_list(shared, "", "v1", &path),
        ["apis", group, version] => resource_list(shared, group, version, &path),
        ["api", "v1", rest @ ..] => resource_request(shared, "", "v1", rest, &param, form, &path),
        ["apis", group, version, rest @ ..] => {
            resource_request(shared, group, version, rest, &param, form, &path)
        }
        _ => {
            shared.count(Verb::Other, None);
            not_found_path(&path)
        }
    }
}

fn group_entry(group: &str, versions: &[String]) -> Value {
    let listed: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = listed.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": listed, "preferredVersion": preferred})
}

fn resource_list(shared: &Shared, group: &str, version: &str, path: &str) -> Response<Body> {
    shared.count(Verb::Discovery, None);
    let resources = lock(&shared.store).catalogue.resources_of(group, version);
    if resources.is_empty() {
        return not_found_path(path);
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let entries: Vec<Value> = resources.iter().map(|r| r.discovery_entry()).collect();
    json_response(&json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }))
}

fn resource_request<'p>(
    shared: &Arc<Shared>,
    group: &str,
    version: &str,
    rest: &[&str],
    param: &dyn Fn(&str) -> Option<&'p str>,
    form: Form,
    path: &str,
) -> Response<Body> {
    let target = {
        let store = lock(&shared.store);
        resolve(&store, group, version, rest)
    };
    let Some(target) = target else {
        shared.count(Verb::Other, None);
        return not_found_path(path);
    };
    let key = target.resource.key();
    let watching = matches!(param("watch"), Some("true" | "1"));
    let (verb, verb_name) = match (&target.name, watching) {
        (Some(_), _) => (Verb::Get, "get"),
        (None, true) => (Verb::Watch, "watch"),
        (None, false) => (Verb::List, "list"),
    };
    shared.count(verb, Some(&key));
    if let Some(user) = shared.refuses(verb_name, &target) {
        lock(&shared.counts).forbidden += 1;
        return forbidden(&user, verb_name, &target);
    }

    let include = IncludeObject::parse(param("includeObject"));
    if let Some(name) = &target.name {
        return get(shared, &target, name, form, include);
    }

    let labels_text = param("labelSelector");
    let fields_text = param("fieldSelector");
    let labels = match LabelSelector::parse(labels_text.unwrap_or_default()) {
        Ok(labels) => labels,
        Err(message) => return bad_request(&message),
    };
    let fields = match FieldSelector::parse(fields_text.unwrap_or_default(), &target.resource.kind)
    {
        Ok(fields) => fields,
        Err(message) => return bad_request(&message),
    };
    let filter = Filter {
        namespace: target.namespace.clone(),
        labels,
        fields,
    };
    if watching {
        let options = crate::watches::WatchOptions {
            resource_version: param("resourceVersion").map(str::to_string),
            timeout: param("timeoutSeconds")
                .and_then(|t| t.parse::<u64>().ok())
                .map(Duration::from_secs),
            bookmarks: matches!(param("allowWatchBookmarks"), Some("true" | "1")),
            send_initial_events: matches!(param("sendInitialEvents"), Some("true" | "1")),
        };
        return crate::watches::start_watch(
            shared,
            target.resource.clone(),
            filter,
            form,
            include,
            options,
        );
    }
    let query = ListQuery {
        target: &target,
        filter: &filter,
        trivial: filter.is_trivial(labels_text, fields_text),
        form,
        include,
        limit: param("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(0),
        continue_token: param("continue"),
    };
    list(shared, &query)
}

fn get(
    shared: &Shared,
    target: &Target,
    name: &str,
    form: Form,
    include: IncludeObject,
) -> Response<Body> {
    if let Some(sub) = &target.subresource
        && (sub != "status" || !target.resource.has_status)
    {
        // Say plainly that the sim lacks it: kubectl logs/exec land here.
        return status_response(
            404,
            "NotFound",
            &format!(
                "the simulated API server (a test double) does not serve {}/{sub}: it runs no containers",
                target.resource.plural
            ),
            Some(
                json!({"name": name, "group": target.resource.group, "kind": target.resource.plural}),
            ),
        );
    }
    let namespace = target.namespace.as_deref().unwrap_or("");
    let object = lock(&shared.store).get(&target.resource, namespace, name);
    let Some(object) = object else {
        return not_found_object(target, name);
    };
    match form {
        Form::Full => {
            if object.index.has_secret_data() {
                shared.count_secret_data();
            }
            respond(StatusCode::OK, object.json().clone())
        }
        Form::Metadata => json_response(&object.partial_metadata()),
        Form::Table => {
            if include == IncludeObject::Object && object.index.has_secret_data() {
                shared.count_secret_data();
            }
            let object = object.value();
            let rv = object
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(Value::Null);
            json_response(&table(
                &target.resource,
                &[&object],
                include,
                json!({"resourceVersion": rv}),
            ))
        }
    }
}

/// A continue token is the hex of `rv\0namespace\0name`: the list's
/// resourceVersion (every page reports the first page's, as a real server's
/// snapshot does) and the last key returned.
fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    format!("{rv}\0{namespace}\0{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_continue(token: &str) -> Option<(u64, (String, String))> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (rv, key) = text.split_once('\0')?;
    let (namespace, name) = key.split_once('\0')?;
    Some((rv.parse().ok()?, (namespace.to_string(), name.to_string())))
}

/// What one list request asks for.
struct ListQuery<'a> {
    target: &'a Target,
    filter: &'a Filter,
    /// No label or field selector: only then is `remainingItemCount` known.
    trivial: bool,
    form: Form,
    include: IncludeObject,
    /// Page size; 0 means everything.
    limit: usize,
    continue_token: Option<&'a str>,
}

fn list(shared: &Shared, query: &ListQuery<'_>) -> Response<Body> {
    let (snapshot_rv, after) = match query.continue_token.filter(|t| !t.is_empty()) {
        Some(token) => match decode_continue(token) {
            Some((rv, key)) => (Some(rv), Some(key)),
            None => return bad_request("invalid continue token"),
        },
        None => (None, None),
    };
    let (filter, limit) = (query.filter, query.limit);
    let resource = &query.target.resource;
    let (items, rv, next, remaining) = {
        let store = lock(&shared.store);
        let rv = snapshot_rv.unwrap_or_else(|| store.current_rv());
        if rv < store.compacted_rv() {
            return status_response(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                None,
            );
        }
        let mut items: Vec<Arc<StoredObject>> = Vec::new();
        let mut next = None;
        let mut remaining = 0u64;
        let mut last_key: Option<(String, String)> = None;
        let pinned = filter.fields.pinned_name().map(str::to_string);
        let scan = store.scan(resource, filter.namespace.as_deref(), after.as_ref());
        for (key, object) in scan {
            if pinned.as_deref().is_some_and(|name| key.1 != name) || !filter.matches(&object.index)
            {
                continue;
            }
            if limit > 0 && items.len() == limit {
                if next.is_none()
                    && let Some((ns, name)) = &last_key
                {
                    next = Some(encode_continue(rv, ns, name));
                }
                remaining += 1;
                continue;
            }
            last_key = Some(key.clone());
            items.push(object.clone());
        }
        (items, rv, next, remaining)
    };
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some(token) = &next {
        metadata["continue"] = json!(token);
        // Real servers only know the remaining count when no selector filters.
        if query.trivial {
            metadata["remainingItemCount"] = json!(remaining);
        }
    }
    let items_bytes = |render: &dyn Fn(&StoredObject) -> Value| -> Vec<Bytes> {
        items.iter().map(|o| json_bytes(&render(o))).collect()
    };
    match query.form {
        Form::Full => {
            if items.iter().any(|o| o.index.has_secret_data()) {
                shared.count_secret_data();
            }
            let head = list_head(
                &format!("{}List", resource.kind),
                &resource.api_version(),
                &metadata,
            );
            respond_pieces(
                StatusCode::OK,
                document_pieces(head, items.iter().map(|o| o.json().clone())),
            )
        }
        Form::Metadata => {
            let head = list_head("PartialObjectMetadataList", "meta.k8s.io/v1", &metadata);
            let partials = items_bytes(&|o| o.partial_metadata());
            respond_pieces(StatusCode::OK, document_pieces(head, partials.into_iter()))
        }
        Form::Table => {
            if query.include == IncludeObject::Object
                && items.iter().any(|o| o.index.has_secret_data())
            {
                shared.count_secret_data();
            }
            // Row by row: only one parsed object is held at a time.
            let include = query.include;
            let rows = items_bytes(&|o| table_row(resource, &o.value(), include));
            let head = table_head(resource, &metadata);
            respond_pieces(StatusCode::OK, document_pieces(head, rows.into_iter()))
        }
    }
}

/// A list document's `kind`, `apiVersion` and `metadata`, in the order real
/// servers write them, up to the opening of the items array.
fn list_head(kind: &str, api_version: &str, metadata: &Value) -> String {
    format!(
        "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{metadata},\"items\":[",
        Value::from(kind),
        Value::from(api_version),
    )
}

/// A document made of `head`, the items separated by commas, and `]}`, as
/// pieces: small items are copied together, large ones (stored objects) are
/// shared, so a list of 20,000 pods (hundreds of megabytes) is never copied.
fn document_pieces(head: String, items: impl Iterator<Item = Bytes>) -> Vec<Bytes> {
    const COPY_BELOW: usize = 4096;
    let mut pieces = Vec::new();
    let mut current = Vec::from(head);
    for (position, item) in items.enumerate() {
        if position > 0 {
            current.push(b',');
        }
        if item.len() < COPY_BELOW {
            current.extend_from_slice(&item);
        } else {
            pieces.push(Bytes::from(std::mem::take(&mut current)));
            pieces.push(item);
        }
    }
    current.extend_from_slice(b"]}");
    pieces.push(Bytes::from(current));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use serde::Serialize;

    #[derive(Serialize)]
    struct ListBody<'a> {
        kind: String,
        #[serde(rename = "apiVersion")]
        api_version: String,
        metadata: Value,
        items: Vec<&'a Value>,
    }

    #[tokio::test]
    async fn a_full_list_is_the_bytes_serde_writes_for_it() {
        let catalogue = Catalogue::with_built_ins();
        let maps = catalogue.by_kind("v1", "ConfigMap").expect("built in");
        let values: Vec<Value> = [10, 5_000, 20]
            .iter()
            .enumerate()
            .map(|(i, size)| {
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("m{i}"), "namespace": "ns"},
                    "data": {"k": "\"é\"".repeat(*size)}})
            })
            .collect();
        let stored: Vec<Arc<StoredObject>> = values
            .iter()
            .map(|v| Arc::new(StoredObject::new(v, &maps)))
            .collect();
        let metadata = json!({"resourceVersion": "7", "continue": "ab"});
        for count in [0, 1, 3] {
            let head = list_head("ConfigMapList", "v1", &metadata);
            let pieces = document_pieces(head, stored[..count].iter().map(|o| o.json().clone()));
            let response = respond_pieces(StatusCode::OK, pieces);
            let length = response.headers()[header::CONTENT_LENGTH].clone();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            let expected = serde_json::to_vec(&ListBody {
                kind: "ConfigMapList".into(),
                api_version: "v1".into(),
                metadata: metadata.clone(),
                items: values[..count].iter().collect(),
            })
            .expect("serialises");
            assert_eq!(body.as_ref(), expected.as_slice(), "{count} items");
            assert_eq!(
                length.to_str().ok(),
                Some(expected.len().to_string().as_str())
            );
        }
    }

    #[test]
    fn continue_tokens_round_trip() {
        let token = encode_continue(42, "kube-system", "coredns");
        assert_eq!(
            decode_continue(&token),
            Some((42, ("kube-system".to_string(), "coredns".to_string())))
        );
        assert_eq!(decode_continue("zz"), None);
    }
}
