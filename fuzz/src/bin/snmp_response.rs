//! Fuzz target `snmp_response`: [`forewarn::fuzzing::snmp_response`] under AFL++ in persistent mode.

fn main() {
    afl::fuzz!(|data: &[u8]| forewarn::fuzzing::snmp_response(data));
}
