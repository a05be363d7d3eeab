//! Drawing diagnostics for people: a `file:line:col: error[code]: path: message` line (what
//! editors and CI logs pick up), then miette's snippet with the label and the hint.

use std::io::{IsTerminal, Write};

use aurora_spec::{Diagnostic, Diagnostics};
use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::cli::ColorChoice;

/// Whether to colour stderr.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
        }
    }
}

/// Whether to colour stdout (plans).
pub fn use_color_stdout(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    }
}

/// Renders one diagnostic to a string.
pub fn render_diagnostic(d: &Diagnostic, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    // Located problems start with `file:line:col:` (what editors and CI logs pick up);
    // others (a path that does not exist) name what they are about in the message.
    let mut out = if d.file.is_some() {
        format!("{}: error: {d}\n", d.location())
    } else {
        format!("error: {d}\n")
    };
    let mut snippet = String::new();
    if handler.render_report(&mut snippet, d).is_ok() {
        out.push_str(&snippet);
    }
    for related in d.foreign_related() {
        let mut s = String::new();
        if handler.render_report(&mut s, related.as_ref()).is_ok() {
            out.push_str(&s);
        }
    }
    out
}

/// How many diagnostics the text output draws; the rest are counted ("… and N more").
/// `-o json` lists every one.
pub const MAX_SHOWN_DIAGNOSTICS: usize = 50;

/// Writes the first [`MAX_SHOWN_DIAGNOSTICS`] diagnostics (in file and position order), how
/// many more there are, and a summary line to `out`.
pub fn write_diagnostics(
    out: &mut dyn Write,
    diags: Diagnostics,
    color: bool,
) -> std::io::Result<()> {
    let items = diags.sorted();
    for d in items.iter().take(MAX_SHOWN_DIAGNOSTICS) {
        writeln!(out, "{}", render_diagnostic(d, color))?;
    }
    if items.len() > MAX_SHOWN_DIAGNOSTICS {
        writeln!(
            out,
            "… and {} more (`-o json` lists all of them)",
            items.len() - MAX_SHOWN_DIAGNOSTICS
        )?;
    }
    writeln!(out, "{} problem(s) found", items.len())
}
