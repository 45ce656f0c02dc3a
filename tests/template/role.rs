//! The function's role: least privilege, pinned to the buckets' owner.

use super::*;

/// The function role's statements for these parameter values.
pub(crate) fn role_statements(stack: &Stack) -> Vec<Json> {
    let role = stack.properties("S3ProxyFunctionRole");
    role["Policies"]
        .as_array()
        .expect("Policies")
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .collect()
}

pub(crate) fn sid<'a>(statements: &'a [Json], sid: &str) -> Option<&'a Json> {
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
