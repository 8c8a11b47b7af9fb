//! The reading layer on arbitrary bytes: decoding, BuildKit's line reader, the typed view,
//! the model and the dump must never panic, and errors must point inside the text.
#![no_main]

use imgopt::{model::Model, syntax};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = syntax::decode(data) else { return };
    let text = syntax::strip_bom(text).0;
    for result in [syntax::parse(text), syntax::read_lines(text)] {
        match result {
            Ok(df) => {
                let model = Model::build(&df);
                for i in 0..df.instructions.len() {
                    let _ = model.scope_at(&df, i, &Default::default());
                }
                let _ = syntax::dump::dump(&df);
                for inst in &df.instructions {
                    assert!(inst.span.end <= text.len() && inst.span.start <= inst.span.end);
                    for f in &inst.flags {
                        assert!(f.span.end <= text.len());
                    }
                }
            }
            Err(e) => assert!(e.span.end <= text.len() && e.span.start <= e.span.end, "{e:?}"),
        }
    }
});
