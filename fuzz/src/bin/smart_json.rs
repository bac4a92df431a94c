//! Fuzz target `smart_json`: [`forewarn::fuzzing::smart_json`] under AFL++ in persistent mode.

fn main() {
    afl::fuzz!(|data: &[u8]| forewarn::fuzzing::smart_json(data));
}
