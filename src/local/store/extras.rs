//! Server-side encryption and object tags, kept as S3 keeps them.
//!
//! Encryption is recorded and echoed (`x-amz-server-side-encryption*`), and
//! an object stored with a customer key (SSE-C) is read only with that key
//! (its MD5 is kept, never the key); the local store's files themselves are
//! not encrypted. Tags come from `x-amz-tagging` or PutObjectTagging and are
//! counted on GET (`x-amz-tagging-count`).

use super::db::{self, Encryption};
use super::{LocalStore, StoreError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// The SSE-C headers of a request.
pub struct CustomerKey<'a> {
    pub algorithm: Option<&'a str>,
    pub key: Option<&'a str>,
    pub key_md5: Option<&'a str>,
}

impl CustomerKey<'_> {
    fn any(&self) -> bool {
        self.algorithm.is_some() || self.key.is_some() || self.key_md5.is_some()
    }

    /// The key's MD5 (base64) once the three headers agree.
    fn verified_md5(&self) -> S3Result<String> {
        let (Some(algorithm), Some(key), Some(key_md5)) = (self.algorithm, self.key, self.key_md5)
        else {
            return Err(s3_error!(
                InvalidArgument,
                "Requests specifying Server Side Encryption with Customer provided keys must provide the algorithm, the key and its MD5."
            ));
        };
        if algorithm != "AES256" {
            return Err(s3_error!(
                InvalidArgument,
                "The encryption algorithm specified is not valid."
            ));
        }
        let raw = STANDARD
            .decode(key)
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "The secret key was invalid for the specified algorithm."
                )
            })?;
        use md5::Digest;
        let md5 = STANDARD.encode(md5::Md5::digest(&raw));
        if md5 != key_md5 {
            return Err(s3_error!(
                InvalidArgument,
                "The calculated MD5 hash of the key did not match the hash that was provided."
            ));
        }
        Ok(md5)
    }
}

/// The encryption a write asks for.
pub fn for_write(
    algorithm: Option<&ServerSideEncryption>,
    kms_key_id: Option<&str>,
    bucket_key_enabled: Option<bool>,
    customer: CustomerKey<'_>,
) -> S3Result<Encryption> {
    let algorithm = algorithm.map(|a| a.as_str().to_string());
    if let Some(a) = &algorithm
        && !matches!(a.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse")
    {
        return Err(s3_error!(
            InvalidArgument,
            "The encryption method specified is not supported"
        ));
    }
    if kms_key_id.is_some()
        && !algorithm
            .as_deref()
            .is_some_and(|a| a.starts_with("aws:kms"))
    {
        return Err(s3_error!(
            InvalidArgument,
            "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"
        ));
    }
    let mut encryption = Encryption {
        algorithm,
        kms_key_id: kms_key_id.map(str::to_string),
        bucket_key_enabled,
        ..Encryption::default()
    };
    if customer.any() {
        if encryption.algorithm.is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"
            ));
        }
        encryption.customer_key_md5 = Some(customer.verified_md5()?);
        encryption.customer_algorithm = Some("AES256".into());
    }
    Ok(encryption)
}

/// A read of an object stored with a customer key needs that key; a
/// customer key for any other object is refused (both as S3 answers).
pub fn check_read(stored: &Encryption, customer: CustomerKey<'_>) -> S3Result<()> {
    match (&stored.customer_key_md5, customer.any()) {
        (None, false) => Ok(()),
        (None, true) => Err(s3_error!(
            InvalidRequest,
            "The encryption parameters are not applicable to this object."
        )),
        (Some(want), _) => {
            let given = customer.verified_md5().map_err(|_| {
                s3_error!(
                    InvalidRequest,
                    "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
                )
            })?;
            if given == *want {
                Ok(())
            } else {
                Err(s3_error!(AccessDenied, "Access Denied"))
            }
        }
    }
}

/// `x-amz-tagging`: `k=v&k2=v2`, URL-encoded.
pub fn parse_tagging(header: Option<&str>) -> S3Result<Vec<(String, String)>> {
    let Some(header) = header.filter(|h| !h.is_empty()) else {
        return Ok(Vec::new());
    };
    let tags: Vec<(String, String)> = url::form_urlencoded::parse(header.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    check_tags(&tags)?;
    Ok(tags)
}

/// S3's limits: at most 10 tags, keys 1-128 characters, values up to 256,
/// each key once.
fn check_tags(tags: &[(String, String)]) -> S3Result<()> {
    let mut keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let bad = tags.len() > 10
        || keys.len() != tags.len()
        || tags
            .iter()
            .any(|(k, v)| k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256);
    if bad {
        return Err(s3_error!(
            InvalidTag,
            "The tag set is not valid: at most 10 tags, unique keys of 1 to 128 characters, values up to 256"
        ));
    }
    Ok(())
}

fn tag_set(tags: Vec<(String, String)>) -> TagSet {
    tags.into_iter()
        .map(|(k, v)| Tag {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

impl LocalStore {
    pub(super) async fn get_object_tagging_impl(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let input = req.input;
        self.no_versions(&input.bucket, input.version_id.as_deref())
            .await?;
        let (bucket, key) = (input.bucket, input.key);
        let tags = self
            .blocking(move |s| {
                s.db.read(|tx| {
                    db::require_bucket(tx, &bucket)?;
                    let (_, attrs) = db::object(tx, &bucket, &key)?.ok_or(StoreError::NoSuchKey)?;
                    Ok(attrs.tags)
                })
            })
            .await?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set: tag_set(tags),
            version_id: None,
        }))
    }

    pub(super) async fn put_object_tagging_impl(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        self.no_versions(&input.bucket, input.version_id.as_deref())
            .await?;
        let tags: Vec<(String, String)> = input
            .tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        check_tags(&tags)?;
        self.set_tags(input.bucket, input.key, tags).await?;
        Ok(S3Response::new(PutObjectTaggingOutput { version_id: None }))
    }

    pub(super) async fn delete_object_tagging_impl(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let input = req.input;
        self.no_versions(&input.bucket, input.version_id.as_deref())
            .await?;
        self.set_tags(input.bucket, input.key, Vec::new()).await?;
        Ok(S3Response::new(DeleteObjectTaggingOutput {
            version_id: None,
        }))
    }

    async fn set_tags(
        &self,
        bucket: String,
        key: String,
        tags: Vec<(String, String)>,
    ) -> S3Result<()> {
        self.blocking(move |s| {
            s.db.write(|tx| {
                db::require_bucket(tx, &bucket)?;
                let (_, mut attrs) = db::object(tx, &bucket, &key)?.ok_or(StoreError::NoSuchKey)?;
                attrs.tags = tags;
                db::set_attrs(tx, &bucket, &key, &attrs)
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const KEY_MD5: &str = "hRasmdxgYDKV3nvbahU1MA==";

    fn customer<'a>(a: Option<&'a str>, k: Option<&'a str>, m: Option<&'a str>) -> CustomerKey<'a> {
        CustomerKey {
            algorithm: a,
            key: k,
            key_md5: m,
        }
    }

    #[test]
    fn customer_keys_are_checked_and_required_on_read() {
        let stored = for_write(
            None,
            None,
            None,
            customer(Some("AES256"), Some(KEY), Some(KEY_MD5)),
        )
        .unwrap();
        assert_eq!(stored.customer_key_md5.as_deref(), Some(KEY_MD5));
        assert!(for_write(None, None, None, customer(None, Some(KEY), None)).is_err());
        assert!(
            for_write(
                None,
                None,
                None,
                customer(Some("AES256"), Some(KEY), Some("AAAA"))
            )
            .is_err()
        );
        let code = |r: S3Result<()>| r.err().map(|e| e.code().as_str().to_string());
        assert_eq!(
            code(check_read(
                &stored,
                customer(Some("AES256"), Some(KEY), Some(KEY_MD5))
            )),
            None
        );
        assert_eq!(
            code(check_read(&stored, customer(None, None, None))).as_deref(),
            Some("InvalidRequest")
        );
        assert_eq!(
            code(check_read(
                &Encryption::default(),
                customer(Some("AES256"), Some(KEY), Some(KEY_MD5))
            ))
            .as_deref(),
            Some("InvalidRequest")
        );
        let aes = ServerSideEncryption::from("AES256".to_string());
        assert!(
            for_write(
                Some(&aes),
                None,
                None,
                customer(Some("AES256"), Some(KEY), Some(KEY_MD5))
            )
            .is_err()
        );
        assert!(for_write(Some(&aes), Some("key"), None, customer(None, None, None)).is_err());
    }

    #[test]
    fn tagging_headers_parse_as_s3_reads_them() {
        assert_eq!(
            parse_tagging(Some("team=blue&year=2026&x=a%20b")).unwrap(),
            [
                ("team".into(), "blue".into()),
                ("year".into(), "2026".into()),
                ("x".into(), "a b".into())
            ]
        );
        assert!(parse_tagging(Some("a=1&a=2")).is_err());
        assert!(parse_tagging(None).unwrap().is_empty());
    }
}
