//! End-to-end tests of the `patrol` binary, on real files.

mod util;

mod architecture;
mod cli;
mod edit;
mod exports;
mod field;
mod import;
mod import_crash;
mod model;
mod quality;
mod report;
mod safety;
mod serve;
mod serve_basemap;
mod serve_edit;
mod serve_sync;
mod smart;
mod snapshots;
mod sync;
mod users;
