//! Go's `fmt` for template values: `%v` of every kind (how an action prints
//! its value), `Sprint`, `Sprintln` and `Sprintf` with Go's verbs, flags,
//! width and precision, and Go's `%!verb(type=value)` for a mismatch.

use super::parse::go_quote;
use super::value::Value;

/// How an action prints a value (`%v`).
pub fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 'v', &Spec::default(), &mut Vec::new());
    out
}

/// Go's `fmt.Sprint`: spaces between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = |v: &Value| matches!(v, Value::String(_));
        if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&sprint_value(a));
    }
    out
}

/// Go's `fmt.Sprintln`: spaces always, a newline at the end.
pub fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(sprint_value).collect();
    format!("{}\n", parts.join(" "))
}

#[derive(Default, Clone)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut arg = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number_or_star(&mut chars, args, &mut arg, &mut out);
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            spec.prec = Some(number_or_star(&mut chars, args, &mut arg, &mut out).unwrap_or(0));
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(value) = args.get(arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        arg += 1;
        let mut s = String::new();
        write_value(&mut s, value, verb, &spec, &mut Vec::new());
        out.push_str(&s);
    }
    if arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[arg..]
            .iter()
            .map(|v| match v {
                Value::Nil => "<nil>".to_string(),
                v => format!("{}={}", v.type_name(), sprint_value(v)),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn number_or_star(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    args: &[Value],
    arg: &mut usize,
    out: &mut String,
) -> Option<usize> {
    if let Some(&(_, '*')) = chars.peek() {
        chars.next();
        let v = args.get(*arg);
        *arg += 1;
        return match v {
            Some(Value::Int(i, _)) if *i >= 0 => Some(*i as usize),
            _ => {
                out.push_str("%!(BADWIDTH)");
                None
            }
        };
    }
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(digit) = d.to_digit(10) else { break };
        n = Some(n.unwrap_or(0) * 10 + digit as usize);
        chars.next();
    }
    n
}

fn pad(out: &mut String, body: &str, spec: &Spec, numeric: bool) {
    let len = body.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(body);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        // Zeros go after the sign.
        let (sign, digits) = match body.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), &body[1..]),
            _ => (String::new(), body),
        };
        out.push_str(&sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    match v {
        Value::Nil => out.push_str(&format!("%!{verb}(<nil>)")),
        v => out.push_str(&format!("%!{verb}({}={})", v.type_name(), sprint_value(v))),
    }
}

/// The most text one value prints to: a map can hold itself, or share
/// itself so often (`dict "a" $d "b" $d` in a loop) that its text doubles
/// at each level; Go would print until memory runs out.
pub const MAX_PRINT: usize = 64 << 20;

/// Writes one value under one verb, as Go's `printValue` does. `path`
/// holds the maps being printed: one that holds itself prints `...` there.
fn write_value(out: &mut String, v: &Value, verb: char, spec: &Spec, path: &mut Vec<usize>) {
    if out.len() > MAX_PRINT {
        return;
    }
    if verb == 'T' {
        pad(out, &v.type_name(), spec, false);
        return;
    }
    match v {
        Value::Nil => match verb {
            'v' => pad(out, "<nil>", spec, false),
            _ => bad_verb(out, verb, v),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, &b.to_string(), spec, false),
            _ => bad_verb(out, verb, v),
        },
        Value::Int(i, _) => write_int(out, *i as i128, verb, spec, v),
        Value::Uint(u, _) => write_int(out, *u as i128, verb, spec, v),
        Value::Float(f) => write_float(out, *f, verb, spec, v),
        Value::String(s) => write_str(out, s, verb, spec, v),
        Value::Bytes(b) => match verb {
            's' | 'q' | 'x' | 'X' => {
                let text = String::from_utf8_lossy(b).into_owned();
                write_str(out, &text, verb, spec, v)
            }
            _ => {
                let items: Vec<Value> = b
                    .iter()
                    .map(|&x| Value::Uint(x as u64, super::value::UintType::Uint8))
                    .collect();
                write_list(out, &items, verb, spec, path)
            }
        },
        Value::List(items, _) => write_list(out, items, verb, spec, path),
        Value::Map(m) => {
            let id = std::rc::Rc::as_ptr(m) as usize;
            if path.contains(&id) || path.len() > super::value::MAX_DEPTH {
                out.push_str("...");
                return;
            }
            path.push(id);
            if spec.width.is_some() {
                // Padded as a whole: written apart first.
                let mut body = String::new();
                write_map(&mut body, &m.borrow(), verb, path);
                pad(out, &body, spec, false);
            } else {
                write_map(out, &m.borrow(), verb, path);
            }
            path.pop();
        }
        Value::Object(o) => match verb {
            'v' | 's' => pad(out, &o.display(), spec, false),
            _ => bad_verb(out, verb, v),
        },
    }
}

fn write_map(
    out: &mut String,
    m: &std::collections::BTreeMap<String, Value>,
    verb: char,
    path: &mut Vec<usize>,
) {
    out.push_str("map[");
    for (i, (k, val)) in m.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_str(out, k, verb, &Spec::default(), &Value::str(k));
        out.push(':');
        write_value(out, val, verb, &Spec::default(), path);
    }
    out.push(']');
}

fn write_list(out: &mut String, items: &[Value], verb: char, spec: &Spec, path: &mut Vec<usize>) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(out, item, verb, spec, path);
    }
    out.push(']');
}

fn write_str(out: &mut String, s: &str, verb: char, spec: &Spec, v: &Value) {
    let body = match verb {
        'v' | 's' => match spec.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        },
        'q' => {
            if spec.sharp && !s.contains('`') {
                format!("`{s}`")
            } else {
                go_quote(s)
            }
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            h
        }
        _ => {
            bad_verb(out, verb, v);
            return;
        }
    };
    pad(out, &body, spec, false);
}

fn write_int(out: &mut String, i: i128, verb: char, spec: &Spec, v: &Value) {
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let mag = i.unsigned_abs();
    let digits = match verb {
        'v' | 'd' => mag.to_string(),
        'x' => format!("{}{mag:x}", if spec.sharp { "0x" } else { "" }),
        'X' => format!("{}{mag:X}", if spec.sharp { "0X" } else { "" }),
        'o' => format!("{}{mag:o}", if spec.sharp { "0" } else { "" }),
        'O' => format!("0o{mag:o}"),
        'b' => format!("{mag:b}"),
        'c' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{FFFD}');
            pad(out, &c.to_string(), spec, false);
            return;
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{FFFD}');
            let quoted = match c {
                '\'' => "'\\''".to_string(),
                c => {
                    let q = go_quote(&c.to_string());
                    format!("'{}'", &q[1..q.len() - 1])
                }
            };
            pad(out, &quoted, spec, false);
            return;
        }
        'U' => {
            pad(out, &format!("U+{:04X}", i), spec, false);
            return;
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => {
            bad_verb(out, verb, v);
            return;
        }
        _ => {
            bad_verb(out, verb, v);
            return;
        }
    };
    let digits = match spec.prec {
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits,
    };
    pad(out, &format!("{sign}{digits}"), spec, spec.prec.is_none());
}

/// The shortest decimal digits of `f` (> 0) and its decimal point
/// position: `f = 0.DIGITS × 10^dp`.
fn shortest_digits(f: f64) -> (String, i32) {
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_string(), exp + 1)
}

/// Digits of `f` (> 0) rounded to `n` significant digits.
fn precise_digits(f: f64, n: usize) -> (String, i32) {
    let e = format!("{:.*e}", n.saturating_sub(1), f);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (digits, exp + 1)
}

fn exp_form(digits: &str, dp: i32, upper: bool, min_frac: Option<usize>) -> String {
    let mut s = String::new();
    s.push_str(&digits[..1]);
    let mut frac = digits[1..].to_string();
    if let Some(m) = min_frac {
        while frac.len() < m {
            frac.push('0');
        }
    }
    if !frac.is_empty() {
        s.push('.');
        s.push_str(&frac);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.abs()));
    s
}

fn fixed_form(digits: &str, dp: i32) -> String {
    if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

/// Go's `strconv.FormatFloat(f, 'g', prec, 64)` for a finite, positive `f`.
fn g_form(f: f64, prec: Option<usize>, upper: bool) -> String {
    let (digits, dp, eprec) = match prec {
        None => {
            let (d, dp) = shortest_digits(f);
            (d, dp, 6)
        }
        Some(p) => {
            let p = p.max(1);
            let (d, dp) = precise_digits(f, p);
            let d = d.trim_end_matches('0').to_string();
            let d = if d.is_empty() { "0".to_string() } else { d };
            let mut eprec = p as i32;
            if eprec > d.len() as i32 && d.len() as i32 >= dp {
                eprec = d.len() as i32;
            }
            (d, dp, eprec)
        }
    };
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        exp_form(&digits, dp, upper, None)
    } else {
        fixed_form(&digits, dp)
    }
}

/// Go's `strconv.FormatFloat(f, fmt, -1, 64)`: the shortest digits that
/// read back as `f`, in `e`, `f` or `g` form.
pub fn strconv_shortest(f: f64, fmt: char) -> String {
    if !f.is_finite() {
        return format_float(f, 'g', None);
    }
    let a = f.abs();
    let body = if a == 0.0 {
        match fmt {
            'e' => "0e+00".to_string(),
            _ => "0".to_string(),
        }
    } else {
        let (d, dp) = shortest_digits(a);
        match fmt {
            'e' => exp_form(&d, dp, false, None),
            'f' => fixed_form(&d, dp),
            _ => g_form(a, None, false),
        }
    };
    if f.is_sign_negative() && f != 0.0 {
        format!("-{body}")
    } else {
        body
    }
}

/// Go's formatting of a float64 under `%v`, `%e`, `%f`, `%g`.
pub fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let neg = f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative());
    let a = f.abs();
    let body = match verb {
        'e' | 'E' => {
            let p = prec.unwrap_or(6);
            if a == 0.0 {
                exp_form("0", 1, verb == 'E', Some(p))
            } else {
                let (d, dp) = precise_digits(a, p + 1);
                exp_form(&d, dp, verb == 'E', Some(p))
            }
        }
        'f' | 'F' => format!("{:.*}", prec.unwrap_or(6), a),
        _ => {
            if a == 0.0 {
                "0".into()
            } else {
                g_form(a, prec, verb == 'G')
            }
        }
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

fn write_float(out: &mut String, f: f64, verb: char, spec: &Spec, v: &Value) {
    let verb2 = match verb {
        'v' => 'g',
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => verb,
        _ => {
            bad_verb(out, verb, v);
            return;
        }
    };
    let mut body = format_float(f, verb2, spec.prec);
    if !body.starts_with('-') {
        if spec.plus {
            body.insert(0, '+');
        } else if spec.space {
            body.insert(0, ' ');
        }
    }
    pad(out, &body, spec, f.is_finite());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_go_prints_them() {
        let m = Value::map(
            [
                (
                    "b".to_string(),
                    Value::list(vec![Value::int(1), Value::Nil]),
                ),
                ("a".to_string(), Value::str("x")),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(sprint_value(&m), "map[a:x b:[1 <nil>]]");
        assert_eq!(sprint_value(&Value::Float(1e6)), "1e+06");
        assert_eq!(sprint_value(&Value::Float(100000.0)), "100000");
        assert_eq!(sprint_value(&Value::Float(0.0001)), "0.0001");
        assert_eq!(sprint_value(&Value::Float(0.00001)), "1e-05");
        assert_eq!(sprint_value(&Value::Float(1.5)), "1.5");
        assert_eq!(sprint_value(&Value::Float(123456789.0)), "1.23456789e+08");
        assert_eq!(sprint_value(&Value::Float(-3.0)), "-3");
    }

    #[test]
    fn sprintf_verbs_flags_and_mismatches() {
        let args = |v: Vec<Value>| v;
        assert_eq!(
            sprintf(
                "%d|%5d|%-4d|%05d|%x|%X|%o|%b",
                &args(vec![
                    Value::int(42),
                    Value::int(42),
                    Value::int(7),
                    Value::int(-42),
                    Value::int(255),
                    Value::int(255),
                    Value::int(8),
                    Value::int(5)
                ])
            ),
            "42|   42|7   |-0042|ff|FF|10|101"
        );
        assert_eq!(
            sprintf(
                "%s %q %v %T",
                &args(vec![
                    Value::str("a"),
                    Value::str("b\n"),
                    Value::Bool(true),
                    Value::Float(1.0)
                ])
            ),
            "a \"b\\n\" true float64"
        );
        assert_eq!(
            sprintf(
                "%5.2f %e %g %.3g",
                &args(vec![
                    Value::Float(2.53781),
                    Value::Float(1234.5678),
                    Value::Float(0.000012),
                    Value::Float(2.53781)
                ])
            ),
            " 2.54 1.234568e+03 1.2e-05 2.54"
        );
        assert_eq!(sprintf("%d", &[Value::Float(3.0)]), "%!d(float64=3)");
        assert_eq!(sprintf("%s", &[Value::int(3)]), "%!s(int=3)");
        assert_eq!(sprintf("%d %d", &[Value::int(1)]), "1 %!d(MISSING)");
        assert_eq!(
            sprintf("%d", &[Value::int(1), Value::str("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(
            sprintf(
                "%c%c %q %U",
                &[
                    Value::int(104),
                    Value::int(105),
                    Value::int(97),
                    Value::int(0x1F600)
                ]
            ),
            "hi 'a' U+1F600"
        );
        assert_eq!(sprintf("100%%", &[]), "100%");
        assert_eq!(sprintf("%x", &[Value::str("hi")]), "6869");
        assert_eq!(sprintf("%v", &[Value::Nil]), "<nil>");
        assert_eq!(
            sprintf("%s", &[Value::strings(vec!["a".into(), "b".into()])]),
            "[a b]"
        );
    }

    #[test]
    fn print_spaces_between_operands_that_are_not_strings() {
        assert_eq!(
            sprint(&[Value::int(1), Value::int(2), Value::str("a"), Value::int(3)]),
            "1 2a3"
        );
        assert_eq!(sprintln(&[Value::str("a"), Value::str("b")]), "a b\n");
    }
}
