//! Progress on stderr, for commands that work through many files.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `files` files; hidden with `--quiet` (and, by indicatif, when
/// stderr is not a terminal).
pub fn files(files: usize, quiet: bool) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(files as u64), target);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {pos}/{len} files {msg}")
            .expect("a valid template"),
    );
    bar
}
