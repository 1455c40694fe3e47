//! `--junit FILE`: the report as JUnit XML, the format CI systems read.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::{CaseResult, Kind, Report, SubmissionReport, kind};

/// `s` with every character XML 1.0 forbids (C0 controls other than tab, LF and CR,
/// U+FFFE, U+FFFF) replaced by U+FFFD; quick-xml escapes `<`, `&`, `"` and the rest.
pub(crate) fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            _ => c,
        })
        .collect()
}

fn secs(s: f64) -> String {
    format!("{s:.3}")
}

/// The body of a `<failure>` / `<error>`: the message, the first differing line, the diff.
fn body(c: &CaseResult) -> String {
    let mut parts = Vec::new();
    if let Some(m) = &c.message {
        parts.push(m.clone());
    }
    if let Some(line) = c.first_diff_line {
        parts.push(format!("first differing line: {line}"));
    }
    if let Some(d) = &c.diff {
        parts.push(d.clone());
    }
    parts.join("\n")
}

impl Report {
    /// The report as JUnit XML: one `<testsuites>`, a `<testsuite>` per submission, a
    /// `<testcase>` per case (`classname` = `submission.group`, `time` in seconds). WA, PE, PA,
    /// TLE, MLE, OLE, RE and CE are a `<failure type="VERDICT">`, IE an `<error>`, SKIP
    /// `<skipped/>`; the message and the first differing line are the body. Everything a
    /// submission controls is escaped, and characters XML 1.0 forbids are replaced by
    /// U+FFFD.
    pub fn to_junit(&self) -> String {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        self.write_junit(&mut w)
            .expect("writing XML to a Vec does not fail");
        let mut out = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
        out.push('\n');
        out
    }

    fn write_junit(&self, w: &mut Writer<Vec<u8>>) -> io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let counts: Vec<Counts> = self.submissions.iter().map(Counts::of).collect();
        let total = counts.iter().fold(Counts::default(), |a, c| a.add(c));
        let name = xml_safe(&self.problem);
        w.create_element("testsuites")
            .with_attributes([
                ("name", name.as_str()),
                ("tests", &total.tests.to_string()),
                ("failures", &total.failures.to_string()),
                ("errors", &total.errors.to_string()),
                ("skipped", &total.skipped.to_string()),
                ("time", &secs(total.time)),
            ])
            .write_inner_content(|w| {
                for (s, c) in self.submissions.iter().zip(&counts) {
                    write_suite(w, s, c)?;
                }
                Ok::<(), io::Error>(())
            })?;
        Ok(())
    }
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time: f64,
}

impl Counts {
    fn of(s: &SubmissionReport) -> Counts {
        let mut c = Counts::default();
        for case in &s.cases {
            c.tests += 1;
            c.time += case.wall_time;
            match kind(case.verdict) {
                Kind::Passed => {}
                Kind::Failure => c.failures += 1,
                Kind::Error => c.errors += 1,
                Kind::Skipped => c.skipped += 1,
            }
        }
        c
    }

    fn add(self, o: &Counts) -> Counts {
        Counts {
            tests: self.tests + o.tests,
            failures: self.failures + o.failures,
            errors: self.errors + o.errors,
            skipped: self.skipped + o.skipped,
            time: self.time + o.time,
        }
    }
}

fn write_suite(w: &mut Writer<Vec<u8>>, s: &SubmissionReport, c: &Counts) -> io::Result<()> {
    let name = xml_safe(&s.submission);
    w.create_element("testsuite")
        .with_attributes([
            ("name", name.as_str()),
            ("tests", &c.tests.to_string()),
            ("failures", &c.failures.to_string()),
            ("errors", &c.errors.to_string()),
            ("skipped", &c.skipped.to_string()),
            ("time", &secs(c.time)),
        ])
        .write_inner_content(|w| {
            for case in &s.cases {
                write_case(w, case)?;
            }
            Ok::<(), io::Error>(())
        })?;
    Ok(())
}

fn write_case(w: &mut Writer<Vec<u8>>, c: &CaseResult) -> io::Result<()> {
    let classname = xml_safe(&format!("{}.{}", c.submission, c.group));
    let name = xml_safe(&c.case);
    let time = secs(c.wall_time);
    let el = w.create_element("testcase").with_attributes([
        ("classname", classname.as_str()),
        ("name", name.as_str()),
        ("time", time.as_str()),
    ]);
    let message = xml_safe(c.message.as_deref().unwrap_or(c.verdict.code()));
    let text = xml_safe(&body(c));
    let tag = match kind(c.verdict) {
        Kind::Passed => {
            el.write_empty()?;
            return Ok(());
        }
        Kind::Skipped => {
            el.write_inner_content(|w| {
                w.create_element("skipped")
                    .with_attribute(("message", message.as_str()))
                    .write_empty()?;
                Ok::<(), io::Error>(())
            })?;
            return Ok(());
        }
        Kind::Failure => "failure",
        Kind::Error => "error",
    };
    el.write_inner_content(|w| {
        w.create_element(tag)
            .with_attributes([("message", message.as_str()), ("type", c.verdict.code())])
            .write_text_content(BytesText::new(&text))?;
        Ok::<(), io::Error>(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    use super::xml_safe;
    use crate::report::sample;

    #[test]
    fn junit_is_well_formed_counts_right_and_escapes_what_a_submission_wrote() {
        let xml = sample::report().to_junit();
        assert!(!xml.contains('\u{1}'), "{xml}");
        assert!(xml.contains("&lt;1&gt; &amp; got &quot;2&quot;"), "{xml}");

        let mut reader = Reader::from_str(&xml);
        let mut suites = Vec::new();
        let mut cases = Vec::new();
        let mut outcomes = Vec::new();
        let mut bodies = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) => {
                    let attr = |k: &str| {
                        e.try_get_attribute(k)
                            .unwrap()
                            .map(|a| a.unescape_value().unwrap().into_owned())
                    };
                    match e.name().as_ref() {
                        b"testsuite" => suites.push(
                            ["name", "tests", "failures", "errors", "skipped"]
                                .map(|k| attr(k).unwrap()),
                        ),
                        b"testcase" => {
                            cases.push([attr("classname").unwrap(), attr("name").unwrap()]);
                            assert_eq!(attr("time").as_deref(), Some("0.250"));
                        }
                        b"failure" | b"error" | b"skipped" => outcomes.push((
                            String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
                            attr("type"),
                            attr("message").unwrap(),
                        )),
                        _ => {}
                    }
                }
                Event::Text(t) => {
                    let t = t.unescape().unwrap();
                    if !t.trim().is_empty() {
                        bodies.push(t.into_owned());
                    }
                }
                _ => {}
            }
        }
        assert_eq!(suites, [["sub.py", "5", "2", "1", "1"].map(String::from)]);
        assert_eq!(
            cases
                .iter()
                .map(|[c, n]| format!("{c}:{n}"))
                .collect::<Vec<_>>(),
            [
                "sub.py.g:ac",
                "sub.py.g:wa",
                "sub.py.g:tle",
                "sub.py.g:ie",
                "sub.py.g:skip"
            ]
        );
        let hostile = xml_safe(sample::HOSTILE);
        assert_eq!(hostile, "expected <1> & got \"2\"\u{fffd}");
        assert_eq!(
            outcomes,
            [
                ("failure".into(), Some("WA".into()), hostile.clone()),
                (
                    "failure".into(),
                    Some("TLE".into()),
                    "deadline 1s passed".into()
                ),
                ("error".into(), Some("IE".into()), "engine failed".into()),
                ("skipped".into(), None, "SKIP".into()),
            ]
        );
        assert_eq!(bodies[0], format!("{hostile}\nfirst differing line: 1"));
    }
}
