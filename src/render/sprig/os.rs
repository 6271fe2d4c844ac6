//! What Sprig reads from the world, refused or emptied: skiff never shows a
//! repository its environment (`env` is empty, `expandenv` replaces every
//! variable with nothing) and resolves no names for it (`getHostByName` is
//! an error).

use crate::render::gotemplate::args::{count, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};

pub const TABLE: &[(&str, Func)] = &[
    ("env", env),
    ("expandenv", expandenv),
    ("getHostByName", get_host_by_name),
];

type R = Result<Value, FnError>;

fn env(_: &mut Exec, a: &[Value]) -> R {
    count("env", a, 1)?;
    string(a, 0)?;
    Ok(Value::str(""))
}

/// Go's `os.Expand` with every variable unset: `$NAME` and `${NAME}` go;
/// `$$` and a `$` before anything else keep Go's reading.
fn expandenv(_: &mut Exec, a: &[Value]) -> R {
    count("expandenv", a, 1)?;
    let s = string(a, 0)?;
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut start = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            out.push_str(&s[start..i]);
            let rest = &b[i + 1..];
            let width = if rest[0] == b'{' {
                match rest.iter().position(|&c| c == b'}') {
                    // `${}` is a bad name: Go drops the `${` and `}`.
                    Some(end) => end + 1,
                    None => 1,
                }
            } else if rest[0].is_ascii_alphanumeric() || rest[0] == b'_' {
                rest.iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count()
            } else if b"*#$@!?-".contains(&rest[0]) || rest[0].is_ascii_digit() {
                1
            } else {
                // A `$` before anything else is dropped with nothing after it.
                0
            };
            i += 1 + width;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[start..]);
    Ok(Value::str(&out))
}

fn get_host_by_name(_: &mut Exec, a: &[Value]) -> R {
    count("getHostByName", a, 1)?;
    Err(FnError::Call(format!(
        "skiff does not resolve host names for templates (asked for {:?})",
        string(a, 0)?
    )))
}

#[cfg(test)]
mod tests {
    use crate::render::sprig::tests::run;

    #[test]
    fn the_environment_is_never_shown_and_names_never_resolved() {
        // PATH is set in every process; a repository still never sees it.
        assert_eq!(run(r#"[{{ env "PATH" }}]"#).unwrap(), "[]");
        assert_eq!(
            run(r#"{{ expandenv "a $PATH b ${HOME} c $$ d $1 e" }}"#).unwrap(),
            "a  b  c  d  e"
        );
        let e = run(r#"{{ getHostByName "example.com" }}"#).unwrap_err();
        assert!(e.contains("skiff does not resolve host names"), "{e}");
    }
}
