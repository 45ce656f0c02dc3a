//! The function's own event reader (`s3_proxy::event`) against the reading
//! it replaced: lambda_http's event types (aws_lambda_events) and the rules
//! the boundary applied to them (issue 12: every `multiValueHeaders` value,
//! `headers` for names it lacks; issue 17: the reader of our own). Both
//! must read every fixture, and every generated event, into the same
//! request, or both refuse it. Query parameters are compared per name:
//! lambda_http's query maps are hash maps, with no order across names.

use http::HeaderMap;
use lambda_http::Context;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use s3_proxy::app::Request;
use s3_proxy::lambda::{self, Event};
use std::collections::BTreeMap;

/// What a request carries, in a form two readings can be compared in.
#[derive(Debug, PartialEq)]
struct Read {
    rest: bool,
    method: String,
    /// Each name's values in order.
    headers: BTreeMap<String, Vec<Vec<u8>>>,
    path_parameters: BTreeMap<String, String>,
    client_path: String,
    raw_path: String,
    resource: Option<String>,
    /// Each name's values in order.
    query: BTreeMap<String, Vec<String>>,
    request_id: String,
    caller: Option<String>,
    source_ip: Option<String>,
    body: Result<Vec<u8>, String>,
}

fn read(rest: bool, request: Request, body: Result<Vec<u8>, String>) -> Read {
    let mut headers = BTreeMap::<String, Vec<Vec<u8>>>::new();
    for (name, value) in &request.headers {
        let values = headers.entry(name.as_str().to_string()).or_default();
        values.push(value.as_bytes().to_vec());
    }
    let mut query = BTreeMap::<String, Vec<String>>::new();
    for (name, value) in request.query {
        query.entry(name).or_default().push(value);
    }
    Read {
        rest,
        method: request.method.to_string(),
        headers,
        path_parameters: request.path_parameters.into_iter().collect(),
        client_path: request.client_path,
        raw_path: request.raw_path,
        resource: request.resource,
        query,
        request_id: request.request_id,
        caller: request.caller,
        source_ip: request.source_ip,
        body,
    }
}

/// Ours: `s3_proxy::event`, then the boundary's body decoding.
fn ours(json: &str) -> Option<Read> {
    let event: Event = serde_json::from_str(json).ok()?;
    let rest = matches!(event, Event::Rest(_));
    Some(match lambda::request(event, &Context::default()) {
        Ok(mut request) => {
            let body = request.body.to_vec();
            request.body = Default::default();
            read(rest, request, Ok(body))
        }
        Err(bad) => read(rest, bad.request, Err(bad.error.to_string())),
    })
}

/// Theirs: lambda_http's types, REST first, as the boundary read them
/// before issue 17 (the body decoded by the same function, not compared
/// here beyond its presence).
fn theirs(json: &str) -> Option<Read> {
    if let Ok(ev) = serde_json::from_str::<ApiGatewayProxyRequest>(json) {
        let mut headers = ev.multi_value_headers;
        for (name, value) in ev.headers {
            if let Some(name) = name
                && !headers.contains_key(&name)
            {
                headers.insert(name, value);
            }
        }
        let query = if ev.multi_value_query_string_parameters.is_empty() {
            ev.query_string_parameters
        } else {
            ev.multi_value_query_string_parameters
        };
        let request = request(
            ev.http_method,
            headers,
            ev.path_parameters,
            (
                ev.request_context.path.unwrap_or_default(),
                ev.path.unwrap_or_default(),
            ),
            ev.resource,
            pairs(&query),
            ev.request_context.request_id,
            (
                ev.request_context.identity.user_arn,
                ev.request_context.identity.source_ip,
            ),
        );
        return Some(read(true, request, body(ev.body, ev.is_base64_encoded)));
    }
    let ev = serde_json::from_str::<ApiGatewayV2httpRequest>(json).ok()?;
    let mut headers = ev.headers;
    if let Some(cookies) = ev.cookies
        && let Ok(value) = http::HeaderValue::from_str(&cookies.join("; "))
    {
        headers.insert(http::header::COOKIE, value);
    }
    let query = match &ev.raw_query_string {
        Some(raw) => url::form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect(),
        None => pairs(&ev.query_string_parameters),
    };
    let caller = ev
        .request_context
        .authorizer
        .and_then(|a| a.iam)
        .and_then(|iam| iam.user_arn);
    let request = request(
        ev.request_context.http.method,
        headers,
        ev.path_parameters,
        (
            ev.raw_path.clone().unwrap_or_default(),
            ev.raw_path.unwrap_or_default(),
        ),
        None,
        query,
        ev.request_context.request_id,
        (caller, ev.request_context.http.source_ip),
    );
    Some(read(false, request, body(ev.body, ev.is_base64_encoded)))
}

#[allow(clippy::too_many_arguments)]
fn request(
    method: http::Method,
    headers: HeaderMap,
    path_parameters: std::collections::HashMap<String, String>,
    (client_path, raw_path): (String, String),
    resource: Option<String>,
    query: Vec<(String, String)>,
    request_id: Option<String>,
    (caller, source_ip): (Option<String>, Option<String>),
) -> Request {
    Request {
        method,
        headers,
        path_parameters,
        client_path,
        raw_path,
        resource,
        query,
        body: Default::default(),
        request_id: request_id.unwrap_or_default(),
        caller,
        source_ip,
    }
}

fn pairs(query: &QueryMap) -> Vec<(String, String)> {
    query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn body(body: Option<String>, base64: bool) -> Result<Vec<u8>, String> {
    let body = body.unwrap_or_default();
    if !base64 {
        return Ok(body.into_bytes());
    }
    base64_simd::STANDARD
        .decode_to_vec(body)
        .map_err(|_| s3_proxy::error::ApiError::InvalidBase64.to_string())
}

#[test]
fn every_fixture_reads_as_lambda_http_read_it() {
    for entry in std::fs::read_dir("events").unwrap() {
        let path = entry.unwrap().path();
        let json = std::fs::read_to_string(&path).unwrap();
        let ours = ours(&json);
        assert!(ours.is_some(), "{}: not read", path.display());
        assert_eq!(ours, theirs(&json), "{}", path.display());
    }
}

/// Events built from the fixtures with the parts that vary in the field,
/// or that a hand-written event may get wrong, replaced.
fn event_strategy() -> impl Strategy<Value = String> {
    let header_name = prop::sample::select(vec![
        "Accept",
        "accept",
        "ACCEPT",
        "Host",
        "X-Custom",
        "x-amz-meta-a",
        "Cookie",
        "bad name",
        "",
    ]);
    let header_value = prop::sample::select(vec![
        "*/*",
        "text/plain",
        "image/png",
        "a, b",
        "é",
        "tab\there",
        "nl\nhere",
        "",
    ]);
    let headers = prop::collection::vec(
        (
            header_name,
            prop::collection::vec(header_value, 0..3),
            any::<bool>(),
        ),
        0..5,
    );
    let query = prop::collection::vec(
        (
            prop::sample::select(vec!["prefix", "max-keys", "x", "a,b"]),
            // Not an empty list: lambda_http's QueryMap panics iterating
            // one (see `an_empty_query_list_is_no_value`).
            prop::collection::vec("[a-z,+% ]{0,4}", 1..3),
        ),
        0..4,
    );
    let nulls = prop::collection::vec(any::<bool>(), 6);
    (
        any::<bool>(),
        headers,
        query,
        nulls,
        prop::option::of("[a-z0-9/]{0,8}"),
        any::<bool>(),
    )
        .prop_map(|(rest, headers, query, nulls, body, base64)| {
            let fixture = match rest {
                true => include_str!("../events/get-object.json"),
                false => include_str!("../events/get-object-http-api-v2.json"),
            };
            let mut ev: serde_json::Value = serde_json::from_str(fixture).unwrap();
            let (mut single, mut multi) = (serde_json::Map::new(), serde_json::Map::new());
            for (name, values, in_single) in headers {
                if in_single && let Some(last) = values.last() {
                    single.insert(name.to_string(), (*last).into());
                }
                multi.insert(name.to_string(), values.into());
            }
            let (mut qs, mut mq) = (serde_json::Map::new(), serde_json::Map::new());
            for (name, values) in query {
                qs.insert(name.to_string(), values.join(",").into());
                mq.insert(name.to_string(), values.into());
            }
            let null_or = |null: bool, v: serde_json::Value| match null {
                true => serde_json::Value::Null,
                false => v,
            };
            ev["headers"] = null_or(nulls[0], single.into());
            ev["queryStringParameters"] = null_or(nulls[2], qs.into());
            ev["body"] = body.into();
            ev["isBase64Encoded"] = base64.into();
            if rest {
                ev["multiValueHeaders"] = null_or(nulls[1], multi.into());
                ev["multiValueQueryStringParameters"] = null_or(nulls[3], mq.into());
                ev["requestContext"]["identity"]["userArn"] =
                    null_or(nulls[4], "arn:aws:iam::123456789012:user/u".into());
                // The path with the stage, which the HTML index links from.
                ev["requestContext"]["path"] = null_or(nulls[5], "/prod/b/k".into());
            } else {
                if nulls[1] {
                    ev.as_object_mut().unwrap().remove("rawQueryString");
                }
                if !nulls[4] {
                    ev["requestContext"]["authorizer"] = serde_json::json!(
                        {"iam": {"userArn": "arn:aws:iam::123456789012:user/u"}}
                    );
                }
                if nulls[5] {
                    ev["cookies"] = serde_json::json!(["a=1", "b=2"]);
                }
            }
            ev.to_string()
        })
}

#[test]
fn generated_events_read_as_lambda_http_read_them() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    runner
        .run(&event_strategy(), |json| {
            prop_assert_eq!(ours(&json), theirs(&json), "{}", json);
            Ok(())
        })
        .unwrap();
}

#[test]
fn what_is_not_an_event_is_refused_by_both() {
    let cases = [
        "{}",
        "[]",
        "\"GET /\"",
        "null",
        r#"{"httpMethod": 5}"#,
        r#"{"httpMethod": "GET"}"#,
        r#"{"httpMethod": "GET", "requestContext": {}}"#,
        r#"{"httpMethod": "G E T", "requestContext": {"httpMethod": "GET"}}"#,
        r#"{"requestContext": {"http": {}}}"#,
        r#"{"rawPath": "/", "requestContext": {"http": {"method": 1}}}"#,
    ];
    for json in cases {
        assert_eq!((ours(json), theirs(json)), (None, None), "{json}");
    }
}

/// A hand-written event with an empty list of query values: lambda_http's
/// `QueryMap` panicked iterating it (index out of bounds); ours reads no
/// value, and falls back to `queryStringParameters`.
#[test]
fn an_empty_query_list_is_no_value() {
    let mut ev: serde_json::Value =
        serde_json::from_str(include_str!("../events/list-objects.json")).unwrap();
    ev["multiValueQueryStringParameters"] = serde_json::json!({"prefix": []});
    ev["queryStringParameters"] = serde_json::json!({"max-keys": "7"});
    let read = ours(&ev.to_string()).unwrap();
    assert_eq!(
        read.query,
        BTreeMap::from([("max-keys".into(), vec!["7".into()])])
    );
}
