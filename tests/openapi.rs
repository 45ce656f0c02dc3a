//! `openapi.yaml` agrees with the router.
//!
//! For every path and every method API Gateway can send (`ANY`), the methods
//! the spec documents are exactly the ones the pure router serves, and for the
//! others the router's 405 `Allow` lists exactly the documented methods, which
//! the spec's catch-all method documents as a 405. `OPTIONS` is the CORS
//! preflight the spec documents on every path, without a signature; whether
//! the function serves it depends on its CORS configuration, which the router
//! does not see. `tests/template.rs` checks the template against this spec.

use bytes::Bytes;
use http::{HeaderMap, Method};
use s3_proxy::ApiError;
use s3_proxy::route::{PathSource, route};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};

mod spec;
use spec::{load, map_entries, resolve};

/// What API Gateway's ANY method forwards to the function.
const METHODS: [&str; 7] = ["GET", "PUT", "HEAD", "DELETE", "POST", "PATCH", "OPTIONS"];

/// Operation keys of an OpenAPI path item.
const OPENAPI_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Request paths that exercise a spec path, with `/` in the key both ways.
fn sample_paths(template: &str) -> Vec<String> {
    let keys = ["some/key.txt", "some%2Fkey.txt", "key.txt"];
    if template.contains("{item}") {
        keys.iter()
            .map(|key| {
                template
                    .replace("{folder}", "my-bucket")
                    .replace("{item}", key)
            })
            .collect()
    } else {
        vec![template.replace("{folder}", "my-bucket")]
    }
}

/// What the router does with a method on a path.
#[derive(Debug)]
enum Answer {
    /// An operation (with one of the query parameters the spec documents for
    /// the method, when it needs one: `POST ?uploads`).
    Served,
    /// 405, with this Allow.
    NotAllowed(String),
    /// Some other error: the method is handled, but not as called here.
    Refused(ApiError),
}

fn router_answer(method: &str, path: &str, documented_query: &[String]) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let call = |query: Vec<(String, String)>| {
        route(
            &method,
            PathSource::Raw(path),
            &query,
            &HeaderMap::new(),
            Bytes::new(),
        )
    };
    let mut attempts = vec![Vec::new()];
    attempts.extend(
        documented_query
            .iter()
            .map(|name| vec![(name.clone(), String::new())]),
    );
    let mut refused = None;
    for query in attempts {
        match call(query) {
            Ok(_) => return Answer::Served,
            Err(ApiError::MethodNotAllowed { allow, .. }) => {
                return Answer::NotAllowed(allow.to_string());
            }
            Err(other) => refused = Some(other),
        }
    }
    Answer::Refused(refused.expect("at least one attempt"))
}

/// The CORS preflight: `options` without a signature (`security: []`).
fn is_preflight(key: &str, op: &Value) -> bool {
    key == "options"
        && op
            .get("security")
            .and_then(Value::as_sequence)
            .is_some_and(Vec::is_empty)
}

fn method_set(allow: &str) -> BTreeSet<String> {
    allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn openapi_documents_exactly_what_the_router_serves() {
    let spec = load("openapi.yaml");
    let paths = map_entries(spec.get("paths").expect("openapi.yaml has paths"));
    let templates: BTreeSet<&str> = paths.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        templates,
        BTreeSet::from(["/", "/{folder}", "/{folder}/{item}"]),
        "openapi.yaml's paths"
    );

    for (template, item) in paths {
        let documented: BTreeMap<String, &Value> = map_entries(item)
            .into_iter()
            .filter(|(key, op)| OPENAPI_METHODS.contains(key) && !is_preflight(key, op))
            .map(|(key, op)| (key.to_ascii_uppercase(), op))
            .collect();
        assert!(!documented.is_empty(), "{template}: no operation");
        assert!(
            item.get("options")
                .is_some_and(|op| is_preflight("options", op)),
            "{template}: the CORS preflight (options, security: []) is not documented"
        );

        // Undocumented methods: the catch-all documents a 405 with Allow.
        let any = item
            .get("x-amazon-apigateway-any-method")
            .unwrap_or_else(|| panic!("{template}: no x-amazon-apigateway-any-method (405)"));
        let any_responses: Vec<&str> = map_entries(any.get("responses").unwrap())
            .into_iter()
            .map(|(status, _)| status)
            .collect();
        assert_eq!(
            any_responses,
            ["405"],
            "{template}: the catch-all answers only 405"
        );
        let not_allowed = resolve(&spec, any.get("responses").unwrap().get("405").unwrap());
        assert!(
            not_allowed
                .get("headers")
                .and_then(|h| h.get("Allow"))
                .is_some(),
            "{template}: the 405 documents its Allow header"
        );

        for (method, op) in &documented {
            let statuses: Vec<&str> = map_entries(op.get("responses").unwrap())
                .into_iter()
                .map(|(status, _)| status)
                .collect();
            assert!(
                statuses.iter().any(|s| s.starts_with('2')),
                "{method} {template}: no success response documented"
            );
            assert!(
                !statuses.contains(&"405"),
                "{method} {template}: a served method documents 405"
            );
        }

        for path in sample_paths(template) {
            for method in METHODS {
                let query: Vec<String> = documented
                    .get(method)
                    .and_then(|op| op.get("parameters"))
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .map(|p| resolve(&spec, p))
                    .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                    .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect();
                match (
                    documented.contains_key(method),
                    router_answer(method, &path, &query),
                ) {
                    (true, Answer::Served) => {}
                    // The preflight: served where the function handles CORS
                    // in the router, else refused like any unserved method.
                    (false, Answer::Served) if method == "OPTIONS" => {}
                    (true, Answer::NotAllowed(allow)) => panic!(
                        "{method} {path}: openapi.yaml documents it, the router answers 405 (Allow: {allow})"
                    ),
                    (true, Answer::Refused(err)) => panic!(
                        "{method} {path}: documented, but the router serves it with none of its documented query parameters: {err:?}"
                    ),
                    (false, Answer::Served | Answer::Refused(_)) => panic!(
                        "{method} {path}: the router handles it (not 405), openapi.yaml does not document it"
                    ),
                    (false, Answer::NotAllowed(allow)) => assert_eq!(
                        method_set(&allow),
                        documented.keys().cloned().collect::<BTreeSet<_>>(),
                        "{method} {path}: the 405's Allow vs the methods openapi.yaml documents"
                    ),
                }
            }
        }
    }
}

#[test]
fn openapi_declares_binary_media_types_and_sigv4() {
    let spec = load("openapi.yaml");
    assert_eq!(
        spec.get("openapi").and_then(Value::as_str).map(|v| &v[..2]),
        Some("3."),
        "OpenAPI 3"
    );
    let binary: Vec<&str> = spec
        .get("x-amazon-apigateway-binary-media-types")
        .and_then(Value::as_sequence)
        .expect("x-amazon-apigateway-binary-media-types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(binary, ["*/*"]);

    let schemes = map_entries(
        spec.get("components")
            .and_then(|c| c.get("securitySchemes"))
            .expect("securitySchemes"),
    );
    let sigv4: Vec<&str> = schemes
        .iter()
        .filter(|(_, s)| {
            s.get("x-amazon-apigateway-authtype")
                .and_then(Value::as_str)
                == Some("awsSigv4")
                && s.get("type").and_then(Value::as_str) == Some("apiKey")
                && s.get("in").and_then(Value::as_str) == Some("header")
                && s.get("name").and_then(Value::as_str) == Some("Authorization")
        })
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(sigv4.len(), 1, "one awsSigv4 security scheme");
    let global: Vec<&str> = spec
        .get("security")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .flat_map(|req| map_entries(req).into_iter().map(|(name, _)| name))
        .collect();
    assert_eq!(global, sigv4, "every operation requires SigV4");
    // ... but the preflight, the one operation that overrides it.
    for (path, item) in map_entries(spec.get("paths").unwrap()) {
        for (method, op) in map_entries(item) {
            if OPENAPI_METHODS.contains(&method) && op.get("security").is_some() {
                assert!(
                    is_preflight(method, op),
                    "{method} {path} overrides the security"
                );
            }
        }
    }
}

/// The key's pattern says which keys the router refuses as "only white
/// space" (aws-sdk-s3 trims keys with `str::trim` and refuses what is left
/// empty): the same set, character by character, as Unicode's White_Space
/// (U+0085 in it, U+FEFF not: ECMAScript's `\s` differs in both, so the
/// spec cannot say `\S`).
#[test]
fn the_key_pattern_is_the_routers_white_space_rule() {
    let spec = load("openapi.yaml");
    let item = resolve(&spec, &spec["components"]["parameters"]["item"]);
    let pattern = item["schema"]["pattern"].as_str().expect("item's pattern");
    let pattern = regex_lite::Regex::new(pattern).expect("a plain regular expression");
    let mut checked = 0;
    for code in (0u32..0x3100).chain([0xfeff, 0xfffd, 0x1f600]) {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        for key in [c.to_string(), format!("{c}{c}")] {
            let encoded: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
            let path = format!("/my-bucket/{encoded}");
            let routed = s3_proxy::route::parse_path(PathSource::Raw(&path));
            let refused_as_blank =
                matches!(&routed, Err(ApiError::InvalidArgument(m)) if m.contains("white space"));
            assert_eq!(
                pattern.is_match(&key),
                !refused_as_blank,
                "U+{code:04X}: the spec and the router disagree ({routed:?})"
            );
            checked += 1;
        }
    }
    assert!(checked > 20_000);
}
