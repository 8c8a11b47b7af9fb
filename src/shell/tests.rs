//! Unit tests of the shell reader: one per construct, plus the Dockerfile edge cases.

use super::*;

/// Parses a script that must be valid.
fn ok(text: &str) -> Script<'_> {
    let parsed = parse_script(text);
    assert_eq!(parsed.error, None, "unexpected error for {text:?}");
    parsed.script
}

/// Parses a RUN line that must be valid.
fn ok_run(text: &str) -> Script<'_> {
    let parsed = parse_run(text, '\\');
    assert_eq!(parsed.error, None, "unexpected error for {text:?}");
    parsed.script
}

/// The words of every simple command, in visiting order.
fn words(script: &Script<'_>) -> Vec<Vec<String>> {
    simple_commands(script)
        .into_iter()
        .map(|(command, _)| command.words.iter().map(|w| w.text.to_string()).collect())
        .collect()
}

fn simple<'s, 'a>(script: &'s Script<'a>) -> &'s SimpleCommand<'a> {
    match &script.items[0].first.commands[0] {
        Command::Simple(command) => command,
        other => panic!("expected a simple command, got {other:?}"),
    }
}

fn compound<'s, 'a>(script: &'s Script<'a>) -> &'s CompoundKind<'a> {
    match &script.items[0].first.commands[0] {
        Command::Compound(command) => &command.kind,
        other => panic!("expected a compound command, got {other:?}"),
    }
}

fn error_of(text: &str) -> ShellError {
    match parse_script(text).error {
        Some(error) => error,
        None => panic!("expected an error for {text:?}"),
    }
}

#[test]
fn simple_command_words_and_spans() {
    let text = "apt-get install -y curl";
    let script = ok(text);
    let command = simple(&script);
    assert_eq!(words(&script), [["apt-get", "install", "-y", "curl"]]);
    assert_eq!(&text[command.words[3].span.clone()], "curl");
    assert_eq!(command.span, 0..text.len());
    assert!(command.words.iter().all(|w| matches!(w.text, std::borrow::Cow::Borrowed(_))));
    assert_eq!(command.words[0].literal(), Some("apt-get"));
}

#[test]
fn lists_and_or_and_separators() {
    let script = ok("a && b || c; d & e\nf");
    assert_eq!(script.items.len(), 4);
    let first = &script.items[0];
    assert_eq!(first.rest.iter().map(|(op, _)| *op).collect::<Vec<_>>(), [LogicalOp::And, LogicalOp::Or]);
    assert_eq!(first.separator, Some(Separator::Semicolon));
    assert_eq!(script.items[1].separator, Some(Separator::Background));
    assert_eq!(script.items[2].separator, Some(Separator::Newline));
    assert_eq!(script.items[3].separator, None);
    assert_eq!(words(&script), [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]);
}

#[test]
fn pipelines_and_negation() {
    let script = ok("! curl -fsSL x | tar -xz |& cat");
    let pipeline = &script.items[0].first;
    assert!(pipeline.negated);
    assert_eq!(pipeline.commands.len(), 3);
    let contexts = simple_commands(&script);
    assert_eq!(contexts[1].1.before, Some(Connector::Pipe));
    assert_eq!(contexts[1].1.pipeline_index, 1);
    assert_eq!(contexts[2].1.pipeline_len, 3);
    assert!(contexts[0].1.negated);
}

#[test]
fn linebreak_after_operators() {
    assert_eq!(words(&ok("a &&\n\n b ||\n c |\n d")), [["a"], ["b"], ["c"], ["d"]]);
}

#[test]
fn assignments_prefix_only() {
    let script = ok("DEBIAN_FRONTEND=noninteractive A+=x apt-get install B=c");
    let command = simple(&script);
    assert_eq!(command.assignments.len(), 2);
    assert_eq!(command.assignments[0].name, "DEBIAN_FRONTEND");
    assert_eq!(command.assignments[0].value.text, "noninteractive");
    assert!(command.assignments[1].append);
    assert_eq!(words(&script), [["apt-get", "install", "B=c"]]);
    let script = ok("X=\"a b\"");
    let command = simple(&script);
    assert_eq!(command.assignments[0].value.text, "a b");
    assert!(command.assignments[0].value.quoted);
    assert_eq!(command.assignments[0].value.span, 2..7);
    assert!(command.words.is_empty());
}

#[test]
fn redirections() {
    let text = "make >out.log 2>&1 </dev/null >>a 3<>f &>all &>>all2 >|c";
    let script = ok(text);
    let command = simple(&script);
    assert_eq!(words(&script), [["make"]]);
    let ops: Vec<_> = command.redirects.iter().map(|r| (r.fd, r.op, r.target.text.to_string())).collect();
    assert_eq!(
        ops,
        [
            (None, RedirectOp::Output, "out.log".into()),
            (Some(2), RedirectOp::DupOutput, "1".into()),
            (None, RedirectOp::Input, "/dev/null".into()),
            (None, RedirectOp::Append, "a".into()),
            (Some(3), RedirectOp::ReadWrite, "f".into()),
            (None, RedirectOp::OutputAndError, "all".into()),
            (None, RedirectOp::AppendOutputAndError, "all2".into()),
            (None, RedirectOp::Clobber, "c".into()),
        ]
    );
    assert_eq!(&text[command.redirects[1].span.clone()], "2>&1");
    // A redirection may come first, and a command may be only redirections.
    assert_eq!(words(&ok(">/dev/null echo hi")), [["echo", "hi"]]);
    assert!(simple(&ok(": > file")).redirects.len() == 1);
    assert!(simple(&ok("> file")).words.is_empty());
    // Digits not followed by a redirection are a word.
    assert_eq!(words(&ok("sleep 2 >x")), [["sleep", "2"]]);
}

#[test]
fn here_string_and_heredoc_in_script() {
    let text = "cat <<EOF >/etc/x\nhello $USER\nEOF\ncat <<-'END' | sh\n\tquiet\n\tEND\necho done";
    let script = ok(text);
    assert_eq!(words(&script), vec![vec!["cat"], vec!["cat"], vec!["sh"], vec!["echo", "done"]]);
    let first = simple(&script);
    let heredoc = first.redirects[0].heredoc.as_ref().unwrap();
    assert!(heredoc.expand);
    assert_eq!(&text[heredoc.body.clone().unwrap()], "hello $USER\n");
    assert_eq!(first.redirects[1].op, RedirectOp::Output);
    let Command::Simple(second) = &script.items[1].first.commands[0] else { panic!() };
    let heredoc = second.redirects[0].heredoc.as_ref().unwrap();
    assert_eq!(second.redirects[0].op, RedirectOp::HereDocStripTabs);
    assert!(!heredoc.expand);
    assert_eq!(&text[heredoc.body.clone().unwrap()], "\tquiet\n");
    let script = ok("grep x <<< \"$v\"");
    assert_eq!(simple(&script).redirects[0].op, RedirectOp::HereString);
}

#[test]
fn heredoc_operator_on_a_run_line_has_no_body() {
    let script = ok_run("cat <<EOF > /etc/app.conf && chmod 600 /etc/app.conf");
    assert_eq!(words(&script), vec![vec!["cat"], vec!["chmod", "600", "/etc/app.conf"]]);
    let redirect = &simple(&script).redirects[0];
    assert_eq!(redirect.op, RedirectOp::HereDoc);
    assert_eq!(redirect.target.text, "EOF");
    assert_eq!(redirect.heredoc.as_ref().unwrap().body, None);
    // Two here-documents on one line, bodies in order.
    let text = "paste <<A <<B\n1\nA\n2\nB\n";
    let script = ok(text);
    let bodies: Vec<_> =
        simple(&script).redirects.iter().map(|r| &text[r.heredoc.as_ref().unwrap().body.clone().unwrap()]).collect();
    assert_eq!(bodies, ["1\n", "2\n"]);
}

#[test]
fn quoting_and_words() {
    let script = ok(r#"echo 'a b' "c $d" e\ f $'g\nh' "i\"j" k"l"m"#);
    let command = simple(&script);
    let texts: Vec<_> = command.words.iter().map(|w| w.text.to_string()).collect();
    assert_eq!(texts, ["echo", "a b", "c $d", "e f", "g\nh", "i\"j", "klm"]);
    assert!(command.words[1].quoted && !command.words[1].expansion);
    assert!(command.words[2].expansion && !command.words[2].unquoted_expansion);
    assert_eq!(command.words[2].literal(), None);
    assert!(command.words[3].quoted);
    assert!(!command.words[0].quoted);
}

#[test]
fn expansions() {
    let script = ok("rm -rf $DIR/* ${HOME}/x \"$(pwd)\" `id -u` $((1+2)) $1 $@ ${a:-${b}} ${x#*/}");
    let command = simple(&script);
    let w = &command.words;
    assert!(w[2].unquoted_expansion && w[2].glob);
    assert_eq!(w[2].text, "$DIR/*");
    assert!(w[3].expansion && w[3].unquoted_expansion);
    assert!(w[4].expansion && !w[4].unquoted_expansion);
    assert_eq!(w[4].text, "$(pwd)");
    assert_eq!(w[4].substitutions.len(), 1);
    assert!(w[5].expansion && w[5].substitutions.len() == 1);
    assert_eq!(w[6].text, "$((1+2))");
    assert!(w[7].expansion && w[8].expansion);
    assert_eq!(w[9].text, "${a:-${b}}");
    assert_eq!(w[10].text, "${x#*/}");
    assert!(!w[10].glob, "a pattern inside ${{}} is not a glob of the word");
    // The commands inside substitutions are visited, before their command.
    assert_eq!(
        words(&script),
        vec![vec!["pwd".to_string()], vec!["id".into(), "-u".into()], w.iter().map(|w| w.text.to_string()).collect()]
    );
    let contexts = simple_commands(&script);
    assert!(contexts[0].1.in_substitution && !contexts[2].1.in_substitution);
    assert!(contexts[0].1.in_subshell && !contexts[2].1.in_subshell);
    // Which commands run in a subshell: ( ), pipelines; not { }, if.
    let script = ok("(a) ; { b; } ; if c; then d; fi ; e | f");
    let subshell: Vec<bool> = simple_commands(&script).iter().map(|(_, c)| c.in_subshell).collect();
    assert_eq!(subshell, [true, false, false, false, true, true]);
    // A literal dollar.
    let script = ok("echo $ a$");
    assert!(!simple(&script).words[1].expansion);
}

#[test]
fn nested_command_substitutions_and_case_inside() {
    let script = ok("echo \"$(dpkg --print-architecture | sed 's/x/y/')\" $(case $x in a) echo A;; esac)");
    assert_eq!(
        words(&script),
        [
            vec!["dpkg", "--print-architecture"],
            vec!["sed", "s/x/y/"],
            vec!["echo", "A"],
            vec!["echo", "$(dpkg --print-architecture | sed 's/x/y/')", "$(case $x in a) echo A;; esac)"],
        ]
    );
}

#[test]
fn backticks_with_escapes() {
    let script = ok("echo `echo \\`date\\``");
    assert_eq!(simple(&script).words[1].substitutions.len(), 1);
}

#[test]
fn globs() {
    let script = ok("ls [ab].txt file? [ -f x ] a]b");
    let w = &simple(&script).words;
    assert!(w[1].glob && w[2].glob);
    assert!(!w[3].glob, "`[` alone is the test command");
    assert!(!w[6].glob);
    assert_eq!(w[3].literal(), Some("["));
    assert!(!simple(&ok("echo '*'")).words[1].glob);
}

#[test]
fn comments() {
    let script = ok("echo a#b # trailing comment\n# whole line\necho c;#x\necho '#not'");
    assert_eq!(words(&script), [vec!["echo", "a#b"], vec!["echo", "c"], vec!["echo", "#not"]]);
}

#[test]
fn subshell_and_brace_group() {
    let script = ok("(cd /src && make) ; { echo a; echo b; } >log");
    let CompoundKind::Subshell(body) = compound(&script) else { panic!() };
    assert_eq!(words(body), vec![vec!["cd", "/src"], vec!["make"]]);
    let Command::Compound(group) = &script.items[1].first.commands[0] else { panic!() };
    assert!(matches!(group.kind, CompoundKind::BraceGroup(_)));
    assert_eq!(group.redirects.len(), 1);
    assert_eq!(words(&script).len(), 4);
    // `}` is only a keyword in command position.
    assert_eq!(error_of("{ echo }").message, "missing `}`");
    assert_eq!(words(&ok("echo {a,b} }")), [["echo", "{a,b}", "}"]]);
}

#[test]
fn if_elif_else() {
    let script = ok("if [ -f a ]; then echo a; elif test -f b\nthen echo b; else echo c; fi");
    let CompoundKind::If { branches, else_body } = compound(&script) else { panic!() };
    assert_eq!(branches.len(), 2);
    assert!(else_body.is_some());
    let contexts = simple_commands(&script);
    let found: Vec<_> = contexts.iter().map(|(c, ctx)| (c.words[0].text.to_string(), ctx.in_condition)).collect();
    assert_eq!(
        found,
        [
            ("[".to_string(), true),
            ("echo".into(), false),
            ("test".into(), true),
            ("echo".into(), false),
            ("echo".into(), false)
        ]
    );
    assert_eq!(contexts[1].1.depth, 1);
}

#[test]
fn loops() {
    let script = ok("for f in a b \"$c\"; do rm $f; done; for x; do :; done; for y do :; done");
    let CompoundKind::For { variable, items, body } = compound(&script) else { panic!() };
    assert_eq!(variable.text, "f");
    assert_eq!(items.as_ref().map(Vec::len), Some(3));
    assert_eq!(words(body), [["rm", "$f"]]);
    let script = ok("while read -r line; do echo \"$line\"; done < list.txt\nuntil false; do break; done");
    let Command::Compound(first) = &script.items[0].first.commands[0] else { panic!() };
    assert!(matches!(first.kind, CompoundKind::While { .. }));
    assert_eq!(first.redirects[0].target.text, "list.txt");
    assert!(
        matches!(&script.items[1].first.commands[0], Command::Compound(c) if matches!(c.kind, CompoundKind::Until { .. }))
    );
    let script = ok("for ((i=0; i<3; i++)); do echo $i; done");
    assert!(matches!(compound(&script), CompoundKind::ArithmeticFor { .. }));
    assert_eq!(words(&script), [["echo", "$i"]]);
    let script = ok("for a in 1 2\ndo\n  echo $a\ndone");
    assert_eq!(words(&script).len(), 1);
}

#[test]
fn case_statement() {
    let script = ok("case \"$(uname -m)\" in\n  x86_64|amd64) arch=amd64 ;;\n  (aarch64) arch=arm64;;\n  *) echo no; exit 1 ;;\nesac");
    let CompoundKind::Case { subject, arms } = compound(&script) else { panic!() };
    assert_eq!(subject.substitutions.len(), 1);
    assert_eq!(arms.len(), 3);
    assert_eq!(arms[0].patterns.iter().map(|p| p.text.to_string()).collect::<Vec<_>>(), ["x86_64", "amd64"]);
    assert_eq!(arms[2].patterns[0].text, "*");
    assert_eq!(words(&script), vec![vec!["uname", "-m"], vec![], vec![], vec!["echo", "no"], vec!["exit", "1"]]);
    // Last arm without `;;`, fallthrough operators, empty case.
    ok("case x in a) echo a;& b) echo b;;& c) echo c\nesac");
    ok("case x in esac");
}

#[test]
fn functions_arithmetic_and_conditionals() {
    let script = ok("f() { echo in f; }\nfunction g { echo g; }\n((n++))\n[[ -f a && $b < c ]] && echo ok");
    assert!(matches!(&script.items[0].first.commands[0], Command::Function(f) if f.name.text == "f"));
    assert!(matches!(&script.items[1].first.commands[0], Command::Function(f) if f.name.text == "g"));
    assert!(
        matches!(&script.items[2].first.commands[0], Command::Compound(c) if matches!(c.kind, CompoundKind::Arithmetic(_)))
    );
    let Command::Compound(conditional) = &script.items[3].first.commands[0] else { panic!() };
    let CompoundKind::Conditional(words_inside) = &conditional.kind else { panic!() };
    assert_eq!(words_inside.iter().map(|w| w.text.to_string()).collect::<Vec<_>>(), ["-f", "a", "&&", "$b", "<", "c"]);
    assert_eq!(words(&script), vec![vec!["echo", "in", "f"], vec!["echo", "g"], vec!["echo", "ok"]]);
}

#[test]
fn process_substitution() {
    let script = ok("diff <(sort a) >(cat) b");
    let command = simple(&script);
    assert_eq!(command.words.len(), 4);
    assert!(command.redirects.is_empty());
    assert_eq!(words(&script)[0], ["sort", "a"]);
}

#[test]
fn keywords_are_words_outside_command_position() {
    assert_eq!(words(&ok("echo if then fi done")), [["echo", "if", "then", "fi", "done"]]);
    assert_eq!(words(&ok("iffy; done_x")), [["iffy"], ["done_x"]]);
}

#[test]
fn run_line_continuations_and_comment_lines() {
    let text = "apt-get update \\\n    # refresh first\n\n    && apt-get install -y \\\n        curl \\\n    && rm -rf /var/lib/apt/lists/*";
    let script = ok_run(text);
    assert_eq!(
        words(&script),
        [
            vec!["apt-get", "update"],
            vec!["apt-get", "install", "-y", "curl"],
            vec!["rm", "-rf", "/var/lib/apt/lists/*"]
        ]
    );
    let (install, context) = simple_commands(&script)[1];
    assert_eq!(context.before, Some(Connector::And));
    assert_eq!(context.after, Some(Connector::And));
    assert_eq!(&text[install.words[3].span.clone()], "curl");
    assert_eq!(&text[install.span.clone()], "apt-get install -y \\\n        curl");
}

#[test]
fn quotes_spanning_a_continuation() {
    let text = "echo \"a \\\n  b\" 'c\\\nd'";
    let script = ok_run(text);
    let command = simple(&script);
    assert_eq!(command.words[1].text, "a   b");
    assert_eq!(command.words[2].text, "cd");
    assert_eq!(&text[command.words[1].span.clone()], "\"a \\\n  b\"");
    // A word split by a continuation is joined and owned.
    let script = ok_run("apt-get ins\\\ntall");
    assert_eq!(simple(&script).words[1].text, "install");
    // With the backtick escape, `\` is the shell's own.
    let script = parse_run("echo a\\b `\n c", '`').script;
    assert_eq!(words(&script), [["echo", "ab", "c"]]);
}

#[test]
fn escaped_quotes_and_backslashes() {
    let script = ok(r#"echo \"x\" "a\\b" 'c\d' "\q""#);
    let texts: Vec<_> = simple(&script).words.iter().map(|w| w.text.to_string()).collect();
    assert_eq!(texts, ["echo", "\"x\"", "a\\b", "c\\d", "\\q"]);
}

#[test]
fn errors_are_reported_with_a_partial_tree() {
    let parsed = parse_script("echo ok; echo \"unterminated");
    let error = parsed.error.unwrap();
    assert_eq!(error.message, "unterminated double quote");
    assert_eq!(error.span.start, 14);
    assert_eq!(words(&parsed.script)[0], ["echo", "ok"]);
    assert_eq!(error_of("echo 'x").message, "unterminated single quote");
    assert_eq!(error_of("if true; then echo").message, "missing `fi`");
    assert_eq!(error_of("echo a; fi").message, "unexpected `fi`");
    assert_eq!(error_of("(echo").message, "missing `)`");
    assert_eq!(error_of("echo )").message, "unexpected `)`");
    assert_eq!(error_of("echo $(ls").message, "unterminated `$(`");
    assert_eq!(error_of("a && ; b").message, "unexpected `;`");
    assert_eq!(error_of("a |").message, "unexpected end of script");
    assert_eq!(error_of("while true; echo; done").message, "expected `do`, found `done`");
    assert_eq!(error_of("echo >").message, "expected a word after the redirection");
    assert_eq!(error_of("echo ${a").message, "unterminated `${`");
    assert_eq!(error_of("echo `ls").message, "unterminated backtick");
}

#[test]
fn hostile_input_ends_with_an_error_not_a_crash() {
    let deep = "( ".repeat(100_000);
    assert_eq!(error_of(&deep).message, "nesting too deep");
    // `((` is bash arithmetic, as bash reads it.
    assert_eq!(error_of(&"(".repeat(100_000)).message, "missing `))`");
    let deep = "if ".repeat(100_000);
    assert_eq!(error_of(&deep).message, "nesting too deep");
    let deep = "$(".repeat(100_000);
    assert!(parse_script(&deep).error.is_some());
    let nested_parameters = "\"${a:-".repeat(100_000);
    assert_eq!(error_of(&nested_parameters).message, "nesting too deep");
    let brackets = "[".repeat(100_000);
    assert!(parse_script(&brackets).error.is_none());
    for text in [
        "\\",
        "$",
        "${",
        "$(",
        "$((",
        "`",
        "'",
        "\"",
        "<<",
        "2>",
        "&",
        ";;",
        "case",
        "for",
        "((",
        "[[",
        "f(",
        "a=",
        "\u{e9}\\\u{e9}",
    ] {
        let _ = parse_script(text);
        let _ = parse_run(text, '\\');
        let _ = parse_run(text, '`');
    }
}

#[test]
fn empty_and_blank_scripts() {
    assert!(ok("").items.is_empty());
    assert!(ok("  \n # only a comment\n").items.is_empty());
    assert!(ok_run("").items.is_empty());
}

#[test]
fn invocation_strips_wrappers() {
    let script = ok("sudo -E -u root env -i PATH=/bin DEBIAN_FRONTEND=x /usr/bin/apt-get install -y curl");
    let found = invocation(simple(&script)).unwrap();
    assert_eq!(found.name(), Some("apt-get"));
    assert!(found.has_wrapper("sudo") && found.has_wrapper("env"));
    assert_eq!(found.args.len(), 3);
    let cases = [
        ("command -v curl", Some("command")),
        ("command -p ls -l", Some("ls")),
        ("exec -a name nginx -g x", Some("nginx")),
        ("nohup nice -n 5 time -p make", Some("make")),
        ("busybox wget x", Some("wget")),
        ("xargs rm -f", Some("xargs")),
        ("sudo", Some("sudo")),
        ("$PM install x", None),
    ];
    for (text, expected) in cases {
        let script = ok(text);
        assert_eq!(invocation(simple(&script)).unwrap().name(), expected, "{text}");
    }
    let script = ok("A=b >x");
    assert!(invocation(simple(&script)).is_none());
}

#[test]
fn option_parsing() {
    let script = ok("apt-get -qy --no-install-recommends -o Dpkg::Options=x install -t=bookworm curl -- -weird --target-release sid");
    let spec = OptionSpec { short_with_value: "ot", long_with_value: &["target-release"], stop_at_positional: false };
    let args: Vec<_> = parse_args(&simple(&script).words[1..], spec).collect();
    let described: Vec<String> = args
        .iter()
        .map(|arg| match arg {
            Arg::Short { flag, value, .. } => {
                format!("-{flag}{}", value.map(|v| format!("={}", v.text())).unwrap_or_default())
            }
            Arg::Long { name, value, .. } => {
                format!("--{name}{}", value.map(|v| format!("={}", v.text())).unwrap_or_default())
            }
            Arg::Positional(word) => word.text.to_string(),
        })
        .collect();
    assert_eq!(
        described,
        [
            "-q",
            "-y",
            "--no-install-recommends",
            "-o=Dpkg::Options=x",
            "install",
            "-t==bookworm",
            "curl",
            "-weird",
            "--target-release",
            "sid"
        ]
    );
    assert!(args[1].is_option(Some('y'), "yes"));
    assert!(args[2].is_option(None, "no-install-recommends"));

    // Options after an operand are operands when options stop there.
    let script = ok("sh -c 'echo hi' -x");
    let spec = OptionSpec { stop_at_positional: true, ..OptionSpec::default() };
    let args: Vec<_> = parse_args(&simple(&script).words[1..], spec).collect();
    assert!(matches!(args[1], Arg::Positional(w) if w.text == "echo hi"));
    assert!(matches!(args[2], Arg::Positional(w) if w.text == "-x"));
    // Attached short values and expansions.
    let script = ok("tar -xzf a.tgz -C/opt $FLAGS -");
    let spec = OptionSpec { short_with_value: "fC", ..OptionSpec::default() };
    let args: Vec<_> = parse_args(&simple(&script).words[1..], spec).collect();
    assert!(matches!(args[2], Arg::Short { flag: 'f', value: Some(OptionValue::Next(w)), .. } if w.text == "a.tgz"));
    assert!(matches!(args[3], Arg::Short { flag: 'C', value: Some(OptionValue::Attached("/opt")), .. }));
    assert!(matches!(args[4], Arg::Positional(_)));
    assert!(matches!(args[5], Arg::Positional(w) if w.text == "-"));
}

#[test]
fn connector_context_for_cd_rules() {
    let script = ok_run("cd /app; make && make install || true & wait");
    let contexts: Vec<_> = simple_commands(&script)
        .into_iter()
        .map(|(c, ctx)| (c.words[0].text.to_string(), ctx.before, ctx.after))
        .collect();
    assert_eq!(
        contexts,
        [
            ("cd".to_string(), None, Some(Connector::Semicolon)),
            ("make".into(), Some(Connector::Semicolon), Some(Connector::And)),
            ("make".into(), Some(Connector::And), Some(Connector::Or)),
            ("true".into(), Some(Connector::Or), Some(Connector::Background)),
            ("wait".into(), Some(Connector::Background), None),
        ]
    );
}

#[test]
fn crlf_scripts_and_run_lines() {
    let script = ok("set -e\r\napt-get update\r\ncat <<EOF >x\r\nbody\r\nEOF\r\necho done\r\n");
    assert_eq!(words(&script), [vec!["set", "-e"], vec!["apt-get", "update"], vec!["cat"], vec!["echo", "done"]]);
    assert_eq!(words(&ok_run("a \\\r\n  && b")), [["a"], ["b"]]);
}

#[test]
fn comment_lines_are_dropped_even_inside_quotes_like_buildkit() {
    // BuildKit removes the line before the shell sees the quote.
    let script = ok_run("echo \"a \\\n# dropped\nb\"");
    assert_eq!(simple(&script).words[1].text, "a b");
}

#[test]
fn error_spans_point_into_the_original_text() {
    let text = "apt-get update \\\n  # note\n  && echo \"oops";
    let error = parse_run(text, '\\').error.unwrap();
    assert_eq!(error.message, "unterminated double quote");
    assert_eq!(&text[error.span.clone()], "\"oops");
}

#[test]
fn bash_array_assignment() {
    let text = "pkgs=(curl \"$(cat list)\"\n  git) apt-get install; x=() ; y= (z)";
    let parsed = parse_script(text);
    let command = simple(&parsed.script);
    let array = command.assignments[0].array.as_ref().unwrap();
    assert_eq!(array.iter().map(|w| w.text.to_string()).collect::<Vec<_>>(), ["curl", "$(cat list)", "git"]);
    assert_eq!(&text[command.assignments[0].span.clone()], "pkgs=(curl \"$(cat list)\"\n  git)");
    assert_eq!(words(&parsed.script)[..2], [vec!["cat", "list"], vec!["apt-get", "install"]]);
    // `y= (z)` is not an array: the space makes `(` a syntax error, as in bash.
    assert_eq!(parsed.error.unwrap().message, "unexpected `(`");
    assert_eq!(error_of("a=(b").message, "missing `)`");
}

#[test]
fn array_argument_of_declaration_builtins() {
    let script = ok("export A=1 B=(git show -s) C=\"$(date)\"; local -a D=(x \"$(id)\")");
    let export = simple(&script);
    assert_eq!(export.words[2].text, "B=(git show -s)");
    let all = words(&script);
    assert_eq!(all[0], ["date"]);
    assert_eq!(all[2], ["id"]);
    // Elsewhere `(` after a word is still a syntax error, as in bash.
    assert_eq!(error_of("echo B=(x)").message, "unexpected `(`");
}

/// Random shell-ish text (fixed seed): every reader and helper must end without a
/// panic, with spans inside the text and on character boundaries.
#[test]
fn random_input_never_panics() {
    const ALPHABET: &[&str] = &[
        " ", "\n", "\\", "\\\n", "`", "'", "\"", "$", "${", "$(", "$((", "((", "(", ")", "{", "}", ";", ";;", "&",
        "&&", "|", "||", "<", "<<", "<<-", ">", "2>&1", "#", "=", "A=", "a", "if", "then", "fi", "for", "in", "do",
        "done", "case", "esac", "while", "[[", "]]", "!", "*", "[", "]", "é", "\r\n", "EOF", "sudo", "-y", "--x=1",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let len = (next() % 40) as usize;
        let text: String = (0..len).map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize]).collect();
        for parsed in [parse_script(&text), parse_run(&text, '\\'), parse_run(&text, '`')] {
            if let Some(error) = &parsed.error {
                assert!(error.span.start <= error.span.end && error.span.end <= text.len(), "{text:?}: {error:?}");
                assert!(text.is_char_boundary(error.span.start) && text.is_char_boundary(error.span.end), "{text:?}");
            }
            for (command, _) in simple_commands(&parsed.script) {
                for word in &command.words {
                    assert!(word.span.end <= text.len() && text.is_char_boundary(word.span.start), "{text:?}");
                }
                if let Some(found) = invocation(command) {
                    let spec = OptionSpec { short_with_value: "o", long_with_value: &["x"], stop_at_positional: false };
                    let _ = parse_args(found.args, spec).count();
                }
            }
        }
    }
}
