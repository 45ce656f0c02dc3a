//! Reading the description files as data: `openapi.yaml`, `template.yaml` (both
//! through a plain YAML parser: the template uses only long-form intrinsics,
//! and YAML aliases, which the parser expands) and the deploy files.
#![allow(dead_code)]

pub mod cfn;

use serde_norway::Value;
use std::collections::BTreeSet;

/// A file of the repository, as text.
pub fn read(file: &str) -> String {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A YAML (or JSON) file of the repository.
pub fn load(file: &str) -> Value {
    serde_norway::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

pub fn map_entries(value: &Value) -> Vec<(&str, &Value)> {
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
pub fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
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

/// `path.to.key` inside a value, panicking with the path when absent.
pub fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(value, |node, key| {
        node.get(key)
            .unwrap_or_else(|| panic!("{path}: no {key:?} in {node:?}"))
    })
}

pub fn str_at<'a>(value: &'a Value, path: &str) -> &'a str {
    at(value, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path}: not a string"))
}

/// The template's resources of one type.
pub fn resources<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    map_entries(template.get("Resources").expect("Resources"))
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .collect()
}

/// The one resource of a type.
pub fn the<'a>(template: &'a Value, kind: &str) -> &'a Value {
    let found = resources(template, kind);
    assert_eq!(found.len(), 1, "one {kind}");
    found[0].1
}

pub fn the_function(template: &Value) -> &Value {
    the(template, "AWS::Serverless::Function")
}

/// `{ "Fn::If": [condition, then, else] }` as its parts.
pub fn as_if(value: &Value) -> Option<(&str, &Value, &Value)> {
    let parts = value.get("Fn::If")?.as_sequence()?;
    match parts.as_slice() {
        [condition, then, otherwise] => Some((condition.as_str()?, then, otherwise)),
        _ => None,
    }
}

/// `{ "Ref": "AWS::NoValue" }`: the property or list item is left out.
pub fn is_no_value(value: &Value) -> bool {
    value.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue")
}

/// What a value can become: each branch of an `Fn::If` (nested ones too),
/// `AWS::NoValue` left out.
pub fn branches(value: &Value) -> Vec<&Value> {
    match as_if(value) {
        Some((_, then, otherwise)) => branches(then)
            .into_iter()
            .chain(branches(otherwise))
            .collect(),
        None if is_no_value(value) => Vec::new(),
        None => vec![value],
    }
}

/// Every string inside a value (through Fn::If, lists and maps).
pub fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::Mapping(m) => m.values().flat_map(strings).collect(),
        Value::Tagged(t) => strings(&t.value),
        _ => Vec::new(),
    }
}

/// The parameters a value refers to with `Ref` (directly or nested).
pub fn refs(value: &Value) -> BTreeSet<String> {
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

/// Every IAM policy statement under a value (roles, policies, the API's
/// resource policy), each branch of a conditional statement on its own.
pub fn statements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Mapping(m) => m
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v) {
                (Some("Statement"), Value::Sequence(items)) => {
                    items.iter().flat_map(branches).collect()
                }
                (Some("Statement"), single @ Value::Mapping(_)) => branches(single),
                _ => statements(v),
            })
            .collect(),
        Value::Sequence(items) => items.iter().flat_map(statements).collect(),
        _ => Vec::new(),
    }
}

/// A parameter's default, as the function would receive it.
pub fn default_of(template: &Value, value: &Value) -> Option<String> {
    if let Some(s) = value.as_str() {
        return Some(s.to_string());
    }
    let name = value.get("Ref")?.as_str()?;
    let default = template.get("Parameters")?.get(name)?.get("Default")?;
    scalar(default)
}

/// A YAML scalar as the text CloudFormation would pass on.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
