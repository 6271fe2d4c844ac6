//! Go's `text/template` lexer (`parse/lex.go`): text and actions between
//! `{{` and `}}`, trim markers (`{{- ` and ` -}}`), comments, and the items
//! inside an action. Items carry their byte offset for error positions.

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    /// `(`, `)`, `,`, `|`, `=`, `:=`.
    LeftParen,
    RightParen,
    Comma,
    Pipe,
    Assign,
    Declare,
    /// `.Field` (the name without its dot).
    Field(String),
    /// `$` or `$name` (with its `$`).
    Variable(String),
    Identifier(String),
    Dot,
    Nil,
    Bool(bool),
    /// A number literal as written.
    Number(String),
    /// A character constant as written, quotes included.
    Char(String),
    /// A string's value (escapes resolved).
    Str(String),
    Keyword(Keyword),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lexed {
    pub item: Item,
    pub pos: usize,
}

/// A lexing error with its byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub pos: usize,
    pub message: String,
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Lexes a whole template.
pub fn lex(text: &str) -> Result<Vec<Lexed>, LexError> {
    let mut l = Lexer {
        text,
        pos: 0,
        items: Vec::new(),
        paren_depth: 0,
    };
    l.run()?;
    Ok(l.items)
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    items: Vec<Lexed>,
    paren_depth: usize,
}

impl Lexer<'_> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos,
            message: message.into(),
        })
    }

    fn emit(&mut self, item: Item, pos: usize) {
        self.items.push(Lexed { item, pos });
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut trim_next_text = false;
        loop {
            let start = self.pos;
            let Some(at) = self.rest().find(LEFT) else {
                let mut text = &self.text[start..];
                if trim_next_text {
                    text = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
                }
                if !text.is_empty() {
                    let pos = self.text.len() - text.len();
                    self.emit(Item::Text(text.to_string()), pos);
                }
                return Ok(());
            };
            let delim = start + at;
            let after = &self.text[delim + LEFT.len()..];
            let trim_left =
                after.len() >= 2 && after.as_bytes()[0] == b'-' && is_space(after.as_bytes()[1]);
            let mut text = &self.text[start..delim];
            let mut text_pos = start;
            if trim_next_text {
                let trimmed = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
                text_pos += text.len() - trimmed.len();
                text = trimmed;
            }
            if trim_left {
                text = text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
            }
            if !text.is_empty() {
                self.emit(Item::Text(text.to_string()), text_pos);
            }
            self.pos = delim + LEFT.len() + if trim_left { 2 } else { 0 };
            trim_next_text = self.left_delim(delim)?;
        }
    }

    /// After `{{` (and its trim marker): a comment or an action. Returns
    /// whether the text after the closing delimiter is trimmed.
    fn left_delim(&mut self, delim: usize) -> Result<bool, LexError> {
        if self.rest().starts_with("/*") {
            let Some(end) = self.rest().find("*/") else {
                return self.err(delim, "unclosed comment");
            };
            self.pos += end + 2;
            let (trim, len) = self.right_delim_here();
            if len == 0 {
                return self.err(delim, "comment ends before closing delimiter");
            }
            self.pos += len;
            return Ok(trim);
        }
        self.emit(Item::LeftDelim, delim);
        self.paren_depth = 0;
        self.inside_action(delim)
    }

    /// Whether a right delimiter (with or without its trim marker) starts
    /// here: (trim, length), length 0 when none does.
    fn right_delim_here(&self) -> (bool, usize) {
        let r = self.rest().as_bytes();
        if r.len() >= 2 + RIGHT.len()
            && is_space(r[0])
            && r[1] == b'-'
            && self.rest()[2..].starts_with(RIGHT)
        {
            return (true, 2 + RIGHT.len());
        }
        if self.rest().starts_with(RIGHT) {
            return (false, RIGHT.len());
        }
        (false, 0)
    }

    fn inside_action(&mut self, delim: usize) -> Result<bool, LexError> {
        loop {
            let (trim, len) = self.right_delim_here();
            if len > 0 {
                if self.paren_depth > 0 {
                    return self.err(self.pos, "unclosed left paren");
                }
                let pos = self.pos + if trim { 2 } else { 0 };
                self.pos += len;
                self.emit(Item::RightDelim, pos);
                return Ok(trim);
            }
            let start = self.pos;
            let Some(c) = self.peek() else {
                return self.err(delim, "unclosed action");
            };
            match c {
                c if c.is_ascii() && is_space(c as u8) => {
                    while self
                        .peek()
                        .is_some_and(|c| c.is_ascii() && is_space(c as u8))
                        && self.right_delim_here().1 == 0
                    {
                        self.pos += 1;
                    }
                    self.emit(Item::Space, start);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Item::Assign, start);
                }
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return self.err(start, "expected :=");
                    }
                    self.pos += 2;
                    self.emit(Item::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Item::Pipe, start);
                }
                '"' => self.quote(start)?,
                '`' => self.raw_quote(start)?,
                '$' => {
                    self.pos += 1;
                    let name = self.word();
                    self.check_terminator(start)?;
                    self.emit(Item::Variable(format!("${name}")), start);
                }
                '\'' => self.char_constant(start)?,
                '.' => {
                    let next = self.rest()[1..].chars().next();
                    if next.is_some_and(|n| n.is_ascii_digit()) {
                        self.number(start)?;
                    } else {
                        self.pos += 1;
                        let name = self.word();
                        if name.is_empty() {
                            self.emit(Item::Dot, start);
                        } else {
                            self.check_terminator(start)?;
                            self.emit(Item::Field(name), start);
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.number(start)?,
                c if is_alnum(c) => {
                    let word = self.word();
                    self.check_terminator(start)?;
                    let item = match word.as_str() {
                        "true" => Item::Bool(true),
                        "false" => Item::Bool(false),
                        "nil" => Item::Nil,
                        "block" => Item::Keyword(Keyword::Block),
                        "break" => Item::Keyword(Keyword::Break),
                        "continue" => Item::Keyword(Keyword::Continue),
                        "define" => Item::Keyword(Keyword::Define),
                        "else" => Item::Keyword(Keyword::Else),
                        "end" => Item::Keyword(Keyword::End),
                        "if" => Item::Keyword(Keyword::If),
                        "range" => Item::Keyword(Keyword::Range),
                        "template" => Item::Keyword(Keyword::Template),
                        "with" => Item::Keyword(Keyword::With),
                        _ => Item::Identifier(word),
                    };
                    self.emit(item, start);
                }
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    self.emit(Item::LeftParen, start);
                }
                ')' => {
                    self.pos += 1;
                    if self.paren_depth == 0 {
                        return self.err(start, "unexpected right paren");
                    }
                    self.paren_depth -= 1;
                    self.emit(Item::RightParen, start);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Item::Comma, start);
                }
                c => {
                    return self.err(
                        start,
                        format!("unrecognized character in action: {}", go_quote_rune(c)),
                    );
                }
            }
        }
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_alnum) {
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
        self.text[start..self.pos].to_string()
    }

    /// After a field, variable or word: what may follow it.
    fn check_terminator(&self, start: usize) -> Result<(), LexError> {
        let Some(c) = self.peek() else {
            return Ok(());
        };
        if (c.is_ascii() && is_space(c as u8))
            || matches!(c, '.' | ',' | '|' | ':' | ')' | '(')
            || self.right_delim_here().1 > 0
        {
            return Ok(());
        }
        self.err(start, format!("bad character {}", go_quote_rune(c)))
    }

    fn number(&mut self, start: usize) -> Result<(), LexError> {
        let b = self.rest().as_bytes();
        let mut i = 0;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let mut digits: &[u8] = b"0123456789_";
        let mut exp: &[u8] = b"eE";
        if b.len() > i + 1 && b[i] == b'0' {
            match b[i + 1] {
                b'x' | b'X' => {
                    i += 2;
                    digits = b"0123456789abcdefABCDEF_";
                    exp = b"pP";
                }
                b'o' | b'O' => {
                    i += 2;
                    digits = b"01234567_";
                    exp = b"";
                }
                b'b' | b'B' => {
                    i += 2;
                    digits = b"01_";
                    exp = b"";
                }
                _ => {}
            }
        }
        while i < b.len() && digits.contains(&b[i]) {
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && digits.contains(&b[i]) {
                i += 1;
            }
        }
        if !exp.is_empty() && i < b.len() && exp.contains(&b[i]) {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                i += 1;
            }
        }
        if i < b.len() && b[i] == b'i' {
            i += 1;
        }
        let text = self.rest()[..i].to_string();
        let next = self.rest()[i..].chars().next();
        if next.is_some_and(is_alnum) || text.is_empty() || text == "+" || text == "-" {
            let bad_end = i + next.map_or(0, char::len_utf8);
            let bad = &self.rest()[..bad_end.min(self.rest().len())];
            return self.err(start, format!("bad number syntax: {:?}", bad));
        }
        self.pos += i;
        self.emit(Item::Number(text), start);
        Ok(())
    }

    /// The offset of the quote closing the one at the start of the rest
    /// (escapes skipped); a line break or the end first is `unterminated`.
    fn closing(&self, start: usize, quote: u8, what: &str) -> Result<usize, LexError> {
        let b = self.rest().as_bytes();
        let mut i = 1;
        loop {
            match b.get(i) {
                None | Some(b'\n') => return self.err(start, format!("unterminated {what}")),
                Some(b'\\') => i += 2,
                Some(c) if *c == quote => return Ok(i),
                Some(_) => i += 1,
            }
        }
    }

    fn quote(&mut self, start: usize) -> Result<(), LexError> {
        let i = self.closing(start, b'"', "quoted string")?;
        let raw = &self.rest()[..=i];
        let value = unquote(raw).map_err(|m| LexError {
            pos: start,
            message: m,
        })?;
        self.pos += i + 1;
        self.emit(Item::Str(value), start);
        Ok(())
    }

    fn raw_quote(&mut self, start: usize) -> Result<(), LexError> {
        let Some(end) = self.rest()[1..].find('`') else {
            return self.err(start, "unterminated raw quoted string");
        };
        let value = self.rest()[1..1 + end].replace('\r', "");
        self.pos += end + 2;
        self.emit(Item::Str(value), start);
        Ok(())
    }

    fn char_constant(&mut self, start: usize) -> Result<(), LexError> {
        let i = self.closing(start, b'\'', "character constant")?;
        let text = self.rest()[..=i].to_string();
        self.pos += i + 1;
        self.emit(Item::Char(text), start);
        Ok(())
    }
}

/// Go's `%#U`-like rendering used in lexer errors: `U+0026 '&'`.
fn go_quote_rune(c: char) -> String {
    format!("U+{:04X} '{c}'", c as u32)
}

/// Go's `strconv.Unquote` for a double-quoted string.
pub fn unquote(raw: &str) -> Result<String, String> {
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or("invalid syntax")?;
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| "invalid syntax")?;
                if e == 'x' {
                    // A byte: Go strings hold bytes; as text, a byte above
                    // 0x7f is not valid UTF-8 on its own.
                    out.push(char::from_u32(v).ok_or("invalid syntax")?);
                } else {
                    out.push(char::from_u32(v).ok_or("invalid syntax")?);
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars
                        .next()
                        .and_then(|c| c.to_digit(8))
                        .ok_or("invalid syntax")?;
                    v = v * 8 + d;
                }
                out.push(char::from_u32(v).ok_or("invalid syntax")?);
            }
            _ => return Err("invalid syntax".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<Item> {
        lex(text).unwrap().into_iter().map(|l| l.item).collect()
    }

    #[test]
    fn text_actions_and_trim_markers() {
        assert_eq!(
            items("a  {{- .X.y -}}  b"),
            [
                Item::Text("a".into()),
                Item::LeftDelim,
                Item::Field("X".into()),
                Item::Field("y".into()),
                // The one space before a trim marker belongs to it.
                Item::RightDelim,
                Item::Text("b".into()),
            ]
        );
        // `{{-3}}` is the number -3, not a trim marker.
        assert_eq!(
            items("{{-3}}"),
            [Item::LeftDelim, Item::Number("-3".into()), Item::RightDelim]
        );
        assert_eq!(
            items("x {{/* c */}} y"),
            [Item::Text("x ".into()), Item::Text(" y".into())]
        );
        assert_eq!(
            items("x {{- /* c */ -}} y"),
            [Item::Text("x".into()), Item::Text("y".into())]
        );
    }

    #[test]
    fn operands_of_an_action() {
        assert_eq!(
            items(r#"{{ $x := printf "a\tb" `r` 'c' 0x1F 1e3 | f (nil) }}"#),
            [
                Item::LeftDelim,
                Item::Space,
                Item::Variable("$x".into()),
                Item::Space,
                Item::Declare,
                Item::Space,
                Item::Identifier("printf".into()),
                Item::Space,
                Item::Str("a\tb".into()),
                Item::Space,
                Item::Str("r".into()),
                Item::Space,
                Item::Char("'c'".into()),
                Item::Space,
                Item::Number("0x1F".into()),
                Item::Space,
                Item::Number("1e3".into()),
                Item::Space,
                Item::Pipe,
                Item::Space,
                Item::Identifier("f".into()),
                Item::Space,
                Item::LeftParen,
                Item::Nil,
                Item::RightParen,
                Item::Space,
                Item::RightDelim,
            ]
        );
    }

    #[test]
    fn errors_carry_their_offset() {
        assert_eq!(lex("ab {{ .x").unwrap_err().message, "unclosed action");
        assert_eq!(
            lex("{{ 3x }}").unwrap_err().message,
            "bad number syntax: \"3x\""
        );
        assert_eq!(
            lex("{{ ) }}").unwrap_err().message,
            "unexpected right paren"
        );
        assert_eq!(lex("{{ \"a }}").unwrap_err().pos, 3);
        assert_eq!(lex("{{/* x }}").unwrap_err().message, "unclosed comment");
    }
}
