//! `deploy --compare`: whether the new version (green) serves production worse than the old one
//! (blue) while both take production traffic, judged by one documented rule from the request
//! count, 5xx count and p99 latency of their target groups. Pure: the calls are in
//! [`crate::deployment::comparing`].

/// The rule, from `deploy --compare-*` (README, "Comparing green with blue").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareRule {
    /// Fewer requests than this on either target group in the window: not enough data.
    pub min_requests: u64,
    /// Green's 5xx rate must exceed blue's by more than this many percentage points...
    pub error_rate_margin: f64,
    /// ...and be more than this many times blue's, to be worse.
    pub error_rate_factor: f64,
    /// Green's p99 latency must exceed blue's by more than this many milliseconds...
    pub latency_margin_milliseconds: f64,
    /// ...and be more than this many times blue's, to be worse.
    pub latency_factor: f64,
    /// What a split that ends without enough data leads to.
    pub without_data: WithoutData,
}

impl Default for CompareRule {
    fn default() -> Self {
        Self {
            min_requests: 100,
            error_rate_margin: 1.0,
            error_rate_factor: 2.0,
            latency_margin_milliseconds: 100.0,
            latency_factor: 1.5,
            without_data: WithoutData::Continue,
        }
    }
}

/// `--compare-without-data`: the deployment goes on (the alarms still judge it), or rolls back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithoutData {
    Continue,
    RollBack,
}

/// One target group's traffic over a window: sums, and the p99 of its target response time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Traffic {
    pub requests: f64,
    /// HTTPCode_Target_5XX_Count: answers of the tasks themselves, not of the load balancer.
    pub errors: f64,
    pub p99_seconds: Option<f64>,
}

impl Traffic {
    fn error_rate(&self) -> f64 {
        if self.requests > 0.0 {
            self.errors / self.requests
        } else {
            0.0
        }
    }

    /// `412 requests, 2 5xx (0.49%), p99 183 ms`.
    fn describe(&self) -> String {
        let latency = self.p99_seconds.map_or_else(
            || "p99 unknown".to_owned(),
            |seconds| format!("p99 {:.0} ms", seconds * 1000.0),
        );
        format!(
            "{:.0} requests, {:.0} 5xx ({:.2}%), {latency}",
            self.requests,
            self.errors,
            self.error_rate() * 100.0
        )
    }
}

/// The numbers compared, as printed: `green: …; blue: …`.
#[must_use]
pub fn numbers(green: &Traffic, blue: &Traffic) -> String {
    format!("green {}; blue {}", green.describe(), blue.describe())
}

/// What the rule says of one window.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Too few requests on either side: why.
    NotEnoughData(String),
    NotWorse,
    /// Green is worse: in what.
    Worse(String),
}

/// Judges green against blue by `rule`: worse when its 5xx rate or its p99 latency is higher
/// than blue's by more than both the absolute and the relative margin.
#[must_use]
pub fn judge(green: &Traffic, blue: &Traffic, rule: &CompareRule) -> Verdict {
    #[expect(clippy::cast_precision_loss, reason = "a request count far below 2^52")]
    let least = rule.min_requests as f64;
    for (side, traffic) in [("green", green), ("blue", blue)] {
        if traffic.requests < least {
            return Verdict::NotEnoughData(format!(
                "{side} had {:.0} requests, fewer than the {} `--compare-min-requests` asks for",
                traffic.requests, rule.min_requests
            ));
        }
    }
    let mut worse = Vec::new();
    let (green_rate, blue_rate) = (green.error_rate(), blue.error_rate());
    if (green_rate - blue_rate) * 100.0 > rule.error_rate_margin
        && green_rate > blue_rate * rule.error_rate_factor
    {
        worse.push(format!(
            "its 5xx rate {:.2}% is more than {} percentage points above blue's {:.2}% and more than {}x it",
            green_rate * 100.0,
            rule.error_rate_margin,
            blue_rate * 100.0,
            rule.error_rate_factor
        ));
    }
    if let (Some(green_p99), Some(blue_p99)) = (green.p99_seconds, blue.p99_seconds)
        && (green_p99 - blue_p99) * 1000.0 > rule.latency_margin_milliseconds
        && green_p99 > blue_p99 * rule.latency_factor
    {
        worse.push(format!(
            "its p99 latency {:.0} ms is more than {} ms above blue's {:.0} ms and more than {}x it",
            green_p99 * 1000.0,
            rule.latency_margin_milliseconds,
            blue_p99 * 1000.0,
            rule.latency_factor
        ));
    }
    if worse.is_empty() {
        Verdict::NotWorse
    } else {
        Verdict::Worse(worse.join("; "))
    }
}

/// A span of wall-clock time to read metrics over, in seconds since the Unix epoch: whole
/// minutes, one period long, so CloudWatch answers one sum per metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

impl Window {
    /// From the minute `since` falls in to the end of the minute `until` falls in.
    #[must_use]
    pub fn covering(since: u64, until: u64) -> Self {
        let start = since - since % 60;
        let end = (until.max(since) / 60 + 1) * 60;
        Self { start, end }
    }

    /// The one period that covers the window.
    #[must_use]
    pub fn period(&self) -> u64 {
        self.end - self.start
    }
}

/// What the watch does after a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Go on watching.
    GoOn,
    /// Roll back, for this reason.
    RollBack(String),
}

/// The comparison over one deployment: when production traffic was split between the versions,
/// which windows have been judged, and what was said.
#[derive(Debug, Clone)]
pub struct Comparison {
    rule: CompareRule,
    split_since: Option<u64>,
    split_until: Option<u64>,
    /// The minute of the last window asked for: metrics come by the minute.
    asked_minute: Option<u64>,
    last_line: Option<String>,
    done: bool,
}

impl Comparison {
    #[must_use]
    pub fn new(rule: CompareRule) -> Self {
        Self {
            rule,
            split_since: None,
            split_until: None,
            asked_minute: None,
            last_line: None,
            done: false,
        }
    }

    /// After a look that saw whether both versions take production traffic (`split`) at `now`:
    /// the window to read, if one is due, and whether it is the last (the split has ended).
    pub fn due(&mut self, split: bool, now: u64) -> Option<(Window, bool)> {
        if self.done {
            return None;
        }
        if split {
            let since = *self.split_since.get_or_insert(now);
            if self.asked_minute == Some(now / 60) {
                return None;
            }
            self.asked_minute = Some(now / 60);
            return Some((Window::covering(since, now), false));
        }
        let since = self.split_since?;
        let until = *self.split_until.get_or_insert(now);
        Some((Window::covering(since, until), true))
    }

    /// Whether production traffic has been split between the versions at some look.
    #[must_use]
    pub fn ever_split(&self) -> bool {
        self.split_since.is_some()
    }

    /// Judges a window's traffic (`Err`: why it could not be read): the lines to print, and
    /// whether the deployment goes on.
    pub fn judge(
        &mut self,
        traffic: Result<(Traffic, Traffic), String>,
        last: bool,
    ) -> (Vec<String>, Decision) {
        let (verdict, compared) = match traffic {
            Ok((green, blue)) => (judge(&green, &blue, &self.rule), numbers(&green, &blue)),
            Err(why) => (
                Verdict::NotEnoughData(format!("the metrics could not be read: {why}")),
                "metrics unread".to_owned(),
            ),
        };
        let mut lines = Vec::new();
        let decision = match verdict {
            Verdict::Worse(how) => {
                self.done = true;
                lines.push(format!("compare: {compared}"));
                Decision::RollBack(format!(
                    "`--compare`: green is worse than blue: {how} ({compared})"
                ))
            }
            Verdict::NotWorse if last => {
                self.done = true;
                lines.push(format!(
                    "compare: green is not worse than blue over the whole split ({compared})"
                ));
                Decision::GoOn
            }
            Verdict::NotWorse => {
                self.say_once(
                    &mut lines,
                    format!("compare: green is not worse than blue so far ({compared})"),
                );
                Decision::GoOn
            }
            Verdict::NotEnoughData(why) if last => {
                let (line, decision) = self.without_data(&format!(
                    "`--compare`: not enough data to judge the new version: {why} ({compared})"
                ));
                lines.extend(line);
                decision
            }
            Verdict::NotEnoughData(why) => {
                self.say_once(
                    &mut lines,
                    format!("compare: waiting for traffic: {why} ({compared})"),
                );
                Decision::GoOn
            }
        };
        (lines, decision)
    }

    /// The end of a comparison that cannot judge the deployment (`said` says why): the line to
    /// say when it goes on, and what `--compare-without-data` decides.
    pub fn without_data(&mut self, said: &str) -> (Option<String>, Decision) {
        self.done = true;
        match self.rule.without_data {
            WithoutData::Continue => (
                Some(format!(
                    "{said}; the deployment goes on (`--compare-without-data continue`, the default)"
                )),
                Decision::GoOn,
            ),
            WithoutData::RollBack => (
                None,
                Decision::RollBack(format!(
                    "{said}, and `--compare-without-data roll-back` was given"
                )),
            ),
        }
    }

    /// A line only when it differs from the last one said, so a quiet minute prints nothing.
    fn say_once(&mut self, lines: &mut Vec<String>, line: String) {
        if self.last_line.as_ref() != Some(&line) {
            lines.push(line.clone());
            self.last_line = Some(line);
        }
    }
}

/// A target group as CloudWatch knows it: the `TargetGroup` and `LoadBalancer` dimensions of its
/// metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredGroup {
    pub arn: String,
    pub name: String,
    pub target_group: String,
    pub load_balancer: String,
}

/// The two target groups compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub green: MeasuredGroup,
    pub blue: MeasuredGroup,
}

/// `targetgroup/NAME/ID` or `app/NAME/ID`: the part of a target group's or load balancer's ARN
/// that CloudWatch's `TargetGroup` and `LoadBalancer` dimensions hold.
#[must_use]
pub fn dimension(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    Some(resource.strip_prefix("loadbalancer/").unwrap_or(resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(requests: f64, errors: f64, p99_milliseconds: f64) -> Traffic {
        Traffic {
            requests,
            errors,
            p99_seconds: Some(p99_milliseconds / 1000.0),
        }
    }

    #[test]
    fn too_few_requests_on_either_side_is_not_enough_data() {
        let rule = CompareRule::default();
        let verdict = judge(
            &traffic(99.0, 50.0, 900.0),
            &traffic(5000.0, 0.0, 100.0),
            &rule,
        );
        assert_eq!(
            verdict,
            Verdict::NotEnoughData(
                "green had 99 requests, fewer than the 100 `--compare-min-requests` asks for"
                    .to_owned()
            )
        );
        let verdict = judge(
            &traffic(500.0, 0.0, 100.0),
            &traffic(20.0, 0.0, 100.0),
            &rule,
        );
        assert!(matches!(verdict, Verdict::NotEnoughData(why) if why.starts_with("blue had 20")));
    }

    #[test]
    fn a_higher_error_rate_is_worse_only_past_both_margins() {
        let rule = CompareRule::default();
        // 3% against 0%: past 1 point and past 2x.
        let worse = judge(
            &traffic(200.0, 6.0, 100.0),
            &traffic(2000.0, 0.0, 100.0),
            &rule,
        );
        assert_eq!(
            worse,
            Verdict::Worse(
                "its 5xx rate 3.00% is more than 1 percentage points above blue's 0.00% and more than 2x it"
                    .to_owned()
            )
        );
        // 11.5% against 10%: past 1 point, not past 2x (a noisy service, not a worse version).
        let same = judge(
            &traffic(200.0, 23.0, 100.0),
            &traffic(2000.0, 200.0, 100.0),
            &rule,
        );
        assert_eq!(same, Verdict::NotWorse);
        // 0.5% against 0%: past 2x, not past 1 point.
        let same = judge(
            &traffic(200.0, 1.0, 100.0),
            &traffic(2000.0, 0.0, 100.0),
            &rule,
        );
        assert_eq!(same, Verdict::NotWorse);
    }

    #[test]
    fn a_slower_p99_is_worse_only_past_both_margins() {
        let rule = CompareRule::default();
        let worse = judge(
            &traffic(200.0, 0.0, 400.0),
            &traffic(2000.0, 0.0, 150.0),
            &rule,
        );
        assert!(matches!(worse, Verdict::Worse(how) if how.starts_with("its p99 latency 400 ms")));
        // 80 ms against 20 ms: 4x, but within 100 ms.
        let same = judge(
            &traffic(200.0, 0.0, 80.0),
            &traffic(2000.0, 0.0, 20.0),
            &rule,
        );
        assert_eq!(same, Verdict::NotWorse);
        // 1150 ms against 1000 ms: 150 ms more, but within 1.5x.
        let same = judge(
            &traffic(200.0, 0.0, 1150.0),
            &traffic(2000.0, 0.0, 1000.0),
            &rule,
        );
        assert_eq!(same, Verdict::NotWorse);
        // Unknown latency on one side judges errors only.
        let unknown = Traffic {
            p99_seconds: None,
            ..traffic(200.0, 0.0, 0.0)
        };
        assert_eq!(
            judge(&unknown, &traffic(2000.0, 0.0, 10.0), &rule),
            Verdict::NotWorse
        );
    }

    #[test]
    fn windows_are_whole_minutes_and_one_period() {
        let window = Window::covering(125, 185);
        assert_eq!(
            window,
            Window {
                start: 120,
                end: 240
            }
        );
        assert_eq!(window.period(), 120);
        assert_eq!(Window::covering(120, 120).period(), 60);
    }

    #[test]
    fn a_split_is_read_once_a_minute_and_once_more_when_it_ends() {
        let mut comparison = Comparison::new(CompareRule::default());
        assert_eq!(
            comparison.due(false, 100),
            None,
            "no split yet, nothing to read"
        );
        assert_eq!(
            comparison.due(true, 130),
            Some((Window::covering(130, 130), false))
        );
        assert_eq!(comparison.due(true, 170), None, "the same minute");
        assert_eq!(
            comparison.due(true, 185),
            Some((Window::covering(130, 185), false))
        );
        assert_eq!(
            comparison.due(false, 250),
            Some((Window::covering(130, 250), true))
        );
        let (lines, decision) = comparison.judge(
            Ok((traffic(300.0, 0.0, 90.0), traffic(3000.0, 3.0, 95.0))),
            true,
        );
        assert_eq!(decision, Decision::GoOn);
        assert_eq!(
            lines,
            [
                "compare: green is not worse than blue over the whole split (green 300 requests, 0 5xx (0.00%), p99 90 ms; blue 3000 requests, 3 5xx (0.10%), p99 95 ms)"
            ]
        );
        assert_eq!(comparison.due(false, 400), None, "judged once, at its end");
    }

    #[test]
    fn a_worse_green_rolls_back_at_once() {
        let mut comparison = Comparison::new(CompareRule::default());
        comparison.due(true, 60);
        let (_, decision) = comparison.judge(
            Ok((traffic(300.0, 30.0, 90.0), traffic(3000.0, 3.0, 95.0))),
            false,
        );
        assert!(
            matches!(decision, Decision::RollBack(reason) if reason.starts_with("`--compare`: green is worse than blue: its 5xx rate 10.00%"))
        );
        assert_eq!(comparison.due(true, 200), None, "decided");
    }

    #[test]
    fn not_enough_data_at_the_end_follows_without_data() {
        for (without_data, rolls_back) in [
            (WithoutData::Continue, false),
            (WithoutData::RollBack, true),
        ] {
            let mut comparison = Comparison::new(CompareRule {
                without_data,
                ..CompareRule::default()
            });
            comparison.due(true, 60);
            let (lines, decision) = comparison.judge(Err("AccessDenied".to_owned()), false);
            assert_eq!(
                lines,
                [
                    "compare: waiting for traffic: the metrics could not be read: AccessDenied (metrics unread)"
                ]
            );
            assert_eq!(decision, Decision::GoOn, "not the end: it goes on");
            comparison.due(false, 200);
            let (_, decision) = comparison.judge(
                Ok((traffic(10.0, 0.0, 90.0), traffic(3000.0, 3.0, 95.0))),
                true,
            );
            assert_eq!(matches!(decision, Decision::RollBack(_)), rolls_back);
        }
    }

    #[test]
    fn dimensions_are_the_resource_part_of_the_arn() {
        assert_eq!(
            dimension(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/0123456789abcdef"
            ),
            Some("targetgroup/web-blue/0123456789abcdef")
        );
        assert_eq!(
            dimension(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef"
            ),
            Some("app/web/0123456789abcdef")
        );
        assert_eq!(dimension("web-blue"), None);
    }
}
