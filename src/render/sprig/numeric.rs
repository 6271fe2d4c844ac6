//! Sprig's math (`numeric.go`): the integer functions cast every argument
//! with spf13/cast and return `int64`; the float ones compute in decimal
//! (shopspring/decimal, as Sprig does: `addf 1.1 2.2` is 3.3) and return
//! `float64`.

use super::{to_float64, to_int64};
use crate::render::gotemplate::args::{at_least, count, int};
use crate::render::gotemplate::{Exec, FnError, Func, Value};
use rand::Rng;

pub const TABLE: &[(&str, Func)] = &[
    ("add1", add1),
    ("add", add),
    ("sub", sub),
    ("div", div),
    ("mod", modulo),
    ("mul", mul),
    ("randInt", rand_int),
    ("add1f", add1f),
    ("addf", addf),
    ("subf", subf),
    ("divf", divf),
    ("mulf", mulf),
    ("biggest", max),
    ("max", max),
    ("min", min),
    ("maxf", maxf),
    ("minf", minf),
    ("ceil", ceil),
    ("floor", floor),
    ("round", round),
];

type R = Result<Value, FnError>;

fn add1(_: &mut Exec, a: &[Value]) -> R {
    count("add1", a, 1)?;
    Ok(Value::int64(to_int64(&a[0]).wrapping_add(1)))
}

fn add(_: &mut Exec, a: &[Value]) -> R {
    Ok(Value::int64(
        a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
    ))
}

fn sub(_: &mut Exec, a: &[Value]) -> R {
    count("sub", a, 2)?;
    Ok(Value::int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
}

fn divide(name: &str, a: &[Value], f: fn(i64, i64) -> i64) -> R {
    count(name, a, 2)?;
    let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
    if y == 0 {
        return Err("runtime error: integer divide by zero".into());
    }
    Ok(Value::int64(f(x, y)))
}

fn div(_: &mut Exec, a: &[Value]) -> R {
    divide("div", a, i64::wrapping_div)
}

fn modulo(_: &mut Exec, a: &[Value]) -> R {
    divide("mod", a, i64::wrapping_rem)
}

fn mul(_: &mut Exec, a: &[Value]) -> R {
    at_least("mul", a, 1)?;
    Ok(Value::int64(
        a.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
    ))
}

fn rand_int(_: &mut Exec, a: &[Value]) -> R {
    count("randInt", a, 2)?;
    let (lo, hi) = (int(a, 0)?, int(a, 1)?);
    if hi <= lo {
        return Err("invalid argument to Intn".into());
    }
    Ok(Value::int(rand::rng().random_range(lo..hi)))
}

fn max(_: &mut Exec, a: &[Value]) -> R {
    at_least("max", a, 1)?;
    Ok(Value::int64(a.iter().map(to_int64).max().unwrap_or(0)))
}

fn min(_: &mut Exec, a: &[Value]) -> R {
    at_least("min", a, 1)?;
    Ok(Value::int64(a.iter().map(to_int64).min().unwrap_or(0)))
}

fn maxf(_: &mut Exec, a: &[Value]) -> R {
    at_least("maxf", a, 1)?;
    Ok(Value::Float(
        a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
    ))
}

fn minf(_: &mut Exec, a: &[Value]) -> R {
    at_least("minf", a, 1)?;
    Ok(Value::Float(
        a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
    ))
}

fn ceil(_: &mut Exec, a: &[Value]) -> R {
    count("ceil", a, 1)?;
    Ok(Value::Float(to_float64(&a[0]).ceil()))
}

fn floor(_: &mut Exec, a: &[Value]) -> R {
    count("floor", a, 1)?;
    Ok(Value::Float(to_float64(&a[0]).floor()))
}

fn round(_: &mut Exec, a: &[Value]) -> R {
    at_least("round", a, 2)?;
    let places = int(a, 1)?;
    let round_on = a.get(2).map_or(0.5, to_float64);
    let pow = 10f64.powf(places as f64);
    let digit = pow * to_float64(&a[0]);
    let r = if digit.fract() >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(r / pow))
}

/// A decimal `mantissa × 10^exp`, read from the shortest text of a float
/// (as shopspring/decimal's `NewFromFloat` does).
#[derive(Clone, Copy)]
struct Decimal {
    mantissa: i128,
    exp: i32,
}

impl Decimal {
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let text = format!("{f:e}");
        let (m, e) = text.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let neg = m.starts_with('-');
        let m = m.trim_start_matches('-');
        let (int, frac) = m.split_once('.').unwrap_or((m, ""));
        let digits = format!("{int}{frac}");
        let mantissa: i128 = digits.parse().ok()?;
        Some(Decimal {
            mantissa: if neg { -mantissa } else { mantissa },
            exp: e - frac.len() as i32,
        })
    }

    fn align(self, other: Decimal) -> Option<(i128, i128, i32)> {
        let exp = self.exp.min(other.exp);
        let scale = |d: Decimal| -> Option<i128> {
            d.mantissa
                .checked_mul(10i128.checked_pow((d.exp - exp) as u32)?)
        };
        Some((scale(self)?, scale(other)?, exp))
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mantissa, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

/// shopspring/decimal's arithmetic (division to 16 places, rounded half
/// away from zero); plain floats where a value does not fit.
fn decimal_op(x: f64, y: f64, op: char) -> f64 {
    let fallback = match op {
        '+' => x + y,
        '-' => x - y,
        '*' => x * y,
        _ => x / y,
    };
    let (Some(a), Some(b)) = (Decimal::from_f64(x), Decimal::from_f64(y)) else {
        return fallback;
    };
    let result = match op {
        '+' | '-' => a.align(b).and_then(|(p, q, exp)| {
            let m = if op == '+' {
                p.checked_add(q)?
            } else {
                p.checked_sub(q)?
            };
            Some(Decimal { mantissa: m, exp })
        }),
        '*' => a.mantissa.checked_mul(b.mantissa).map(|m| Decimal {
            mantissa: m,
            exp: a.exp + b.exp,
        }),
        _ => {
            if b.mantissa == 0 {
                return fallback;
            }
            // a / b to 16 decimal places: (a.m × 10^(a.e + 16 - b.e)) / b.m.
            let shift = a.exp - b.exp + 17;
            let num = if shift >= 0 {
                a.mantissa
                    .checked_mul(10i128.checked_pow(shift as u32).unwrap_or(0))
            } else {
                Some(a.mantissa / 10i128.pow((-shift) as u32))
            };
            num.map(|n| {
                let q = n / b.mantissa;
                let rounded = if q % 10 >= 5 {
                    q / 10 + 1
                } else if q % 10 <= -5 {
                    q / 10 - 1
                } else {
                    q / 10
                };
                Decimal {
                    mantissa: rounded,
                    exp: -16,
                }
            })
        }
    };
    result.map_or(fallback, Decimal::to_f64)
}

fn fold_decimal(first: f64, rest: &[Value], op: char) -> f64 {
    rest.iter()
        .fold(first, |acc, v| decimal_op(acc, to_float64(v), op))
}

fn add1f(_: &mut Exec, a: &[Value]) -> R {
    count("add1f", a, 1)?;
    Ok(Value::Float(decimal_op(to_float64(&a[0]), 1.0, '+')))
}

fn addf(_: &mut Exec, a: &[Value]) -> R {
    Ok(Value::Float(fold_decimal(0.0, a, '+')))
}

fn float_op(name: &str, a: &[Value], op: char) -> R {
    at_least(name, a, 1)?;
    Ok(Value::Float(fold_decimal(to_float64(&a[0]), &a[1..], op)))
}

fn subf(_: &mut Exec, a: &[Value]) -> R {
    float_op("subf", a, '-')
}

fn mulf(_: &mut Exec, a: &[Value]) -> R {
    float_op("mulf", a, '*')
}

fn divf(_: &mut Exec, a: &[Value]) -> R {
    float_op("divf", a, '/')
}
