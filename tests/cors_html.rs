//! What a browser gets, through the real event path (REST v1 event ->
//! handler -> answer JSON) over the embedded store: CORS answers and
//! preflights, and the HTML index. The same in a real browser:
//! tests/browser/ (`make test-browser`).

mod common;
#[path = "spec/mod.rs"]
mod spec;

use common::{Harness, Out};
use s3_proxy::config::Config;
use s3_proxy::local::gateway::{GatewayError, HttpRequest};
use spec::cfn::Stack;
use std::collections::BTreeMap;

const APP: &str = "http://127.0.0.1:8081";
const OTHER: &str = "http://127.0.0.1:8082";

fn cors_config(origins: &str) -> Config {
    Config::from_lookup(|name| match name {
        "CORS_ALLOW_ORIGINS" => Some(origins.to_string()),
        _ => None,
    })
    .unwrap()
}

fn values<'a>(out: &'a Out, name: &str) -> Vec<&'a str> {
    out.headers
        .get(name)
        .map(|v| v.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

fn preflight(target: &str, origin: &str, method: &str, headers: &str) -> HttpRequest {
    let mut req = HttpRequest::new("OPTIONS", target)
        .header("origin", origin)
        .header("access-control-request-method", method);
    if !headers.is_empty() {
        req = req.header("access-control-request-headers", headers);
    }
    req
}

#[tokio::test]
async fn every_answer_to_an_allowed_origin_carries_cors_headers_errors_included() {
    let h = Harness::with_config(cors_config(APP)).await;
    let bucket = h.new_bucket("cors").await;
    let put = h
        .call(
            HttpRequest::new("PUT", &format!("/{bucket}/a.png"))
                .header("origin", APP)
                .header("content-type", "image/png")
                .header("x-amz-meta-owner", "ana")
                .body(vec![0x89, b'P', b'N', b'G', 0, 0xff]),
        )
        .await;
    assert_eq!(put.status, 200);

    let cases = [
        ("GET", format!("/{bucket}/a.png"), 200),
        ("HEAD", format!("/{bucket}/a.png"), 200),
        ("GET", format!("/{bucket}/missing"), 404),
        ("GET", "/NotABucket/x".to_string(), 400),
        ("PATCH", format!("/{bucket}/a.png"), 405),
        ("GET", format!("/{bucket}"), 200),
    ];
    for (method, target, status) in cases {
        let out = h
            .call(HttpRequest::new(method, &target).header("origin", APP))
            .await;
        assert_eq!(out.status, status, "{method} {target}");
        assert_eq!(
            out.header("access-control-allow-origin"),
            Some(APP),
            "{method} {target}"
        );
        assert!(
            values(&out, "vary").contains(&"Origin"),
            "{method} {target}"
        );
        let expose = out.header("access-control-expose-headers").unwrap();
        for name in [
            "ETag",
            "Content-Range",
            "Content-Length",
            "Last-Modified",
            "Location",
        ] {
            assert!(expose.split(", ").any(|n| n == name), "{name}: {expose}");
        }
        if status == 200 && target.ends_with(".png") {
            // The object's metadata header is exposed by its name.
            assert!(
                expose.split(", ").any(|n| n == "x-amz-meta-owner"),
                "{expose}"
            );
            assert_eq!(out.header("x-amz-meta-owner"), Some("ana"));
        }

        // Another origin: only Vary, nothing that lets its page read.
        let out = h
            .call(HttpRequest::new(method, &target).header("origin", OTHER))
            .await;
        assert_eq!(out.status, status);
        assert_eq!(out.header("access-control-allow-origin"), None);
        assert_eq!(out.header("access-control-expose-headers"), None);
        assert!(values(&out, "vary").contains(&"Origin"));
    }
    h.cleanup().await;
}

#[tokio::test]
async fn preflights_are_answered_by_the_function() {
    let h = Harness::with_config(cors_config(&format!("{APP}, https://app.example.com"))).await;
    let signed = "authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-meta-owner,x-amz-security-token";
    // (request, status, Allow-Headers)
    let cases = [
        (
            preflight("/b-1/k.png", APP, "PUT", signed),
            200,
            Some(signed.replace(',', ", ")),
        ),
        (
            preflight("/b-1/k.png", APP, "GET", "range,if-none-match"),
            200,
            Some("range, if-none-match".into()),
        ),
        (
            preflight("/prod/", "https://app.example.com", "GET", ""),
            200,
            None,
        ),
        // A bad name is the real request's 400, not the preflight's business.
        (preflight("/Bad_Name", APP, "DELETE", ""), 200, None),
        (preflight("/b-1/k.png", OTHER, "PUT", ""), 403, None),
        (preflight("/b-1/k.png", APP, "PATCH", ""), 403, None),
        (
            preflight(
                "/b-1/k.png",
                APP,
                "PUT",
                "content-type,x-amz-tagging,x-amz-copy-source",
            ),
            403,
            None,
        ),
        (
            HttpRequest::new("OPTIONS", "/b-1").header("origin", APP),
            400,
            None,
        ),
        (HttpRequest::new("OPTIONS", "/b-1"), 400, None),
    ];
    for (req, status, allow_headers) in cases {
        let label = format!("{} {:?}", req.target, req.headers);
        let out = h.call(req).await;
        assert_eq!(out.status, status, "{label}: {}", out.text());
        if status == 200 {
            assert!(out.body.is_empty());
            assert_eq!(
                out.header("access-control-allow-methods"),
                Some("GET, HEAD, PUT, POST, DELETE")
            );
            assert_eq!(out.header("access-control-max-age"), Some("600"));
            assert_eq!(
                out.header("access-control-allow-headers")
                    .map(str::to_string),
                allow_headers,
                "{label}"
            );
            assert!(out.header("access-control-allow-origin").is_some());
        } else {
            let code = if status == 403 {
                "AccessForbidden"
            } else {
                "BadRequest"
            };
            assert_eq!(out.code(), code, "{label}");
            // Refused as S3 refuses a preflight: nothing that reads as CORS.
            assert!(
                out.headers.keys().all(|k| !k.starts_with("access-control")),
                "{label}: {:?}",
                out.headers
            );
        }
    }

    // CORS off (the default): a preflight is refused as S3 refuses one, and
    // answers carry nothing.
    let off = Harness::start().await;
    let out = off.call(preflight("/b-1/k", APP, "GET", "")).await;
    assert_eq!((out.status, out.code().as_str()), (403, "AccessForbidden"));
    let out = off
        .call(HttpRequest::new("GET", "/").header("origin", APP))
        .await;
    assert_eq!(out.status, 200);
    assert!(out.headers.keys().all(|k| !k.starts_with("access-control")));
    assert!(!values(&out, "vary").contains(&"Origin"));
}

#[tokio::test]
async fn a_star_origin_answers_star_without_vary() {
    let h = Harness::with_config(cors_config("*")).await;
    let out = h
        .call(HttpRequest::new("GET", "/").header("origin", "https://any.example"))
        .await;
    assert_eq!(out.header("access-control-allow-origin"), Some("*"));
    assert!(!values(&out, "vary").contains(&"Origin"));
    assert_eq!(out.header("access-control-allow-credentials"), None);
}

#[tokio::test]
async fn the_emulators_own_errors_are_s3_documents_with_cors_headers() {
    let h = Harness::with_config(cors_config(APP)).await;
    // Over Lambda's 6 MB payload once base64-encoded: the emulator's 413.
    let out = h
        .gateway
        .call(
            HttpRequest::new("PUT", "/b-1/big.bin")
                .header("origin", APP)
                .body(vec![0u8; 5 * 1024 * 1024]),
        )
        .await;
    assert_eq!(out.status, 413);
    assert_eq!(out.header("access-control-allow-origin"), Some(APP));
    assert_eq!(out.header("content-type"), Some("application/xml"));
    let request_id = out.header("x-amzn-requestid").unwrap();
    let document = String::from_utf8(out.body.clone()).unwrap();
    assert!(
        document.contains("<Code>EntityTooLarge</Code>"),
        "{document}"
    );
    assert!(
        document.contains("?uploads"),
        "says where to upload: {document}"
    );
    assert!(document.contains(&format!("<RequestId>{request_id}</RequestId>")));
    // A Lambda answer API Gateway cannot read: its 502.
    let out = h.gateway.response(b"not an answer", None, Some(APP), "r-1");
    assert_eq!(out.status, 502);
    assert_eq!(out.header("access-control-allow-origin"), Some(APP));
    let document = String::from_utf8(out.body.clone()).unwrap();
    assert!(
        document.contains("<Code>InternalError</Code>"),
        "{document}"
    );
    assert_eq!(out.header("x-amzn-requestid"), Some("r-1"));
}

/// API Gateway's own answers in the emulator are what the template's
/// GatewayResponses make of the same request: the document and every
/// header, for each CORS setting and request origin.
#[tokio::test]
async fn the_emulators_own_answers_are_the_templates_gateway_responses() {
    let template = spec::load("template.yaml");
    let two = format!("{APP},{OTHER}");
    let settings = [
        ("", "false"),
        (APP, "false"),
        (&two, "false"),
        (&two, "true"),
        (APP, "true"),
        ("*", "false"),
    ];
    let errors = [
        (GatewayError::RequestTooLarge, 413, "Request Too Long"),
        (GatewayError::PayloadTooLarge, 413, "Request Too Long: "),
        (GatewayError::BadLambdaAnswer, 502, "Internal server error"),
    ];
    for (origins, credentials) in settings {
        let parameters = [
            ("BucketNames", "photos"),
            ("CorsAllowOrigins", origins),
            ("CorsAllowCredentials", credentials),
        ];
        let stack = Stack::new(&template, &parameters);
        let responses =
            stack.properties("S3ProxyApi")["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
                .clone();
        let config = Config::from_lookup(|name| match name {
            "CORS_ALLOW_ORIGINS" => Some(origins.to_string()),
            "CORS_ALLOW_CREDENTIALS" => Some(credentials.to_string()),
            _ => None,
        })
        .unwrap();
        let gateway = Harness::with_config(config).await.gateway;
        for origin in [Some(APP), Some(OTHER), Some("https://evil.example"), None] {
            for (error, status, message) in errors {
                let case = format!("{origins:?} credentials={credentials} {origin:?} {error:?}");
                let out = gateway.own_answer(error, origin, "r-1");
                let response = &responses[error.kind()];
                assert_eq!(out.status, status, "{case}");
                // The headers the template sets, resolved for this request.
                let mut expected = BTreeMap::from([("x-amzn-requestid".into(), "r-1".into())]);
                for (name, value) in response["responseParameters"].as_object().unwrap() {
                    let name = name.strip_prefix("gatewayresponse.header.").unwrap();
                    let value = value.as_str().unwrap();
                    let value = match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                        Some(literal) => Some(literal.to_string()),
                        None if value == "method.request.header.Origin" => origin.map(String::from),
                        None => panic!("{case}: {value}"),
                    };
                    if let Some(value) = value {
                        expected.insert(name.to_ascii_lowercase(), value);
                    }
                }
                let got: BTreeMap<String, String> = out.headers.iter().cloned().collect();
                assert_eq!(got, expected, "{case}");
                // The document the template writes, with API Gateway's message.
                let document = spec::cfn::text(&response["responseTemplates"]["application/xml"])
                    .replace("$context.requestId", "r-1");
                let (before, after) = document.split_once("$context.error.message").unwrap();
                let body = String::from_utf8(out.body.clone()).unwrap();
                let said = body
                    .strip_prefix(before)
                    .and_then(|rest| rest.strip_suffix(after))
                    .unwrap_or_else(|| panic!("{case}: {body} is not {document}"));
                assert!(said.starts_with(message), "{case}: {said}");
            }
        }
    }
}

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn page(out: &Out) -> String {
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(out.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = out.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    out.text()
}

#[tokio::test]
async fn browsers_get_pages_and_other_clients_keep_xml() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("html").await;
    for key in ["docs%2Fa.txt", "docs%2Fsub%2Fb.txt", "top.bin"] {
        assert_eq!(h.put(&bucket, key, None, b"12345").await.status, 200);
    }
    let browse = |target: String| HttpRequest::new("GET", &target).header("accept", BROWSER_ACCEPT);

    let root = page(&h.call(browse("/prod/".into())).await);
    assert!(
        root.contains(&format!("<a href=\"/prod/{bucket}\">{bucket}</a>")),
        "{root}"
    );

    let top = page(&h.call(browse(format!("/prod/{bucket}"))).await);
    assert!(
        top.contains(&format!(
            "<a href=\"/prod/{bucket}?prefix=docs%2F\">docs/</a>"
        )),
        "{top}"
    );
    assert!(
        top.contains(&format!("<a href=\"/prod/{bucket}/top.bin\">top.bin</a>")),
        "{top}"
    );
    assert!(!top.contains("a.txt"), "one level only: {top}");

    let docs = page(
        &h.call(browse(format!("/prod/{bucket}?prefix=docs%2F")))
            .await,
    );
    assert!(
        docs.contains("sub/</a>") && docs.contains(">a.txt</a>"),
        "{docs}"
    );
    assert!(
        docs.contains("<span id=\"count\">1 object</span> and 1 folder"),
        "{docs}"
    );

    // The same URLs for everyone else: S3's XML (or JSON), every key.
    for accept in [None, Some("*/*"), Some("application/xml, text/html")] {
        let mut req = HttpRequest::new("GET", &format!("/{bucket}"));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let out = h.call(req).await;
        assert_eq!(
            out.header("content-type"),
            Some("application/xml"),
            "{accept:?}"
        );
        assert!(
            out.text().contains("<Key>docs/sub/b.txt</Key>"),
            "{accept:?}"
        );
    }
    let out = h
        .call(HttpRequest::new("GET", &format!("/{bucket}")).header("accept", "application/json"))
        .await;
    let json: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(json["KeyCount"], 3);

    // HTML_INDEX=false: browsers get the XML too.
    let plain = Harness::with_config(Config {
        html_index: false,
        ..Config::default()
    })
    .await;
    let out = plain.call(browse("/".into())).await;
    assert_eq!(out.header("content-type"), Some("application/xml"));
    h.cleanup().await;
}

#[tokio::test]
async fn pages_are_never_cut_silently() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("pages").await;
    let keys: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
    for key in &keys {
        assert_eq!(h.put(&bucket, key, None, b"x").await.status, 200);
    }
    let mut seen = Vec::new();
    let mut target = format!("/prod/{bucket}?max-keys=3");
    for _ in 0..10 {
        let html = page(
            &h.call(HttpRequest::new("GET", &target).header("accept", "text/html"))
                .await,
        );
        for key in &keys {
            if html.contains(&format!(">{key}</a>")) {
                seen.push(key.clone());
            }
        }
        let Some(next) = html
            .split("<a id=\"next-page\" rel=\"next\" href=\"")
            .nth(1)
        else {
            assert!(!html.contains("more on the next page"));
            break;
        };
        assert!(html.contains("more on the next page"));
        target = next.split('"').next().unwrap().replace("&amp;", "&");
    }
    assert_eq!(seen, keys, "every key once, in order, across the pages");
    h.cleanup().await;
}

#[tokio::test]
async fn stored_markup_in_keys_is_inert_on_the_page() {
    let h = Harness::start().await;
    let bucket = h.new_bucket("xss").await;
    for key in [
        "%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "%3C%2Ftitle%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "dir%3Cscript%3E%2Fx",
    ] {
        assert_eq!(h.put(&bucket, key, None, b"x").await.status, 200, "{key}");
    }
    let html = page(
        &h.call(HttpRequest::new("GET", &format!("/{bucket}")).header("accept", "text/html"))
            .await,
    );
    assert!(
        !html.contains("<img") && !html.contains("<script"),
        "{html}"
    );
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    // `</title>` holds a `/`: its key is a folder `</` at the top.
    assert!(html.contains(">&lt;/</a>"), "{html}");
    assert!(html.contains("dir&lt;script&gt;/"));
    // encoding-type=url is for XML clients: a page shows names as they are.
    let encoded = page(
        &h.call(
            HttpRequest::new("GET", &format!("/{bucket}?encoding-type=url"))
                .header("accept", "text/html"),
        )
        .await,
    );
    assert!(encoded.contains("dir&lt;script&gt;/"), "{encoded}");
    // Deeper, the prefix itself (in the title, heading and breadcrumbs).
    let html = page(
        &h.call(
            HttpRequest::new(
                "GET",
                &format!("/{bucket}?prefix=%3C%2Ftitle%3E%3Cscript%3Ealert(1)%3C%2F"),
            )
            .header("accept", "text/html"),
        )
        .await,
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("<title>"));
    assert!(
        html.contains("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/ \u{b7} s3-proxy</title>"),
        "{html}"
    );
    assert!(html.contains(">script&gt;</a>"), "{html}");
    h.cleanup().await;
}

#[tokio::test]
async fn the_preflight_fixture_is_answered_once_its_origin_is_allowed() {
    let event = std::fs::read_to_string("events/preflight.json").unwrap();
    let h = Harness::with_config(cors_config("https://app.example.com")).await;
    let out = h.invoke(&event).await;
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(
        out.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        out.header("access-control-allow-headers"),
        Some("authorization, content-type, x-amz-content-sha256, x-amz-date, x-amz-security-token")
    );
}
