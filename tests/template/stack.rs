//! The rest of the stack: the audit trail, who may call, limits and
//! tracing, the custom domain, the function's environment, cargo-lambda.

use super::role::{role_statements, sid};
use super::*;

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
        if READ_OUTSIDE_CONFIG.contains(&name) {
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
