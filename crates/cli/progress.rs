//! The per-file loop of the commands that work through many files (`import`,
//! `merge`): a progress bar on stderr, each file's notes said as it is done,
//! the outcomes kept in order for the table or the JSON at the end.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What a command says on stderr of a file it is done with.
pub trait FileOutcome {
    /// Whole lines (`patrol: warning: ...`), escaped; none with `--json`,
    /// whose objects carry them.
    fn notes(&self) -> Vec<String>;
}

/// Says on the bar which file is being worked on.
pub struct Ticker(ProgressBar);

impl Ticker {
    /// The file being worked on, and how far into it.
    pub fn working(&self, file: &Path, detail: Option<&str>) {
        self.0.set_message(match detail {
            Some(d) => format!("{}: {d}", file.display()),
            None => file.display().to_string(),
        });
    }
}

/// A bar over the files and the outcomes so far.
pub struct Files<R> {
    bar: ProgressBar,
    json: bool,
    done: Vec<R>,
}

impl<R: FileOutcome> Files<R> {
    /// A bar over `count` files; hidden with `--quiet` (and, by indicatif,
    /// when stderr is not a terminal).
    pub fn new(count: usize, quiet: bool, json: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(count as u64), target);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed}] {pos}/{len} files {msg}")
                .expect("a valid template"),
        );
        Files {
            bar,
            json,
            done: Vec::with_capacity(count),
        }
    }

    /// Run `work` on each file in turn, each outcome final when made.
    pub fn each(
        files: &[PathBuf],
        quiet: bool,
        json: bool,
        mut work: impl FnMut(&Path) -> R,
    ) -> Vec<R> {
        let mut this = Files::new(files.len(), quiet, json);
        for file in files {
            this.working(file, None);
            let outcome = work(file);
            this.done(outcome);
        }
        this.finish()
    }

    /// The file being worked on, and how far into it.
    pub fn working(&self, file: &Path, detail: Option<&str>) {
        self.ticker().working(file, detail);
    }

    /// A handle that says what is being worked on while the outcomes are
    /// collected elsewhere.
    pub fn ticker(&self) -> Ticker {
        Ticker(self.bar.clone())
    }

    /// A file is done: its notes on stderr, one more on the bar.
    pub fn done(&mut self, outcome: R) {
        if !self.json {
            let notes = outcome.notes();
            if !notes.is_empty() {
                self.bar.suspend(|| {
                    for line in notes {
                        eprintln!("{line}");
                    }
                });
            }
        }
        self.bar.inc(1);
        self.done.push(outcome);
    }

    /// Every outcome, in order; the bar is cleared.
    pub fn finish(self) -> Vec<R> {
        self.bar.finish_and_clear();
        self.done
    }
}
