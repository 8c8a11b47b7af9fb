//! The RUN-body shell parser on arbitrary text: parsing, the command walk and argument parsing
//! must never panic, whatever the nesting or the length of the words.
#![no_main]

use imgopt::shell;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for escape in ['\\', '`'] {
        let parsed = shell::parse_run(text, escape);
        let _ = shell::joined_run_text(text, escape);
        visit(&parsed);
    }
    visit(&shell::parse_script(text));
});

fn visit(parsed: &shell::ParsedScript<'_>) {
    for (command, _context) in shell::simple_commands(&parsed.script) {
        if let Some(invocation) = shell::invocation(command) {
            let _ = invocation.name();
        }
        for word in &command.words {
            let _ = (word.literal(), word.static_text());
        }
    }
}
