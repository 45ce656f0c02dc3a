//! GetObjectAttributes: what S3 keeps of an object (its ETag, checksum,
//! parts with their sizes and checksums, storage class, size) in one
//! document, only the attributes asked for (`x-amz-object-attributes`).

use super::LocalStore;
use super::objects::{customer_key, echo_checksums};
use super::reads::Wanted;
use super::rules::Conditions;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

const NAMES: [&str; 5] = [
    "ETag",
    "Checksum",
    "ObjectParts",
    "StorageClass",
    "ObjectSize",
];

impl LocalStore {
    pub(super) async fn get_object_attributes_impl(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let input = req.input;
        self.no_versions(&input.bucket, input.version_id.as_deref())
            .await?;
        let mut asked = Vec::new();
        for name in input
            .object_attributes
            .iter()
            .flat_map(|a| a.as_str().split(','))
        {
            match NAMES.into_iter().find(|n| *n == name.trim()) {
                Some(known) => asked.push(known),
                None => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "Invalid attribute name specified."
                    ));
                }
            }
        }
        let none = Conditions {
            if_match: None,
            if_none_match: None,
            if_modified_since: None,
            if_unmodified_since: None,
        };
        let found = self
            .find(input.bucket, input.key, none, Wanted::All, false)
            .await?;
        super::extras::check_read(&found.attrs.encryption, customer_key!(input))?;
        let (row, attrs) = (found.row, found.attrs);
        let wants = |name: &str| asked.contains(&name);
        let mut out = GetObjectAttributesOutput {
            last_modified: Some(super::timestamp(row.modified_ms)),
            e_tag: wants("ETag").then(|| ETag::Strong(row.etag.clone())),
            object_size: wants("ObjectSize").then_some(row.size as i64),
            storage_class: wants("StorageClass").then(|| {
                StorageClass::from(row.class.clone().unwrap_or_else(|| "STANDARD".into()))
            }),
            ..Default::default()
        };
        if wants("Checksum") && !attrs.checksums.is_empty() {
            let mut checksum = Checksum {
                checksum_type: Some(super::checksums::type_of(&attrs)),
                ..Default::default()
            };
            echo_checksums!(checksum, &attrs.checksums);
            out.checksum = Some(checksum);
        }
        if wants("ObjectParts") && !attrs.parts.is_empty() {
            let after = input.part_number_marker.unwrap_or(0).max(0) as usize;
            let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
            let algorithm = attrs.checksums.keys().next().cloned().unwrap_or_default();
            let listed: Vec<ObjectPart> = attrs
                .parts
                .iter()
                .enumerate()
                .skip(after)
                .take(max)
                .map(|(i, part)| {
                    let mut listed = ObjectPart {
                        part_number: Some(i as i32 + 1),
                        size: Some(part.size as i64),
                        ..Default::default()
                    };
                    let kept = part.checksum.iter().map(|c| (algorithm.clone(), c.clone()));
                    echo_checksums!(listed, &kept.collect());
                    listed
                })
                .collect();
            let last = listed.last().and_then(|p| p.part_number);
            let truncated = after + listed.len() < attrs.parts.len();
            out.object_parts = Some(GetObjectAttributesParts {
                total_parts_count: Some(attrs.parts.len() as i32),
                part_number_marker: input.part_number_marker,
                next_part_number_marker: last,
                max_parts: Some(max as i32),
                is_truncated: Some(truncated),
                parts: Some(listed),
            });
        }
        Ok(S3Response::new(out))
    }
}
