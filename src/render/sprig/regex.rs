//! Sprig's regular expressions, Go's RE2 syntax through the `regex` crate
//! (RE2's design): a bad pattern fails the call in every form (Sprig's
//! plain forms panic, which Go reports the same way).

use crate::render::gotemplate::args::{count, int, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};

pub const TABLE: &[(&str, Func)] = &[
    ("regexMatch", regex_match),
    ("mustRegexMatch", must_regex_match),
    ("regexFindAll", regex_find_all),
    ("mustRegexFindAll", regex_find_all),
    ("regexFind", regex_find),
    ("mustRegexFind", regex_find),
    ("regexReplaceAll", regex_replace_all),
    ("mustRegexReplaceAll", regex_replace_all),
    ("regexReplaceAllLiteral", regex_replace_all_literal),
    ("mustRegexReplaceAllLiteral", regex_replace_all_literal),
    ("regexSplit", regex_split),
    ("mustRegexSplit", regex_split),
    ("regexQuoteMeta", regex_quote_meta),
];

type R = Result<Value, FnError>;

/// Go's `regexp.Compile` error (the reason in the regex crate's words).
fn parse_error(pattern: &str, e: &regex::Error) -> String {
    let reason = e.to_string();
    let last = reason.lines().last().unwrap_or("").trim().to_string();
    let last = last.strip_prefix("error: ").unwrap_or(&last);
    // RE2's names for the common mistakes.
    let code = match last {
        "unclosed group" => "missing closing )",
        "unopened group" => "unexpected )",
        "unclosed character class" => "missing closing ]",
        "repetition operator missing expression" => "missing argument to repetition operator",
        "unrecognized escape sequence" => "invalid escape sequence",
        other => other,
    };
    format!("error parsing regexp: {code}: `{pattern}`")
}

/// `regexp.MustCompile`, whose panic the template reports.
fn compile(pattern: &str) -> Result<regex::Regex, FnError> {
    regex::Regex::new(pattern).map_err(|e| {
        FnError::Call(format!(
            "regexp: Compile(`{pattern}`): {}",
            parse_error(pattern, &e)
        ))
    })
}

/// `regexMatch` reads a bad pattern as no match.
fn regex_match(_: &mut Exec, a: &[Value]) -> R {
    count("regexMatch", a, 2)?;
    let matched =
        regex::Regex::new(string(a, 0)?).is_ok_and(|re| re.is_match(string(a, 1).unwrap_or("")));
    Ok(Value::Bool(matched))
}

fn must_regex_match(_: &mut Exec, a: &[Value]) -> R {
    count("mustRegexMatch", a, 2)?;
    let pattern = string(a, 0)?;
    let re = regex::Regex::new(pattern).map_err(|e| FnError::Call(parse_error(pattern, &e)))?;
    Ok(Value::Bool(re.is_match(string(a, 1)?)))
}

fn regex_find(_: &mut Exec, a: &[Value]) -> R {
    count("regexFind", a, 2)?;
    let re = compile(string(a, 0)?)?;
    Ok(Value::str(
        re.find(string(a, 1)?).map_or("", |m| m.as_str()),
    ))
}

fn regex_find_all(_: &mut Exec, a: &[Value]) -> R {
    count("regexFindAll", a, 3)?;
    let re = compile(string(a, 0)?)?;
    let (s, n) = (string(a, 1)?, int(a, 2)?);
    let found = re.find_iter(s).map(|m| m.as_str().to_string());
    let found: Vec<String> = if n < 0 {
        found.collect()
    } else {
        found.take(n as usize).collect()
    };
    Ok(Value::strings(found))
}

/// Go's `Expand` template: `$1`, `${1}`, `$name`, `${name}`, `$$`; the
/// regex crate reads the same syntax.
fn regex_replace_all(_: &mut Exec, a: &[Value]) -> R {
    count("regexReplaceAll", a, 3)?;
    let re = compile(string(a, 0)?)?;
    Ok(Value::str(&re.replace_all(string(a, 1)?, string(a, 2)?)))
}

fn regex_replace_all_literal(_: &mut Exec, a: &[Value]) -> R {
    count("regexReplaceAllLiteral", a, 3)?;
    let re = compile(string(a, 0)?)?;
    Ok(Value::str(&re.replace_all(
        string(a, 1)?,
        regex::NoExpand(string(a, 2)?),
    )))
}

fn regex_split(_: &mut Exec, a: &[Value]) -> R {
    count("regexSplit", a, 3)?;
    let re = compile(string(a, 0)?)?;
    let (s, n) = (string(a, 1)?, int(a, 2)?);
    if n == 0 {
        return Ok(Value::strings(Vec::new()));
    }
    let parts: Vec<String> = if n < 0 {
        re.split(s).map(String::from).collect()
    } else {
        re.splitn(s, n as usize).map(String::from).collect()
    };
    Ok(Value::strings(parts))
}

fn regex_quote_meta(_: &mut Exec, a: &[Value]) -> R {
    count("regexQuoteMeta", a, 1)?;
    // Go's QuoteMeta escapes fewer characters than regex::escape.
    let mut out = String::new();
    for c in string(a, 0)?.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::str(&out))
}
