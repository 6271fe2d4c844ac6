//! Label and field selectors with the API server's grammar and error texts.
//!
//! skiff uses the label selectors for kustomize patch targets; the test API
//! server compiles this file in too (`#[path]` include), for list and watch
//! selectors. It depends on nothing but serde_json.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Exists,
    NotExists,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Greater(i64),
    Less(i64),
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Open,
    Close,
    Comma,
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    Gt,
    Lt,
    End,
}

fn describe(t: &Token) -> String {
    match t {
        Token::Ident(s) if s == "in" || s == "notin" => s.clone(),
        Token::Ident(s) => s.clone(),
        Token::Open => "(".into(),
        Token::Close => ")".into(),
        Token::Comma => ",".into(),
        Token::Eq => "=".into(),
        Token::DoubleEq => "==".into(),
        Token::NotEq => "!=".into(),
        Token::Bang => "!".into(),
        Token::Gt => ">".into(),
        Token::Lt => "<".into(),
        Token::End => "".into(),
    }
}

fn lex(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1
            }
            ')' => {
                out.push(Token::Close);
                i += 1
            }
            ',' => {
                out.push(Token::Comma);
                i += 1
            }
            '>' => {
                out.push(Token::Gt);
                i += 1
            }
            '<' => {
                out.push(Token::Lt);
                i += 1
            }
            '=' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::DoubleEq);
                i += 2
            }
            '=' => {
                out.push(Token::Eq);
                i += 1
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::NotEq);
                i += 2
            }
            '!' => {
                out.push(Token::Bang);
                i += 1
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t\n\r(),><=!".contains(chars[i]) {
                    i += 1;
                }
                out.push(Token::Ident(chars[start..i].iter().collect()));
            }
        }
    }
    out.push(Token::End);
    out
}

impl LabelSelector {
    pub fn parse(input: &str) -> Result<LabelSelector, String> {
        let tokens = lex(input);
        let mut pos = 0;
        let mut requirements = Vec::new();
        if tokens[0] == Token::End {
            return Ok(LabelSelector::default());
        }
        loop {
            let (req, next) = parse_requirement(&tokens, pos)?;
            requirements.push(req);
            pos = next;
            match &tokens[pos] {
                Token::End => break,
                Token::Comma => {
                    pos += 1;
                    if tokens[pos] == Token::End {
                        return Err("found '', expected: identifier after ','".into());
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: ',' or 'end of string'",
                        describe(t)
                    ))
                }
            }
        }
        Ok(LabelSelector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.requirements.iter().all(|r| match &r.op {
            Op::Exists => get(&r.key).is_some(),
            Op::NotExists => get(&r.key).is_none(),
            Op::Equals(v) => get(&r.key) == Some(v.as_str()),
            Op::NotEquals(v) => get(&r.key) != Some(v.as_str()),
            Op::In(vs) => get(&r.key).is_some_and(|x| vs.iter().any(|v| v == x)),
            Op::NotIn(vs) => get(&r.key).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Op::Greater(n) => get(&r.key)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x > *n),
            Op::Less(n) => get(&r.key)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x < *n),
        })
    }
}

fn parse_requirement(tokens: &[Token], mut pos: usize) -> Result<(Requirement, usize), String> {
    let negated = tokens[pos] == Token::Bang;
    if negated {
        pos += 1;
    }
    let key = match &tokens[pos] {
        Token::Ident(k) => k.clone(),
        t => return Err(format!("found '{}', expected: identifier", describe(t))),
    };
    pos += 1;
    if negated {
        return Ok((
            Requirement {
                key,
                op: Op::NotExists,
            },
            pos,
        ));
    }
    let op_token = tokens[pos].clone();
    match op_token {
        Token::End | Token::Comma => Ok((
            Requirement {
                key,
                op: Op::Exists,
            },
            pos,
        )),
        Token::Eq | Token::DoubleEq | Token::NotEq => {
            pos += 1;
            let value = match &tokens[pos] {
                Token::Ident(v) => {
                    pos += 1;
                    v.clone()
                }
                Token::End | Token::Comma => String::new(),
                t => return Err(format!("found '{}', expected: identifier", describe(t))),
            };
            let op = if op_token == Token::NotEq {
                Op::NotEquals(value)
            } else {
                Op::Equals(value)
            };
            Ok((Requirement { key, op }, pos))
        }
        Token::Gt | Token::Lt => {
            pos += 1;
            let n = match &tokens[pos] {
                Token::Ident(v) => v.parse::<i64>().map_err(|_| {
                    "for 'Gt', 'Lt' operators, the value must be an integer".to_string()
                })?,
                t => return Err(format!("found '{}', expected: identifier", describe(t))),
            };
            pos += 1;
            let op = if op_token == Token::Gt {
                Op::Greater(n)
            } else {
                Op::Less(n)
            };
            Ok((Requirement { key, op }, pos))
        }
        Token::Ident(ref w) if w == "in" || w == "notin" => {
            let not = w == "notin";
            pos += 1;
            if tokens[pos] != Token::Open {
                return Err(format!("found '{}', expected: '('", describe(&tokens[pos])));
            }
            pos += 1;
            let mut values = Vec::new();
            loop {
                match &tokens[pos] {
                    Token::Ident(v) => {
                        values.push(v.clone());
                        pos += 1;
                    }
                    Token::Close if values.is_empty() => {}
                    t => {
                        if values.is_empty() {
                            return Err(format!(
                                "found '{}', expected: ',', ')' or identifier",
                                describe(t)
                            ));
                        }
                    }
                }
                match &tokens[pos] {
                    Token::Comma => pos += 1,
                    Token::Close => {
                        pos += 1;
                        break;
                    }
                    t => return Err(format!("found '{}', expected: ',' or ')'", describe(t))),
                }
            }
            let op = if not {
                Op::NotIn(values)
            } else {
                Op::In(values)
            };
            Ok((Requirement { key, op }, pos))
        }
        t => Err(format!(
            "found '{}', expected: in, notin, =, ==, !=, gt, lt",
            describe(&t)
        )),
    }
}

/// A field selector: `metadata.name=x,metadata.namespace!=y` over the fields a kind supports.
#[derive(Debug, Clone, Default)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

/// Fields each kind can be selected on besides metadata.name and metadata.namespace.
fn extra_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "ReplicaSet" => &["status.replicas"],
        "Job" => &["status.successful"],
        _ => &[],
    }
}

impl FieldSelector {
    pub fn parse(input: &str, kind: &str) -> Result<FieldSelector, String> {
        let mut terms = Vec::new();
        for part in input.split(',').filter(|p| !p.trim().is_empty()) {
            let (field, negated, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, false, v)
            } else {
                return Err(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                ));
            };
            let field = field.trim().to_string();
            let known = field == "metadata.name"
                || field == "metadata.namespace"
                || extra_fields(kind).contains(&field.as_str());
            if !known {
                let mut names = vec![
                    "\"metadata.name\"".to_string(),
                    "\"metadata.namespace\"".to_string(),
                ];
                names.extend(extra_fields(kind).iter().map(|f| format!("{f:?}")));
                return Err(format!(
                    "{field:?} is not a known field selector: only {}",
                    names.join(", ")
                ));
            }
            terms.push((field, negated, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|(field, negated, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) != *negated
        })
    }

    /// The name a selector pins, if any (single-object watches).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_match_like_the_server() {
        let labels = json!({"app": "a", "tier": "x"});
        let cases = [
            ("app=a", true),
            ("app==a", true),
            ("app!=a", false),
            ("app in (a,b),tier!=y", true),
            ("app notin (a)", false),
            ("app", true),
            ("!app", false),
            ("missing", false),
            ("", true),
        ];
        for (sel, want) in cases {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(Some(&labels)),
                want,
                "{sel}"
            );
        }
    }

    #[test]
    fn malformed_selectors_are_refused_with_the_servers_words() {
        assert_eq!(
            LabelSelector::parse("app in (a").unwrap_err(),
            "found '', expected: ',' or ')'"
        );
        assert_eq!(
            FieldSelector::parse("data.n=cm-a", "ConfigMap").unwrap_err(),
            "\"data.n\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        let f = FieldSelector::parse("metadata.name!=b", "ConfigMap").unwrap();
        assert!(f.matches(&json!({"metadata": {"name": "a"}})));
    }
}
