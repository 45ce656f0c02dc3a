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

mod spec;
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

/// Set by the template (the contract) before `Config` reads them. The test
/// fails as soon as `Config` reads one of them: then remove it from here.
const AWAITING_SRC: [&str; 6] = [
    "RESPONSE_MODE",
    "STREAM_MAX_BYTES",
    "CORS_ALLOW_ORIGINS",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_MAX_AGE_SECONDS",
    "HTML_INDEX",
];

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
        (origins, "true", "method.request.header.Origin"),
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

/// The function role's statements for these parameter values.
fn role_statements(stack: &Stack) -> Vec<Json> {
    let role = stack.properties("S3ProxyFunctionRole");
    role["Policies"]
        .as_array()
        .expect("Policies")
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .collect()
}

fn sid<'a>(statements: &'a [Json], sid: &str) -> Option<&'a Json> {
    statements.iter().find(|s| s["Sid"] == sid)
}

#[test]
fn the_role_is_least_privilege() {
    let template = load("template.yaml");
    let role = at(&template, "Resources.S3ProxyFunctionRole");
    let all = statements(role);
    assert!(all.len() >= 5, "policy statements found: {}", all.len());
    for statement in all {
        for forbidden in ["NotAction", "NotResource", "NotPrincipal"] {
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
        // Resource "*" only where there is nothing to scope to: ListBuckets
        // and X-Ray. (A trust policy names a Principal instead.)
        let resources = statement.get("Resource").map(strings).unwrap_or_default();
        assert!(
            !resources.is_empty() || statement.get("Principal").is_some(),
            "a statement without Resource: {statement:?}"
        );
        if resources.contains(&"*") {
            assert!(
                actions == ["s3:ListAllMyBuckets"]
                    || actions == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource \"*\" for {actions:?}"
            );
        }
    }
    let actions: BTreeSet<&str> = statements(role)
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
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:PutObjectTagging",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:AbortMultipartUpload",
    ];
    assert_eq!(
        actions,
        BTreeSet::from(expected),
        "the S3 actions the role may grant"
    );

    // Read-only: no write, no bucket administration, whatever else is asked.
    let stack = configured(
        &template,
        &[
            ("BucketNames", "photos"),
            ("ReadOnly", "true"),
            ("AllowBucketAdmin", "true"),
        ],
    );
    let granted: BTreeSet<String> = role_statements(&stack)
        .iter()
        .flat_map(|s| match &s["Action"] {
            Json::Array(a) => a.iter().map(text).collect(),
            one => vec![text(one)],
        })
        .collect();
    assert_eq!(
        granted,
        [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:ListAllMyBuckets",
            "s3:ListBucket"
        ]
        .map(String::from)
        .into(),
        "read-only"
    );

    // KMS: only the named keys, only through S3; reads decrypt, writes
    // also generate data keys.
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for (read_only, actions) in [
        ("false", vec!["kms:Decrypt", "kms:GenerateDataKey"]),
        ("true", vec!["kms:Decrypt"]),
    ] {
        let stack = configured(
            &template,
            &[
                ("BucketNames", "photos"),
                ("ReadOnly", read_only),
                ("KmsKeyArns", key),
            ],
        );
        let kms: Vec<Json> = role_statements(&stack)
            .into_iter()
            .filter(|s| s["Action"].to_string().contains("kms:"))
            .collect();
        assert_eq!(kms.len(), 1, "one KMS statement: {kms:?}");
        let granted: Vec<String> = match &kms[0]["Action"] {
            Json::Array(a) => a.iter().map(text).collect(),
            one => vec![text(one)],
        };
        assert_eq!(granted, actions, "read-only {read_only}");
        assert_eq!(
            kms[0]["Resource"],
            Json::Array(vec![Json::String(key.into())])
        );
        assert!(kms[0]["Condition"]["StringEquals"]["kms:ViaService"].is_string());
    }
    let stack = configured(&template, &[("BucketNames", "photos")]);
    assert!(
        !role_statements(&stack)
            .iter()
            .any(|s| s["Action"].to_string().contains("kms:")),
        "no KMS permission unless keys are named"
    );
}

#[test]
fn buckets_are_pinned_to_their_owner_account() {
    let template = load("template.yaml");
    let pattern = str_at(&template, "Parameters.BucketOwnerAccountId.AllowedPattern");
    assert_eq!(pattern, "^([0-9]{12})?$");
    for (owner, expected) in [("", "{account}"), ("210987654321", "210987654321")] {
        for all in ["false", "true"] {
            let stack = configured(
                &template,
                &[
                    ("BucketNames", "photos,logs-*"),
                    ("AllowAllBuckets", all),
                    ("BucketOwnerAccountId", owner),
                    ("AllowBucketAdmin", "true"),
                ],
            );
            let statements = role_statements(&stack);
            for name in ["Buckets", "Objects"] {
                let statement = sid(&statements, name).unwrap_or_else(|| panic!("no {name}"));
                assert_eq!(
                    statement["Condition"],
                    json!({ "StringEquals": { "s3:ResourceAccount": expected } }),
                    "{name} (owner {owner:?}, all buckets {all})"
                );
            }
            // CreateBucket alone has no owner to check: the bucket does not
            // exist yet, and S3 creates it in the caller's own account.
            let create =
                sid(&statements, "CreateBuckets").expect("CreateBuckets with bucket admin");
            assert_eq!(create["Action"], "s3:CreateBucket");
            assert!(create.get("Condition").is_none());
            for statement in &statements {
                let actions = text(&statement["Action"]);
                let touches_buckets = statement["Resource"].to_string().contains(":s3:::");
                if touches_buckets && statement["Sid"] != "CreateBuckets" {
                    assert!(statement.get("Condition").is_some(), "unpinned: {actions}");
                }
            }
            assert_eq!(
                function_env(&stack)["EXPECTED_BUCKET_OWNER"],
                expected,
                "the function's owner"
            );
        }
    }
    // Named buckets: the ARNs of the names and patterns, nothing else.
    let stack = configured(&template, &[("BucketNames", "photos,logs-*")]);
    let statements = role_statements(&stack);
    assert_eq!(
        sid(&statements, "Buckets").unwrap()["Resource"],
        json!(["arn:aws:s3:::photos", "arn:aws:s3:::logs-*"])
    );
    assert_eq!(
        sid(&statements, "Objects").unwrap()["Resource"],
        json!(["arn:aws:s3:::photos/*", "arn:aws:s3:::logs-*/*"])
    );
    assert!(
        sid(&statements, "CreateBuckets").is_none(),
        "no bucket admin by default"
    );
}

#[test]
fn the_access_log_records_who_did_what() {
    let template = load("template.yaml");
    let stack = configured(&template, &[]);
    let api = stack.properties("S3ProxyApi");
    let setting = &api["AccessLogSetting"];
    assert_eq!(
        setting["DestinationArn"],
        "arn:aws:logs:{region}:{account}:log-group:/aws/apigateway/{stack}-s3-proxy-access:*"
    );
    let format = text(&setting["Format"]);
    assert!(!format.contains('\n'), "one line per request");

    // Each field and the variable it holds.
    let fields: BTreeMap<String, Json> =
        serde_json::from_str(&format).unwrap_or_else(|e| panic!("{e}: {format}"));
    let expected = [
        ("requestId", "$context.requestId"),
        ("extendedRequestId", "$context.extendedRequestId"),
        // The function's request id: its log line and its error documents.
        ("lambdaRequestId", "$context.awsEndpointRequestId"),
        ("caller", "$context.identity.caller"),
        ("userArn", "$context.identity.userArn"),
        ("accountId", "$context.identity.accountId"),
        ("sourceIp", "$context.identity.sourceIp"),
        ("userAgent", "$context.identity.userAgent"),
        ("requestTime", "$context.requestTime"),
        ("httpMethod", "$context.httpMethod"),
        ("resourcePath", "$context.resourcePath"),
        ("path", "$context.path"),
        ("status", "$context.status"),
        ("responseLength", "$context.responseLength"),
        ("integrationLatency", "$context.integrationLatency"),
        ("responseLatency", "$context.responseLatency"),
        ("errorType", "$context.error.responseType"),
        ("errorMessage", "$context.error.message"),
    ];
    assert_eq!(
        fields,
        expected
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
        "the access log's fields"
    );
    // What a client controls comes before who the caller is: a quote injected
    // into the user agent, the path or the error message (which may quote the
    // request) cannot override the identity fields.
    let position = |field: &str| format.find(&format!("\"{field}\":")).unwrap();
    for untrusted in ["userAgent", "path", "errorMessage"] {
        for identity in ["caller", "userArn", "accountId", "sourceIp", "requestId"] {
            assert!(
                position(untrusted) < position(identity),
                "{untrusted} after {identity}"
            );
        }
    }

    // Its own group, kept as long as the function's logs.
    for group in ["S3ProxyAccessLogGroup", "S3ProxyLogGroup"] {
        let properties = at(&template, &format!("Resources.{group}.Properties"));
        assert_eq!(
            refs(at(properties, "RetentionInDays")),
            BTreeSet::from(["LogRetentionDays".to_string()])
        );
    }

    // API Gateway's CloudWatch role: only when asked, kept on stack deletion,
    // and set before the stage (through the access log group) needs it.
    assert!(!stack.exists("ApiGatewayAccountSettings") && !stack.exists("ApiGatewayLogsRole"));
    let with_role = configured(&template, &[("CreateApiGatewayLogsRole", "true")]);
    assert!(
        with_role.exists("ApiGatewayAccountSettings") && with_role.exists("ApiGatewayLogsRole")
    );
    assert_eq!(
        with_role.properties("ApiGatewayAccountSettings")["CloudWatchRoleArn"],
        "{ApiGatewayLogsRole.Arn}"
    );
    for resource in ["ApiGatewayAccountSettings", "ApiGatewayLogsRole"] {
        assert_eq!(
            str_at(&template, &format!("Resources.{resource}.DeletionPolicy")),
            "Retain"
        );
    }
    let tags = with_role.properties("S3ProxyAccessLogGroup")["Tags"].to_string();
    assert!(
        tags.contains("{ApiGatewayAccountSettings}"),
        "the log group waits for the account setting: {tags}"
    );
}

#[test]
fn the_resource_policy_exists_only_with_listed_principals() {
    let template = load("template.yaml");
    assert!(
        body(&configured(&template, &[]))
            .get("x-amazon-apigateway-policy")
            .is_none(),
        "no resource policy by default: IAM policies decide"
    );

    let principals = "arn:aws:iam::111122223333:role/reader,444455556666";
    let listed = json!(["arn:aws:iam::111122223333:role/reader", "444455556666"]);
    for cors in ["", "https://app.example.com"] {
        let stack = configured(
            &template,
            &[
                ("AllowedPrincipals", principals),
                ("CorsAllowOrigins", cors),
            ],
        );
        let policy = body(&stack)["x-amazon-apigateway-policy"].clone();
        let statements = policy["Statement"]
            .as_array()
            .expect("a resource policy")
            .clone();
        let allow = sid(&statements, "ListedPrincipals").expect("ListedPrincipals");
        assert_eq!(allow["Effect"], "Allow");
        assert_eq!(allow["Principal"], json!({ "AWS": listed }));
        assert_eq!(allow["Action"], "execute-api:Invoke");
        assert_eq!(allow["Resource"], "execute-api:/*");

        // Everyone else is denied: an Allow alone would only add to what IAM
        // policies of the account already grant.
        let deny = sid(&statements, "EveryoneElse").expect("EveryoneElse");
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Principal"], "*");
        assert_eq!(
            deny["Condition"],
            json!({
                "StringNotLike": { "aws:PrincipalArn": listed },
                "StringNotEquals": { "aws:PrincipalAccount": listed },
            })
        );
        let denied: BTreeSet<String> = deny["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        let mut methods = vec!["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"];
        if cors.is_empty() {
            methods.push("OPTIONS");
        }
        assert_eq!(
            denied,
            methods
                .iter()
                .map(|m| format!("execute-api:/*/{m}/*"))
                .collect(),
            "denied methods with CORS {cors:?}"
        );
        // Preflights carry no signature: with CORS on, anyone may send them.
        let preflight = sid(&statements, "Preflight");
        assert_eq!(preflight.is_some(), !cors.is_empty(), "CORS {cors:?}");
        if let Some(preflight) = preflight {
            assert_eq!(preflight["Principal"], "*");
            assert_eq!(preflight["Resource"], "execute-api:/*/OPTIONS/*");
        }
    }
}

#[test]
fn limits_and_tracing_follow_their_parameters() {
    let template = load("template.yaml");
    let defaults = configured(&template, &[]);
    let function = defaults.properties("S3ProxyFunction");
    assert!(
        function.get("ReservedConcurrentExecutions").is_none(),
        "none reserved by default"
    );
    assert_eq!(function["Tracing"], "PassThrough", "no X-Ray by default");
    let api = defaults.properties("S3ProxyApi");
    assert_eq!(api["TracingEnabled"], false);
    assert_eq!(api["CacheClusterEnabled"], false);
    assert_eq!(
        api["MethodSettings"],
        json!([{
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": "100",
            "ThrottlingBurstLimit": "200",
        }]),
        "stage throttling, every method"
    );
    assert!(sid(&role_statements(&defaults), "Tracing").is_none());

    let on = configured(
        &template,
        &[
            ("ReservedConcurrency", "20"),
            ("Tracing", "true"),
            ("ThrottlingRateLimit", "5"),
        ],
    );
    let function = on.properties("S3ProxyFunction");
    assert_eq!(function["ReservedConcurrentExecutions"], "20");
    assert_eq!(function["Tracing"], "Active");
    let api = on.properties("S3ProxyApi");
    assert_eq!(api["TracingEnabled"], true);
    assert_eq!(api["MethodSettings"][0]["ThrottlingRateLimit"], "5");
    let statements = role_statements(&on);
    let tracing = sid(&statements, "Tracing").expect("X-Ray permissions with tracing");
    assert_eq!(
        tracing["Action"],
        json!(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])
    );
}

#[test]
fn the_custom_domain_is_optional_regional_and_tls_1_2() {
    let template = load("template.yaml");
    let defaults = configured(&template, &[("StageName", "v1")]);
    for resource in ["S3ProxyDomain", "S3ProxyDomainMapping"] {
        assert!(!defaults.exists(resource), "{resource} without DomainName");
    }
    assert_eq!(
        defaults.output("ApiUrl"),
        Some(json!(
            "https://{S3ProxyApi}.execute-api.{region}.amazonaws.com/v1/"
        ))
    );
    assert_eq!(defaults.output("DomainTarget"), None);

    let certificate = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b";
    for (base, url) in [
        ("s3", "https://api.example.com/s3/"),
        ("", "https://api.example.com/"),
    ] {
        let stack = configured(
            &template,
            &[
                ("DomainName", "api.example.com"),
                ("CertificateArn", certificate),
                ("BasePath", base),
            ],
        );
        assert!(stack.rule_holds("CustomDomainNeedsCertificateAndRegionalEndpoint"));
        let domain = stack.properties("S3ProxyDomain");
        assert_eq!(domain["DomainName"], "api.example.com");
        assert_eq!(domain["RegionalCertificateArn"], certificate);
        assert_eq!(
            domain["EndpointConfiguration"],
            json!({ "Types": ["REGIONAL"] })
        );
        assert_eq!(domain["SecurityPolicy"], "TLS_1_2");
        let mapping = stack.properties("S3ProxyDomainMapping");
        assert_eq!(mapping["RestApiId"], "{S3ProxyApi}");
        assert_eq!(mapping["DomainName"], "{S3ProxyDomain}");
        assert_eq!(
            mapping.get("BasePath"),
            (!base.is_empty()).then(|| json!(base)).as_ref(),
            "base path {base:?}"
        );
        assert_eq!(stack.output("ApiUrl"), Some(json!(url)));
        assert_eq!(
            stack.output("DomainTarget"),
            Some(json!("{S3ProxyDomain.RegionalDomainName}"))
        );
    }
    // The stage that SAM creates, by SAM's reference to it.
    assert_eq!(
        at(&template, "Resources.S3ProxyDomainMapping.Properties.Stage"),
        &serde_norway::from_str::<Value>("Ref: S3ProxyApi.Stage").unwrap()
    );
    for (certificate, endpoint) in [("", "REGIONAL"), (certificate, "EDGE")] {
        let stack = configured(
            &template,
            &[
                ("DomainName", "api.example.com"),
                ("CertificateArn", certificate),
                ("EndpointType", endpoint),
            ],
        );
        assert!(
            !stack.rule_holds("CustomDomainNeedsCertificateAndRegionalEndpoint"),
            "certificate {certificate:?}, {endpoint}"
        );
    }
}

/// The variables `Config` asks for while reading this environment.
fn names_read_by_config(env: &BTreeMap<String, String>) -> BTreeSet<String> {
    let asked = RefCell::new(BTreeSet::new());
    let config = Config::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_string());
        env.get(name).cloned()
    });
    if let Err(e) = config {
        panic!("the template's values {env:?}: {e}");
    }
    asked.into_inner()
}

/// The function's environment as the template sets it, as text (the stack's
/// account a real account id).
fn env_of(stack: &Stack) -> BTreeMap<String, String> {
    function_env(stack)
        .as_object()
        .expect("Environment.Variables")
        .iter()
        .map(|(k, v)| (k.clone(), text(v).replace("{account}", "123456789012")))
        .collect()
}

#[test]
fn the_function_gets_the_environment_it_reads() {
    let template = load("template.yaml");
    let defaults = env_of(&configured(&template, &[("BucketNames", "photos")]));
    for name in CONTRACT {
        assert!(
            defaults.contains_key(name),
            "{name} (the contract) is not set"
        );
    }
    // Read with the defaults and with the options that change what is read.
    let mut read = BTreeSet::new();
    for overrides in [
        &[][..],
        &[
            ("ResponseMode", "stream"),
            ("CorsAllowOrigins", "https://app.example.com"),
        ][..],
    ] {
        read.extend(names_read_by_config(&env_of(&configured(
            &template, overrides,
        ))));
    }
    let src = source_text();
    for name in defaults.keys() {
        let name = name.as_str();
        if AWAITING_SRC.contains(&name) {
            assert!(
                !read.contains(name),
                "Config now reads {name}: remove it from AWAITING_SRC in tests/template.rs"
            );
        } else if READ_OUTSIDE_CONFIG.contains(&name) {
            assert!(
                src.contains(&format!("\"{name}\"")),
                "{name}: src/ does not read it"
            );
        } else {
            assert!(
                read.contains(name),
                "{name}: the template sets it, Config does not read it"
            );
        }
    }
    for name in &read {
        assert!(
            defaults.contains_key(name) || LOCAL_ONLY.contains(&name.as_str()),
            "Config reads {name}; the template does not set it (or list it in LOCAL_ONLY)"
        );
    }

    // A slow S3 must be the function's clean 504, not a Lambda timeout.
    let config = Config::from_lookup(|name| defaults.get(name).cloned()).expect("defaults");
    for (mode, limit) in [("buffered", 29), ("stream", 900)] {
        let stack = configured(&template, &[("ResponseMode", mode)]);
        let timeout: u64 = text(&stack.properties("S3ProxyFunction")["Timeout"])
            .parse()
            .unwrap();
        assert!(
            config.backend_timeout.as_secs() < timeout && timeout <= limit,
            "{mode}: BACKEND_TIMEOUT_MS ({:?}) < Timeout ({timeout} s) <= {limit} s",
            config.backend_timeout
        );
    }
}

/// Every Rust source under src/, concatenated.
fn source_text() -> String {
    fn walk(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = String::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut out,
    );
    out
}

#[test]
fn one_parameter_feeds_the_api_and_the_function_binary_media_types() {
    let template = load("template.yaml");
    let api_refs: BTreeSet<String> = resources(&template, "AWS::Serverless::Api")
        .iter()
        .flat_map(|(_, api)| refs(at(api, "Properties.BinaryMediaTypes")))
        .collect();
    let env = at(
        the_function(&template),
        "Properties.Environment.Variables.BINARY_MEDIA_TYPES",
    );
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
    let default = spec::default_of(&template, env).expect("a default");
    let parsed = s3_proxy::media::BinaryMediaTypes::parse(&default).unwrap();
    assert_eq!(parsed.to_string(), "*/*");
}

#[test]
fn the_policy_files_of_the_deploy_without_sam_are_the_template_role() {
    let template = load("template.yaml");
    // The template's defaults, one bucket: the role the files describe. Only
    // the function's name differs (`<stack>-s3-proxy` there, `s3-proxy` here).
    let stack = configured(&template, &[("BucketNames", "{bucket}")]);
    let role = serde_json::to_string(&stack.properties("S3ProxyFunctionRole"))
        .unwrap()
        .replace("{stack}-s3-proxy", "s3-proxy");
    let role: Json = serde_json::from_str(&role).unwrap();
    let policies = role["Policies"].as_array().unwrap();
    let statements: Vec<Json> = policies
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .collect();
    let file: Json = serde_json::from_str(&read("deploy/function-policy.json")).expect("JSON");
    for policy in policies {
        assert_eq!(file["Version"], policy["PolicyDocument"]["Version"]);
    }
    assert_eq!(
        file["Statement"],
        Json::Array(statements),
        "deploy/function-policy.json vs the template's role (defaults, BucketNames={{bucket}})"
    );
    let trust: Json =
        serde_json::from_str(&read("deploy/function-trust-policy.json")).expect("JSON");
    assert_eq!(
        trust, role["AssumeRolePolicyDocument"],
        "deploy/function-trust-policy.json"
    );
}

/// `key = value` lines of one table of a TOML file (quotes removed).
fn toml_table(toml: &str, header: &str) -> BTreeMap<String, String> {
    let mut lines = toml.lines().skip_while(|l| l.trim() != header);
    assert!(lines.next().is_some(), "no {header}");
    lines
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("{header}: {l}"));
            (k.trim().to_string(), v.trim().trim_matches('"').to_string())
        })
        .collect()
}

#[test]
fn cargo_lambda_deploy_settings_are_the_template_defaults() {
    let template = load("template.yaml");
    let stack = configured(&template, &[("BucketNames", "photos")]);
    let cargo = read("Cargo.toml");
    // cargo-lambda sends a top-level [package.metadata.lambda.env] to AWS on
    // every `cargo lambda deploy`: local settings must sit under `watch`.
    assert!(
        !cargo
            .lines()
            .any(|l| l.trim() == "[package.metadata.lambda.env]"),
        "a top-level [package.metadata.lambda.env] would be deployed"
    );
    let deploy = toml_table(&cargo, "[package.metadata.lambda.deploy]");
    let function = stack.properties("S3ProxyFunction");
    let parameter = |name: &str| {
        text(
            &stack
                .eval(&serde_norway::from_str(&format!("Ref: {name}")).unwrap())
                .unwrap(),
        )
    };
    assert_eq!(deploy["memory"], parameter("MemorySize"));
    assert_eq!(deploy["timeout"], text(&function["Timeout"]));
    assert_eq!(deploy["tracing"], text(&function["Tracing"]));
    assert_eq!(deploy["log_retention"], parameter("LogRetentionDays"));
    assert_eq!(deploy["env_file"], "deploy/function.env");

    let env = env_of(&stack);
    let fixed = toml_table(&cargo, "[package.metadata.lambda.deploy.env]");
    for (name, value) in &fixed {
        assert_eq!(
            Some(value),
            env.get(name),
            "{name}: Cargo.toml vs the template's default"
        );
    }
    let per_user: BTreeSet<String> = read("deploy/function.env.example")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').expect("NAME=value").0.to_string())
        .collect();
    // Without API Gateway: no CORS of ours (a function URL has its own) and
    // no streaming (the URL is buffered).
    let api_only = [
        "CORS_ALLOW_ORIGINS",
        "CORS_ALLOW_CREDENTIALS",
        "CORS_MAX_AGE_SECONDS",
        "STREAM_MAX_BYTES",
    ];
    for name in env.keys() {
        assert!(
            fixed.contains_key(name)
                || per_user.contains(name)
                || api_only.contains(&name.as_str()),
            "{name}: neither in [package.metadata.lambda.deploy.env] nor in deploy/function.env.example"
        );
    }
}
