//! CORS: pure. Which web pages may call the API from a browser, the headers
//! every answer carries for them, and the answer to a preflight.
//!
//! Off unless `CORS_ALLOW_ORIGINS` names origins (or `*`). The preflight
//! (`OPTIONS`) is answered here, by the function, for local mode and AWS
//! alike: API Gateway sends it without a signature (the template gives
//! OPTIONS no IAM auth when CORS is on), and one implementation decides, with
//! the exact list of request headers the browser asks for, checked one by one
//! against what the API accepts. A preflight that does not match is refused
//! with 403, as S3 refuses one; an `OPTIONS` that is not a preflight at all
//! (no `Origin` or no `Access-Control-Request-Method`) gets S3's 400.
//!
//! Every other answer, errors included, carries `Access-Control-Allow-Origin`
//! (the request's origin echoed, with `Vary: Origin`, or `*`) and
//! `Access-Control-Expose-Headers` naming the headers a page needs to read
//! (ETag, Content-Range, ...), when the request's Origin is allowed.

use http::{HeaderMap, HeaderName, HeaderValue};

/// `CORS_MAX_AGE_SECONDS` when unset: how long a browser may reuse a preflight.
pub const DEFAULT_MAX_AGE_SECONDS: u32 = 600;

/// The methods a page may send (what the API serves).
pub const ALLOW_METHODS: &str = "GET, HEAD, PUT, POST, DELETE";

/// Request headers a page may send besides the S3 ones (`x-amz-*`, `If-*`,
/// which [`crate::policy::s3_header_taken`] lists): SigV4's `Authorization`
/// and the HTTP headers the API reads.
pub const ALLOW_HEADERS: [&str; 10] = [
    "authorization",
    "accept",
    "content-type",
    "content-md5",
    "content-disposition",
    "content-encoding",
    "content-language",
    "cache-control",
    "expires",
    "range",
];

/// Response headers a page may read besides the CORS-safelisted ones: the
/// ones this API answers (and API Gateway's request id). `x-amz-meta-*`
/// names are added per answer, as the answer carries them.
pub const EXPOSE_HEADERS: &str = "ETag, Content-Range, Content-Length, Last-Modified, Location, \
     Accept-Ranges, Content-Disposition, Content-Encoding, Timestamp, Allow, Retry-After, \
     x-amz-request-id, x-amz-version-id, x-amz-storage-class, x-amz-checksum-crc32, \
     x-amz-checksum-crc32c, x-amz-checksum-crc64nvme, x-amz-checksum-sha1, \
     x-amz-checksum-sha256, x-amz-checksum-type, x-amz-tagging-count, \
     x-amz-server-side-encryption, x-amz-server-side-encryption-aws-kms-key-id, \
     x-amz-server-side-encryption-bucket-key-enabled, \
     x-amz-server-side-encryption-customer-algorithm, \
     x-amz-server-side-encryption-customer-key-md5, x-amz-expiration, x-amz-restore, \
     x-amz-archive-status, x-amz-replication-status, x-amz-object-lock-mode, \
     x-amz-object-lock-retain-until-date, x-amz-object-lock-legal-hold, \
     x-amz-website-redirect-location, x-amz-missing-meta, x-amzn-RequestId";

/// Origins allowed to call the API from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origins {
    /// No CORS: browsers block cross-origin calls.
    #[default]
    Off,
    /// `*`: any origin, answered `Access-Control-Allow-Origin: *`.
    Any,
    /// These origins, each as a browser serializes it (`https://host[:port]`).
    List(Vec<String>),
}

/// The CORS configuration (`CORS_*` variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    pub origins: Origins,
    /// `CORS_ALLOW_CREDENTIALS`: answers say `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// `CORS_MAX_AGE_SECONDS`.
    pub max_age: u32,
}

impl Default for Cors {
    fn default() -> Self {
        Self {
            origins: Origins::Off,
            credentials: false,
            max_age: DEFAULT_MAX_AGE_SECONDS,
        }
    }
}

/// Why a preflight is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Insufficient information. Origin request header needed.")]
    NoOrigin,
    #[error("Invalid Access-Control-Request-Method: a preflight names the method it asks for")]
    NoMethod,
    #[error("CORSResponse: CORS is not enabled for this API (CORS_ALLOW_ORIGINS is empty)")]
    Disabled,
    #[error("CORSResponse: this origin is not allowed to call the API")]
    Origin,
    #[error("CORSResponse: the method {0} is not allowed (allowed: {ALLOW_METHODS})")]
    Method(String),
    #[error("CORSResponse: the request header {0:?} is not allowed")]
    Header(String),
}

impl Refusal {
    /// S3's codes for the same cases: `BadRequest` (400) for an OPTIONS that
    /// is not a preflight, `AccessForbidden` (403) for a refused one.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoOrigin | Self::NoMethod => "BadRequest",
            _ => "AccessForbidden",
        }
    }
}

impl Cors {
    /// Reads `CORS_ALLOW_ORIGINS`, `CORS_ALLOW_CREDENTIALS` and
    /// `CORS_MAX_AGE_SECONDS` through `get` (trimmed, `None` when unset or
    /// empty). `*` with credentials is refused: browsers ignore `*` on a
    /// credentialed request, and echoing every origin with credentials
    /// would hand any site the user's cookies.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut cors = Self::default();
        if let Some(v) = get("CORS_ALLOW_CREDENTIALS") {
            cors.credentials = crate::config::parse_bool("CORS_ALLOW_CREDENTIALS", &v)?;
        }
        if let Some(v) = get("CORS_MAX_AGE_SECONDS") {
            cors.max_age = v
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 86_400)
                .ok_or_else(|| {
                    format!("CORS_MAX_AGE_SECONDS: {v:?} is not a whole number from 0 to 86400")
                })?;
        }
        if let Some(v) = get("CORS_ALLOW_ORIGINS") {
            cors.origins = parse_origins(&v).map_err(|e| format!("CORS_ALLOW_ORIGINS: {e}"))?;
        }
        if cors.origins == Origins::Any && cors.credentials {
            return Err(
                "CORS_ALLOW_ORIGINS: `*` cannot be used with CORS_ALLOW_CREDENTIALS=true; \
                 name the origins"
                    .into(),
            );
        }
        Ok(cors)
    }

    pub fn enabled(&self) -> bool {
        self.origins != Origins::Off
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`,
    /// `None` when that origin is not allowed.
    fn allow_origin<'a>(&self, origin: &'a str) -> Option<&'a str> {
        match &self.origins {
            Origins::Off => None,
            Origins::Any => Some("*"),
            Origins::List(list) => list.iter().any(|o| o == origin).then_some(origin),
        }
    }

    /// The CORS headers of an answer to a request from `origin`, given the
    /// names of the headers the answer carries (its `x-amz-meta-*` are
    /// exposed by name). Empty when CORS is off; only `Vary: Origin` when
    /// the origin is not allowed (a cache must not give one origin's answer
    /// to another).
    pub fn answer_headers<'n>(
        &self,
        origin: Option<&str>,
        answered: impl IntoIterator<Item = &'n str>,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::new();
        if matches!(self.origins, Origins::List(_)) {
            out.push((http::header::VARY, HeaderValue::from_static("Origin")));
        }
        let Some(allow) = origin.and_then(|o| self.allow_origin(o)) else {
            return out;
        };
        let Ok(allow) = HeaderValue::from_str(allow) else {
            return out;
        };
        out.push((http::header::ACCESS_CONTROL_ALLOW_ORIGIN, allow));
        if self.credentials {
            out.push((
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
        let mut expose = EXPOSE_HEADERS.to_string();
        let mut metadata: Vec<&str> = Vec::new();
        for name in answered {
            if name.starts_with("x-amz-meta-") && !metadata.contains(&name) {
                metadata.push(name);
                expose.push_str(", ");
                expose.push_str(name);
            }
        }
        if let Ok(expose) = HeaderValue::from_str(&expose) {
            out.push((http::header::ACCESS_CONTROL_EXPOSE_HEADERS, expose));
        }
        out
    }

    /// Adds [`Self::answer_headers`] to an answer's headers.
    pub fn decorate(&self, origin: Option<&str>, headers: &mut HeaderMap) {
        let names: Vec<String> = headers.keys().map(|n| n.as_str().to_string()).collect();
        for (name, value) in self.answer_headers(origin, names.iter().map(String::as_str)) {
            headers.append(name, value);
        }
    }

    /// The CORS headers of API Gateway's own answers (its 403, 413, 429,
    /// 5xx: the template's GatewayResponses, which the local emulator's own
    /// answers copy). API Gateway sets them without comparing origins, so
    /// they say what the template can: `*` for any origin; the first named
    /// origin when credentials are allowed (the request's Origin echoed with
    /// `Access-Control-Allow-Credentials` would let any site read them with
    /// the user's cookies); else the request's Origin echoed, as `*` would
    /// allow. No `Expose-Headers`: those answers carry no data a page reads.
    pub fn gateway_headers(&self, origin: Option<&str>) -> Vec<(HeaderName, HeaderValue)> {
        let allow = match &self.origins {
            Origins::Off => return Vec::new(),
            Origins::Any => Some("*"),
            Origins::List(list) if self.credentials => list.first().map(String::as_str),
            Origins::List(_) => origin,
        };
        let mut out = vec![(http::header::VARY, HeaderValue::from_static("Origin"))];
        if let Some(allow) = allow.and_then(|a| HeaderValue::from_str(a).ok()) {
            out.push((http::header::ACCESS_CONTROL_ALLOW_ORIGIN, allow));
        }
        if self.credentials {
            out.push((
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
        out
    }

    /// The answer to an `OPTIONS` request: the preflight headers (the
    /// origin's own ones are added by [`Self::decorate`] as for any answer),
    /// or why it is refused.
    pub fn preflight(&self, request: &HeaderMap) -> Result<HeaderMap, Refusal> {
        let text = |name: HeaderName| {
            request
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let origin = text(http::header::ORIGIN).ok_or(Refusal::NoOrigin)?;
        let method = text(http::header::ACCESS_CONTROL_REQUEST_METHOD)
            .filter(|m| !m.is_empty())
            .ok_or(Refusal::NoMethod)?;
        if !self.enabled() {
            return Err(Refusal::Disabled);
        }
        self.allow_origin(origin).ok_or(Refusal::Origin)?;
        if !ALLOW_METHODS.split(", ").any(|m| m == method) {
            return Err(Refusal::Method(method.to_string()));
        }
        let mut asked = Vec::new();
        for value in request.get_all(http::header::ACCESS_CONTROL_REQUEST_HEADERS) {
            let value = value
                .to_str()
                .map_err(|_| Refusal::Header(String::from_utf8_lossy(value.as_bytes()).into()))?;
            for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let name = name.to_ascii_lowercase();
                if !header_allowed(&name) {
                    return Err(Refusal::Header(name));
                }
                asked.push(name);
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        if !asked.is_empty()
            && let Ok(value) = HeaderValue::from_str(&asked.join(", "))
        {
            headers.insert(http::header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        headers.insert(http::header::ACCESS_CONTROL_MAX_AGE, self.max_age.into());
        // The answer depends on what was asked, not only on the Origin.
        headers.append(
            http::header::VARY,
            HeaderValue::from_static(
                "Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        Ok(headers)
    }
}

/// Is this (lowercase) request header one the API takes from a page?
pub fn header_allowed(name: &str) -> bool {
    ALLOW_HEADERS.contains(&name) || crate::policy::s3_header_taken(name)
}

/// `*`, or a comma-separated list of origins. Each is normalized to the form
/// a browser sends in `Origin` (lowercase host, default port left out), so
/// that the comparison with it can be exact.
fn parse_origins(value: &str) -> Result<Origins, String> {
    let entries: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return Ok(Origins::Off);
    }
    if entries.contains(&"*") {
        return match entries.len() {
            1 => Ok(Origins::Any),
            _ => Err("`*` stands alone: it already allows every origin".into()),
        };
    }
    let mut list = Vec::new();
    for entry in entries {
        let origin = normalize_origin(entry)?;
        if !list.contains(&origin) {
            list.push(origin);
        }
    }
    Ok(Origins::List(list))
}

fn normalize_origin(entry: &str) -> Result<String, String> {
    let bad =
        |why: &str| format!("{entry:?} is not an origin ({why}); write it as https://host[:port]");
    let url = url::Url::parse(entry).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it has user information"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("an origin has no path, query or fragment"));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cors(vars: &[(&str, &str)]) -> Result<Cors, String> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Cors::from_lookup(|k| map.get(k).map(|v| v.to_string()))
    }

    fn request(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn header<'a>(headers: &'a [(HeaderName, HeaderValue)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_str().unwrap())
    }

    #[test]
    fn origins_are_parsed_and_normalized() {
        let cases: Vec<(&str, Result<Origins, &str>)> = vec![
            ("", Ok(Origins::Off)),
            (" , ", Ok(Origins::Off)),
            ("*", Ok(Origins::Any)),
            (
                "https://App.Example.com, http://127.0.0.1:8080/",
                Ok(Origins::List(vec![
                    "https://app.example.com".into(),
                    "http://127.0.0.1:8080".into(),
                ])),
            ),
            (
                "https://a.example:443,https://a.example",
                Ok(Origins::List(vec!["https://a.example".into()])),
            ),
            ("*, https://a.example", Err("stands alone")),
            ("app.example.com", Err("not an origin")),
            ("https://a.example/app", Err("no path")),
            ("ftp://a.example", Err("scheme")),
            ("https://u@a.example", Err("user information")),
            ("null", Err("not an origin")),
        ];
        for (value, expected) in cases {
            let got = parse_origins(value);
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "{value:?}"),
                (Err(got), Err(part)) => assert!(got.contains(part), "{value:?}: {got}"),
                (got, _) => panic!("{value:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn configuration_fails_fast_naming_the_variable() {
        let cases = [
            vec![
                ("CORS_ALLOW_ORIGINS", "*"),
                ("CORS_ALLOW_CREDENTIALS", "true"),
            ],
            vec![("CORS_ALLOW_ORIGINS", "example.com")],
            vec![("CORS_ALLOW_CREDENTIALS", "sometimes")],
            vec![("CORS_MAX_AGE_SECONDS", "-1")],
            vec![("CORS_MAX_AGE_SECONDS", "86401")],
        ];
        for vars in cases {
            let err = cors(&vars).unwrap_err();
            assert!(
                err.starts_with(vars.last().unwrap().0) || err.starts_with(vars[0].0),
                "{vars:?}: {err}"
            );
        }
        let c = cors(&[]).unwrap();
        assert_eq!(c, Cors::default());
        assert!(!c.enabled());
        assert_eq!(c.max_age, 600);
        let c = cors(&[
            ("CORS_ALLOW_ORIGINS", "https://a.example"),
            ("CORS_ALLOW_CREDENTIALS", "true"),
            ("CORS_MAX_AGE_SECONDS", "0"),
        ])
        .unwrap();
        assert!(c.enabled() && c.credentials);
        assert_eq!(c.max_age, 0);
    }

    #[test]
    fn gateway_answers_never_echo_an_origin_with_credentials() {
        let origins = "https://a.example,https://b.example";
        let list = cors(&[("CORS_ALLOW_ORIGINS", origins)]).unwrap();
        let credentialed = cors(&[
            ("CORS_ALLOW_ORIGINS", origins),
            ("CORS_ALLOW_CREDENTIALS", "true"),
        ])
        .unwrap();
        let any = cors(&[("CORS_ALLOW_ORIGINS", "*")]).unwrap();
        let evil = Some("https://evil.example");
        // (config, origin, Allow-Origin, Allow-Credentials)
        let cases = [
            (&list, evil, evil, None),
            (&list, None, None, None),
            (&credentialed, evil, Some("https://a.example"), Some("true")),
            (
                &credentialed,
                Some("https://b.example"),
                Some("https://a.example"),
                Some("true"),
            ),
            (&any, evil, Some("*"), None),
            (&any, None, Some("*"), None),
        ];
        for (config, origin, allow, credentials) in cases {
            let headers = config.gateway_headers(origin);
            assert_eq!(
                header(&headers, "access-control-allow-origin"),
                allow,
                "{origin:?}"
            );
            assert_eq!(
                header(&headers, "access-control-allow-credentials"),
                credentials
            );
            assert_eq!(header(&headers, "vary"), Some("Origin"));
            assert_eq!(header(&headers, "access-control-expose-headers"), None);
        }
        assert!(Cors::default().gateway_headers(evil).is_empty());
    }

    #[test]
    fn answers_carry_the_origin_only_when_it_is_allowed() {
        let list = cors(&[("CORS_ALLOW_ORIGINS", "https://a.example")]).unwrap();
        let any = cors(&[("CORS_ALLOW_ORIGINS", "*")]).unwrap();
        let off = Cors::default();
        // (config, origin, Allow-Origin, Vary)
        let cases = [
            (
                &list,
                Some("https://a.example"),
                Some("https://a.example"),
                Some("Origin"),
            ),
            (&list, Some("https://A.example"), None, Some("Origin")),
            (&list, Some("https://a.example.evil"), None, Some("Origin")),
            (&list, Some("null"), None, Some("Origin")),
            (&list, None, None, Some("Origin")),
            (&any, Some("https://b.example"), Some("*"), None),
            (&any, None, None, None),
            (&off, Some("https://a.example"), None, None),
        ];
        for (config, origin, allow, vary) in cases {
            let headers = config.answer_headers(origin, ["etag"]);
            assert_eq!(
                header(&headers, "access-control-allow-origin"),
                allow,
                "{origin:?}"
            );
            assert_eq!(header(&headers, "vary"), vary, "{origin:?}");
            assert_eq!(
                header(&headers, "access-control-expose-headers").is_some(),
                allow.is_some(),
                "{origin:?}"
            );
            assert!(header(&headers, "access-control-allow-credentials").is_none());
        }
    }

    #[test]
    fn expose_headers_name_every_header_a_page_reads() {
        let c = cors(&[
            ("CORS_ALLOW_ORIGINS", "https://a.example"),
            ("CORS_ALLOW_CREDENTIALS", "true"),
        ])
        .unwrap();
        let headers = c.answer_headers(
            Some("https://a.example"),
            [
                "etag",
                "x-amz-meta-owner-x",
                "x-amz-meta-owner",
                "x-amz-meta-owner",
            ],
        );
        let expose = header(&headers, "access-control-expose-headers").unwrap();
        let names: Vec<&str> = expose.split(", ").collect();
        for name in [
            "ETag",
            "Content-Range",
            "Content-Length",
            "Last-Modified",
            "Location",
            "x-amz-request-id",
            "x-amz-version-id",
            "x-amz-checksum-sha256",
            "x-amz-meta-owner",
            "x-amz-meta-owner-x",
        ] {
            assert!(names.contains(&name), "{name} in {expose}");
        }
        assert_eq!(
            names.iter().filter(|n| **n == "x-amz-meta-owner").count(),
            1
        );
        assert!(!expose.contains('*'), "named, never a wildcard: {expose}");
        assert_eq!(
            header(&headers, "access-control-allow-credentials"),
            Some("true")
        );
    }

    #[test]
    fn preflights_check_origin_method_and_each_header() {
        let c = cors(&[
            ("CORS_ALLOW_ORIGINS", "https://a.example"),
            ("CORS_MAX_AGE_SECONDS", "120"),
        ])
        .unwrap();
        let origin = ("origin", "https://a.example");
        let put = ("access-control-request-method", "PUT");
        // (request headers, the allowed request headers or the refusal)
        type Case<'a> = (Vec<(&'a str, &'a str)>, Result<Option<&'a str>, Refusal>);
        let cases: Vec<Case> = vec![
            (vec![origin, put], Ok(None)),
            (
                vec![
                    origin,
                    put,
                    (
                        "access-control-request-headers",
                        "authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-meta-owner,X-Amz-Security-Token",
                    ),
                ],
                Ok(Some(
                    "authorization, content-type, x-amz-content-sha256, x-amz-date, x-amz-meta-owner, x-amz-security-token",
                )),
            ),
            (
                vec![
                    origin,
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "range, if-none-match"),
                ],
                Ok(Some("range, if-none-match")),
            ),
            (vec![put], Err(Refusal::NoOrigin)),
            (vec![origin], Err(Refusal::NoMethod)),
            (
                vec![("origin", "https://b.example"), put],
                Err(Refusal::Origin),
            ),
            (
                vec![origin, ("access-control-request-method", "PATCH")],
                Err(Refusal::Method("PATCH".into())),
            ),
            (
                vec![
                    origin,
                    put,
                    ("access-control-request-headers", "content-type, x-custom"),
                ],
                Err(Refusal::Header("x-custom".into())),
            ),
            (
                vec![
                    origin,
                    put,
                    ("access-control-request-headers", "x-amz-meta-"),
                ],
                Err(Refusal::Header("x-amz-meta-".into())),
            ),
            (
                vec![
                    origin,
                    put,
                    (
                        "access-control-request-headers",
                        "x-amz-tagging, x-amz-copy-source",
                    ),
                ],
                Err(Refusal::Header("x-amz-copy-source".into())),
            ),
        ];
        for (pairs, expected) in cases {
            let got = c.preflight(&request(&pairs));
            match (got, expected) {
                (Ok(h), Ok(allow_headers)) => {
                    assert_eq!(h["access-control-allow-methods"], ALLOW_METHODS);
                    assert_eq!(h["access-control-max-age"], "120");
                    assert_eq!(
                        h.get("access-control-allow-headers")
                            .map(|v| v.to_str().unwrap()),
                        allow_headers,
                        "{pairs:?}"
                    );
                }
                (Err(got), Err(expected)) => assert_eq!(got, expected, "{pairs:?}"),
                (got, _) => panic!("{pairs:?}: {got:?}"),
            }
        }
        let off = Cors::default().preflight(&request(&[origin, put]));
        assert_eq!(off, Err(Refusal::Disabled));
        assert_eq!(Refusal::Disabled.code(), "AccessForbidden");
        assert_eq!(Refusal::NoOrigin.code(), "BadRequest");
    }
}
