//! `template.yaml` keeps its promises, read as data and evaluated for the
//! parameter values that matter (`spec::cfn`: Ref, Fn::If and the template's
//! Conditions, Fn::Sub, Fn::Join, Fn::Split).
//!
//! - The API's OpenAPI body is `openapi.yaml`'s paths, ANY with IAM (SigV4)
//!   on each, every integration the function; `ResponseMode` switches them all
//!   between buffered and streaming; CORS adds unsigned OPTIONS preflights and
//!   CORS headers on API Gateway's own errors, which answer S3's `<Error>`.
//! - The role is least privilege and pinned to the buckets' owner account; the
//!   policy file of the deploy without SAM is the same role.
//! - The audit trail (the access log), the resource policy, the limits, the
//!   tracing and the custom domain exist as their parameters say.
//! - The function gets the environment it reads (`Config`), and cargo-lambda's
//!   deploy settings in `Cargo.toml` are the template's defaults.

use s3_proxy::config::Config;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use serde_norway::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

#[path = "../spec/mod.rs"]
mod spec;

mod role;
mod stack;
use spec::cfn::{Stack, text};
use spec::{
    at, load, map_entries, read, refs, resources, statements, str_at, strings, the_function,
};

/// The environment variables of the shared contract (notes: contract.md).
const CONTRACT: [&str; 7] = [
    "EXPECTED_BUCKET_OWNER",
    "RESPONSE_MODE",
    "STREAM_MAX_BYTES",
    "CORS_ALLOW_ORIGINS",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_MAX_AGE_SECONDS",
    "HTML_INDEX",
];

/// Read outside `Config`: the tracing setup's filter.
const READ_OUTSIDE_CONFIG: [&str; 1] = ["RUST_LOG"];

/// Read by `Config` but meant for local runs only: the template leaves them out.
const LOCAL_ONLY: [&str; 1] = ["S3_FORCE_PATH_STYLE"];

/// API Gateway's own errors the stack answers S3-style: type, S3 code.
const GATEWAY_ERRORS: [(&str, &str); 10] = [
    ("DEFAULT_4XX", "InvalidRequest"),
    ("DEFAULT_5XX", "InternalError"),
    ("MISSING_AUTHENTICATION_TOKEN", "AccessDenied"),
    ("ACCESS_DENIED", "AccessDenied"),
    ("INVALID_SIGNATURE", "SignatureDoesNotMatch"),
    ("EXPIRED_TOKEN", "ExpiredToken"),
    ("THROTTLED", "SlowDown"),
    ("REQUEST_TOO_LARGE", "EntityTooLarge"),
    ("INTEGRATION_FAILURE", "BadGateway"),
    ("INTEGRATION_TIMEOUT", "GatewayTimeout"),
];

const PATHS: [&str; 3] = ["/", "/{folder}", "/{folder}/{item+}"];

/// The template with these parameter values, and a bucket to serve
/// (BucketNames has no default).
fn configured<'a>(template: &'a Value, overrides: &[(&'a str, &'a str)]) -> Stack<'a> {
    let mut parameters = overrides.to_vec();
    parameters.push(("BucketNames", "photos"));
    Stack::new(template, &parameters)
}

/// The API's OpenAPI body for these parameter values.
fn body(stack: &Stack) -> Json {
    stack.properties("S3ProxyApi")["DefinitionBody"].clone()
}

fn function_env(stack: &Stack) -> Json {
    stack.properties("S3ProxyFunction")["Environment"]["Variables"].clone()
}

#[test]
fn the_api_body_is_the_spec_with_iam_on_every_method() {
    let template = load("template.yaml");
    let spec = load("openapi.yaml");
    let spec_paths: BTreeSet<String> = map_entries(at(&spec, "paths"))
        .into_iter()
        .map(|(p, _)| p.to_string())
        .collect();

    // The routes live in the API's body, not in SAM events.
    assert!(
        at(the_function(&template), "Properties")
            .get("Events")
            .is_none(),
        "the function has SAM Api events: the API's OpenAPI body is the one place for routes"
    );
    let stack = configured(&template, &[]);
    let body = body(&stack);
    let paths: BTreeSet<String> = body["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(|p| p.replace("+}", "}"))
        .collect();
    assert_eq!(paths, spec_paths, "the template's paths vs openapi.yaml's");

    let scheme = &body["components"]["securitySchemes"]["sigv4"];
    assert_eq!(scheme["x-amazon-apigateway-authtype"], "awsSigv4");
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["name"], "Authorization");
    assert!(
        body.get("security").is_none(),
        "no API-wide security: the preflight has none"
    );

    for path in PATHS {
        let item = body["paths"][path].as_object().expect(path);
        // Without CORS: only ANY, which every method reaches; the function
        // serves its own and answers 405 to the rest.
        assert_eq!(
            item.keys().collect::<Vec<_>>(),
            ["x-amazon-apigateway-any-method"],
            "{path}: methods"
        );
        let any = &item["x-amazon-apigateway-any-method"];
        assert_eq!(any["security"], json!([{ "sigv4": [] }]), "{path}: SigV4");
        let integration = &any["x-amazon-apigateway-integration"];
        assert_eq!(integration["type"], "aws_proxy", "{path}");
        assert_eq!(integration["httpMethod"], "POST", "{path}");
        // API Gateway calls the function under its resource policy, not with
        // the caller's credentials: callers need only execute-api:Invoke.
        assert!(
            integration.get("credentials").is_none(),
            "{path}: credentials"
        );
        for parameter in path.split('/').filter(|s| s.starts_with('{')) {
            let name = parameter.trim_matches(['{', '}', '+']);
            assert!(
                ["folder", "item"].contains(&name),
                "{path}: the function reads path parameters folder and item, not {name}"
            );
        }
    }

    let permission = stack.properties("S3ProxyInvokePermission");
    assert_eq!(permission["Action"], "lambda:InvokeFunction");
    assert_eq!(permission["Principal"], "apigateway.amazonaws.com");
    assert_eq!(permission["FunctionName"], "{S3ProxyFunction}");
    assert_eq!(
        permission["SourceArn"],
        "arn:aws:execute-api:{region}:{account}:{S3ProxyApi}/*"
    );
}

#[test]
fn response_mode_switches_every_integration_to_streaming() {
    let template = load("template.yaml");
    let parameter = at(&template, "Parameters.ResponseMode");
    assert_eq!(str_at(parameter, "Default"), "buffered");
    let allowed: Vec<&str> = strings(at(parameter, "AllowedValues"));
    assert_eq!(allowed, ["buffered", "stream"]);

    let cors = ("CorsAllowOrigins", "https://app.example.com");
    for (mode, version, invocation, transfer, timeout, function_timeout) in [
        (
            "buffered",
            "2015-03-31",
            "invocations",
            "BUFFERED",
            29000,
            "28",
        ),
        (
            "stream",
            "2021-11-15",
            "response-streaming-invocations",
            "STREAM",
            900000,
            "900",
        ),
    ] {
        let stack = configured(&template, &[("ResponseMode", mode), cors]);
        let body = body(&stack);
        for path in PATHS {
            for method in ["x-amazon-apigateway-any-method", "options"] {
                let integration = &body["paths"][path][method]["x-amazon-apigateway-integration"];
                assert_eq!(
                    integration["uri"],
                    format!(
                        "arn:aws:apigateway:{{region}}:lambda:path/{version}/functions/{{S3ProxyFunction.Arn}}/{invocation}"
                    ),
                    "{mode}: {method} {path}"
                );
                assert_eq!(
                    integration["responseTransferMode"], transfer,
                    "{mode}: {path}"
                );
                assert_eq!(integration["timeoutInMillis"], timeout, "{mode}: {path}");
            }
        }
        assert_eq!(function_env(&stack)["RESPONSE_MODE"], mode);
        assert_eq!(
            stack.properties("S3ProxyFunction")["Timeout"],
            function_timeout,
            "{mode}: the function's timeout"
        );
    }

    // SAM hashes the body for the deployment's id, but the body's Fn::If are
    // not resolved then: without AlwaysDeploy a switch would not reach the stage.
    assert_eq!(
        at(&template, "Resources.S3ProxyApi.Properties.AlwaysDeploy").as_bool(),
        Some(true)
    );
}

#[test]
fn cors_adds_unsigned_preflights_and_headers_on_gateway_errors() {
    let template = load("template.yaml");
    let off = configured(&template, &[]);
    let env = function_env(&off);
    assert_eq!(env["CORS_ALLOW_ORIGINS"], "", "CORS is off by default");
    for path in PATHS {
        assert!(
            body(&off)["paths"][path].get("options").is_none(),
            "{path}: OPTIONS without CORS"
        );
    }
    for (kind, response) in body(&off)["x-amazon-apigateway-gateway-responses"]
        .as_object()
        .expect("gateway responses")
    {
        let headers: Vec<&String> = response["responseParameters"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            headers,
            ["gatewayresponse.header.Content-Type"],
            "{kind} without CORS"
        );
    }

    let origins = "https://app.example.com,http://127.0.0.1:8080";
    for (allow, credentials, expected_origin) in [
        (origins, "false", "method.request.header.Origin"),
        (origins, "true", "'https://app.example.com'"),
        ("http://127.0.0.1:8080", "true", "'http://127.0.0.1:8080'"),
        ("*", "false", "'*'"),
    ] {
        let stack = configured(
            &template,
            &[
                ("CorsAllowOrigins", allow),
                ("CorsAllowCredentials", credentials),
                ("CorsMaxAge", "300"),
            ],
        );
        let body = body(&stack);
        for path in PATHS {
            let item = &body["paths"][path];
            let preflight = &item["options"];
            assert!(
                preflight.get("security").is_none(),
                "{path}: the preflight must need no signature"
            );
            assert_eq!(
                preflight["x-amazon-apigateway-integration"],
                item["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"],
                "{path}: the function answers the preflight"
            );
        }
        for (kind, response) in body["x-amazon-apigateway-gateway-responses"]
            .as_object()
            .unwrap()
        {
            let parameters = &response["responseParameters"];
            assert_eq!(
                parameters["gatewayresponse.header.Access-Control-Allow-Origin"], expected_origin,
                "{kind}"
            );
            assert_eq!(
                parameters["gatewayresponse.header.Vary"], "'Origin'",
                "{kind}"
            );
            assert_eq!(
                parameters.get("gatewayresponse.header.Access-Control-Allow-Credentials"),
                (credentials == "true").then(|| json!("'true'")).as_ref(),
                "{kind}"
            );
        }
        let env = function_env(&stack);
        assert_eq!(env["CORS_ALLOW_ORIGINS"], allow);
        assert_eq!(env["CORS_ALLOW_CREDENTIALS"], credentials);
        assert_eq!(env["CORS_MAX_AGE_SECONDS"], "300");
    }

    // `*` with credentials is refused before anything is created.
    for (allow, credentials, holds) in [
        ("*", "true", false),
        ("*", "false", true),
        (origins, "true", true),
        ("", "true", true),
    ] {
        let stack = configured(
            &template,
            &[
                ("CorsAllowOrigins", allow),
                ("CorsAllowCredentials", credentials),
            ],
        );
        assert_eq!(
            stack.rule_holds("NoCredentialsWithAnyOrigin"),
            holds,
            "{allow} with credentials={credentials}"
        );
    }
}

/// The body of an `<Error>` document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorDocument {
    code: String,
    message: String,
    request_id: String,
}

#[test]
fn gateway_errors_are_s3_error_documents_as_openapi_says() {
    let template = load("template.yaml");
    let spec = load("openapi.yaml");
    let responses =
        body(&configured(&template, &[]))["x-amazon-apigateway-gateway-responses"].clone();
    let kinds: BTreeSet<&str> = responses
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        kinds,
        GATEWAY_ERRORS.iter().map(|(k, _)| *k).collect(),
        "the gateway responses the stack customizes"
    );

    // Elements as openapi.yaml's Error schema names them (the function's too).
    let required: BTreeSet<&str> = strings(at(&spec, "components.schemas.Error.required"))
        .into_iter()
        .collect();
    assert_eq!(required, BTreeSet::from(["Code", "Message", "RequestId"]));

    // The message is API Gateway's and may quote the request: `<` and `&` stay text.
    let message = "The request signature we calculated does not match: 'GET\n/prod/a&b<c>'";
    for (kind, code) in GATEWAY_ERRORS {
        let response = &responses[kind];
        assert_eq!(
            response["responseParameters"]["gatewayresponse.header.Content-Type"],
            "'application/xml'",
            "{kind}"
        );
        let templates = response["responseTemplates"].as_object().unwrap();
        assert_eq!(
            templates.keys().collect::<Vec<_>>(),
            ["application/xml"],
            "{kind}"
        );
        let xml = text(&templates["application/xml"])
            .replace("$context.error.message", message)
            .replace("$context.requestId", "a1b2c3d4-request");
        assert!(
            !xml.contains("$context"),
            "{kind}: unknown variable in {xml}"
        );
        let document: ErrorDocument =
            quick_xml::de::from_str(&xml).unwrap_or_else(|e| panic!("{kind}: {e}: {xml}"));
        assert_eq!(document.code, code, "{kind}");
        assert_eq!(document.message, message, "{kind}");
        assert_eq!(document.request_id, "a1b2c3d4-request", "{kind}");
    }

    // openapi.yaml documents exactly what the stack installs (without CORS).
    let documented =
        serde_json::to_value(at(&spec, "x-amazon-apigateway-gateway-responses")).expect("JSON");
    assert_eq!(
        documented, responses,
        "openapi.yaml's gateway responses vs the template's"
    );
}

/// `CorsAllowOrigins` takes origins only as browsers write them in `Origin`:
/// with credentials, API Gateway's own answers name the first one literally
/// (the template cannot normalize it), and a browser compares that literal
/// with its Origin byte for byte. So every value the pattern lets through is
/// one the function reads as itself (its normalized first origin is the
/// literal), and what a browser never sends (a default port, uppercase, a
/// path, spaces) is refused at deploy time.
#[test]
fn cors_origins_are_taken_only_in_the_form_browsers_send() {
    let template = load("template.yaml");
    let pattern = str_at(&template, "Parameters.CorsAllowOrigins.AllowedPattern");
    let pattern = regex_lite::Regex::new(pattern).expect("a plain regular expression");
    for value in [
        "",
        "*",
        "https://app.example.com",
        "https://app.example.com,http://127.0.0.1:8080",
        "http://localhost:3000",
        "https://a.example:8443",
        "https://a.example:4430",
        "https://a.example:44",
        "http://a.example:8080",
        "http://a.example:8",
        "http://[::1]:8080",
        "https://xn--caf-dma.example",
    ] {
        assert!(pattern.is_match(value), "{value:?} should be taken");
        if value.is_empty() || value == "*" {
            continue;
        }
        let cors = s3_proxy::cors::Cors::from_lookup(|name| match name {
            "CORS_ALLOW_ORIGINS" => Some(value.to_string()),
            "CORS_ALLOW_CREDENTIALS" => Some("true".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{value:?}: the function refuses it: {e}"));
        let named = cors
            .gateway_headers(None)
            .into_iter()
            .find(|(name, _)| name == http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|(_, v)| v.to_str().unwrap().to_string());
        let first = value.split(',').next().unwrap();
        assert_eq!(
            named.as_deref(),
            Some(first),
            "{value:?}: the literal is what the function names"
        );
    }
    for value in [
        "https://a.example:443",
        "http://a.example:80",
        "https://b.example,https://a.example:443",
        "https://App.example.com",
        "HTTPS://app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://a.example, https://b.example",
        "*,https://a.example",
        "ftp://a.example",
        "https://a.example:port",
        "'https://a.example'",
        "https://a.example,",
        "https://",
    ] {
        assert!(!pattern.is_match(value), "{value:?} should be refused");
    }
}
