//! Simple writes over HTTP: create (POST), replace (PUT), JSON merge patch
//! (PATCH) and delete (DELETE), so `kubectl create`, `label`, `annotate`,
//! `patch --type merge` and `delete` work against the demo. golive itself
//! never writes; every write counts under the verb `other`.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::counts::Verb;
use crate::object::StoredObject;
use crate::request::{Target, resolve};
use crate::respond::{
    Body, bad_request, forbidden, not_found_object, not_found_path, respond, status_response,
};
use crate::state::{Shared, lock};
use crate::store::{StoreError, merge_patch};

pub(crate) struct Write<'a> {
    pub method: &'a Method,
    pub content_type: &'a str,
    pub body: &'a Bytes,
    pub dry_run: bool,
}

fn status_error(code: u16, reason: &str, message: String) -> http::Response<Body> {
    status_response(code, reason, &message, None)
}

fn what(target: &Target) -> String {
    let resource = &target.resource;
    if resource.group.is_empty() {
        resource.plural.clone()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    }
}

pub(crate) fn write(
    shared: &Arc<Shared>,
    group: &str,
    version: &str,
    rest: &[&str],
    request: &Write<'_>,
    path: &str,
) -> http::Response<Body> {
    let target = {
        let store = lock(&shared.store);
        resolve(&store, group, version, rest)
    };
    let Some(target) = target else {
        shared.count(Verb::Other, None);
        return not_found_path(path);
    };
    shared.count(Verb::Other, Some(&target.resource.key()));
    let verb = match (request.method, &target.name) {
        (&Method::POST, None) => "create",
        (&Method::PUT, Some(_)) => "update",
        (&Method::PATCH, Some(_)) => "patch",
        (&Method::DELETE, Some(_)) => "delete",
        (method, _) => {
            return status_error(
                405,
                "MethodNotAllowed",
                format!("{method} is not supported on {path}"),
            );
        }
    };
    if let Some(user) = shared.refuses(verb, &target) {
        lock(&shared.counts).forbidden += 1;
        return forbidden(&user, verb, &target);
    }
    if request.dry_run {
        return bad_request("dryRun is not supported by the simulated API server");
    }
    if let Some(sub) = &target.subresource
        && sub != "status"
    {
        return status_error(
            404,
            "NotFound",
            format!("the simulated API server has no {sub} subresource"),
        );
    }
    let media = request
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if verb != "delete" && !media.ends_with("json") {
        return status_error(
            415,
            "UnsupportedMediaType",
            format!("the simulated API server accepts JSON bodies only, not {media}"),
        );
    }
    match verb {
        "delete" => delete(shared, &target),
        "patch" if media == "application/json-patch+json" => {
            match serde_json::from_slice::<Value>(request.body) {
                Ok(ops) if ops.is_array() => update(shared, &target, |existing| {
                    crate::jsonpatch::apply(existing, &ops)
                        .map_err(|e| Box::new(status_error(422, "Invalid", e)))
                }),
                _ => bad_request("the JSON patch is not an array of operations"),
            }
        }
        "patch" => {
            if media != "application/merge-patch+json" {
                return status_error(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the simulated API server accepts application/merge-patch+json and application/json-patch+json patches, not {media}"
                    ),
                );
            }
            match serde_json::from_slice::<Value>(request.body) {
                Ok(patch) if patch.is_object() => update(shared, &target, |existing| {
                    let mut patched = existing.clone();
                    merge_patch(&mut patched, &patch);
                    Ok(patched)
                }),
                _ => bad_request("the merge patch is not a JSON object"),
            }
        }
        _ => {
            let object = match serde_json::from_slice::<Value>(request.body) {
                Ok(object) if object.is_object() => object,
                _ => return bad_request("the request body is not a JSON object"),
            };
            if verb == "create" {
                create(shared, &target, object)
            } else {
                update(shared, &target, |existing| {
                    let sent_rv = object
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str);
                    let stored_rv = existing
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str);
                    if sent_rv.is_some_and(|sent| Some(sent) != stored_rv) {
                        return Err(Box::new(status_error(
                            409,
                            "Conflict",
                            format!(
                                "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                                what(&target),
                                target.name.as_deref().unwrap_or_default()
                            ),
                        )));
                    }
                    Ok(object.clone())
                })
            }
        }
    }
}

/// Fills kind, apiVersion and namespace from the URL, refusing contradictions.
fn align_with_url(target: &Target, object: &mut Value) -> Result<(), Box<http::Response<Body>>> {
    let resource = &target.resource;
    let api_version = resource.api_version();
    for (field, wanted) in [("apiVersion", &api_version), ("kind", &resource.kind)] {
        match object.get(field).and_then(Value::as_str) {
            None => object[field] = json!(wanted),
            Some(sent) if sent == wanted.as_str() => {}
            Some(sent) => {
                return Err(Box::new(bad_request(&format!(
                    "the {field} of the provided object ({sent}) does not match the request ({wanted})"
                ))));
            }
        }
    }
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    if let Some(namespace) = &target.namespace {
        match object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
        {
            Some(sent) if sent != namespace => {
                return Err(Box::new(bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                )));
            }
            _ => object["metadata"]["namespace"] = json!(namespace),
        }
    }
    Ok(())
}

fn create(shared: &Shared, target: &Target, mut object: Value) -> http::Response<Body> {
    if let Err(response) = align_with_url(target, &mut object) {
        return *response;
    }
    if object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none()
    {
        let Some(prefix) = object
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return status_error(
                422,
                "Invalid",
                format!(
                    "{} is invalid: metadata.name: Required value: name or generateName is required",
                    target.resource.kind
                ),
            );
        };
        let suffix = lock(&shared.store).current_rv();
        object["metadata"]["name"] = json!(format!("{prefix}{:05x}", suffix % 0x10_0000));
    }
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let namespace = target.namespace.clone().unwrap_or_default();
    let mut store = lock(&shared.store);
    if store.get(&target.resource, &namespace, &name).is_some() {
        return status_error(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", what(target)),
        );
    }
    // Server-owned fields come from the server, not the client.
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            metadata.remove(field);
        }
    }
    match store.apply(object) {
        Ok(created) => written(shared, StatusCode::CREATED, &created),
        Err(error) => store_error(target, &name, error),
    }
}

/// PUT and PATCH: where status is a subresource, the main resource ignores
/// status changes and `/status` takes nothing but status.
fn update(
    shared: &Shared,
    target: &Target,
    change: impl FnOnce(&Value) -> Result<Value, Box<http::Response<Body>>>,
) -> http::Response<Body> {
    let name = target.name.clone().unwrap_or_default();
    let namespace = target.namespace.clone().unwrap_or_default();
    let mut store = lock(&shared.store);
    let Some(existing) = store.get(&target.resource, &namespace, &name) else {
        return not_found_object(target, &name);
    };
    let existing = existing.value();
    let mut changed = match change(&existing) {
        Ok(changed) => changed,
        Err(response) => return *response,
    };
    if let Err(response) = align_with_url(target, &mut changed) {
        return *response;
    }
    if changed.pointer("/metadata/name").and_then(Value::as_str) != Some(name.as_str()) {
        return bad_request("the name of the object does not match the name on the URL");
    }
    let next = match (target.subresource.as_deref(), target.resource.has_status) {
        (Some(_), false) => {
            return not_found_object(target, &format!("{name}/status"));
        }
        (Some(_), true) => {
            let mut next = existing;
            match changed.get("status") {
                Some(status) => next["status"] = status.clone(),
                None => {
                    if let Some(fields) = next.as_object_mut() {
                        fields.remove("status");
                    }
                }
            }
            next
        }
        (None, true) => {
            match existing.get("status") {
                Some(status) => changed["status"] = status.clone(),
                None => {
                    if let Some(fields) = changed.as_object_mut() {
                        fields.remove("status");
                    }
                }
            }
            changed
        }
        (None, false) => changed,
    };
    match store.apply(next) {
        Ok(updated) => written(shared, StatusCode::OK, &updated),
        Err(error) => store_error(target, &name, error),
    }
}

fn delete(shared: &Shared, target: &Target) -> http::Response<Body> {
    let name = target.name.clone().unwrap_or_default();
    let resource = &target.resource;
    let result = lock(&shared.store).delete(
        &resource.api_version(),
        &resource.kind,
        target.namespace.as_deref(),
        &name,
    );
    match result {
        Ok(deleted) => written(shared, StatusCode::OK, &deleted),
        Err(error) => store_error(target, &name, error),
    }
}

/// Answers with the written object; a Secret's data in it counts as returned.
fn written(shared: &Shared, status: StatusCode, object: &StoredObject) -> http::Response<Body> {
    if object.index.has_secret_data() {
        shared.count_secret_data();
    }
    respond(status, object.json().clone())
}

fn store_error(target: &Target, name: &str, error: StoreError) -> http::Response<Body> {
    match error {
        StoreError::NotFound { .. } => not_found_object(target, name),
        StoreError::Invalid(message) => status_error(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {message}", target.resource.kind),
        ),
        StoreError::UnknownKind { api_version, kind } => status_error(
            400,
            "BadRequest",
            format!("no kind {kind} is registered for version {api_version}"),
        ),
    }
}
