//! The description files agree with the code.
//!
//! - `openapi.yaml`: for every path and every method API Gateway can send
//!   (`ANY`), the methods the spec documents are exactly the ones the pure router
//!   serves, and for the others the router's 405 `Allow` lists exactly the
//!   documented methods, which the spec's catch-all method documents as a 405.
//!   `OPTIONS` is the CORS preflight, answered before routing: documented on
//!   every path, without a signature.
//! - `template.yaml`: its routes are the spec's paths (ANY on each, so that 405s
//!   come from the function), every route needs IAM (SigV4) auth, the role never
//!   grants `s3:*`, the function gets only environment variables it reads, and
//!   the parameters' defaults are a configuration it accepts.
//!
//! The template uses only long-form intrinsics (`Fn::Sub`, `Ref`), so a plain
//! YAML parser reads it.

use bytes::Bytes;
use http::{HeaderMap, Method};
use s3_proxy::ApiError;
use s3_proxy::config::Config;
use s3_proxy::route::{PathSource, route};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What API Gateway's ANY method forwards to the function.
const METHODS: [&str; 7] = ["GET", "PUT", "HEAD", "DELETE", "POST", "PATCH", "OPTIONS"];

/// Operation keys of an OpenAPI path item.
const OPENAPI_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The environment variables `Config::from_env` and the tracing setup read.
const ENV_READ_BY_CODE: [&str; 13] = [
    "BINARY_MEDIA_TYPES",
    "ALLOWED_BUCKETS",
    "READ_ONLY",
    "ALLOW_BUCKET_ADMIN",
    "MAX_INLINE_BYTES",
    "PRESIGN_EXPIRES_SECONDS",
    "S3_FORCE_PATH_STYLE",
    "BACKEND_TIMEOUT_MS",
    "CORS_ALLOW_ORIGINS",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_MAX_AGE_SECONDS",
    "HTML_INDEX",
    "RUST_LOG",
];

fn load(file: &str) -> Value {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn map_entries(value: &Value) -> Vec<(&str, &Value)> {
    value
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?, v)))
                .collect()
        })
        .unwrap_or_default()
}

/// Follows a local `$ref` (`#/components/...`) once.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
        return value;
    };
    let pointer = reference
        .strip_prefix("#/")
        .unwrap_or_else(|| panic!("only local $refs are expected: {reference}"));
    pointer.split('/').fold(spec, |node, part| {
        node.get(part)
            .unwrap_or_else(|| panic!("$ref {reference} does not resolve"))
    })
}

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
            .filter(|(key, _)| OPENAPI_METHODS.contains(key))
            .map(|(key, op)| (key.to_ascii_uppercase(), op))
            .collect();
        assert!(!documented.is_empty(), "{template}: no operation");

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

        // The preflight: on every path, unsigned, answered by the function's
        // CORS module (not the router) when the origin is allowed.
        let options = documented
            .get("OPTIONS")
            .unwrap_or_else(|| panic!("{template}: no OPTIONS (CORS preflight)"));
        assert_eq!(
            options
                .get("security")
                .and_then(Value::as_sequence)
                .map(Vec::len),
            Some(0),
            "{template}: the preflight is sent without a signature"
        );
        let cors = s3_proxy::cors::Cors::from_lookup(|name| {
            (name == "CORS_ALLOW_ORIGINS").then(|| "https://app.example.com".to_string())
        })
        .unwrap();
        let mut preflight = HeaderMap::new();
        preflight.insert("origin", "https://app.example.com".parse().unwrap());
        preflight.insert("access-control-request-method", "GET".parse().unwrap());
        assert!(cors.preflight(&preflight).is_ok(), "{template}");
        let documented: BTreeMap<String, &Value> = documented
            .into_iter()
            .filter(|(method, _)| method != "OPTIONS")
            .collect();

        for path in sample_paths(template) {
            for method in METHODS.iter().copied().filter(|m| *m != "OPTIONS") {
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
}

/// The template's resources of one type.
fn resources<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    map_entries(template.get("Resources").expect("Resources"))
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .collect()
}

fn the_function(template: &Value) -> &Value {
    let functions = resources(template, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 1, "one function");
    functions[0].1
}

/// Every string inside a value (through Fn::If, lists and maps).
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::Mapping(m) => m.values().flat_map(strings).collect(),
        Value::Tagged(t) => strings(&t.value),
        _ => Vec::new(),
    }
}

/// The parameters a value refers to with `Ref` (directly or nested).
fn refs(value: &Value) -> BTreeSet<String> {
    match value {
        Value::Mapping(m) => m
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v.as_str()) {
                (Some("Ref"), Some(name)) => BTreeSet::from([name.to_string()]),
                _ => refs(v),
            })
            .collect(),
        Value::Sequence(items) => items.iter().flat_map(refs).collect(),
        _ => BTreeSet::new(),
    }
}

/// Every IAM policy statement in the template (roles, policies, SAM's Policies).
fn statements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Mapping(m) => m
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v) {
                (Some("Statement"), Value::Sequence(items)) => items.iter().collect(),
                (Some("Statement"), single @ Value::Mapping(_)) => vec![single],
                _ => statements(v),
            })
            .collect(),
        Value::Sequence(items) => items.iter().flat_map(statements).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn template_routes_are_the_spec_paths_with_any_method_and_iam_auth() {
    let template = load("template.yaml");
    let spec = load("openapi.yaml");
    let apis: BTreeMap<&str, &Value> = resources(&template, "AWS::Serverless::Api")
        .into_iter()
        .collect();
    assert!(!apis.is_empty(), "an AWS::Serverless::Api");
    for (name, api) in &apis {
        let auth = api.get("Properties").and_then(|p| p.get("Auth"));
        assert_eq!(
            auth.and_then(|a| a.get("DefaultAuthorizer"))
                .and_then(Value::as_str),
            Some("AWS_IAM"),
            "{name}: DefaultAuthorizer"
        );
        // Without it SAM makes API Gateway call the function with the caller's
        // credentials, and callers would need lambda:InvokeFunction too.
        assert_eq!(
            auth.and_then(|a| a.get("InvokeRole"))
                .and_then(Value::as_str),
            Some("NONE"),
            "{name}: InvokeRole"
        );
    }

    let events = the_function(&template)
        .get("Properties")
        .and_then(|p| p.get("Events"))
        .expect("the function has Events");
    let mut routes = BTreeSet::new();
    for (name, event) in map_entries(events) {
        assert_eq!(
            event.get("Type").and_then(Value::as_str),
            Some("Api"),
            "{name}: a REST API event"
        );
        let props = event.get("Properties").unwrap();
        let api = props
            .get("RestApiId")
            .and_then(|r| r.get("Ref"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{name}: RestApiId must Ref the AWS::Serverless::Api"));
        assert!(
            apis.contains_key(api),
            "{name}: {api} is not an AWS::Serverless::Api"
        );
        if let Some(authorizer) = props.get("Auth").and_then(|a| a.get("Authorizer")) {
            assert_eq!(
                authorizer.as_str(),
                Some("AWS_IAM"),
                "{name}: overrides the IAM auth"
            );
        }
        assert_eq!(
            props
                .get("Method")
                .and_then(Value::as_str)
                .map(str::to_ascii_uppercase),
            Some("ANY".to_string()),
            "{name}: every method must reach the function (it answers 405 itself)"
        );
        let path = props.get("Path").and_then(Value::as_str).unwrap();
        for param in path.split('/').filter(|s| s.starts_with('{')) {
            let name = param.trim_matches(['{', '}', '+']);
            assert!(
                ["folder", "item"].contains(&name),
                "{path}: the function reads path parameters folder and item, not {name}"
            );
        }
        routes.insert(path.replace("+}", "}"));
    }
    let spec_paths: BTreeSet<String> = map_entries(spec.get("paths").unwrap())
        .into_iter()
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(routes, spec_paths, "template routes vs openapi.yaml paths");
}

#[test]
fn template_role_is_least_privilege() {
    let template = load("template.yaml");
    let all = statements(template.get("Resources").unwrap());
    assert!(
        all.len() >= 3,
        "policy statements found: {} (the walk must see the role's policies)",
        all.len()
    );
    for statement in all {
        for forbidden in ["NotAction", "NotResource"] {
            assert!(
                statement.get(forbidden).is_none(),
                "{forbidden}: {statement:?}"
            );
        }
        let actions = strings(statement.get("Action").expect("Action"));
        for action in &actions {
            assert_ne!(*action, "*", "Action \"*\"");
            let lower = action.to_ascii_lowercase();
            assert!(
                !(lower.starts_with("s3:") && lower.contains('*')),
                "{action}: a wildcard S3 action"
            );
        }
        // Only ListBuckets may have Resource "*": it has no bucket to scope to.
        // (A trust policy names a Principal instead.)
        let resources = statement.get("Resource").map(strings).unwrap_or_default();
        assert!(
            !resources.is_empty() || statement.get("Principal").is_some(),
            "a statement without Resource: {statement:?}"
        );
        if resources.contains(&"*") {
            assert_eq!(actions, ["s3:ListAllMyBuckets"], "Resource \"*\"");
        }
    }
    let actions: BTreeSet<&str> = statements(template.get("Resources").unwrap())
        .into_iter()
        .flat_map(|s| strings(s.get("Action").unwrap()))
        .filter(|a| a.starts_with("s3:"))
        .collect();
    let expected = [
        "s3:ListAllMyBuckets",
        "s3:ListBucket",
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    ];
    assert_eq!(
        actions,
        BTreeSet::from(expected),
        "the S3 actions the role may grant"
    );
}

/// A parameter's default, as the function would receive it.
fn default_of(template: &Value, value: &Value) -> Option<String> {
    if let Some(s) = value.as_str() {
        return Some(s.to_string());
    }
    let name = value.get("Ref")?.as_str()?;
    let default = template.get("Parameters")?.get(name)?.get("Default")?;
    match default {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[test]
fn template_environment_is_what_the_function_reads() {
    let template = load("template.yaml");
    let variables = the_function(&template)
        .get("Properties")
        .and_then(|p| p.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .expect("the function has Environment.Variables");
    let env = map_entries(variables);
    for (name, _) in &env {
        assert!(
            ENV_READ_BY_CODE.contains(name),
            "{name}: the function does not read it"
        );
    }
    for name in [
        "BINARY_MEDIA_TYPES",
        "ALLOWED_BUCKETS",
        "READ_ONLY",
        "BACKEND_TIMEOUT_MS",
    ] {
        assert!(env.iter().any(|(n, _)| *n == name), "{name} is not set");
    }

    // The defaults are a configuration the function starts with.
    let defaults: BTreeMap<&str, String> = env
        .iter()
        .filter_map(|(name, value)| Some((*name, default_of(&template, value)?)))
        .collect();
    assert!(defaults.len() >= 7, "defaults resolved: {defaults:?}");
    let config = Config::from_lookup(|name| defaults.get(name).cloned())
        .unwrap_or_else(|e| panic!("the template's defaults: {e}"));

    // A slow S3 must be the function's clean 504, not a Lambda timeout.
    let timeout = default_of(
        &template,
        the_function(&template)
            .get("Properties")
            .unwrap()
            .get("Timeout")
            .unwrap(),
    )
    .and_then(|t| t.parse::<u64>().ok())
    .expect("a Timeout parameter with a default");
    assert!(
        config.backend_timeout.as_secs() < timeout && timeout <= 29,
        "BACKEND_TIMEOUT_MS ({:?}) < Timeout ({timeout} s) <= API Gateway's 29 s",
        config.backend_timeout
    );
}

#[test]
fn one_parameter_feeds_the_api_and_the_function_binary_media_types() {
    let template = load("template.yaml");
    let api_refs: BTreeSet<String> = resources(&template, "AWS::Serverless::Api")
        .iter()
        .flat_map(|(_, api)| {
            refs(
                api.get("Properties")
                    .unwrap()
                    .get("BinaryMediaTypes")
                    .unwrap(),
            )
        })
        .collect();
    let env = the_function(&template)
        .get("Properties")
        .and_then(|p| p.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(|v| v.get("BINARY_MEDIA_TYPES"))
        .expect("BINARY_MEDIA_TYPES");
    assert_eq!(
        api_refs.len(),
        1,
        "the API's BinaryMediaTypes come from one parameter"
    );
    assert_eq!(
        refs(env),
        api_refs,
        "the function's BINARY_MEDIA_TYPES: the same parameter"
    );

    // Its default is what openapi.yaml declares, in either spelling.
    let default = default_of(&template, env).expect("a default");
    let parsed = s3_proxy::media::BinaryMediaTypes::parse(&default).unwrap();
    assert_eq!(parsed.to_string(), "*/*");
}
