//! "Did you mean": the closest of a list of names to one written, as BuildKit's
//! `util/suggest` finds it (an edit distance under 3), for the reader's unknown instructions
//! and the lint rules' unknown names.

/// The closest of `options` to `name` within an edit distance of 2, the first on ties:
/// BuildKit's `suggest.Search` (case-sensitive, as on Linux), behind its "did you mean".
pub fn closest<'o>(name: &str, options: &'o [String]) -> Option<&'o str> {
    let mut best: Option<&str> = None;
    let mut best_distance = 3;
    for option in options {
        let distance = levenshtein(name, option);
        if distance < best_distance {
            best = Some(option);
            best_distance = distance;
        }
    }
    best
}

/// [`closest`] comparing without case, the suggestion written in `name`'s case when `name` is
/// all upper or all lower case, else in lower case: `suggest.Search` with `caseSensitive`
/// false, as BuildKit suggests an instruction (`FNTRYPOINT` → `ENTRYPOINT`).
pub fn closest_ignoring_case(name: &str, options: &[&str]) -> Option<String> {
    let lower: Vec<String> = options.iter().map(|o| o.to_lowercase()).collect();
    let found = closest(&name.to_lowercase(), &lower)?;
    Some(if name == name.to_uppercase() { found.to_uppercase() } else { found.to_string() })
}

/// Edit distance in characters (insertions, deletions, substitutions).
fn levenshtein(a: &str, b: &str) -> usize {
    edit_distance(a, b, false)
}

/// Whether `a` is one typo away from `b`: one character inserted, deleted, replaced, or two
/// neighbours swapped (`PAHT` for `PATH`).
pub fn one_typo_apart(a: &str, b: &str) -> bool {
    edit_distance(a, b, true) == 1
}

/// Levenshtein distance, with adjacent transpositions counting one edit when asked
/// (optimal string alignment).
fn edit_distance(a: &str, b: &str, transpositions: bool) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; three rows are enough.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if transpositions && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_like_buildkit() {
        let options: Vec<String> = ["PATH", "HOME", "APP_DIR"].iter().map(|s| s.to_string()).collect();
        assert_eq!(closest("PAHT", &options), Some("PATH"));
        assert_eq!(closest("APP_DRI", &options), Some("APP_DIR"));
        assert_eq!(closest("path", &options), None, "case-sensitive: four substitutions");
        assert_eq!(closest("VERSION", &options), None);
        assert_eq!(closest("X", &[]), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "ab"), 2);
        assert_eq!(levenshtein("PAHT", "PATH"), 2);
        assert!(one_typo_apart("PAHT", "PATH"));
        assert!(one_typo_apart("DIR_ASSET", "DIR_ASSETS"));
        assert!(!one_typo_apart("GOPATH", "PATH"));
        assert!(!one_typo_apart("PATH", "PATH"));
    }

    #[test]
    fn instructions_are_suggested_in_the_case_written() {
        let instructions = ["ENTRYPOINT", "RUN", "ONBUILD"];
        assert_eq!(closest_ignoring_case("FNTRYPOINT", &instructions).as_deref(), Some("ENTRYPOINT"));
        assert_eq!(closest_ignoring_case("fntrypoint", &instructions).as_deref(), Some("entrypoint"));
        assert_eq!(closest_ignoring_case("Rnu", &instructions).as_deref(), Some("run"));
        assert_eq!(closest_ignoring_case("BADCMD", &instructions), None);
    }
}
