//! A small CloudFormation evaluator: a template's parts as they would be for
//! given parameter values (Ref, Fn::If and the template's Conditions, Fn::Sub,
//! Fn::Join, Fn::Split, Fn::Select, Fn::GetAtt; AWS::NoValue drops the key or item).
//!
//! Pseudo parameters and resource attributes become readable placeholders
//! (`{account}`, `{region}`, `{S3ProxyFunction.Arn}`), so a test compares what
//! a template says, not what AWS would fill in. The SAM transform is not
//! applied: the parts read here are plain CloudFormation.

use super::{map_entries, scalar};
use serde_json::{Map, Value as Json};
use serde_norway::Value;
use std::collections::BTreeMap;

pub struct Stack<'a> {
    template: &'a Value,
    parameters: BTreeMap<String, Json>,
}

impl<'a> Stack<'a> {
    /// The template with its parameters' defaults, then `overrides`.
    pub fn new(template: &'a Value, overrides: &[(&str, &str)]) -> Self {
        let declared = template.get("Parameters").expect("Parameters");
        let mut parameters = BTreeMap::new();
        for (name, declaration) in map_entries(declared) {
            let list =
                declaration.get("Type").and_then(Value::as_str) == Some("CommaDelimitedList");
            let given = overrides
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| declaration.get("Default").and_then(scalar));
            let Some(text) = given else { continue };
            let value = if list {
                Json::Array(text.split(',').map(|s| Json::String(s.into())).collect())
            } else {
                Json::String(text)
            };
            parameters.insert(name.to_string(), value);
        }
        for (name, _) in overrides {
            assert!(
                map_entries(declared).iter().any(|(n, _)| n == name),
                "no parameter {name}"
            );
        }
        Self {
            template,
            parameters,
        }
    }

    /// A named condition of the template's Conditions section.
    pub fn condition(&self, name: &str) -> bool {
        let definition = self
            .template
            .get("Conditions")
            .and_then(|c| c.get(name))
            .unwrap_or_else(|| panic!("no condition {name}"));
        self.truth(definition)
    }

    /// A condition expression (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition),
    /// also the Assert of a rule.
    pub fn truth(&self, expression: &Value) -> bool {
        if let Some(name) = expression.get("Condition").and_then(Value::as_str) {
            return self.condition(name);
        }
        let (function, arguments) = match map_entries(expression).as_slice() {
            [(function, arguments)] => (*function, *arguments),
            _ => panic!("not a condition: {expression:?}"),
        };
        let arguments = arguments.as_sequence().expect("condition arguments");
        match function {
            "Fn::Equals" => {
                let text = |v: &Value| match self.eval(v) {
                    Some(Json::String(s)) => s,
                    other => other.map(|j| j.to_string()).unwrap_or_default(),
                };
                text(&arguments[0]) == text(&arguments[1])
            }
            "Fn::Not" => !self.truth(&arguments[0]),
            "Fn::And" => arguments.iter().all(|a| self.truth(a)),
            "Fn::Or" => arguments.iter().any(|a| self.truth(a)),
            "Fn::EachMemberEquals" => {
                let list = self.eval(&arguments[0]);
                let member = self.eval(&arguments[1]);
                list.as_ref()
                    .and_then(Json::as_array)
                    .is_some_and(|items| items.iter().all(|i| Some(i) == member.as_ref()))
            }
            other => panic!("condition function {other} is not supported here"),
        }
    }

    /// Whether a rule's assertions all hold (a rule whose RuleCondition is false
    /// holds trivially).
    pub fn rule_holds(&self, rule: &str) -> bool {
        let rule = at_rule(self.template, rule);
        if let Some(condition) = rule.get("RuleCondition")
            && !self.truth(condition)
        {
            return true;
        }
        rule.get("Assertions")
            .and_then(Value::as_sequence)
            .expect("Assertions")
            .iter()
            .all(|a| self.truth(a.get("Assert").expect("Assert")))
    }

    /// Whether a resource exists (its Condition, if any, holds).
    pub fn exists(&self, resource: &str) -> bool {
        let r = self.resource(resource);
        r.get("Condition")
            .and_then(Value::as_str)
            .is_none_or(|c| self.condition(c))
    }

    pub fn resource(&self, name: &str) -> &'a Value {
        self.template
            .get("Resources")
            .and_then(|r| r.get(name))
            .unwrap_or_else(|| panic!("no resource {name}"))
    }

    /// `Resources.<name>.Properties`, evaluated.
    pub fn properties(&self, resource: &str) -> Json {
        let r = self.resource(resource);
        self.eval(r.get("Properties").expect("Properties"))
            .unwrap_or(Json::Null)
    }

    /// An output's value, if the output exists.
    pub fn output(&self, name: &str) -> Option<Json> {
        let output = self.template.get("Outputs")?.get(name)?;
        if let Some(c) = output.get("Condition").and_then(Value::as_str)
            && !self.condition(c)
        {
            return None;
        }
        self.eval(output.get("Value")?)
    }

    /// A value as CloudFormation would resolve it; None is AWS::NoValue.
    pub fn eval(&self, value: &Value) -> Option<Json> {
        match value {
            Value::Null => Some(Json::Null),
            Value::Bool(b) => Some(Json::Bool(*b)),
            Value::Number(n) => Some(serde_json::from_str(&n.to_string()).expect("a number")),
            Value::String(s) => Some(Json::String(s.clone())),
            Value::Sequence(items) => Some(Json::Array(
                items.iter().filter_map(|i| self.eval(i)).collect(),
            )),
            Value::Mapping(_) => self.eval_mapping(value),
            Value::Tagged(t) => panic!("short-form intrinsic {:?}: use the long form", t.tag),
        }
    }

    fn eval_mapping(&self, value: &Value) -> Option<Json> {
        let entries = map_entries(value);
        if let [(function, arguments)] = entries.as_slice() {
            let arguments = *arguments;
            match *function {
                "Ref" => return self.reference(arguments.as_str().expect("Ref name")),
                "Fn::If" => {
                    let parts = arguments.as_sequence().expect("Fn::If arguments");
                    let chosen = if self.condition(parts[0].as_str().expect("condition")) {
                        &parts[1]
                    } else {
                        &parts[2]
                    };
                    return self.eval(chosen);
                }
                "Fn::Sub" => return Some(Json::String(self.sub(arguments))),
                "Fn::Join" => {
                    let parts = arguments.as_sequence().expect("Fn::Join arguments");
                    let delimiter = parts[0].as_str().expect("a literal delimiter");
                    let items = self.eval(&parts[1]).expect("Fn::Join list");
                    let texts: Vec<String> = items
                        .as_array()
                        .expect("Fn::Join list")
                        .iter()
                        .map(text)
                        .collect();
                    return Some(Json::String(texts.join(delimiter)));
                }
                "Fn::Split" => {
                    let parts = arguments.as_sequence().expect("Fn::Split arguments");
                    let delimiter = parts[0].as_str().expect("a literal delimiter");
                    let source = text(&self.eval(&parts[1]).expect("Fn::Split source"));
                    return Some(Json::Array(
                        source
                            .split(delimiter)
                            .map(|s| Json::String(s.into()))
                            .collect(),
                    ));
                }
                "Fn::Select" => {
                    let parts = arguments.as_sequence().expect("Fn::Select arguments");
                    let index = parts[0].as_u64().expect("a literal index") as usize;
                    let list = self.eval(&parts[1]).expect("Fn::Select list");
                    let list = list.as_array().expect("Fn::Select list");
                    return Some(list.get(index).expect("Fn::Select index in range").clone());
                }
                "Fn::GetAtt" => {
                    let parts = arguments.as_sequence().expect("Fn::GetAtt arguments");
                    let resource = parts[0].as_str().expect("resource");
                    let attribute = parts[1].as_str().expect("attribute");
                    return Some(Json::String(self.attribute(resource, attribute)));
                }
                _ => {}
            }
        }
        let mut out = Map::new();
        for (key, v) in entries {
            if let Some(evaluated) = self.eval(v) {
                out.insert(key.to_string(), evaluated);
            }
        }
        Some(Json::Object(out))
    }

    fn reference(&self, name: &str) -> Option<Json> {
        if name == "AWS::NoValue" {
            return None;
        }
        if let Some(value) = self.parameters.get(name) {
            return Some(value.clone());
        }
        let declared = self.template.get("Parameters").and_then(|p| p.get(name));
        assert!(
            declared.is_none(),
            "parameter {name} has no default: give it a value"
        );
        Some(Json::String(match pseudo(name) {
            Some(p) => p.to_string(),
            // A resource: its physical id.
            None => format!("{{{name}}}"),
        }))
    }

    /// `Fn::GetAtt`: a log group's ARN from its name (what a role grants),
    /// anything else a placeholder.
    fn attribute(&self, resource: &str, attribute: &str) -> String {
        let r = self.resource(resource);
        let kind = r.get("Type").and_then(Value::as_str);
        if kind == Some("AWS::Logs::LogGroup") && attribute == "Arn" {
            let name = self.properties(resource);
            let name = text(name.get("LogGroupName").expect("LogGroupName"));
            return format!("arn:aws:logs:{{region}}:{{account}}:log-group:{name}:*");
        }
        format!("{{{resource}.{attribute}}}")
    }

    fn sub(&self, arguments: &Value) -> String {
        let (pattern, variables) = match arguments {
            Value::String(s) => (s.as_str(), None),
            Value::Sequence(parts) => (parts[0].as_str().expect("Fn::Sub string"), Some(&parts[1])),
            other => panic!("Fn::Sub {other:?}"),
        };
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("closing }") + start;
            let name = &rest[start + 2..end];
            let value = match variables.and_then(|v| v.get(name)) {
                Some(v) => text(&self.eval(v).expect("Fn::Sub variable")),
                None => match name.split_once('.') {
                    Some((resource, attribute)) if pseudo(name).is_none() => {
                        self.attribute(resource, attribute)
                    }
                    _ => text(&self.reference(name).expect("Fn::Sub reference")),
                },
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn at_rule<'a>(template: &'a Value, rule: &str) -> &'a Value {
    template
        .get("Rules")
        .and_then(|r| r.get(rule))
        .unwrap_or_else(|| panic!("no rule {rule}"))
}

fn pseudo(name: &str) -> Option<&'static str> {
    Some(match name {
        "AWS::AccountId" => "{account}",
        "AWS::Region" => "{region}",
        "AWS::Partition" => "aws",
        "AWS::StackName" => "{stack}",
        "AWS::URLSuffix" => "amazonaws.com",
        _ => return None,
    })
}

/// A JSON scalar as text (strings without quotes).
pub fn text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
