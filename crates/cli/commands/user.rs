//! `patrol user add | list | remove`: who may use `patrol serve` from
//! other computers (`patrol_store::users`).

use anyhow::{Context, Result, bail};
use patrol_report::table::{Table, escape};
use patrol_store::Store;

use crate::Outcome;
use crate::args::UserCommand;

pub fn run(store: &mut Store, command: &UserCommand) -> Result<Outcome> {
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let password = if *password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
                line.trim_end_matches(['\n', '\r']).to_owned()
            } else {
                let first = rpassword::prompt_password(format!("password for {name}: ")).context(
                    "cannot read the password (use --password-stdin without a terminal)",
                )?;
                let again = rpassword::prompt_password("the same again: ")?;
                if first != again {
                    bail!("the two passwords differ: nothing was changed");
                }
                first
            };
            let user = store.add_user(name, (*role).into(), &password)?;
            eprintln!("added {} ({})", user.name, user.role);
        }
        UserCommand::List { json } => {
            let users = store.users()?;
            if *json {
                super::json(&users)?;
            } else if users.is_empty() {
                eprintln!(
                    "no users: `patrol serve` listens on this computer only (add one with `patrol user add NAME --role manager`)"
                );
            } else {
                let mut t = Table::new(&["user", "role", "added"]);
                for u in &users {
                    t.row([
                        escape(&u.name).into_owned(),
                        u.role.to_string(),
                        u.created_at.clone(),
                    ]);
                }
                super::out(&t.render())?;
            }
        }
        UserCommand::Remove { name } => {
            if !store.remove_user(name)? {
                bail!("there is no user '{name}'");
            }
            eprintln!("removed {name}");
        }
    }
    Ok(Outcome::Done)
}
