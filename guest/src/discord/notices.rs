//! Bounded operator notices: a long wait that fails the same way every round must not flood
//! the host's log. Within one call each distinct text is written once (repeats are only
//! counted), at most [`MAX_DISTINCT`] distinct texts are written, then one line says that
//! further warnings are suppressed; [`Notices::summary`] gives one closing line for whatever
//! was held back.

use std::collections::HashSet;

/// Distinct notice texts written per call before the rest is suppressed.
pub const MAX_DISTINCT: usize = 20;

/// The line written once when [`MAX_DISTINCT`] is reached.
pub const SUPPRESSED: &str = "further warnings suppressed";

/// What was noticed so far in one call.
#[derive(Debug, Default)]
pub struct Notices {
    /// The distinct texts noticed.
    texts: HashSet<String>,
    /// Notices not written: repeats and texts past the limit.
    held_back: u32,
}

impl Notices {
    /// Nothing noticed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record `text`; whether to write it, or the suppression line instead, or nothing.
    pub fn admit(&mut self, text: &str) -> Option<Line> {
        if self.texts.contains(text) {
            self.held_back += 1;
            return None;
        }
        let distinct = self.texts.len();
        self.texts.insert(text.to_string());
        if distinct < MAX_DISTINCT {
            Some(Line::Text)
        } else {
            self.held_back += 1;
            (distinct == MAX_DISTINCT).then_some(Line::Suppressed)
        }
    }

    /// One line about the notices held back, if any were.
    pub fn summary(&self) -> Option<String> {
        (self.held_back > 0).then(|| {
            format!(
                "{} more warning{} not shown (repeats or past the first {MAX_DISTINCT})",
                self.held_back,
                if self.held_back == 1 { "" } else { "s" }
            )
        })
    }
}

/// What [`Notices::admit`] says to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// The notice itself.
    Text,
    /// [`SUPPRESSED`] instead.
    Suppressed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_text_is_written_once_and_counted() {
        let mut n = Notices::new();
        assert_eq!(n.admit("polling failed"), Some(Line::Text));
        for _ in 0..50 {
            assert_eq!(n.admit("polling failed"), None);
        }
        assert_eq!(n.admit("something else"), Some(Line::Text));
        assert_eq!(
            n.summary().as_deref(),
            Some("50 more warnings not shown (repeats or past the first 20)")
        );
    }

    #[test]
    fn past_twenty_distinct_texts_one_line_says_the_rest_is_suppressed() {
        let mut n = Notices::new();
        let lines: Vec<Option<Line>> = (0..30).map(|i| n.admit(&format!("w{i}"))).collect();
        assert!(lines[..20].iter().all(|l| *l == Some(Line::Text)));
        assert_eq!(lines[20], Some(Line::Suppressed));
        assert!(lines[21..].iter().all(Option::is_none));
        assert_eq!(n.admit("w3"), None, "a repeat of a written one");
        assert_eq!(
            n.summary().as_deref(),
            Some("11 more warnings not shown (repeats or past the first 20)")
        );
    }

    #[test]
    fn nothing_held_back_means_no_summary() {
        let mut n = Notices::new();
        n.admit("once");
        assert_eq!(n.summary(), None);
    }
}
