//! Sprig's random values (different on every render, as in Helm): random
//! strings from goutils' alphabets, `uuidv4`, `shuffle`.

use crate::render::gotemplate::args::{count, int, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};

pub const TABLE: &[(&str, Func)] = &[
    ("randAlphaNum", |_, a| {
        random_string("randAlphaNum", a, ALPHANUMERIC)
    }),
    ("randAlpha", |_, a| {
        random_string("randAlpha", a, ALPHABETIC)
    }),
    ("randNumeric", |_, a| {
        random_string("randNumeric", a, NUMERIC)
    }),
    ("randAscii", |_, a| random_string("randAscii", a, ASCII)),
    ("uuidv4", uuidv4),
    ("shuffle", shuffle),
];

type R = Result<Value, FnError>;

const ALPHANUMERIC: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALPHABETIC: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC: &str = "0123456789";
/// Printable ASCII, space to tilde.
const ASCII: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// The most random characters one call makes (a resource bomb otherwise).
const MAX_RANDOM: i64 = 1 << 20;

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    b
}

fn random_string(name: &str, a: &[Value], alphabet: &str) -> R {
    count(name, a, 1)?;
    let n = int(a, 0)?;
    if n < 0 {
        return Err(format!("Requested random string length {n} is less than 0.").into());
    }
    if n > MAX_RANDOM {
        return Err(
            format!("a random string of {n} characters is over the limit of {MAX_RANDOM}").into(),
        );
    }
    let chars: Vec<char> = alphabet.chars().collect();
    let mut rng = rand::rng();
    let s: String = (0..n)
        .map(|_| chars[rng.random_range(0..chars.len())])
        .collect();
    Ok(Value::str(&s))
}

fn uuidv4(_: &mut Exec, a: &[Value]) -> R {
    count("uuidv4", a, 0)?;
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(Value::str(&format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )))
}

fn shuffle(_: &mut Exec, a: &[Value]) -> R {
    count("shuffle", a, 1)?;
    let mut chars: Vec<char> = string(a, 0)?.chars().collect();
    chars.shuffle(&mut rand::rng());
    Ok(Value::str(&chars.into_iter().collect::<String>()))
}
