//! Go's `encoding/json` form of a string, shared by kustomize's generator
//! hash (which hashes what Go's `json.Marshal` writes) and Sprig's JSON
//! functions: `\"`, `\\`, `\n`, `\r`, `\t`, other control characters and
//! U+2028/U+2029 as `\u00XX`, and `<`, `>`, `&` too unless `escape_html`
//! is off (Sprig's `toRawJson`).

pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
