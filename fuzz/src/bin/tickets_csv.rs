//! Fuzz target `tickets_csv`: [`forewarn::fuzzing::tickets_csv`] under AFL++ in persistent mode.

fn main() {
    afl::fuzz!(|data: &[u8]| forewarn::fuzzing::tickets_csv(data));
}
