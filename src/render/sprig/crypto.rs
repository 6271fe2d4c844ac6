//! Sprig's hashes and secrets: `sha1sum`, `sha256sum`, `sha512sum`,
//! `adler32sum`, `bcrypt`, `htpasswd`, `encryptAES`/`decryptAES` (Sprig's
//! AES-256-CBC: the password's bytes as the key, a random IV first,
//! base64), `randBytes`.

use super::random::random_bytes;
use crate::render::gotemplate::args::{count, int, string};
use crate::render::gotemplate::{Exec, FnError, Func, Value};
use base64::Engine;
use sha2::Digest;

pub const TABLE: &[(&str, Func)] = &[
    ("sha1sum", sha1sum),
    ("sha256sum", sha256sum),
    ("sha512sum", sha512sum),
    ("adler32sum", adler32sum),
    ("bcrypt", bcrypt_hash),
    ("htpasswd", htpasswd),
    ("encryptAES", encrypt_aes),
    ("decryptAES", decrypt_aes),
    ("randBytes", rand_bytes),
];

type R = Result<Value, FnError>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha1sum(_: &mut Exec, a: &[Value]) -> R {
    count("sha1sum", a, 1)?;
    Ok(Value::str(&hex(&sha1::Sha1::digest(
        string(a, 0)?.as_bytes(),
    ))))
}

fn sha256sum(_: &mut Exec, a: &[Value]) -> R {
    count("sha256sum", a, 1)?;
    Ok(Value::str(&hex(&sha2::Sha256::digest(
        string(a, 0)?.as_bytes(),
    ))))
}

fn sha512sum(_: &mut Exec, a: &[Value]) -> R {
    count("sha512sum", a, 1)?;
    Ok(Value::str(&hex(&sha2::Sha512::digest(
        string(a, 0)?.as_bytes(),
    ))))
}

/// Go's `hash/adler32`, printed in decimal.
fn adler32sum(_: &mut Exec, a: &[Value]) -> R {
    count("adler32sum", a, 1)?;
    let (mut x, mut y) = (1u32, 0u32);
    for &b in string(a, 0)?.as_bytes() {
        x = (x + b as u32) % 65521;
        y = (y + x) % 65521;
    }
    Ok(Value::str(&((y << 16) | x).to_string()))
}

/// Go's `bcrypt.GenerateFromPassword` at its default cost, `$2a$` form.
fn bcrypt_of(password: &str) -> Result<String, FnError> {
    bcrypt::hash_with_result(password, 10)
        .map(|h| h.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| FnError::Call(e.to_string()))
}

fn bcrypt_hash(_: &mut Exec, a: &[Value]) -> R {
    count("bcrypt", a, 1)?;
    Ok(Value::str(&bcrypt_of(string(a, 0)?)?))
}

fn htpasswd(_: &mut Exec, a: &[Value]) -> R {
    count("htpasswd", a, 2)?;
    let (user, password) = (string(a, 0)?, string(a, 1)?);
    if user.contains(':') {
        return Ok(Value::str(&format!("invalid username: {user}")));
    }
    Ok(Value::str(&format!("{user}:{}", bcrypt_of(password)?)))
}

/// The key Sprig derives: the password's bytes in 32 zeroed bytes.
fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let p = password.as_bytes();
    let n = p.len().min(32);
    key[..n].copy_from_slice(&p[..n]);
    key
}

fn encrypt_aes(_: &mut Exec, a: &[Value]) -> R {
    use cbc::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
    count("encryptAES", a, 2)?;
    let (password, plain) = (string(a, 0)?, string(a, 1)?);
    if plain.is_empty() {
        return Ok(Value::str(""));
    }
    let mut content = plain.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let iv = random_bytes(16);
    let len = content.len();
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), iv[..].into());
    enc.encrypt_padded_mut::<NoPadding>(&mut content, len)
        .map_err(|e| FnError::Call(e.to_string()))?;
    let mut out = iv;
    out.extend(content);
    Ok(Value::str(
        &base64::engine::general_purpose::STANDARD.encode(out),
    ))
}

fn decrypt_aes(_: &mut Exec, a: &[Value]) -> R {
    use cbc::cipher::{block_padding::NoPadding, BlockDecryptMut, KeyIvInit};
    count("decryptAES", a, 2)?;
    let (password, crypt64) = (string(a, 0)?, string(a, 1)?);
    if crypt64.is_empty() {
        return Ok(Value::str(""));
    }
    let crypt = base64::engine::general_purpose::STANDARD
        .decode(crypt64)
        .map_err(|e| FnError::Call(e.to_string()))?;
    if crypt.len() < 32 || crypt.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let (iv, body) = crypt.split_at(16);
    let mut plain = body.to_vec();
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), iv.into());
    dec.decrypt_padded_mut::<NoPadding>(&mut plain)
        .map_err(|e| FnError::Call(e.to_string()))?;
    let pad = *plain.last().unwrap_or(&0) as usize;
    if pad > plain.len() {
        return Err("runtime error: slice bounds out of range".into());
    }
    plain.truncate(plain.len() - pad);
    Ok(Value::str(&String::from_utf8_lossy(&plain)))
}

fn rand_bytes(_: &mut Exec, a: &[Value]) -> R {
    count("randBytes", a, 1)?;
    let n = int(a, 0)?;
    if n < 0 {
        return Err("runtime error: makeslice: len out of range".into());
    }
    Ok(Value::str(
        &base64::engine::general_purpose::STANDARD.encode(random_bytes(n as usize)),
    ))
}
