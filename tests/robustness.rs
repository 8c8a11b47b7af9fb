//! Hostile input never panics: binary junk, invalid UTF-8, very long lines, pathological
//! continuations and quoting. Each case must end in Ok or a located error.

use imgopt::syntax;

fn read_any(bytes: &[u8]) {
    match syntax::decode(bytes) {
        Ok(text) => {
            let text = syntax::strip_bom(text).0;
            for result in [syntax::parse(text), syntax::read_lines(text)] {
                if let Err(e) = result {
                    assert!(e.span.start <= text.len() && e.span.end <= text.len(), "{e:?} outside the text");
                    assert!(e.line >= 1);
                }
            }
        }
        Err(e) => assert!(e.span.start < bytes.len()),
    }
}

/// A small deterministic generator, so failures reproduce.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u8 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u8
    }
}

#[test]
fn binary_junk_and_invalid_utf8() {
    let mut rng = Lcg(7);
    for len in [0, 1, 2, 7, 64, 1000, 50_000] {
        let junk: Vec<u8> = (0..len).map(|_| rng.next()).collect();
        read_any(&junk);
    }
    read_any(b"FROM a\nRUN \xff\xfe\n");
    read_any(b"\xef\xbb\xbf");
}

#[test]
fn dockerfile_shaped_junk() {
    // Random sequences of the bytes that matter to the reader.
    let alphabet: &[&[u8]] = &[
        b"FROM a",
        b"RUN ",
        b"COPY ",
        b"ONBUILD ",
        b"ENV ",
        b"HEALTHCHECK ",
        b"\\",
        b"`",
        b"\n",
        b" ",
        b"#",
        b"# escape=`\n",
        b"<<EOF",
        b"<<-",
        b"EOF\n",
        b"\"",
        b"'",
        b"[",
        b"]",
        b",",
        b"--mount=",
        b"=",
        b"$",
        b"{",
        b"}",
        b"\t",
        b"\r\n",
        b"\xc3\xa9",
    ];
    let mut rng = Lcg(42);
    for _ in 0..3000 {
        let n = (rng.next() % 40) as usize;
        let mut doc = Vec::new();
        for _ in 0..n {
            doc.extend_from_slice(alphabet[rng.next() as usize % alphabet.len()]);
        }
        read_any(&doc);
    }
}

#[test]
fn very_long_lines_and_many_continuations() {
    let mut long = b"FROM a\nRUN echo ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    long.push(b'\n');
    read_any(&long);

    let mut cont = b"FROM a\nRUN echo".to_vec();
    for _ in 0..100_000 {
        cont.extend_from_slice(b" a \\\n");
    }
    read_any(&cont);

    let mut quotes = b"FROM a\nENV A=".to_vec();
    quotes.extend(std::iter::repeat_n(b'"', 100_001));
    read_any(&quotes);

    let backslashes = [b"FROM a\nRUN ".as_slice(), &[b'\\'; 10_000], b"\n"].concat();
    read_any(&backslashes);
}

#[test]
fn many_heredoc_forms() {
    // 20,000 heredocs after a command word (`RUN python3 <<EOF`): each is read once, and each
    // RUN has its typed command.
    let mut text = String::from("FROM a\n");
    for i in 0..20_000 {
        text.push_str(&format!("RUN python3 <<EOF\nprint({i})\nEOF\n"));
    }
    text.push_str("MAINTAINER me\n");
    let df = imgopt::model::document::Document::parse(&text).expect("BuildKit reads it");
    assert_eq!(df.instructions.len(), 20_002);
    assert!((0..df.instructions.len()).all(|i| df.command(i).is_some()));
    read_any(text.as_bytes());
}

/// Issue 15: lint was quadratic in the instructions of a stage (rules rescanned the stage's
/// earlier instructions for every RUN, LABEL or variable use). Time per instruction must not
/// grow with the stage: 8 times the instructions may take at most 4 times the time per
/// instruction (generous, for a loaded machine; quadratic gives 8).
#[test]
fn lint_time_is_linear_in_the_length_of_a_stage() {
    use imgopt::lint::{lint_text, Settings};
    let mut settings = Settings::default();
    settings.label_schema.insert("x".into(), imgopt::lint::labels::LabelKind::Text);
    let file = |n: usize| {
        format!("FROM alpine:3\n{}", "ENV a=b\nRUN echo $a | cat\nRUN pip install x==1\nLABEL x=$a\n".repeat(n))
    };
    let per_instruction = |n: usize| {
        let text = file(n);
        let start = std::time::Instant::now();
        let found = lint_text(&text, &settings);
        assert!(!found.is_empty());
        start.elapsed().as_secs_f64() / (4 * n) as f64
    };
    per_instruction(200); // warm up
    let (small, large) = (per_instruction(500), per_instruction(4000));
    assert!(large < small * 4.0, "{:.1} µs per instruction at 4000 blocks, {:.1} µs at 500", large * 1e6, small * 1e6);
}

/// Issue 15: `analyze -f` recomputed each instruction's variables from the stage start (94% of
/// its time on a 100k-line file). The layer→line mapper folds each stage once.
#[test]
fn mapping_a_dockerfile_is_linear_in_the_length_of_a_stage() {
    use imgopt::analyze::dockerfile_map::DockerfileSteps;
    let per_instruction = |n: usize| {
        let text = format!("FROM alpine:3\n{}", "ENV a=b\nRUN echo $a\nWORKDIR /w/$a\n".repeat(n));
        let start = std::time::Instant::now();
        assert!(DockerfileSteps::from_text("Dockerfile", &text).is_ok());
        start.elapsed().as_secs_f64() / (3 * n) as f64
    };
    per_instruction(200); // warm up
    let (small, large) = (per_instruction(500), per_instruction(4000));
    assert!(large < small * 4.0, "{:.1} µs per instruction at 4000 blocks, {:.1} µs at 500", large * 1e6, small * 1e6);
}
