//! The results: each row's goal and how it is judged, the table, and the details and method
//! text of every section.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Which way a goal points.
#[derive(Clone, Copy, Debug)]
pub enum Goal {
    /// The measure must be at most this.
    AtMost(f64),
    /// The measure must be at least this.
    AtLeast(f64),
}

/// A row's goal and the figure it is judged on (the ratio, or an absolute value).
pub struct Check {
    /// How a missed goal's line starts ("first `alerter post` / curl").
    pub name: String,
    pub goal: Goal,
    pub measured: f64,
    /// Appended to numbers: "x", "%", " MiB", " connections".
    pub unit: &'static str,
    /// Decimals to show.
    pub digits: usize,
    /// More about a miss, after the gap ("; 3.1 ms slower than 2 × curl").
    pub extra: String,
}

impl Check {
    pub fn new(
        name: impl Into<String>,
        goal: Goal,
        measured: f64,
        unit: &'static str,
        digits: usize,
    ) -> Check {
        Check {
            name: name.into(),
            goal,
            measured,
            unit,
            digits,
            extra: String::new(),
        }
    }

    pub fn extra(mut self, extra: String) -> Check {
        self.extra = extra;
        self
    }

    pub fn met(&self) -> bool {
        match self.goal {
            Goal::AtMost(t) => self.measured <= t,
            Goal::AtLeast(t) => self.measured >= t,
        }
    }

    pub fn num(&self, v: f64) -> String {
        format!("{v:.*}{}", self.digits, self.unit)
    }

    pub fn goal_text(&self) -> String {
        match self.goal {
            Goal::AtMost(0.0) => "0".into(),
            Goal::AtMost(t) => format!("≤ {t}{}", self.unit),
            Goal::AtLeast(t) => format!("≥ {t}{}", self.unit),
        }
    }

    /// "…: 2.41x against the goal ≤ 2x, 0.41x over".
    pub fn missed_line(&self) -> String {
        let (gap, side) = match self.goal {
            Goal::AtMost(t) => (self.measured - t, "over"),
            Goal::AtLeast(t) => (t - self.measured, "short"),
        };
        format!(
            "{}: {} against the goal {}, {} {side}{}.",
            self.name,
            self.num(self.measured),
            self.goal_text(),
            self.num(gap),
            self.extra
        )
    }
}

/// One line of the table. `key` orders the table (section, then row within it).
pub struct Row {
    pub key: (u8, u8),
    pub what: String,
    pub value: String,
    pub baseline: String,
    pub ratio: String,
    /// `None`: an informational row; `info` then fills the Goal column.
    pub goal: Option<Check>,
    pub info: &'static str,
}

/// Everything the run found, kept in table order whatever order the sections ran in.
#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    /// Per section: its `### ` block of details.
    pub details: BTreeMap<u8, String>,
    /// Per section: how it measures, for the Method list.
    pub method: BTreeMap<u8, String>,
}

impl Report {
    pub fn add(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Appends a line to section `n`'s details (the first line is its heading).
    pub fn detail(&mut self, n: u8, line: impl AsRef<str>) {
        let d = self.details.entry(n).or_default();
        d.push_str(line.as_ref());
        d.push('\n');
    }

    pub fn method(&mut self, n: u8, text: impl Into<String>) {
        self.method.insert(n, text.into());
    }

    pub fn sorted(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| r.key);
        rows
    }

    pub fn missed(&self) -> Vec<String> {
        self.sorted()
            .into_iter()
            .filter_map(|r| r.goal.as_ref().filter(|c| !c.met()).map(Check::missed_line))
            .collect()
    }

    pub fn table(&self) -> String {
        let mut s = String::from(
            "| Measure | Value | Baseline (same run) | Ratio | Goal | Met? |\n|---|---:|---:|---:|---|---|\n",
        );
        for r in self.sorted() {
            let (goal, met) = match &r.goal {
                Some(c) => (c.goal_text(), if c.met() { "yes" } else { "**no**" }),
                None => (r.info.to_string(), "—"),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {goal} | {met} |",
                r.what, r.value, r.baseline, r.ratio
            );
        }
        s
    }
}
