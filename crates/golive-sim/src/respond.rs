//! Building responses: JSON bodies and the Kubernetes `Status` errors (400, 403,
//! 404, 410, ...) worded as a real API server words them.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use serde::Serialize;
use serde_json::{Value, json};

use crate::request::Target;

pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// The user every denial names, as if the sim authenticated one.
pub(crate) const SIM_USER: &str = "golive-sim";

pub(crate) fn json_bytes<T: Serialize>(value: &T) -> Bytes {
    match serde_json::to_vec(value) {
        Ok(bytes) => Bytes::from(bytes),
        // Serialising `Value`s and plain structs cannot fail; answer something valid anyway.
        Err(error) => Bytes::from(format!(
            "{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":{:?},\"code\":500}}",
            error.to_string()
        )),
    }
}

pub(crate) fn respond(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A body sent as consecutive pieces (shared stored bytes, not copies), with
/// its length announced so the client reads it as one document.
pub(crate) fn respond_pieces(status: StatusCode, pieces: Vec<Bytes>) -> Response<Body> {
    let length: usize = pieces.iter().map(Bytes::len).sum();
    let frames = futures::stream::iter(
        pieces
            .into_iter()
            .map(|piece| Ok::<_, Infallible>(Frame::data(piece))),
    );
    let mut response = Response::new(StreamBody::new(frames).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, header::HeaderValue::from(length));
    response
}

pub(crate) fn json_response<T: Serialize>(value: &T) -> Response<Body> {
    respond(StatusCode::OK, json_bytes(value))
}

pub(crate) fn status_object(
    code: u16,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Value {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(details) = details {
        status["details"] = details;
    }
    status
}

pub(crate) fn status_response(
    code: u16,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    respond(
        status,
        json_bytes(&status_object(code, reason, message, details)),
    )
}

pub(crate) fn not_found_path(path: &str) -> Response<Body> {
    status_response(
        404,
        "NotFound",
        &format!("the server could not find the requested resource ({path})"),
        Some(json!({})),
    )
}

pub(crate) fn bad_request(message: &str) -> Response<Body> {
    status_response(400, "BadRequest", message, None)
}

pub(crate) fn forbidden(user: &str, verb: &str, target: &Target) -> Response<Body> {
    let resource = &target.resource;
    let scope = match &target.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let what = match &target.name {
        Some(name) => {
            format!("{}.{} \"{name}\"", resource.plural, resource.group).replace(". \"", " \"")
        }
        None => resource.key(),
    };
    let message = format!(
        "{what} is forbidden: User \"{user}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
        resource.plural, resource.group
    );
    let mut details = json!({"group": resource.group, "kind": resource.plural});
    if let Some(name) = &target.name {
        details["name"] = json!(name);
    }
    status_response(403, "Forbidden", &message, Some(details))
}

pub(crate) fn not_found_object(target: &Target, name: &str) -> Response<Body> {
    let resource = &target.resource;
    let what = if resource.group.is_empty() {
        resource.plural.clone()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    };
    status_response(
        404,
        "NotFound",
        &format!("{what} \"{name}\" not found"),
        Some(json!({"name": name, "group": resource.group, "kind": resource.plural})),
    )
}
