//! Smoke checks: what one check asks of the release (parsed from its one-line form) and how its
//! requests' answers are judged. No I/O: `probe` sends the requests.

use std::fmt::{self, Write as _};
use std::time::Duration;

/// One check: requests to one URL, and what every answer must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The check as written, to name it in every result.
    pub text: String,
    pub method: String,
    /// A path (joined with the base URL) or an absolute `http://` or `https://` URL.
    pub target: String,
    pub statuses: Vec<StatusRange>,
    /// Text the body must contain.
    pub contains: Option<String>,
    /// The most one answer may take; a request is given up after it.
    pub within: Duration,
    pub requests: u32,
    /// How many of the requests may fail with the check still passing.
    pub may_fail: u32,
}

/// Status codes from `low` to `high`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

impl StatusRange {
    fn holds(self, status: u16) -> bool {
        (self.low..=self.high).contains(&status)
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == self.high {
            write!(formatter, "{}", self.low)
        } else if self.low.is_multiple_of(100) && self.high == self.low + 99 {
            write!(formatter, "{}xx", self.low / 100)
        } else {
            write!(formatter, "{}-{}", self.low, self.high)
        }
    }
}

/// The default time one answer may take.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(5);
/// No check sends more: a smoke test, not a load test (and it must fit in a Lambda invocation).
pub const MOST_REQUESTS: u32 = 100;

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Reads a check: `[METHOD] TARGET [status=CODES] [contains=TEXT] [within=DURATION]
/// [requests=N] [may-fail=K]`, words separated by spaces.
///
/// # Errors
/// A sentence naming the word that is wrong and what was expected.
pub fn parse(text: &str) -> Result<Check, String> {
    let mut words = text.split_whitespace().peekable();
    let method = match words.peek() {
        Some(word) if METHODS.contains(word) => {
            let method = (*word).to_owned();
            words.next();
            method
        }
        _ => "GET".to_owned(),
    };
    let target = words
        .next()
        .ok_or("it names no path or URL (e.g. `/health`)")?;
    if !(target.starts_with('/') || target.starts_with("http://") || target.starts_with("https://"))
    {
        return Err(format!(
            "`{target}` is neither a path starting with `/` nor an http:// or https:// URL (methods: {})",
            METHODS.join(", ")
        ));
    }
    let mut check = Check {
        text: text.split_whitespace().collect::<Vec<_>>().join(" "),
        method,
        target: target.to_owned(),
        statuses: vec![StatusRange {
            low: 200,
            high: 299,
        }],
        contains: None,
        within: DEFAULT_WITHIN,
        requests: 1,
        may_fail: 0,
    };
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| {
            format!("`{word}` is not KEY=VALUE (status, contains, within, requests, may-fail)")
        })?;
        match key {
            "status" => check.statuses = parse_statuses(value)?,
            "contains" if !value.is_empty() => check.contains = Some(value.to_owned()),
            "within" => check.within = parse_duration(value)?,
            "requests" => check.requests = parse_count(key, value, 1)?,
            "may-fail" => check.may_fail = parse_count(key, value, 0)?,
            _ => {
                return Err(format!(
                    "`{word}`: unknown or empty setting `{key}` (status, contains, within, requests, may-fail)"
                ));
            }
        }
    }
    if check.requests > MOST_REQUESTS {
        return Err(format!(
            "requests={} is more than {MOST_REQUESTS}: this is a smoke test, not a load test",
            check.requests
        ));
    }
    if check.may_fail >= check.requests {
        return Err(format!(
            "may-fail={} lets all {} request(s) fail: it must be below requests",
            check.may_fail, check.requests
        ));
    }
    Ok(check)
}

fn parse_statuses(value: &str) -> Result<Vec<StatusRange>, String> {
    value
        .split(',')
        .map(|part| {
            let bad = || {
                format!("status `{part}` is not a code (200), a class (2xx) or a range (200-399)")
            };
            let code = |text: &str| {
                text.parse::<u16>()
                    .ok()
                    .filter(|code| (100..=599).contains(code))
                    .ok_or_else(bad)
            };
            if let Some(class) = part.strip_suffix("xx") {
                let low = code(&format!("{class}00"))?;
                Ok(StatusRange {
                    low,
                    high: low + 99,
                })
            } else if let Some((low, high)) = part.split_once('-') {
                let (low, high) = (code(low)?, code(high)?);
                if low > high {
                    return Err(bad());
                }
                Ok(StatusRange { low, high })
            } else {
                let code = code(part)?;
                Ok(StatusRange {
                    low: code,
                    high: code,
                })
            }
        })
        .collect()
}

/// `250ms`, `2s`, or a bare number of seconds.
fn parse_duration(value: &str) -> Result<Duration, String> {
    let bad = || format!("within `{value}` is not a duration such as 500ms or 2s");
    let duration = if let Some(milliseconds) = value.strip_suffix("ms") {
        Duration::from_millis(milliseconds.parse().map_err(|_| bad())?)
    } else {
        let seconds: u64 = value
            .strip_suffix('s')
            .unwrap_or(value)
            .parse()
            .map_err(|_| bad())?;
        Duration::from_secs(seconds)
    };
    if duration.is_zero() || duration > Duration::from_mins(5) {
        return Err(format!(
            "within `{value}` must be above 0 and at most 5 minutes"
        ));
    }
    Ok(duration)
}

fn parse_count(key: &str, value: &str, least: u32) -> Result<u32, String> {
    value
        .parse::<u32>()
        .ok()
        .filter(|count| *count >= least)
        .ok_or_else(|| format!("{key} `{value}` is not a whole number of at least {least}"))
}

/// The URL a check requests, from its target and the base URL (the test listener).
///
/// # Errors
/// A path with no base URL to join it to.
pub fn url(check: &Check, base: Option<&str>) -> Result<String, String> {
    if check.target.starts_with('/') {
        let base = base.ok_or_else(|| {
            format!(
                "check `{}` names a path, and no base URL says where the release answers",
                check.text
            )
        })?;
        Ok(format!("{}{}", base.trim_end_matches('/'), check.target))
    } else {
        Ok(check.target.clone())
    }
}

/// `url` sent to `address` instead of its host, for a load balancer reached at a private address
/// inside the VPC: the URL to connect to, and the `Host` header that keeps the listener's rules
/// and the verdict's words about the real host. `None` for a URL with no host to replace.
#[must_use]
pub fn routed(url: &str, address: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let port = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|digit| digit.is_ascii_digit()))
        .map(|(_, port)| format!(":{port}"))
        .unwrap_or_default();
    Some((
        format!("{scheme}://{address}{port}{path}"),
        authority.to_owned(),
    ))
}

/// What one request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The status, how long the whole answer took, and whether the body held what it must.
    Response {
        status: u16,
        took: Duration,
        body_matches: bool,
    },
    /// No answer within the limit.
    TimedOut { after: Duration },
    /// The request could not be made (connection refused, name not found, TLS, …).
    Unreachable { reason: String },
}

/// A check's outcome: passed or not, with one line that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    pub line: String,
}

/// Judges the answers to a check's requests to `url`.
#[must_use]
pub fn judge(check: &Check, url: &str, answers: &[Answer]) -> Verdict {
    let failures: Vec<String> = answers
        .iter()
        .filter_map(|answer| failure(check, answer))
        .collect();
    // A check that sent fewer requests than it asks for did not run: it never passes.
    let count = u32::try_from(answers.len()).unwrap_or(u32::MAX);
    let failed = u32::try_from(failures.len()).unwrap_or(u32::MAX);
    let passed = count == check.requests && failed <= check.may_fail;
    let slowest = answers
        .iter()
        .filter_map(|answer| match answer {
            Answer::Response { took, .. } => Some(*took),
            _ => None,
        })
        .max();
    let mut line = format!("`{}` {} {url}: ", check.text, check.method);
    if passed {
        let _ = write!(line, "passed, {count} of {count} request(s) answered");
        if failed > 0 {
            let _ = write!(line, " ({failed} failed, {} allowed)", check.may_fail);
        }
        if let Some(slowest) = slowest {
            let _ = write!(line, ", slowest in {} ms", slowest.as_millis());
        }
    } else if count < check.requests {
        let _ = write!(
            line,
            "FAILED: only {count} of {} request(s) could be sent",
            check.requests
        );
    } else if let Some(first) = failures.first() {
        let _ = write!(
            line,
            "FAILED: {failed} of {count} request(s) failed ({} allowed): {first}",
            check.may_fail
        );
    } else {
        let _ = write!(
            line,
            "FAILED: {count} answers for {} request(s)",
            check.requests
        );
    }
    Verdict { passed, line }
}

/// Why one answer fails the check, or `None` when it is what the check expects.
fn failure(check: &Check, answer: &Answer) -> Option<String> {
    let expected = check
        .statuses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    match answer {
        Answer::Response {
            status,
            took,
            body_matches,
        } => {
            let took_ms = took.as_millis();
            if !check.statuses.iter().any(|range| range.holds(*status)) {
                Some(format!(
                    "answered {status} in {took_ms} ms (expected {expected})"
                ))
            } else if *took > check.within {
                Some(format!(
                    "answered {status} in {took_ms} ms, over the {} ms allowed",
                    check.within.as_millis()
                ))
            } else if !body_matches {
                Some(format!(
                    "answered {status} in {took_ms} ms without `{}` in the body",
                    check.contains.as_deref().unwrap_or_default()
                ))
            } else {
                None
            }
        }
        Answer::TimedOut { after } => Some(format!("no answer within {} ms", after.as_millis())),
        Answer::Unreachable { reason } => Some(format!("could not be reached: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, milliseconds: u64) -> Answer {
        Answer::Response {
            status,
            took: Duration::from_millis(milliseconds),
            body_matches: true,
        }
    }

    #[test]
    fn a_check_reads_its_method_target_and_settings() {
        let check = parse(
            "POST  /orders status=201,2xx,300-302 contains=ok within=250ms requests=5 may-fail=1",
        )
        .unwrap();
        assert_eq!(
            check.text,
            "POST /orders status=201,2xx,300-302 contains=ok within=250ms requests=5 may-fail=1"
        );
        assert_eq!(check.method, "POST");
        assert_eq!(check.target, "/orders");
        assert_eq!(
            check
                .statuses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["201", "2xx", "300-302"]
        );
        assert_eq!(check.contains.as_deref(), Some("ok"));
        assert_eq!(check.within, Duration::from_millis(250));
        assert_eq!((check.requests, check.may_fail), (5, 1));
        let plain = parse("/health").unwrap();
        assert_eq!(plain.method, "GET");
        assert_eq!(
            plain.statuses,
            [StatusRange {
                low: 200,
                high: 299
            }]
        );
        assert_eq!(plain.within, DEFAULT_WITHIN);
        assert_eq!(
            parse("https://example.com/x within=2").unwrap().within,
            Duration::from_secs(2)
        );
    }

    #[test]
    fn a_wrong_check_says_which_word_is_wrong() {
        for (text, needle) in [
            ("", "names no path"),
            ("health", "`health` is neither a path"),
            ("get /health", "`get` is neither a path"),
            ("/health status=700", "status `700`"),
            ("/health status=3xx-", "status `3xx-`"),
            ("/health status=299-200", "status `299-200`"),
            ("/health within=fast", "within `fast`"),
            ("/health within=0s", "above 0"),
            ("/health requests=0", "requests `0`"),
            ("/health requests=101", "not a load test"),
            (
                "/health requests=2 may-fail=2",
                "lets all 2 request(s) fail",
            ),
            ("/health timeout=3", "unknown or empty setting `timeout`"),
            ("/health contains=", "unknown or empty setting `contains`"),
            ("/health loud", "`loud` is not KEY=VALUE"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(needle), "{text:?}: {error}");
        }
    }

    #[test]
    fn paths_join_the_base_url_and_urls_stand_alone() {
        let path = parse("/health").unwrap();
        assert_eq!(
            url(&path, Some("http://alb:8080/")).unwrap(),
            "http://alb:8080/health"
        );
        assert!(url(&path, None).unwrap_err().contains("no base URL"));
        let absolute = parse("http://other/ready").unwrap();
        assert_eq!(
            url(&absolute, Some("http://alb:8080")).unwrap(),
            "http://other/ready"
        );
    }

    #[test]
    fn each_kind_of_failure_is_named_with_what_came_back_and_how_long_it_took() {
        let check = parse("/health within=1s").unwrap();
        let url = "http://alb:8080/health";
        let passed = judge(&check, url, &[response(200, 12)]);
        assert!(passed.passed);
        assert_eq!(
            passed.line,
            "`/health within=1s` GET http://alb:8080/health: passed, 1 of 1 request(s) answered, slowest in 12 ms"
        );
        for (answer, reason) in [
            (response(500, 3), "answered 500 in 3 ms (expected 2xx)"),
            (
                response(200, 1500),
                "answered 200 in 1500 ms, over the 1000 ms allowed",
            ),
            (
                Answer::TimedOut {
                    after: Duration::from_secs(1),
                },
                "no answer within 1000 ms",
            ),
            (
                Answer::Unreachable {
                    reason: "connection refused".to_owned(),
                },
                "could not be reached: connection refused",
            ),
        ] {
            let verdict = judge(&check, url, &[answer]);
            assert!(!verdict.passed);
            assert_eq!(
                verdict.line,
                format!(
                    "`/health within=1s` GET {url}: FAILED: 1 of 1 request(s) failed (0 allowed): {reason}"
                )
            );
        }
        let body = parse("/ contains=ready").unwrap();
        let missing = Answer::Response {
            status: 200,
            took: Duration::from_millis(2),
            body_matches: false,
        };
        assert!(
            judge(&body, url, &[missing])
                .line
                .ends_with("answered 200 in 2 ms without `ready` in the body")
        );
    }

    #[test]
    fn allowed_failures_pass_and_missing_requests_never_do() {
        let check = parse("/health requests=3 may-fail=1").unwrap();
        let url = "http://alb/health";
        let one_bad = [response(200, 1), response(502, 1), response(200, 4)];
        let verdict = judge(&check, url, &one_bad);
        assert!(verdict.passed, "{}", verdict.line);
        assert!(
            verdict.line.contains("(1 failed, 1 allowed)"),
            "{}",
            verdict.line
        );
        let two_bad = [response(200, 1), response(502, 1), response(503, 4)];
        assert!(!judge(&check, url, &two_bad).passed);
        let short = judge(&check, url, &[response(200, 1)]);
        assert!(!short.passed);
        assert!(
            short.line.contains("only 1 of 3 request(s) could be sent"),
            "{}",
            short.line
        );
        assert!(!judge(&check, url, &[]).passed);
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::{Answer, judge, parse};

        proptest! {
            /// A check comes from a flag, an environment variable or an ECS hook's details:
            /// whatever it is, it parses or says why, and a parsed one reads back the same.
            #[test]
            fn any_text_parses_or_says_why(text in "[ -~]{0,80}") {
                match parse(&text) {
                    Ok(check) => {
                        prop_assert_eq!(parse(&check.text).unwrap(), check.clone());
                        prop_assert!(check.may_fail < check.requests);
                    }
                    Err(reason) => prop_assert!(!reason.is_empty()),
                }
            }

            /// Fewer answers than requests never pass, whatever they were.
            #[test]
            fn a_check_never_passes_with_answers_missing(requests in 1_u32..20, given in 0_usize..20) {
                let check = parse(&format!("/health requests={requests}")).unwrap();
                let answers = vec![Answer::Response {
                    status: 200,
                    took: std::time::Duration::from_millis(1),
                    body_matches: true,
                }; given];
                let verdict = judge(&check, "http://alb/health", &answers);
                prop_assert_eq!(verdict.passed, given == requests as usize);
            }
        }
    }

    #[test]
    fn a_url_is_routed_to_a_private_address_keeping_its_host() {
        assert_eq!(
            routed(
                "http://web-123.eu-west-1.elb.amazonaws.com:8080/health?deep=1",
                "10.0.1.23"
            ),
            Some((
                "http://10.0.1.23:8080/health?deep=1".to_owned(),
                "web-123.eu-west-1.elb.amazonaws.com:8080".to_owned()
            ))
        );
        assert_eq!(
            routed("http://web.example.com", "10.0.1.23"),
            Some(("http://10.0.1.23".to_owned(), "web.example.com".to_owned()))
        );
        assert_eq!(routed("not a url", "10.0.1.23"), None);
        assert_eq!(routed("http://user@host/", "10.0.1.23"), None);
    }
}
