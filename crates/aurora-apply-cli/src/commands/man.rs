//! `aurora-apply man DIR`: writes a man page per command (section 1): `aurora-apply.1`,
//! `aurora-apply-plan.1`, `aurora-apply-update.1`, … (hidden commands have none).
//!
//! The pages are clap_mangen's, generated from [`crate::cli::Cli::command()`], with the
//! text after each command's options (`after_help`) laid out for a man page: an intro
//! paragraph joins the DESCRIPTION, and each `Heading:` block (`Examples:`) becomes its own
//! section with its lines kept as they are (clap_mangen would run them together in one
//! paragraph under EXTRA). Pages of subcommands end with SEE ALSO naming their parents.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, roman};

use crate::exit::Exit;

/// The manual section of every page.
const SECTION: &str = "1";

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory the pages are written to (created if missing).
    #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,
}

/// Runs `man`.
pub fn exec(args: &ManArgs) -> Exit {
    match write_pages(&args.dir) {
        Ok(pages) => {
            crate::session::note(format!(
                "wrote {} man pages to {}",
                pages.len(),
                args.dir.display()
            ));
            Exit::Success
        }
        Err(e) => {
            crate::session::error(format!("{}: {e}", args.dir.display()));
            Exit::Error
        }
    }
}

/// Writes every page into `dir` (created if missing); returns the files written.
pub fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    // `help` is clap's own subcommand: `aurora-apply help plan` is `aurora-apply-plan(1)`.
    let mut root = crate::cli::Cli::command().disable_help_subcommand(true);
    root.build();
    let pages = Pages {
        dir,
        // Every page's footer names the program and its version, not the subcommand.
        source: format!(
            "{} {}",
            root.get_name(),
            root.get_version().unwrap_or_default()
        )
        .trim_end()
        .to_owned(),
        date: date(),
    };
    let mut written = Vec::new();
    let mut parents = Vec::new();
    pages.write_tree(&root, &mut parents, &mut written)?;
    Ok(written)
}

/// Where the pages go and what every page's title line says.
struct Pages<'a> {
    dir: &'a Path,
    source: String,
    date: String,
}

impl Pages<'_> {
    fn write_tree(
        &self,
        cmd: &clap::Command,
        parents: &mut Vec<String>,
        written: &mut Vec<PathBuf>,
    ) -> std::io::Result<()> {
        let name = page_name(cmd).to_owned();
        let path = self.dir.join(format!("{name}.{SECTION}"));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        file.write_all(&self.render(cmd, parents)?)?;
        file.flush()?;
        written.push(path);
        parents.push(name);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            self.write_tree(sub, parents, written)?;
        }
        parents.pop();
        Ok(())
    }

    /// The page of `cmd` (built), whose parent pages are `parents` (root first).
    fn render(&self, cmd: &clap::Command, parents: &[String]) -> std::io::Result<Vec<u8>> {
        let after = cmd
            .get_after_long_help()
            .or_else(|| cmd.get_after_help())
            .map(|text| AfterHelp::parse(&text.to_string()))
            .unwrap_or_default();
        let mut page_cmd = cmd.clone();
        if !after.intro.is_empty() {
            let about = cmd
                .get_long_about()
                .or_else(|| cmd.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default();
            page_cmd = page_cmd.long_about(format!("{about}\n\n{}", after.intro.join("\n")));
        }
        // Rendered below, as sections of their own.
        page_cmd = page_cmd
            .after_help(None::<&str>)
            .after_long_help(None::<&str>);
        let man = Man::new(page_cmd)
            .section(SECTION)
            .source(self.source.as_str())
            .date(self.date.as_str());
        let mut page = Vec::new();
        man.render(&mut page)?;
        let page = String::from_utf8_lossy(&page).into_owned();

        let mut extra = Roff::new();
        for (heading, lines) in &after.sections {
            extra.control("SH", [heading.to_uppercase().as_str()]);
            extra.control("RS", ["4"]);
            extra.control("nf", []);
            for line in lines {
                extra.text([roman(line.as_str())]);
            }
            extra.control("fi", []);
            extra.control("RE", []);
        }
        if !parents.is_empty() {
            extra.control("SH", ["SEE ALSO"]);
            let refs: Vec<String> = parents.iter().map(|p| format!("{p}({SECTION})")).collect();
            extra.text([roman(refs.join(", "))]);
        }
        // `render` opens with a preamble defining the apostrophe string it uses; the page has it.
        let preamble = Roff::new().render();
        let extra = extra.render();
        let extra = extra.strip_prefix(preamble.as_str()).unwrap_or(&extra);
        // Before VERSION, which clap_mangen puts last.
        Ok(match page.find("\n.SH VERSION") {
            Some(at) => format!("{}\n{extra}{}", &page[..at], &page[at + 1..]),
            None => page + extra,
        }
        .into_bytes())
    }
}

/// The pages' date, `YYYY-MM-DD`: `SOURCE_DATE_EPOCH` when set (reproducible builds), else
/// today (UTC). clap_mangen leaves it empty by default, and an empty argument drops out of
/// the `.TH` line, so the source would be read as the date.
fn date() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
        });
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01); Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `aurora-apply-plan`: clap names a subcommand after its parents once built.
fn page_name(cmd: &clap::Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// A command's `after_help` text: paragraphs before the first heading, then the blocks
/// under each `Heading:` line (dedented, blank lines at their ends dropped).
#[derive(Debug, Default, PartialEq)]
struct AfterHelp {
    intro: Vec<String>,
    sections: Vec<(String, Vec<String>)>,
}

impl AfterHelp {
    fn parse(text: &str) -> Self {
        let mut parsed = AfterHelp::default();
        for line in text.lines() {
            let heading = line
                .strip_suffix(':')
                .filter(|h| !h.is_empty() && !h.starts_with(char::is_whitespace))
                .filter(|h| h.chars().all(|c| c.is_alphanumeric() || c == ' '));
            match (heading, parsed.sections.last_mut()) {
                (Some(h), _) => parsed.sections.push((h.to_owned(), Vec::new())),
                (None, Some((_, lines))) => lines.push(line.to_owned()),
                (None, None) => parsed.intro.push(line.to_owned()),
            }
        }
        trim_blank(&mut parsed.intro);
        for (_, lines) in &mut parsed.sections {
            trim_blank(lines);
            let indent = lines
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0);
            for line in lines.iter_mut() {
                *line = line.get(indent..).unwrap_or("").trim_end().to_owned();
            }
        }
        parsed
    }
}

fn trim_blank(lines: &mut Vec<String>) {
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let leading = lines.iter().take_while(|l| l.trim().is_empty()).count();
    lines.drain(..leading);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_help_splits_intro_and_headed_blocks() {
        let parsed = AfterHelp::parse(
            "`x PATH` means `x apply PATH`.\n\nExamples:\n  x plan a/\n    --out p.json\n  x b\n",
        );
        assert_eq!(parsed.intro, ["`x PATH` means `x apply PATH`."]);
        assert_eq!(
            parsed.sections,
            [(
                "Examples".to_owned(),
                vec![
                    "x plan a/".to_owned(),
                    "  --out p.json".to_owned(),
                    "x b".to_owned()
                ]
            )]
        );
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn pages_are_named_after_the_command_path() {
        let dir = std::env::temp_dir().join(format!("aurora-apply-man-{}", std::process::id()));
        let written = write_pages(&dir).expect("pages");
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        for name in [
            "aurora-apply.1",
            "aurora-apply-plan.1",
            "aurora-apply-update.1",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }
}
