//! Sprig's dates: a `time.Time` value (an [`Object`] over a jiff zoned
//! time) and Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`) to
//! write and read it: `now`, `date`, `dateInZone`, `htmlDate`, `toDate`,
//! `unixEpoch`, `dateModify`, `duration`, `durationRound`, `ago`.

use crate::render::gotemplate::args::{count, string};
use crate::render::gotemplate::{Exec, FnError, Func, IntType, Object, Value};
use jiff::{tz::TimeZone, Timestamp, Zoned};
use std::rc::Rc;

pub const TABLE: &[(&str, Func)] = &[
    ("now", now),
    ("date", date),
    ("dateInZone", date_in_zone),
    ("date_in_zone", date_in_zone),
    ("htmlDate", html_date),
    ("htmlDateInZone", html_date_in_zone),
    ("toDate", to_date),
    ("mustToDate", must_to_date),
    ("unixEpoch", unix_epoch),
    ("dateModify", date_modify),
    ("date_modify", date_modify),
    ("mustDateModify", must_date_modify),
    ("must_date_modify", must_date_modify),
    ("duration", duration),
    ("durationRound", duration_round),
    ("ago", ago),
];

type R = Result<Value, FnError>;

/// A Go `time.Time`.
#[derive(Debug, Clone)]
pub struct Time(pub Zoned);

impl Object for Time {
    fn type_name(&self) -> String {
        "time.Time".into()
    }

    fn field(&self, name: &str) -> Option<Value> {
        let t = &self.0;
        Some(match name {
            "Year" => Value::int(t.year() as i64),
            "Day" => Value::int(t.day() as i64),
            "Hour" => Value::int(t.hour() as i64),
            "Minute" => Value::int(t.minute() as i64),
            "Second" => Value::int(t.second() as i64),
            "Unix" => Value::int64(t.timestamp().as_second()),
            "UnixNano" => Value::int64(t.timestamp().as_nanosecond() as i64),
            "UTC" => time_value(t.with_time_zone(TimeZone::UTC)),
            "String" => Value::str(&self.display()),
            _ => return None,
        })
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match (name, args) {
            ("Format", [Value::String(layout)]) => Some(Ok(Value::str(&format(&self.0, layout)))),
            _ => None,
        }
    }

    fn display(&self) -> String {
        format(&self.0, "2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

fn time_value(z: Zoned) -> Value {
    Value::Object(Rc::new(Time(z)))
}

fn local() -> TimeZone {
    TimeZone::try_system().unwrap_or(TimeZone::UTC)
}

/// The time a `date` argument names: a time, Unix seconds as an `int`,
/// `int32` or `int64`; anything else is now (as in Sprig).
fn time_of(v: &Value) -> Zoned {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => match o.field("UnixNano") {
            Some(Value::Int(n, _)) => Timestamp::from_nanosecond(n as i128)
                .map(|t| t.to_zoned(local()))
                .unwrap_or_else(|_| Zoned::now()),
            _ => Zoned::now(),
        },
        Value::Int(s, IntType::Int | IntType::Int32 | IntType::Int64) => Timestamp::from_second(*s)
            .map(|t| t.to_zoned(local()))
            .unwrap_or_else(|_| Zoned::now()),
        _ => Zoned::now(),
    }
}

fn zone(name: &str) -> TimeZone {
    match name {
        "Local" | "" => local(),
        "UTC" => TimeZone::UTC,
        n => TimeZone::get(n).unwrap_or(TimeZone::UTC),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One element of a Go layout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// Offsets: (Z for UTC, colons, seconds, hours only).
    Offset(bool, bool, bool, bool),
    /// Fractional seconds: digits, trailing zeros dropped.
    Frac(usize, bool),
}

fn lower_next(rest: &str) -> bool {
    rest.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// Go's `nextStdChunk`: the element at the start of `s` and its length.
fn std_at(s: &str) -> Option<(Std, usize)> {
    let b = s.as_bytes();
    let starts = |p: &str| s.starts_with(p);
    Some(match b[0] {
        b'J' if starts("January") => (Std::LongMonth, 7),
        b'J' if starts("Jan") && !lower_next(&s[3..]) => (Std::Month, 3),
        b'M' if starts("Monday") => (Std::LongWeekDay, 6),
        b'M' if starts("Mon") && !lower_next(&s[3..]) => (Std::WeekDay, 3),
        b'M' if starts("MST") => (Std::TZ, 3),
        b'0' if starts("002") => (Std::ZeroYearDay, 3),
        b'0' if b.len() > 1 && (b'1'..=b'6').contains(&b[1]) => (
            match b[1] {
                b'1' => Std::ZeroMonth,
                b'2' => Std::ZeroDay,
                b'3' => Std::ZeroHour12,
                b'4' => Std::ZeroMinute,
                b'5' => Std::ZeroSecond,
                _ => Std::Year,
            },
            2,
        ),
        b'1' if starts("15") => (Std::Hour, 2),
        b'1' => (Std::NumMonth, 1),
        b'2' if starts("2006") => (Std::LongYear, 4),
        b'2' => (Std::Day, 1),
        b'_' if starts("__2") => (Std::UnderYearDay, 3),
        b'_' if starts("_2") && !starts("_2006") => (Std::UnderDay, 2),
        b'3' => (Std::Hour12, 1),
        b'4' => (Std::Minute, 1),
        b'5' => (Std::Second, 1),
        b'P' if starts("PM") => (Std::PM, 2),
        b'p' if starts("pm") => (Std::Pm, 2),
        b'-' | b'Z' => {
            let z = b[0] == b'Z';
            let body = &s[1..];
            let forms = [
                ("070000", false, true, false, 7),
                ("07:00:00", true, true, false, 9),
                ("0700", false, false, false, 5),
                ("07:00", true, false, false, 6),
                ("07", false, false, true, 3),
            ];
            let (_, colon, secs, hours, len) = forms.into_iter().find(|f| body.starts_with(f.0))?;
            (Std::Offset(z, colon, secs, hours), len)
        }
        b'.' | b',' if b.len() > 1 && (b[1] == b'0' || b[1] == b'9') => {
            let ch = b[1];
            let n = b[1..].iter().take_while(|&&c| c == ch).count();
            if b.get(1 + n).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            (Std::Frac(n, ch == b'9'), 1 + n)
        }
        _ => return None,
    })
}

/// Go's `Time.Format`.
pub fn format(t: &Zoned, layout: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < layout.len() {
        let rest = &layout[i..];
        match std_at(rest) {
            Some((std, len)) => {
                write_std(&mut out, t, std);
                i += len;
            }
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

fn write_std(out: &mut String, t: &Zoned, std: Std) {
    let h12 = |h: i8| if h % 12 == 0 { 12 } else { h % 12 };
    let s = match std {
        Std::LongMonth => MONTHS[t.month() as usize - 1].to_string(),
        Std::Month => MONTHS[t.month() as usize - 1][..3].to_string(),
        Std::NumMonth => t.month().to_string(),
        Std::ZeroMonth => format!("{:02}", t.month()),
        Std::LongWeekDay => DAYS[t.weekday().to_sunday_zero_offset() as usize].to_string(),
        Std::WeekDay => DAYS[t.weekday().to_sunday_zero_offset() as usize][..3].to_string(),
        Std::Day => t.day().to_string(),
        Std::UnderDay => format!("{:>2}", t.day()),
        Std::ZeroDay => format!("{:02}", t.day()),
        Std::UnderYearDay => format!("{:>3}", t.day_of_year()),
        Std::ZeroYearDay => format!("{:03}", t.day_of_year()),
        Std::Hour => format!("{:02}", t.hour()),
        Std::Hour12 => h12(t.hour()).to_string(),
        Std::ZeroHour12 => format!("{:02}", h12(t.hour())),
        Std::Minute => t.minute().to_string(),
        Std::ZeroMinute => format!("{:02}", t.minute()),
        Std::Second => t.second().to_string(),
        Std::ZeroSecond => format!("{:02}", t.second()),
        Std::LongYear => format!("{:04}", t.year()),
        Std::Year => format!("{:02}", t.year().rem_euclid(100)),
        Std::PM => if t.hour() >= 12 { "PM" } else { "AM" }.to_string(),
        Std::Pm => if t.hour() >= 12 { "pm" } else { "am" }.to_string(),
        Std::TZ => {
            let abbr = t
                .time_zone()
                .to_offset_info(t.timestamp())
                .abbreviation()
                .to_string();
            if abbr.is_empty() || abbr.starts_with(['+', '-']) {
                offset_text(t, false, false, false, false)
            } else {
                abbr
            }
        }
        Std::Offset(z, colon, secs, hours) => offset_text(t, z, colon, secs, hours),
        Std::Frac(n, trim) => {
            let nanos = format!("{:09}", t.subsec_nanosecond());
            let digits = &nanos[..n.min(9)];
            if trim {
                let d = digits.trim_end_matches('0');
                if d.is_empty() {
                    String::new()
                } else {
                    format!(".{d}")
                }
            } else {
                format!(".{digits}")
            }
        }
    };
    out.push_str(&s);
}

fn offset_text(t: &Zoned, z: bool, colon: bool, secs: bool, hours: bool) -> String {
    let off = t.offset().seconds();
    if z && off == 0 {
        return "Z".into();
    }
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    let sep = if colon { ":" } else { "" };
    let mut out = format!("{sign}{h:02}");
    if !hours {
        out.push_str(&format!("{sep}{m:02}"));
    }
    if secs {
        out.push_str(&format!("{sep}{s:02}"));
    }
    out
}

/// Go's `time.ParseInLocation` for the elements charts use.
pub fn parse(layout: &str, value: &str, tz: TimeZone) -> Result<Zoned, String> {
    let err = |elem: &str, rest: &str| {
        format!("parsing time {value:?} as {layout:?}: cannot parse {rest:?} as {elem:?}")
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (1i16, 1i8, 1i8, 0i8, 0i8, 0i8, 0i32);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let (mut i, mut v) = (0, value);
    while i < layout.len() {
        let rest = &layout[i..];
        let Some((std, len)) = std_at(rest) else {
            let c = rest.chars().next().unwrap_or(' ');
            if !v.starts_with(c) {
                return Err(err(&layout[i..], v));
            }
            v = &v[c.len_utf8()..];
            i += c.len_utf8();
            continue;
        };
        let elem = &layout[i..i + len];
        i += len;
        let digits = |v: &str, min: usize, max: usize| -> Option<(i64, usize)> {
            let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
            if n < min {
                return None;
            }
            Some((v[..n].parse().ok()?, n))
        };
        let take = |v: &mut &str, min, max| -> Result<i64, String> {
            let (n, used) = digits(v, min, max).ok_or_else(|| err(elem, v))?;
            *v = &v[used..];
            Ok(n)
        };
        match std {
            Std::LongYear => year = take(&mut v, 4, 4)? as i16,
            Std::Year => {
                let yy = take(&mut v, 2, 2)? as i16;
                year = if yy >= 69 { 1900 + yy } else { 2000 + yy };
            }
            Std::ZeroMonth => month = take(&mut v, 2, 2)? as i8,
            Std::NumMonth => month = take(&mut v, 1, 2)? as i8,
            Std::ZeroDay => day = take(&mut v, 2, 2)? as i8,
            Std::Day => day = take(&mut v, 1, 2)? as i8,
            Std::UnderDay => {
                v = v.strip_prefix(' ').unwrap_or(v);
                day = take(&mut v, 1, 2)? as i8
            }
            Std::Hour => hour = take(&mut v, 2, 2)? as i8,
            Std::Hour12 | Std::ZeroHour12 => hour = take(&mut v, 1, 2)? as i8,
            Std::ZeroMinute | Std::Minute => min = take(&mut v, 1, 2)? as i8,
            Std::ZeroSecond | Std::Second => {
                sec = take(&mut v, 1, 2)? as i8;
                // Go reads a fraction after seconds the layout does not name.
                if !layout[i..].starts_with('.') {
                    if let Some(n) = read_fraction(&mut v, None) {
                        nanos = n;
                    }
                }
            }
            Std::Frac(n, trimmed) => {
                let digits = if trimmed { None } else { Some(n) };
                nanos = read_fraction(&mut v, digits).ok_or_else(|| err(elem, v))?;
            }
            Std::Month | Std::LongMonth => {
                let m =
                    read_name(&mut v, &MONTHS, std == Std::Month).ok_or_else(|| err(elem, v))?;
                month = m as i8 + 1;
            }
            Std::WeekDay | Std::LongWeekDay => {
                read_name(&mut v, &DAYS, std == Std::WeekDay).ok_or_else(|| err(elem, v))?;
            }
            Std::PM | Std::Pm => {
                let p = v.get(..2).map(str::to_ascii_uppercase);
                pm = match p.as_deref() {
                    Some("PM") => Some(true),
                    Some("AM") => Some(false),
                    _ => return Err(err(elem, v)),
                };
                v = &v[2..];
            }
            Std::TZ => {
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                if n < 3 {
                    return Err(err(elem, v));
                }
                if &v[..n] == "UTC" {
                    offset = Some(0);
                }
                v = &v[n..];
            }
            Std::Offset(z, colon, secs, hours) => {
                offset =
                    Some(read_offset(&mut v, z, colon, secs, hours).ok_or_else(|| err(elem, v))?);
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                take(&mut v, 1, 3)?;
            }
        }
    }
    if !v.is_empty() {
        return Err(format!("parsing time {value:?}: extra text: {v:?}"));
    }
    if let Some(p) = pm {
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    assemble(
        value,
        [
            year,
            month as i16,
            day as i16,
            hour as i16,
            min as i16,
            sec as i16,
        ],
        nanos,
        offset,
        tz,
    )
}

/// A fraction of a second after `.` or `,` (exactly `digits` of them
/// when given), in nanoseconds.
fn read_fraction(v: &mut &str, digits: Option<usize>) -> Option<i32> {
    let rest = v.strip_prefix(['.', ','])?;
    let k = rest.bytes().take_while(u8::is_ascii_digit).count();
    if k == 0 || digits.is_some_and(|n| n != k) {
        return None;
    }
    let nanos = format!("{:0<9}", &rest[..k.min(9)]).parse().ok()?;
    *v = &rest[k..];
    Some(nanos)
}

/// A month or weekday name (short when `short`), case-insensitive; its index.
fn read_name(v: &mut &str, names: &[&str], short: bool) -> Option<usize> {
    let i = names.iter().position(|n| {
        let name = if short { &n[..3] } else { n };
        v.len() >= name.len() && v[..name.len()].eq_ignore_ascii_case(name)
    })?;
    *v = &v[if short { 3 } else { names[i].len() }..];
    Some(i)
}

/// A zone offset in seconds: `Z` (when allowed) or `±hh[:mm[:ss]]`.
fn read_offset(v: &mut &str, z: bool, colon: bool, secs: bool, hours: bool) -> Option<i32> {
    if z && v.starts_with('Z') {
        *v = &v[1..];
        return Some(0);
    }
    let sign = match v.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    *v = &v[1..];
    let two = |v: &mut &str, sep: bool| -> Option<i32> {
        if sep && colon {
            *v = v.strip_prefix(':')?;
        }
        let d = v
            .get(..2)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))?;
        let n: i32 = d.parse().ok()?;
        *v = &v[2..];
        Some(n)
    };
    let mut total = two(v, false)? * 3600;
    if !hours {
        total += two(v, true)? * 60;
    }
    if secs {
        total += two(v, true)?;
    }
    Some(sign * total)
}

/// The time the parts name, Go's range errors first.
fn assemble(
    value: &str,
    [year, month, day, hour, min, sec]: [i16; 6],
    nanos: i32,
    offset: Option<i32>,
    tz: TimeZone,
) -> Result<Zoned, String> {
    let out_of_range = |what: &str| format!("parsing time {value:?}: {what} out of range");
    if !(1..=12).contains(&month) {
        return Err(out_of_range("month"));
    }
    if !(0..24).contains(&hour) {
        return Err(out_of_range("hour"));
    }
    if !(0..60).contains(&min) {
        return Err(out_of_range("minute"));
    }
    if !(0..60).contains(&sec) {
        return Err(out_of_range("second"));
    }
    let civil = jiff::civil::DateTime::new(
        year,
        month as i8,
        day as i8,
        hour as i8,
        min as i8,
        sec as i8,
        nanos,
    )
    .map_err(|_| out_of_range("day"))?;
    let tz = match offset {
        Some(o) => TimeZone::fixed(jiff::tz::Offset::from_seconds(o).map_err(|e| e.to_string())?),
        None => tz,
    };
    civil.to_zoned(tz).map_err(|e| e.to_string())
}

fn zero_time() -> Zoned {
    jiff::civil::DateTime::new(1, 1, 1, 0, 0, 0, 0)
        .ok()
        .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        .unwrap_or_else(Zoned::now)
}

fn now(_: &mut Exec, a: &[Value]) -> R {
    count("now", a, 0)?;
    Ok(time_value(Zoned::now().with_time_zone(local())))
}

fn in_zone(layout: &str, date: &Value, zone_name: &str) -> Value {
    let t = time_of(date).with_time_zone(zone(zone_name));
    Value::str(&format(&t, layout))
}

fn date(_: &mut Exec, a: &[Value]) -> R {
    count("date", a, 2)?;
    Ok(in_zone(string(a, 0)?, &a[1], "Local"))
}

fn date_in_zone(_: &mut Exec, a: &[Value]) -> R {
    count("dateInZone", a, 3)?;
    Ok(in_zone(string(a, 0)?, &a[1], string(a, 2)?))
}

fn html_date(_: &mut Exec, a: &[Value]) -> R {
    count("htmlDate", a, 1)?;
    Ok(in_zone("2006-01-02", &a[0], "Local"))
}

fn html_date_in_zone(_: &mut Exec, a: &[Value]) -> R {
    count("htmlDateInZone", a, 2)?;
    Ok(in_zone("2006-01-02", &a[0], string(a, 1)?))
}

fn to_date(_: &mut Exec, a: &[Value]) -> R {
    count("toDate", a, 2)?;
    let t = parse(string(a, 0)?, string(a, 1)?, local()).unwrap_or_else(|_| zero_time());
    Ok(time_value(t))
}

fn must_to_date(_: &mut Exec, a: &[Value]) -> R {
    count("mustToDate", a, 2)?;
    Ok(time_value(
        parse(string(a, 0)?, string(a, 1)?, local()).map_err(FnError::Call)?,
    ))
}

fn unix_epoch(_: &mut Exec, a: &[Value]) -> R {
    count("unixEpoch", a, 1)?;
    Ok(Value::str(
        &time_of(&a[0]).timestamp().as_second().to_string(),
    ))
}

/// Go's `time.ParseDuration` in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i128, String> {
    let bad = || format!("time: invalid duration {:?}", s);
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if n == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .bytes()
            .take_while(|c| !c.is_ascii_digit() && *c != b'.')
            .count();
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            other => return Err(format!("time: unknown unit {other:?} in duration {s:?}")),
        };
        total += number * unit;
        rest = &rest[u..];
    }
    Ok(if neg { -(total as i128) } else { total as i128 })
}

/// Go's `Duration.String`.
pub fn duration_string(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out = trim_fraction(u, div);
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        u %= 3_600_000_000_000;
        let m = u / 60_000_000_000;
        u %= 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&trim_fraction(u, 1_000_000_000));
        out.push('s');
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

fn trim_fraction(v: u128, div: u128) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

fn date_modify(_: &mut Exec, a: &[Value]) -> R {
    count("dateModify", a, 2)?;
    let t = time_of(&a[1]);
    Ok(time_value(match parse_duration(string(a, 0)?) {
        Ok(d) => t
            .checked_add(jiff::SignedDuration::from_nanos(d as i64))
            .unwrap_or(t),
        Err(_) => t,
    }))
}

fn must_date_modify(_: &mut Exec, a: &[Value]) -> R {
    count("mustDateModify", a, 2)?;
    let d = parse_duration(string(a, 0)?).map_err(FnError::Call)?;
    let t = time_of(&a[1]);
    Ok(time_value(
        t.checked_add(jiff::SignedDuration::from_nanos(d as i64))
            .map_err(|e| FnError::Call(e.to_string()))?,
    ))
}

/// Sprig's `duration`: seconds as an `int64` or decimal text (an `int`
/// is not read: Sprig's type switch lacks it).
fn duration(_: &mut Exec, a: &[Value]) -> R {
    count("duration", a, 1)?;
    let secs = match &a[0] {
        Value::String(s) => s.parse::<i64>().unwrap_or(0),
        Value::Int(n, IntType::Int64) => *n,
        _ => 0,
    };
    Ok(Value::str(&duration_string(secs as i128 * 1_000_000_000)))
}

/// Sprig's `durationRound`: the largest unit only (`2h`, `3d`, `1mo`, `2y`).
fn duration_round(_: &mut Exec, a: &[Value]) -> R {
    count("durationRound", a, 1)?;
    let nanos: i128 = match &a[0] {
        Value::String(s) => parse_duration(s).unwrap_or(0),
        Value::Int(n, IntType::Int64) => *n as i128,
        Value::Object(o) if o.type_name() == "time.Time" => {
            (Zoned::now().timestamp().as_nanosecond())
                - (time_of(&a[0]).timestamp().as_nanosecond())
        }
        _ => 0,
    };
    let u = nanos.unsigned_abs() as u64;
    let (second, minute, hour, day, month, year) = (
        1_000_000_000u64,
        60_000_000_000u64,
        3_600_000_000_000u64,
        86_400_000_000_000u64,
        2_592_000_000_000_000u64,
        31_536_000_000_000_000u64,
    );
    let s = if u > year {
        format!("{}y", u / year)
    } else if u > month {
        format!("{}mo", u / month)
    } else if u > day {
        format!("{}d", u / day)
    } else if u > hour {
        format!("{}h", u / hour)
    } else if u > minute {
        format!("{}m", u / minute)
    } else if u > second {
        format!("{}s", u / second)
    } else {
        "0s".to_string()
    };
    Ok(Value::str(&s))
}

fn ago(_: &mut Exec, a: &[Value]) -> R {
    count("ago", a, 1)?;
    let then = time_of(&a[0]).timestamp().as_second();
    let secs = Zoned::now().timestamp().as_second() - then;
    Ok(Value::str(&duration_string(secs as i128 * 1_000_000_000)))
}
