//! `Config`: the environment, read once at start-up. A bad value stops the
//! function before it serves anything, with a message naming the variable.

use crate::cors::Cors;
use crate::media::BinaryMediaTypes;
use std::time::Duration;

/// Raw Lambda's synchronous payload limit is 6 MB each way; base64 makes 4.5 MB
/// of raw bytes about 6,000,000 characters, which leaves room for headers.
pub const DEFAULT_INLINE_LIMIT: usize = 4_500_000;

/// The most MAX_INLINE_BYTES may be: 4,700,000 bytes are 6,266,668 base64
/// characters, which leaves about 24 KB of Lambda's 6,291,456-byte answer for
/// the JSON around them and the headers.
pub const MAX_INLINE_LIMIT: usize = 4_700_000;

/// Lambda streams at most 200 MiB of one answer: the default and the most
/// STREAM_MAX_BYTES may be.
pub const MAX_STREAM_BYTES: u64 = 200 * 1024 * 1024;

/// How the function answers API Gateway (`RESPONSE_MODE`); the template's
/// `ResponseMode` parameter sets the integration and this together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// One JSON answer within Lambda's 6 MB payload (the Lambda proxy
    /// integration); larger GETs answer 307 to a presigned URL.
    #[default]
    Buffered,
    /// Lambda response streaming (`responseTransferMode: STREAM`): a JSON
    /// prelude, eight NUL bytes, then the raw body ([`crate::stream`]).
    Stream,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `BINARY_MEDIA_TYPES` (default `*/*`): the API's binaryMediaTypes.
    pub binary_media_types: BinaryMediaTypes,
    /// `ALLOWED_BUCKETS`: names or `prefix-*` patterns; empty means every
    /// bucket the role can reach.
    pub allowed_buckets: Vec<String>,
    /// `READ_ONLY`: refuse PUT and DELETE with 403.
    pub read_only: bool,
    /// `ALLOW_BUCKET_ADMIN` (default true): CreateBucket and DeleteBucket.
    pub allow_bucket_admin: bool,
    /// `MAX_INLINE_BYTES`: the largest body carried inside the Lambda payload.
    pub inline_limit: usize,
    /// `PRESIGN_EXPIRES_SECONDS` (default 900): life of presigned URLs.
    pub presign_expiry: Duration,
    /// `S3_FORCE_PATH_STYLE`: path-style addressing for S3-compatible endpoints.
    pub force_path_style: bool,
    /// `BACKEND_TIMEOUT_MS` (default 25000, under API Gateway's 29 s).
    pub backend_timeout: Duration,
    /// `CORS_ALLOW_ORIGINS`, `CORS_ALLOW_CREDENTIALS`, `CORS_MAX_AGE_SECONDS`.
    pub cors: Cors,
    /// `HTML_INDEX` (default true): listings as HTML pages for browsers.
    pub html_index: bool,
    /// `EXPECTED_BUCKET_OWNER`: the account id every S3 call names as the
    /// bucket's owner (S3 refuses the call, 403, for a bucket of another
    /// account); none when unset.
    pub expected_bucket_owner: Option<String>,
    /// `RESPONSE_MODE`: `buffered` (default) or `stream`.
    pub response_mode: ResponseMode,
    /// `STREAM_MAX_BYTES` (default and most 200 MiB): in stream mode, the
    /// largest GET answer streamed; larger ones answer 307.
    pub stream_max_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            binary_media_types: BinaryMediaTypes::parse("*/*").unwrap_or_else(|_| unreachable!()),
            allowed_buckets: Vec::new(),
            read_only: false,
            allow_bucket_admin: true,
            inline_limit: DEFAULT_INLINE_LIMIT,
            presign_expiry: Duration::from_secs(900),
            force_path_style: false,
            backend_timeout: Duration::from_millis(25_000),
            cors: Cors::default(),
            html_index: true,
            expected_bucket_owner: None,
            response_mode: ResponseMode::Buffered,
            stream_max_bytes: MAX_STREAM_BYTES,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a table in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut config = Self::default();
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        if let Some(v) = get("BINARY_MEDIA_TYPES") {
            config.binary_media_types =
                BinaryMediaTypes::parse(&v).map_err(|e| format!("BINARY_MEDIA_TYPES: {e}"))?;
        }
        if let Some(v) = get("ALLOWED_BUCKETS") {
            config.allowed_buckets = v
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            // Set but naming nothing (",") is a mistake, not "every bucket".
            if config.allowed_buckets.is_empty() {
                return Err(format!(
                    "ALLOWED_BUCKETS: {v:?} names no bucket (leave it unset to serve every bucket the role allows)"
                ));
            }
            for pattern in &config.allowed_buckets {
                let stem = pattern.strip_suffix('*').unwrap_or(pattern);
                if stem.contains('*') || stem.is_empty() {
                    return Err(format!(
                        "ALLOWED_BUCKETS: {pattern:?} must be a bucket name or a `prefix*` pattern"
                    ));
                }
            }
        }
        if let Some(v) = get("READ_ONLY") {
            config.read_only = parse_bool("READ_ONLY", &v)?;
        }
        if let Some(v) = get("ALLOW_BUCKET_ADMIN") {
            config.allow_bucket_admin = parse_bool("ALLOW_BUCKET_ADMIN", &v)?;
        }
        if let Some(v) = get("MAX_INLINE_BYTES") {
            config.inline_limit = parse_number("MAX_INLINE_BYTES", &v, 1, MAX_INLINE_LIMIT)?;
        }
        if let Some(v) = get("PRESIGN_EXPIRES_SECONDS") {
            let secs = parse_number("PRESIGN_EXPIRES_SECONDS", &v, 1, 604_800)?;
            config.presign_expiry = Duration::from_secs(secs as u64);
        }
        if let Some(v) = get("S3_FORCE_PATH_STYLE") {
            config.force_path_style = parse_bool("S3_FORCE_PATH_STYLE", &v)?;
        }
        if let Some(v) = get("EXPECTED_BUCKET_OWNER") {
            if v.len() != 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "EXPECTED_BUCKET_OWNER: {v:?} is not an AWS account id (12 digits)"
                ));
            }
            config.expected_bucket_owner = Some(v);
        }
        if let Some(v) = get("BACKEND_TIMEOUT_MS") {
            let ms = parse_number("BACKEND_TIMEOUT_MS", &v, 100, 900_000)?;
            config.backend_timeout = Duration::from_millis(ms as u64);
        }
        config.cors = Cors::from_lookup(get)?;
        if let Some(v) = get("HTML_INDEX") {
            config.html_index = parse_bool("HTML_INDEX", &v)?;
        }
        if let Some(v) = get("RESPONSE_MODE") {
            config.response_mode = match v.as_str() {
                "buffered" => ResponseMode::Buffered,
                "stream" => ResponseMode::Stream,
                _ => {
                    return Err(format!(
                        "RESPONSE_MODE: {v:?} is not `buffered` or `stream`"
                    ));
                }
            };
        }
        if let Some(v) = get("STREAM_MAX_BYTES") {
            let max = parse_number("STREAM_MAX_BYTES", &v, 1, MAX_STREAM_BYTES as usize)?;
            config.stream_max_bytes = max as u64;
        }
        Ok(config)
    }

    /// Is this bucket inside `ALLOWED_BUCKETS`? Names compare exactly (S3
    /// bucket names are lowercase; an uppercase look-alike is another name).
    pub fn bucket_allowed(&self, bucket: &str) -> bool {
        self.allowed_buckets.is_empty()
            || self
                .allowed_buckets
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => bucket.starts_with(prefix),
                    None => pattern == bucket,
                })
    }
}

pub(crate) fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{name}: {value:?} is not a boolean (true/false)")),
    }
}

fn parse_number(name: &str, value: &str, min: usize, max: usize) -> Result<usize, String> {
    let n: usize = value
        .parse()
        .map_err(|_| format!("{name}: {value:?} is not a whole number"))?;
    if !(min..=max).contains(&n) {
        return Err(format!("{name}: {n} is outside {min}..={max}"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_serve_every_type_as_binary() {
        let c = config(&[]).unwrap();
        assert!(c.binary_media_types.matches("text/plain"));
        assert_eq!(c.inline_limit, DEFAULT_INLINE_LIMIT);
        assert!(!c.read_only);
        assert!(c.bucket_allowed("anything"));
    }

    #[test]
    fn bad_values_fail_fast_naming_the_variable() {
        let cases = [
            ("READ_ONLY", "maybe"),
            ("MAX_INLINE_BYTES", "lots"),
            ("MAX_INLINE_BYTES", "9000000"),
            ("PRESIGN_EXPIRES_SECONDS", "0"),
            ("BINARY_MEDIA_TYPES", "png"),
            ("ALLOWED_BUCKETS", "a*b"),
            ("BACKEND_TIMEOUT_MS", "-1"),
            ("HTML_INDEX", "html"),
            ("CORS_ALLOW_ORIGINS", "not an origin"),
            ("ALLOWED_BUCKETS", ","),
            ("ALLOWED_BUCKETS", " , ,"),
            ("EXPECTED_BUCKET_OWNER", "12345"),
            ("EXPECTED_BUCKET_OWNER", "12345678901a"),
            ("RESPONSE_MODE", "Streaming"),
            ("STREAM_MAX_BYTES", "209715201"),
            ("STREAM_MAX_BYTES", "0"),
        ];
        for (name, value) in cases {
            let err = config(&[(name, value)]).unwrap_err();
            assert!(err.starts_with(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn response_mode_is_buffered_unless_stream_is_asked_for() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.response_mode, c.stream_max_bytes),
            (ResponseMode::Buffered, 209_715_200)
        );
        let c = config(&[
            ("RESPONSE_MODE", "stream"),
            ("STREAM_MAX_BYTES", "10485760"),
        ])
        .unwrap();
        assert_eq!(
            (c.response_mode, c.stream_max_bytes),
            (ResponseMode::Stream, 10_485_760)
        );
        let c = config(&[("RESPONSE_MODE", "buffered")]).unwrap();
        assert_eq!(c.response_mode, ResponseMode::Buffered);
    }

    #[test]
    fn allowed_buckets_take_names_and_prefixes() {
        let c = config(&[("ALLOWED_BUCKETS", "photos, logs-*")]).unwrap();
        let cases = [
            ("photos", true),
            ("photos2", false),
            ("Photos", false),
            ("logs-2026", true),
            ("logs", false),
            ("other", false),
        ];
        for (bucket, expected) in cases {
            assert_eq!(c.bucket_allowed(bucket), expected, "{bucket}");
        }
    }
}
