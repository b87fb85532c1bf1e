//! `topoact`: the native command line over topoact-core.

fn main() {
    eprintln!("topoact: no subcommand yet");
    std::process::exit(2);
}
