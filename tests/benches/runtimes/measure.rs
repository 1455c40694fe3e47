//! Samples and their summaries: medians and 90th percentiles of durations, rates per second.

use std::time::Duration;

/// Durations of one measured operation, one per iteration.
#[derive(Clone, Debug, Default)]
pub(crate) struct Samples {
    sorted: Vec<Duration>,
}

impl Samples {
    /// Samples from `durations` (any order).
    pub(crate) fn new(mut durations: Vec<Duration>) -> Self {
        durations.sort_unstable();
        Self { sorted: durations }
    }

    /// How many samples.
    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The `p`-th percentile (0 < p <= 1), nearest rank; zero when empty.
    pub(crate) fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let n = self.sorted.len();
        let rank = (p * n as f64).ceil() as usize;
        self.sorted[rank.clamp(1, n) - 1]
    }

    /// The median (the lower middle for an even count).
    pub(crate) fn median(&self) -> Duration {
        self.percentile(0.5)
    }

    /// The 90th percentile.
    pub(crate) fn p90(&self) -> Duration {
        self.percentile(0.9)
    }

    /// The smallest sample.
    pub(crate) fn min(&self) -> Duration {
        self.sorted.first().copied().unwrap_or_default()
    }

    /// The largest sample.
    pub(crate) fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }
}

/// Rates (per second) of repeated rounds of one throughput measurement.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rates {
    sorted: Vec<f64>,
}

impl Rates {
    /// Rates from `values` (any order; NaN is not expected).
    pub(crate) fn new(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        Self { sorted: values }
    }

    /// How many rounds.
    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The median round (the lower middle for an even count); zero when empty.
    pub(crate) fn median(&self) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return 0.0;
        }
        self.sorted[n.div_ceil(2) - 1]
    }

    /// The slowest round.
    pub(crate) fn min(&self) -> f64 {
        self.sorted.first().copied().unwrap_or_default()
    }

    /// The fastest round.
    pub(crate) fn max(&self) -> f64 {
        self.sorted.last().copied().unwrap_or_default()
    }
}

/// `d` in the unit that reads best: µs below 1 ms, ms below 10 s, else s.
pub(crate) fn format_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.1} µs")
    } else if us < 10_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// A rate with thousands separated: `12,345/s`.
pub(crate) fn format_rate(r: f64) -> String {
    let whole = r.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out + "/s"
}
