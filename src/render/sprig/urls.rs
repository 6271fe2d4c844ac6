//! Sprig's `urlParse` (a dict of Go's `url.URL` parts) and `urlJoin` (the
//! reverse), reading URLs as Go's `net/url` does for the shapes charts use.

use super::strval;
use crate::render::gotemplate::args::{count, map, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};
use std::collections::BTreeMap;

pub const TABLE: &[(&str, Func)] = &[("urlParse", url_parse), ("urlJoin", url_join)];

type R = Result<Value, FnError>;

/// `%XX` decoded (Go's `unescape` for a path or fragment).
fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).filter(|h| h.len() == 2);
            let v = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("invalid URL escape {:?}", &s[i..(i + 3).min(s.len())]))?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `shouldEscape` for a path: what `URL.String` writes as `%XX`.
fn escape_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@!*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Url {
    scheme: String,
    opaque: String,
    user: String,
    host: String,
    path: String,
    query: String,
    fragment: String,
}

fn parse(raw: &str) -> Result<Url, String> {
    let (rest, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, unescape(f)?),
        None => (raw, String::new()),
    };
    let mut u = Url {
        scheme: String::new(),
        opaque: String::new(),
        user: String::new(),
        host: String::new(),
        path: String::new(),
        query: String::new(),
        fragment,
    };
    let mut rest = rest.to_string();
    if let Some(i) = rest.find(':') {
        let scheme = &rest[..i];
        if !scheme.is_empty()
            && scheme.as_bytes()[0].is_ascii_alphabetic()
            && scheme
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
        {
            u.scheme = scheme.to_ascii_lowercase();
            rest = rest[i + 1..].to_string();
        } else if i == 0 {
            return Err(format!("parse {raw:?}: missing protocol scheme"));
        }
    }
    if let Some((r, q)) = rest.split_once('?') {
        u.query = q.to_string();
        rest = r.to_string();
    }
    if !u.scheme.is_empty() && !rest.starts_with('/') {
        u.opaque = rest;
        return Ok(u);
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (user.to_string(), host),
            None => (String::new(), authority),
        };
        u.user = user;
        u.host = host.to_string();
        rest = after[end..].to_string();
    }
    u.path = unescape(&rest)?;
    Ok(u)
}

fn url_parse(_: &mut Exec, a: &[Value]) -> R {
    count("urlParse", a, 1)?;
    let raw = string(a, 0)?;
    let u = parse(raw).map_err(|e| FnError::Call(format!("unable to parse url: {e}")))?;
    let hostname = match u.host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or("").to_string(),
        None => u
            .host
            .rsplit_once(':')
            .map_or(u.host.clone(), |(h, _)| h.to_string()),
    };
    let entries = [
        ("scheme", u.scheme),
        ("host", u.host.clone()),
        ("hostname", hostname),
        ("path", u.path),
        ("query", u.query),
        ("opaque", u.opaque),
        ("fragment", u.fragment),
        ("userinfo", u.user),
    ];
    let m: BTreeMap<String, Value> = entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::str(&v)))
        .collect();
    Ok(Value::map(m))
}

/// Go's `URL.String`.
fn url_join(e: &mut Exec, a: &[Value]) -> R {
    count("urlJoin", a, 1)?;
    let d = map(e, a, 0)?;
    let get = |k: &str| -> String {
        d.and_then(|d| d.borrow().get(k).map(strval))
            .unwrap_or_default()
    };
    let (scheme, host, path) = (get("scheme"), get("host"), get("path"));
    let (query, opaque, fragment, user) = (
        get("query"),
        get("opaque"),
        get("fragment"),
        get("userinfo"),
    );
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || !user.is_empty() {
            if !host.is_empty() || !path.is_empty() || !user.is_empty() {
                out.push_str("//");
            }
            if !user.is_empty() {
                out.push_str(&user);
                out.push('@');
            }
            out.push_str(&host);
        }
        let escaped = escape_path(&path);
        if !escaped.is_empty() && !escaped.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&escaped);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&escape_path(&fragment));
    }
    Ok(Value::str(&out))
}
