//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "patrol",
    version,
    about = "Ranger patrol logger: GPX import, effort reports, sync. The database is a GeoPackage."
)]
pub struct Cli {
    /// The database file.
    #[arg(long, global = true, env = "PATROL_DB", default_value = "patrol.gpkg")]
    pub db: PathBuf,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a database for a site.
    Init(InitArgs),
    /// Import GPX files: one patrol per file.
    Import(ImportArgs),
    /// List patrols.
    Patrols(PatrolsArgs),
    /// Show one patrol: legs, days, observations.
    Show(ShowArgs),
    /// List observations with their attributes.
    Observations(crate::commands::observations::ObservationsArgs),
    /// Record an observation by hand.
    Observe(ObserveArgs),
    /// Check the database: integrity, GeoPackage, consistency of derived tables.
    Check(JsonArg),
    /// The effort report for a period.
    Report(crate::commands::report::ReportArgs),
    /// Site settings.
    Site {
        #[command(subcommand)]
        command: SiteCommand,
    },
    /// Fix a record: adds a version, overwrites nothing.
    Edit {
        #[command(subcommand)]
        what: EditCommand,
        /// Print JSON: the record, its short id, the version and whether it changed.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Delete a record: adds a deleted version; its history stays.
    Delete {
        #[command(subcommand)]
        what: DeleteCommand,
        /// Print JSON: the record, its short id and the deleted version.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Restore a deleted record: a new version with its last content before the delete.
    Restore {
        #[command(subcommand)]
        what: DeleteCommand,
        /// Print JSON: the record, its short id and the restored version.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Every version of a record, oldest first: who changed what, when.
    History(HistoryArgs),
    /// Write this database (or what is new since the last export) to a file to send.
    Export(ExportArgs),
    /// Merge files from the field into a database: no duplicates, no lost edits.
    Merge(MergeArgs),
    /// What was merged from which device, when.
    Ledger(JsonArg),
    /// Records edited on two devices, and their resolution.
    Conflicts(ConflictsArgs),
    /// Rows merges set aside for a person to look at, and the decision on each.
    Quarantine(crate::commands::quarantine::QuarantineArgs),
    /// The web app on this computer: patrols with maps, import, the report.
    ///
    /// Open the address it prints in a browser; no internet is needed. Stop
    /// it with Ctrl-C.
    Serve(ServeArgs),
    /// Who may use `patrol serve` from other computers, and their role.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The data model: the categories (a tree), their attributes, labels.
    #[command(name = "data-model")]
    DataModel {
        #[command(subcommand)]
        command: DataModelCommand,
    },
    /// Build a demo database from the shipped sample patrols and report on it.
    Demo(DemoArgs),
    /// Print a shell completion script.
    ///
    /// For example `patrol completions bash > /etc/bash_completion.d/patrol`,
    /// or `patrol completions zsh > ~/.zfunc/_patrol`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    ///
    /// For example `patrol man > patrol.1 && man ./patrol.1`.
    Man,
}

#[derive(Subcommand, Debug)]
pub enum EditCommand {
    /// Change an observation's category, note, place or time, or move it to another patrol.
    Observation {
        /// The observation: its id, first characters (4 or more) or short id.
        id: String,
        /// Move it to this patrol (id, its first characters, or its short id).
        #[arg(long)]
        patrol: Option<String>,
        /// A category key, label or alias of the data model.
        #[arg(long)]
        category: Option<String>,
        /// The note (replaces the one there).
        #[arg(long)]
        note: Option<String>,
        /// Where: LAT,LON in decimal degrees.
        #[arg(long, allow_hyphen_values = true)]
        at: Option<String>,
        /// When: RFC 3339 (a time without offset is the site's local time).
        #[arg(long)]
        time: Option<String>,
        /// An attribute's value, KEY=VALUE (repeat for more; KEY= removes
        /// one); checked against the category (`patrol data-model show`).
        #[arg(long, value_name = "KEY=VALUE")]
        attr: Vec<String>,
    },
    /// Change a patrol's team, leader, objective, or its legs' transport and members.
    Patrol {
        /// The patrol: its id, first characters (4 or more) or short id.
        id: String,
        /// The team that walked.
        #[arg(long)]
        team: Option<String>,
        /// Who led the patrol.
        #[arg(long)]
        leader: Option<String>,
        /// What the patrol was for.
        #[arg(long)]
        objective: Option<String>,
        /// How the patrol travelled.
        #[arg(long, value_enum, ignore_case = true)]
        transport: Option<TransportArg>,
        /// How many people were on the patrol (`--members` is the old spelling).
        #[arg(long = "headcount", alias = "members", value_name = "N", value_parser = clap::value_parser!(u32).range(i64::from(patrol_core::model::MIN_MEMBERS)..=i64::from(patrol_core::model::MAX_MEMBERS)))]
        members: Option<u32>,
        /// The local date (YYYY-MM-DD) of a patrol whose track has no time at all.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Keep a fix quality control left out: SEGMENT:POINT, counted from 1 as
        /// `patrol show` lists them (repeat for more).
        #[arg(long = "keep-fix", value_name = "SEGMENT:POINT")]
        keep_fix: Vec<String>,
        /// Leave out a fix quality control kept: SEGMENT:POINT, counted from 1.
        #[arg(long = "drop-fix", value_name = "SEGMENT:POINT")]
        drop_fix: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeleteCommand {
    /// An observation.
    Observation {
        /// The observation: its id, first characters (4 or more) or short id.
        id: String,
    },
    /// A patrol.
    Patrol {
        /// The patrol: its id, first characters (4 or more) or short id.
        id: String,
    },
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The file to write: a GeoPackage like the database (gpkg), SMART patrol
    /// XML (smart), GeoJSON, CSV or GPX.
    #[arg(long, required_unless_present = "out_dir")]
    pub out: Option<PathBuf>,
    /// What to write: the sync GeoPackage (the default); `smart`: SMART
    /// patrol XML (`--patrol ID --out FILE.xml`, or `--from D --to D --out-dir DIR`, a file per patrol);
    /// `geojson`, `csv` or `gpx` for other tools (see the possible values).
    #[arg(long, value_enum, ignore_case = true, default_value = "gpkg")]
    pub format: ExportFormat,
    /// The patrol to write (its id, first characters or short id): with
    /// smart or gpx the one patrol of the file; with geojson or csv only its
    /// observations and track.
    #[arg(long)]
    pub patrol: Option<String>,
    /// The first local date (YYYY-MM-DD): with smart, of the patrols to
    /// write to --out-dir; with geojson or csv, of the observations and track.
    #[arg(long, requires = "to")]
    pub from: Option<chrono::NaiveDate>,
    /// The last local date (YYYY-MM-DD), with --from.
    #[arg(long, requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// With --format smart --from/--to: the folder for one file per patrol (made if missing).
    #[arg(long, conflicts_with = "out")]
    pub out_dir: Option<PathBuf>,
    /// Only what is new since the last export.
    #[arg(long)]
    pub since_last_export: bool,
    /// Replace an existing file at --out (never a database, even with --force).
    #[arg(long)]
    pub force: bool,
    /// Print JSON: what was written (the file, and its versions, patrols, observations or tracks).
    #[arg(long)]
    pub json: bool,
    /// With geojson or csv: only this site (its name or id).
    #[arg(long)]
    pub site: Option<String>,
    /// With geojson, csv or gpx: only observations of this category and the
    /// categories below it (a key, label or alias; repeat for more).
    #[arg(long, value_name = "KEY")]
    pub category: Vec<String>,
}

/// What `patrol export` writes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// The sync GeoPackage, for `patrol merge`.
    Gpkg,
    /// SMART patrol XML (SmartPatrol.xsd), to move patrols into SMART.
    Smart,
    /// GeoJSON for QGIS and web maps: observations as points, counted tracks as lines.
    Geojson,
    /// CSV for spreadsheets: one row per observation, a column per attribute.
    Csv,
    /// GPX 1.1 of one patrol (--patrol), for a GPS: its track and its observations as waypoints.
    Gpx,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The database to merge into (instead of --db).
    #[arg(long)]
    pub into: Option<PathBuf>,
    /// Files exported by `patrol export` (or whole databases).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Refuse files larger than this many MiB.
    #[arg(long, default_value_t = 2048)]
    pub max_mib: u64,
    /// Print JSON: one object per file, as an array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ConflictsArgs {
    #[command(subcommand)]
    pub command: Option<ConflictsCommand>,
    /// Print JSON (of the list, or of the resolution).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum ConflictsCommand {
    /// Keep one head of a conflicting record (a new version follows all heads).
    Resolve {
        /// The record (patrol, leg or observation): its id, first characters or short id.
        record: String,
        /// The version to keep (or its first characters).
        #[arg(long)]
        keep: String,
    },
}

#[derive(Args, Debug)]
pub struct JsonArg {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The site's name.
    #[arg(long, required_unless_present = "join")]
    pub site: Option<String>,
    /// The site's IANA time zone (dates in reports are local dates here).
    #[arg(long, required_unless_present = "join")]
    pub timezone: Option<String>,
    /// Join the site of an existing database (the site office's, or an export
    /// of it): same site, data model and boundary; a new device.
    #[arg(long, conflicts_with_all = ["site", "timezone", "data_model"])]
    pub join: Option<PathBuf>,
    /// A data model file (TOML, like crates/core/data-model.toml); the default otherwise.
    #[arg(long)]
    pub data_model: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// GPX files or SMART patrol XML files (known by their root element), or
    /// folders: a folder's *.gpx files and SMART *.xml files are imported (not
    /// its subfolders), one patrol per file.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The team that walked (needed for GPX; a SMART file names its own).
    #[arg(long, default_value = "")]
    pub team: String,
    /// How the patrol travelled.
    #[arg(long, value_enum, ignore_case = true, default_value = "foot")]
    pub transport: TransportArg,
    /// How many people were on the patrol (`--members` is the old spelling).
    #[arg(long = "headcount", alias = "members", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(i64::from(patrol_core::model::MIN_MEMBERS)..=i64::from(patrol_core::model::MAX_MEMBERS)))]
    pub members: u32,
    /// Names of the members (repeat, or comma-separated).
    #[arg(long = "member", value_delimiter = ',')]
    pub member_names: Vec<String>,
    /// Who led the patrol.
    #[arg(long)]
    pub leader: Option<String>,
    /// What the patrol was for.
    #[arg(long)]
    pub objective: Option<String>,
    /// The local date (YYYY-MM-DD) of files whose tracks have no time at all;
    /// without it their km are undated and in no month's report.
    #[arg(long)]
    pub date: Option<chrono::NaiveDate>,
    /// How to read times written without a zone: UTC (the GPX standard, the
    /// default), site (local time in the site's zone, as some phone apps write),
    /// or an offset such as +07:00.
    #[arg(long, value_name = "site|UTC|+HH:MM")]
    pub assume_zone: Option<String>,
    /// The patrol (id or its first characters) a file of waypoints only joins;
    /// without it they join the patrol whose time holds them.
    #[arg(long)]
    pub patrol: Option<String>,
    /// Print one JSON object per file, as an array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PatrolsArgs {
    /// Only patrols with effort in this local month (YYYY-MM).
    #[arg(long)]
    pub month: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// A patrol, leg or observation: its id, first characters (4 or more) or
    /// short id (a definition of the data model by its key, e.g. category:snare).
    pub id: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A patrol id, its first characters (4 or more), or its short id.
    pub patrol: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ObserveArgs {
    /// The patrol: its id, first characters (4 or more) or short id.
    #[arg(long)]
    pub patrol: String,
    /// A category key, label or alias of the data model.
    #[arg(long)]
    pub category: String,
    /// Where: LAT,LON in decimal degrees.
    #[arg(long, allow_hyphen_values = true)]
    pub at: String,
    /// When: RFC 3339, e.g. 2026-10-04T08:15:00+07:00 (a time without offset is the site's local time).
    #[arg(long)]
    pub time: Option<String>,
    /// A note: what was seen, in words.
    #[arg(long)]
    pub note: Option<String>,
    /// An attribute's value, KEY=VALUE (repeat for more): "count=7",
    /// "species=elephant", "parts_taken=yes"; checked against the category
    /// (`patrol data-model show` lists each category's attributes).
    #[arg(long, value_name = "KEY=VALUE")]
    pub attr: Vec<String>,
    /// Print JSON: the new observation's id and short id, its patrol and category.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user. The password is asked for (not shown as it is typed),
    /// or read from the first line of standard input with --password-stdin.
    Add {
        /// The name they log in with.
        name: String,
        /// What they may do: ranger (import, observe), manager (also edit,
        /// delete, report), coordinator (also export, merge, resolve).
        #[arg(long, value_enum, ignore_case = true)]
        role: RoleArg,
        /// Read the password from standard input (for scripts).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users and their roles (never their passwords).
    List {
        /// Print JSON: name, role, created_at.
        #[arg(long)]
        json: bool,
    },
    /// Remove a user.
    Remove {
        /// The user's name.
        name: String,
    },
}

/// A user's role, as typed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleArg {
    Ranger,
    Manager,
    Coordinator,
}

impl From<RoleArg> for patrol_core::role::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Ranger => Self::Ranger,
            RoleArg::Manager => Self::Manager,
            RoleArg::Coordinator => Self::Coordinator,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum DataModelCommand {
    /// The category tree with each category's attributes, and what each attribute allows.
    Show {
        /// Print JSON: languages, categories (with is_threat) and attributes.
        #[arg(long)]
        json: bool,
    },
    /// Add or change definitions from a file: SMART's DataModel XML, or
    /// patrol's TOML (as `data-model export --format toml` writes it). What
    /// the file does not define stays as it is.
    Import {
        /// The file (XML is known by its first character, `<`).
        file: PathBuf,
        /// Print JSON: the record keys added and changed, and how many were as they were.
        #[arg(long)]
        json: bool,
    },
    /// Write the data model to a file.
    Export {
        /// SMART's DataModel XML, or patrol's TOML.
        #[arg(long, value_enum, ignore_case = true)]
        format: ModelFormat,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing file (never a database).
        #[arg(long)]
        force: bool,
    },
}

/// The files a data model is written to.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFormat {
    /// SMART's DataModel XML (namespace .../xml/1.0/datamodel).
    Smart,
    /// patrol's TOML (`init --data-model` and `data-model import` read it).
    Toml,
}

#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// The site's boundary.
    Boundary {
        #[command(subcommand)]
        command: BoundaryCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum BoundaryCommand {
    /// Store a boundary from a GeoJSON file (Polygon or MultiPolygon, or a Feature or FeatureCollection of them).
    Set {
        /// The GeoJSON file.
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write the demo's databases and report.
    #[arg(long, default_value = "patrol-demo")]
    pub dir: PathBuf,
    /// Replace existing files in --dir (never a database, even with --force).
    #[arg(long)]
    pub force: bool,
}

// ---- patrol serve ----
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where to listen: IP:PORT (port 0: any free port). Beyond this
    /// computer (e.g. 0.0.0.0:8080) only with users, who log in (`patrol
    /// user add`); on this computer nobody logs in.
    #[arg(long, value_name = "ADDR", default_value = patrol_serve::DEFAULT_LISTEN)]
    pub listen: String,
    /// An offline basemap drawn under the maps: a raster MBTiles or PMTiles
    /// file of png, jpg or webp tiles (e.g. made by QGIS's "Generate XYZ
    /// tiles (MBTiles)"). Without it the maps are drawn on a plain
    /// background.
    #[arg(long, value_name = "FILE")]
    pub basemap: Option<std::path::PathBuf>,
}

/// `--transport`: the values of [`patrol_core::Transport`], spelt the same.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportArg {
    Foot,
    Vehicle,
    Motorbike,
    Boat,
    Aircraft,
}

impl From<TransportArg> for patrol_core::Transport {
    fn from(t: TransportArg) -> Self {
        t.to_possible_value()
            .expect("no value is skipped")
            .get_name()
            .parse()
            .expect("the same names as patrol_core::Transport")
    }
}

/// `--format` of `report`: the values of [`patrol_report::Format`], spelt the same.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    Text,
    Json,
    Csv,
    Html,
}

impl From<FormatArg> for patrol_report::Format {
    fn from(f: FormatArg) -> Self {
        f.to_possible_value()
            .expect("no value is skipped")
            .get_name()
            .parse()
            .expect("the same names as patrol_report::Format")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transport_and_format_has_its_value() {
        assert_eq!(
            TransportArg::value_variants().len(),
            patrol_core::Transport::ALL.len()
        );
        for t in TransportArg::value_variants() {
            let _ = patrol_core::Transport::from(*t);
        }
        assert_eq!(
            FormatArg::value_variants().len(),
            patrol_report::Format::ALL.len()
        );
        for f in FormatArg::value_variants() {
            let _ = patrol_report::Format::from(*f);
        }
    }
}
