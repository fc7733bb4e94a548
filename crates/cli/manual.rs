//! Shell completions and the manual page, generated from the clap grammar
//! (`patrol completions SHELL`, `patrol man`): they cannot drift from it.

use anyhow::Result;
use clap::CommandFactory;

use crate::args::Cli;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "patrol", &mut buf);
    buf
}

/// The manual page of `patrol` (roff), with a section for every command.
pub fn man_page() -> Result<Vec<u8>> {
    let cmd = Cli::command();
    let mut buf = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    // Every command, and each of its subcommands, as a subsection.
    roff_commands(&mut buf, &cmd, "patrol")?;
    man.render_version_section(&mut buf)?;
    Ok(buf)
}

fn roff_commands(buf: &mut Vec<u8>, cmd: &clap::Command, path: &str) -> Result<()> {
    use std::io::Write;
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .collect();
    if subs.is_empty() {
        return Ok(());
    }
    if path == "patrol" {
        writeln!(buf, ".SH COMMANDS")?;
    }
    for sub in subs {
        let name = format!("{path} {}", sub.get_name());
        writeln!(buf, ".SS {}", roff_escape(&name))?;
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            writeln!(buf, "{}", roff_escape(&about.to_string()))?;
        }
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let value = arg.get_value_names().map_or_else(
                || arg.get_id().as_str().to_uppercase(),
                |names| {
                    names
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                },
            );
            let mut flag = match (arg.get_long(), arg.get_short()) {
                (Some(l), Some(s)) => format!("-{s}, --{l}"),
                (Some(l), None) => format!("--{l}"),
                (None, _) => format!("<{value}>"),
            };
            if arg.get_long().is_some() && arg.get_action().takes_values() {
                flag = format!("{flag} <{value}>");
            }
            writeln!(buf, ".TP\n\\fB{}\\fR", roff_escape(&flag))?;
            if let Some(help) = arg.get_help() {
                writeln!(buf, "{}", roff_escape(&help.to_string()))?;
            }
        }
        roff_commands(buf, sub, &name)?;
    }
    Ok(())
}

/// Text as roff takes it: backslashes doubled, a leading dot or quote guarded.
fn roff_escape(text: &str) -> String {
    let text = text.replace('\\', "\\\\").replace('-', "\\-");
    text.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
