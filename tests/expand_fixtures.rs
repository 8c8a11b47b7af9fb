//! Variable expansion cases in `testdata/expand.tsv`, with BuildKit's word rules.

use imgopt::model::{expand_word, Vars};

#[test]
fn expansion_cases() {
    let table = std::fs::read_to_string("testdata/expand.tsv").unwrap();
    let mut n = 0;
    for (i, line) in table.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "testdata/expand.tsv:{}: three columns", i + 1);
        let vars: Vars = cols[1]
            .split(';')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let got = expand_word(cols[0], &vars, '\\');
        match cols[2] {
            "ERROR" => assert!(got.is_err(), "line {}: {:?} expanded to {got:?}", i + 1, cols[0]),
            want => assert_eq!(got.map(|e| e.value).as_deref(), Ok(want), "line {}: {:?}", i + 1, cols[0]),
        }
        n += 1;
    }
    assert!(n >= 20);
}
