//! The reading layer on arbitrary bytes: decoding, BuildKit's line reader, the typed
//! commands, the model, the stage-state fold and the dump must never panic, and errors and
//! spans must point inside the text.
#![no_main]

use imgopt::model::document::Document;
use imgopt::model::instruction::Command;
use imgopt::model::state::fold_stage;
use imgopt::{model::Model, syntax};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = syntax::decode(data) else { return };
    let text = syntax::strip_bom(text).0;
    let inside = |span: &std::ops::Range<usize>| span.start <= span.end && span.end <= text.len();
    for result in [syntax::parse(text), syntax::read_lines(text)] {
        match result {
            Ok(df) => {
                let _ = Model::build(&df);
                let _ = syntax::dump::dump(&df);
                for inst in &df.instructions {
                    assert!(inside(&inst.span));
                    assert!(inst.flags.iter().all(|f| inside(&f.span)));
                    assert!(inst.arg_spans.iter().all(inside));
                    if let Err(e) = Command::parse(inst, text) {
                        assert!(inside(&e.span), "{e:?}");
                    }
                }
            }
            Err(e) => assert!(inside(&e.span), "{e:?}"),
        }
    }
    if let Ok(df) = Document::parse(text) {
        for stage in &df.model.stages {
            fold_stage(&df, stage, |_, state| {
                let _ = state.vars();
            });
        }
    }
});
