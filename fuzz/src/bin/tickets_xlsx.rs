//! Fuzz target `tickets_xlsx`: [`forewarn::fuzzing::tickets_xlsx`] under AFL++ in persistent mode.

fn main() {
    afl::fuzz!(|data: &[u8]| forewarn::fuzzing::tickets_xlsx(data));
}
