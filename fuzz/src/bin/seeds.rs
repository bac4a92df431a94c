//! `seeds TARGET DIR`: writes the target's own seeds ([`forewarn::fuzzing::seeds`]) into DIR,
//! one file each.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, dir] = &args[..] else {
        eprintln!("usage: seeds TARGET DIR");
        return ExitCode::from(2);
    };
    if forewarn::fuzzing::target(target).is_none() {
        let known: Vec<&str> = forewarn::fuzzing::TARGETS.iter().map(|t| t.name).collect();
        eprintln!("unknown target `{target}` (known: {})", known.join(", "));
        return ExitCode::from(2);
    }
    let dir = PathBuf::from(dir);
    for (name, bytes) in forewarn::fuzzing::seeds(target) {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, bytes) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
