//! Retrying a failed sync, as Argo CD's `syncPolicy.retry` says: up to
//! `limit` more attempts (negative: no end), waiting `duration`, then
//! `factor` times longer each time, never longer than `maxDuration`.

use crate::application::RetryStrategy;
use std::time::Duration;

/// Argo CD's defaults: 5s, doubling, at most 3m.
const DURATION: Duration = Duration::from_secs(5);
const FACTOR: i64 = 2;
const MAX_DURATION: Duration = Duration::from_secs(180);

/// A Go duration such as `30s`, `3m` or `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration such as 5s, 3m or 1h30m");
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = text.trim().chars().peekable();
    if chars.peek().is_none() {
        return Err(bad());
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push(chars.next().unwrap_or('s'));
        }
        let n: f64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let seconds = match unit.as_str() {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(n * seconds);
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// Whether another attempt may follow `done` retries.
pub fn allows(strategy: Option<&RetryStrategy>, done: i64) -> bool {
    strategy.is_some_and(|s| s.limit < 0 || done < s.limit)
}

/// How long to wait before retry number `attempt` (1 for the first).
pub fn backoff(strategy: Option<&RetryStrategy>, attempt: i64) -> Result<Duration, String> {
    let b = strategy.and_then(|s| s.backoff.as_ref());
    let first = match b.and_then(|b| b.duration.as_deref()) {
        Some(d) => {
            parse_duration(d).map_err(|e| format!("spec.syncPolicy.retry.backoff.duration: {e}"))?
        }
        None => DURATION,
    };
    let max = match b.and_then(|b| b.max_duration.as_deref()) {
        Some(d) => parse_duration(d)
            .map_err(|e| format!("spec.syncPolicy.retry.backoff.maxDuration: {e}"))?,
        None => MAX_DURATION,
    };
    let factor = b.and_then(|b| b.factor).unwrap_or(FACTOR).max(1) as f64;
    let wait = first.as_secs_f64() * factor.powi((attempt.max(1) - 1).min(60) as i32);
    Ok(Duration::from_secs_f64(wait.min(max.as_secs_f64())))
}

/// Self-heal backs off as Argo CD's controller does by default: within a run
/// of heals the first goes at once, the next after 2s, then 3 times longer
/// each time, at most 5m. A run ends when no heal was needed for the cooldown.
pub const SELF_HEAL_COOLDOWN: Duration = Duration::from_secs(330);
const SELF_HEAL_FIRST: Duration = Duration::from_secs(2);
const SELF_HEAL_FACTOR: u32 = 3;
const SELF_HEAL_MAX: Duration = Duration::from_secs(300);

/// How long after the last heal the next may run, `done` heals into a run.
pub fn self_heal_wait(done: i64) -> Duration {
    if done <= 0 {
        return Duration::ZERO;
    }
    let growth = SELF_HEAL_FACTOR.saturating_pow((done - 1).min(20) as u32);
    SELF_HEAL_FIRST.saturating_mul(growth).min(SELF_HEAL_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("five seconds").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn self_heal_backs_off_like_argo_cd() {
        let waits: Vec<u64> = (0..8).map(|n| self_heal_wait(n).as_secs()).collect();
        assert_eq!(waits, [0, 2, 6, 18, 54, 162, 300, 300]);
        assert_eq!(self_heal_wait(i64::MAX), Duration::from_secs(300));
    }

    #[test]
    fn limit_and_growing_waits() {
        let s: RetryStrategy = serde_json::from_value(
            json!({"limit": 3, "backoff": {"duration": "2s", "factor": 3, "maxDuration": "20s"}}),
        )
        .unwrap();
        let waits: Vec<u64> = (1..=4)
            .map(|n| backoff(Some(&s), n).unwrap().as_secs())
            .collect();
        assert_eq!(waits, [2, 6, 18, 20]);
        assert!(allows(Some(&s), 2) && !allows(Some(&s), 3));
        assert!(!allows(None, 0), "no retry without a strategy");
        let forever: RetryStrategy = serde_json::from_value(json!({"limit": -1})).unwrap();
        assert!(allows(Some(&forever), 1000));
        assert_eq!(backoff(Some(&forever), 1).unwrap(), Duration::from_secs(5));
        assert_eq!(
            backoff(Some(&forever), 10).unwrap(),
            Duration::from_secs(180)
        );
        let bad: RetryStrategy =
            serde_json::from_value(json!({"limit": 1, "backoff": {"duration": "soon"}})).unwrap();
        assert!(backoff(Some(&bad), 1)
            .unwrap_err()
            .starts_with("spec.syncPolicy.retry.backoff.duration: "));
    }
}
