//! The results: rows (one measured operation each), ratios between rows, the aims checked
//! against them, the printed table and the JSON document.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::measure::{Rates, Samples, format_duration, format_rate};
use crate::options::Section;

/// What a row holds.
#[derive(Clone, Debug)]
pub(crate) enum Measure {
    /// Durations of one operation.
    Time(Samples),
    /// Operations per second over several rounds.
    Rate(Rates),
    /// Could not be measured on this machine (a missing engine, image or guest file).
    Unavailable(String),
    /// The measured operation did not do what it should (wrong output, an engine error).
    Failed(String),
}

/// A ratio shown next to a row: `label` is `numerator/denominator` in words.
#[derive(Clone, Debug)]
pub(crate) struct Ratio {
    pub(crate) label: String,
    pub(crate) value: f64,
}

/// One measured operation.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// Stable key for the JSON and for ratios (`hello.wasi.execute`).
    pub(crate) id: String,
    pub(crate) section: Section,
    /// What was measured, for people.
    pub(crate) label: String,
    pub(crate) measure: Measure,
    pub(crate) ratios: Vec<Ratio>,
    pub(crate) note: String,
}

/// An aim from the issues, checked against the rows.
#[derive(Clone, Debug)]
pub(crate) struct Aim {
    pub(crate) name: String,
    pub(crate) target: String,
    pub(crate) observed: String,
    /// `None` when the rows it needs were not measured.
    pub(crate) pass: Option<bool>,
}

/// Every row of a run, in the order measured.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Row>,
}

impl Report {
    /// Adds a row and echoes it on stderr (progress for long runs).
    pub(crate) fn push(
        &mut self,
        section: Section,
        id: &str,
        label: impl Into<String>,
        measure: Measure,
        note: impl Into<String>,
    ) {
        let row = Row {
            id: id.to_string(),
            section,
            label: label.into(),
            measure,
            ratios: Vec::new(),
            note: note.into(),
        };
        eprintln!("  {:<52} {}", row.label, headline(&row.measure));
        self.rows.push(row);
    }

    /// The row with `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
    }

    /// The median of a time row, in seconds.
    pub(crate) fn median_secs(&self, id: &str) -> Option<f64> {
        match &self.get(id)?.measure {
            Measure::Time(s) if s.len() > 0 => Some(s.median().as_secs_f64()),
            _ => None,
        }
    }

    /// The median of a rate row.
    pub(crate) fn median_rate(&self, id: &str) -> Option<f64> {
        match &self.get(id)?.measure {
            Measure::Rate(r) if r.len() > 0 => Some(r.median()),
            _ => None,
        }
    }

    /// Adds to row `on` the ratio of the medians of rows `num` and `den` (time or rate rows),
    /// labelled `label`. Nothing happens when either was not measured.
    pub(crate) fn ratio(&mut self, on: &str, label: &str, num: &str, den: &str) {
        let value = match (self.value(num), self.value(den)) {
            (Some(n), Some(d)) if d > 0.0 => n / d,
            _ => return,
        };
        if let Some(row) = self.rows.iter_mut().find(|r| r.id == on) {
            row.ratios.push(Ratio {
                label: label.to_string(),
                value,
            });
        }
    }

    fn value(&self, id: &str) -> Option<f64> {
        self.median_secs(id).or_else(|| self.median_rate(id))
    }

    /// True when any row failed.
    pub(crate) fn any_failed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.measure, Measure::Failed(_)))
    }

    /// The table: one line per row, sections separated by a rule.
    pub(crate) fn table(&self) -> String {
        let header = [
            "section",
            "measurement",
            "median",
            "p90 / range",
            "n",
            "ratio",
            "note",
        ];
        let mut lines: Vec<[String; 7]> = Vec::new();
        for r in &self.rows {
            let (median, spread, n) = match &r.measure {
                Measure::Time(s) => (
                    format_duration(s.median()),
                    format_duration(s.p90()),
                    s.len().to_string(),
                ),
                Measure::Rate(rates) => (
                    format_rate(rates.median()),
                    format!("{}–{}", format_rate(rates.min()), format_rate(rates.max())),
                    rates.len().to_string(),
                ),
                Measure::Unavailable(why) => {
                    (format!("unavailable: {why}"), String::new(), String::new())
                }
                Measure::Failed(why) => (format!("FAILED: {why}"), String::new(), String::new()),
            };
            let ratio = r
                .ratios
                .iter()
                .map(|q| format!("{} {}", q.label, format_ratio(q.value)))
                .collect::<Vec<_>>()
                .join("; ");
            lines.push([
                r.section.name().to_string(),
                r.label.clone(),
                median,
                spread,
                n,
                ratio,
                r.note.clone(),
            ]);
        }
        let mut widths = header.map(|h| h.chars().count());
        for l in &lines {
            for (i, cell) in l.iter().enumerate().take(6) {
                // An unavailable or failed row's message spans the columns after it.
                if i == 2 && l[3].is_empty() && l[4].is_empty() {
                    continue;
                }
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let fmt = |cells: &[String; 7]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i == 6 {
                    s.push_str(c);
                } else {
                    let pad = widths[i].saturating_sub(c.chars().count());
                    let right = (2..=4).contains(&i);
                    if right {
                        s.push_str(&" ".repeat(pad));
                        s.push_str(c);
                    } else {
                        s.push_str(c);
                        s.push_str(&" ".repeat(pad));
                    }
                    s.push_str(" | ");
                }
            }
            s.trim_end().to_string()
        };
        let _ = writeln!(out, "{}", fmt(&header.map(str::to_string)));
        let rule: usize = widths.iter().sum::<usize>() + 3 * 6 + 10;
        let _ = writeln!(out, "{}", "-".repeat(rule));
        let mut last: Option<Section> = None;
        for (r, l) in self.rows.iter().zip(&lines) {
            if last.is_some_and(|s| s != r.section) {
                let _ = writeln!(out, "{}", "-".repeat(rule));
            }
            last = Some(r.section);
            if l[3].is_empty() && l[4].is_empty() {
                // Unavailable or failed: the message takes the rest of the line.
                let mut s = String::new();
                for (i, c) in l.iter().enumerate().take(2) {
                    s.push_str(c);
                    s.push_str(&" ".repeat(widths[i].saturating_sub(c.chars().count())));
                    s.push_str(" | ");
                }
                s.push_str(&l[2]);
                let _ = writeln!(out, "{}", s.trim_end());
            } else {
                let _ = writeln!(out, "{}", fmt(l));
            }
        }
        out
    }

    /// The aims of issue 3, each PASS, MISS or not measured.
    pub(crate) fn aims(&self) -> Vec<Aim> {
        let mut aims = Vec::new();
        let warm = self.median_secs("hello.wasi.execute");
        aims.push(Aim {
            name: "warm wasi execute (full engine API), median".into(),
            target: "<= 100 µs".into(),
            observed: warm
                .map_or_else(String::new, |s| format_duration(Duration::from_secs_f64(s))),
            pass: warm.map(|s| s <= 100e-6),
        });
        let local = self.median_secs("hello.local.execute");
        let bare = self.median_secs("hello.process.bare");
        let speedup = |base: Option<f64>| warm.zip(base).map(|(w, l)| l / w);
        let (vs_local, vs_bare) = (speedup(local), speedup(bare));
        aims.push(Aim {
            name: "warm wasi execute vs a local process start".into(),
            target: ">= 10x faster (than the local runtime and than a bare sh -c)".into(),
            observed: match (vs_local, vs_bare) {
                (Some(l), Some(p)) => {
                    format!("{l:.1}x faster than local, {p:.1}x faster than a bare process")
                }
                (Some(l), None) => format!("{l:.1}x faster than local"),
                _ => String::new(),
            },
            pass: vs_local.map(|l| l >= 10.0 && vs_bare.is_none_or(|p| p >= 10.0)),
        });
        let best = self
            .rows
            .iter()
            .filter(|r| r.id.starts_with("throughput.wasi."))
            .filter_map(|r| match &r.measure {
                Measure::Rate(rates) if rates.len() > 0 => Some((rates.median(), r.label.clone())),
                _ => None,
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        aims.push(Aim {
            name: "hello-world executions per second on 2 cores (best concurrency)".into(),
            target: ">= 10,000/s".into(),
            observed: best
                .as_ref()
                .map_or_else(String::new, |(r, l)| format!("{} ({l})", format_rate(*r))),
            pass: best.map(|(r, _)| r >= 10_000.0),
        });
        let cpu = self
            .median_secs("cpu.wasi.deadline")
            .zip(self.median_secs("cpu.local.native"))
            .map(|(w, n)| w / n);
        aims.push(Aim {
            name: "CPU-bound guest vs native, deadline on".into(),
            target: "<= 1.3x".into(),
            observed: cpu.map_or_else(String::new, |x| format!("{x:.2}x")),
            pass: cpu.map(|x| x <= 1.3),
        });
        aims
    }

    /// The aims as printed lines.
    pub(crate) fn aims_text(&self) -> String {
        let mut out = String::new();
        for a in self.aims() {
            let verdict = match a.pass {
                Some(true) => "PASS",
                Some(false) => "MISS",
                None => "NOT MEASURED",
            };
            let _ = writeln!(
                out,
                "{verdict:<12} {}: aim {}, observed {}",
                a.name,
                a.target,
                if a.observed.is_empty() {
                    "-"
                } else {
                    &a.observed
                }
            );
        }
        out
    }

    /// Every row and aim as JSON.
    pub(crate) fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut v = json!({
                    "id": r.id,
                    "section": r.section.name(),
                    "label": r.label,
                    "note": r.note,
                    "ratios": r.ratios.iter().map(|q| json!({"label": q.label, "value": q.value})).collect::<Vec<_>>(),
                });
                let extra = match &r.measure {
                    Measure::Time(s) => json!({
                        "status": "measured", "unit": "seconds", "n": s.len(),
                        "median": s.median().as_secs_f64(), "p90": s.p90().as_secs_f64(),
                        "min": s.min().as_secs_f64(), "max": s.max().as_secs_f64(),
                    }),
                    Measure::Rate(rates) => json!({
                        "status": "measured", "unit": "per_second", "n": rates.len(),
                        "median": rates.median(), "min": rates.min(), "max": rates.max(),
                    }),
                    Measure::Unavailable(why) => json!({"status": "unavailable", "reason": why}),
                    Measure::Failed(why) => json!({"status": "failed", "reason": why}),
                };
                if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                    o.extend(e);
                }
                v
            })
            .collect();
        let aims: Vec<Value> = self
            .aims()
            .into_iter()
            .map(|a| json!({"name": a.name, "target": a.target, "observed": a.observed, "pass": a.pass}))
            .collect();
        json!({ "rows": rows, "aims": aims })
    }
}

/// A ratio with the digits that matter: `155x`, `12.3x`, `1.40x`, `0.0034x`.
fn format_ratio(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}x")
    } else if x >= 10.0 {
        format!("{x:.1}x")
    } else if x >= 0.1 {
        format!("{x:.2}x")
    } else {
        format!("{x:.2e}x")
    }
}

/// A one-line summary of a measure, for progress output.
fn headline(m: &Measure) -> String {
    match m {
        Measure::Time(s) => format!(
            "median {} p90 {} (n={})",
            format_duration(s.median()),
            format_duration(s.p90()),
            s.len()
        ),
        Measure::Rate(r) => format!("median {} (rounds={})", format_rate(r.median()), r.len()),
        Measure::Unavailable(why) => format!("unavailable: {why}"),
        Measure::Failed(why) => format!("FAILED: {why}"),
    }
}
