//! The stage-state fold (BuildKit's `dockerfile2llb` dispatch): walking a stage's commands in
//! order gives, at each one, the effective SHELL, WORKDIR, USER, environment (image config +
//! ENV + ARG with BuildKit's scoping) and the image config the stage has built so far. The
//! builder, the linter and the layer→line mapper all read stage state from here.
//!
//! The fold is incremental: [`StageState::apply`] costs what one instruction costs, so a walk
//! over a stage is linear in its length.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::document::Document;
use super::expand::{expand_word, ExpandError, Vars};
use super::instruction::{ArgDef, Command, CommandLine, Healthcheck, KeyValue};
use super::{Stage, AUTOMATIC_PLATFORM_ARGS, PREDEFINED_ARGS};

/// What BuildKit puts in `PATH` when the base image sets none (Linux).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The longest path Linux takes (`PATH_MAX`, the terminating NUL included).
pub const PATH_MAX: usize = 4096;

/// The shell of a stage that sets none.
pub fn default_shell() -> Vec<String> {
    vec!["/bin/sh".to_string(), "-c".to_string()]
}

/// The image config a stage starts from and ends with: the fields of OCI's `config` that
/// Dockerfile instructions set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigState {
    /// `Env`, in order, each name once.
    pub env: Vec<(String, String)>,
    pub user: String,
    pub workdir: String,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `Shell` as SHELL set it (None: the default).
    pub shell: Option<Vec<String>>,
    pub labels: BTreeMap<String, String>,
    /// `80/tcp` and the like.
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<HealthcheckConfig>,
    pub onbuild: Vec<String>,
}

/// A HEALTHCHECK as an image config holds it (`Test` is `["NONE"]` for HEALTHCHECK NONE).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthcheckConfig {
    pub test: Vec<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<String>,
}

/// Values that come from outside the Dockerfile: `--build-arg`s and the meta ARGs (declared
/// before the first FROM) with their values.
#[derive(Debug, Clone, Default)]
pub struct FoldInputs {
    pub build_args: Vars,
    pub meta_args: Vars,
    pub escape: char,
}

impl FoldInputs {
    pub fn new(escape: char) -> Self {
        FoldInputs { build_args: Vars::new(), meta_args: Vars::new(), escape }
    }
}

/// The state of a stage at one point of the fold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageState {
    pub config: ConfigState,
    /// ARGs in scope with their values, in order of declaration: they reach RUN's environment
    /// but not the image config.
    pub args: Vec<(String, String)>,
    /// Whether CMD was set in this stage (ENTRYPOINT clears an inherited CMD, not this one).
    pub cmd_set: bool,
    /// Kept in step with `args` and `config` by [`StageState::apply`].
    index: Index,
}

/// What the state's lists hold, by name: the variables a word expands against, and where each
/// ARG, ENV, port and volume sits. A lookup or an update costs one hash, not a walk of the
/// lists, so a fold over a stage of 100,000 ARGs stays linear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Index {
    /// ARGs, then ENV over them.
    vars: Vars,
    arg_at: HashMap<String, usize>,
    env_at: HashMap<String, usize>,
    ports: HashSet<String>,
    volumes: HashSet<String>,
}

impl Index {
    fn of(config: &ConfigState, args: &[(String, String)]) -> Index {
        let mut index = Index::default();
        for (at, (k, v)) in args.iter().enumerate() {
            index.arg_at.entry(k.clone()).or_insert(at);
            index.vars.insert(k.clone(), v.clone());
        }
        for (at, (k, v)) in config.env.iter().enumerate() {
            index.env_at.entry(k.clone()).or_insert(at);
            index.vars.insert(k.clone(), v.clone());
        }
        index.ports = config.exposed_ports.iter().cloned().collect();
        index.volumes = config.volumes.iter().cloned().collect();
        index
    }
}

/// What one command did to the state, for the builder's history and cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Only the config changed (an `empty_layer` history entry).
    Config,
    /// A filesystem change: RUN, COPY, ADD, or WORKDIR (which creates its directory).
    Filesystem,
    /// Nothing the image records (a FROM, or an ARG's scope).
    None,
}

impl StageState {
    /// The state at a stage's FROM: the base image's config (None for `scratch` or when the
    /// base is unknown), with `PATH` defaulted as BuildKit does.
    pub fn from_base(base: Option<ConfigState>) -> StageState {
        let mut config = base.unwrap_or_default();
        if !config.env.iter().any(|(k, _)| k == "PATH") {
            config.env.insert(0, ("PATH".to_string(), DEFAULT_PATH.to_string()));
        }
        let index = Index::of(&config, &[]);
        StageState { config, args: Vec::new(), cmd_set: false, index }
    }

    /// A stage built `FROM` an earlier stage starts where that one ended (ARGs included, as
    /// BuildKit's LLB state carries them).
    pub fn from_stage(parent: &StageState) -> StageState {
        StageState {
            config: parent.config.clone(),
            args: parent.args.clone(),
            cmd_set: false,
            index: parent.index.clone(),
        }
    }

    /// The shell RUN, CMD and ENTRYPOINT use in shell form.
    pub fn shell(&self) -> Vec<String> {
        self.config.shell.clone().unwrap_or_else(default_shell)
    }

    /// The working directory (`/` when unset).
    pub fn workdir(&self) -> &str {
        if self.config.workdir.is_empty() {
            "/"
        } else {
            &self.config.workdir
        }
    }

    /// The variables a word expands against: ARGs, then ENV over them.
    pub fn vars(&self) -> &Vars {
        &self.index.vars
    }

    /// The environment of a RUN: the config's, plus ARGs an ENV of the same name does not hide.
    pub fn run_env(&self) -> Vec<(String, String)> {
        let mut env = self.config.env.clone();
        env.extend(self.args.iter().filter(|(k, _)| !self.index.env_at.contains_key(k)).cloned());
        env
    }

    /// A word expanded in this state (quotes removed).
    pub fn expand(&self, word: &str, escape: char) -> Result<String, ExpandError> {
        expand_word(word, &self.index.vars, escape).map(|e| e.value)
    }

    /// Applies one command of the stage (not its FROM).
    pub fn apply(&mut self, command: &Command, inputs: &FoldInputs) -> Result<Effect, ExpandError> {
        let esc = inputs.escape;
        Ok(match command {
            Command::From(_) => Effect::None,
            Command::Arg(defs) => {
                for def in defs {
                    if let Some(value) = self.arg_value(def, inputs)? {
                        self.set_arg(&def.name, value);
                    }
                }
                Effect::None
            }
            Command::Env(pairs) => {
                let mut values = Vec::with_capacity(pairs.len());
                for KeyValue { key, value, .. } in pairs {
                    values.push((key.clone(), expand_word(value, &self.index.vars, esc)?.value));
                }
                for (k, v) in values {
                    self.set_env(&k, v);
                }
                Effect::Config
            }
            Command::Label(pairs) => {
                let vars = &self.index.vars;
                for KeyValue { key, value, .. } in pairs {
                    let key = expand_word(key, vars, esc)?.value;
                    let value = expand_word(value, vars, esc)?.value;
                    self.config.labels.insert(key, value);
                }
                Effect::Config
            }
            Command::Workdir(word) => {
                let dir = self.expand(&word.text, esc)?;
                let joined = join_path(self.workdir(), &dir);
                if joined.len() >= PATH_MAX {
                    return Err(ExpandError::PathTooLong(joined.len()));
                }
                self.config.workdir = joined;
                Effect::Filesystem
            }
            Command::User(word) => {
                self.config.user = self.expand(&word.text, esc)?;
                Effect::Config
            }
            Command::Shell(shell) => {
                self.config.shell = Some(shell.clone());
                Effect::Config
            }
            Command::Cmd(line) => {
                self.config.cmd = Some(line.to_argv(&self.shell()));
                self.cmd_set = true;
                Effect::Config
            }
            Command::Entrypoint(line) => {
                self.config.entrypoint = Some(line.to_argv(&self.shell()));
                if !self.cmd_set {
                    self.config.cmd = None;
                }
                Effect::Config
            }
            Command::Expose(ports) => {
                for p in ports {
                    let p = self.expand(&p.text, esc)?;
                    let p = if p.contains('/') { p } else { format!("{p}/tcp") };
                    if self.index.ports.insert(p.clone()) {
                        self.config.exposed_ports.push(p);
                    }
                }
                Effect::Config
            }
            Command::Volume(vols) => {
                for v in vols {
                    let v = self.expand(&v.text, esc)?;
                    if self.index.volumes.insert(v.clone()) {
                        self.config.volumes.push(v);
                    }
                }
                Effect::Config
            }
            Command::StopSignal(sig) => {
                self.config.stop_signal = Some(self.expand(&sig.text, esc)?);
                Effect::Config
            }
            Command::Healthcheck(h) => {
                self.config.healthcheck = Some(healthcheck_config(h));
                Effect::Config
            }
            Command::Onbuild { trigger, .. } => {
                self.config.onbuild.push(trigger.clone());
                Effect::Config
            }
            Command::Maintainer(_) => Effect::Config,
            Command::Run(_) | Command::Copy(_) => Effect::Filesystem,
        })
    }

    /// The value an ARG takes: a `--build-arg`, else its default (expanded), else the meta
    /// ARG of that name, else empty for the automatic platform ARGs; None leaves it unset.
    fn arg_value(&self, def: &ArgDef, inputs: &FoldInputs) -> Result<Option<String>, ExpandError> {
        if let Some(v) = inputs.build_args.get(&def.name) {
            return Ok(Some(v.clone()));
        }
        if let Some(d) = &def.default {
            return Ok(Some(expand_word(d, &self.index.vars, inputs.escape)?.value));
        }
        if let Some(m) = inputs.meta_args.get(&def.name) {
            return Ok(Some(m.clone()));
        }
        let automatic = AUTOMATIC_PLATFORM_ARGS.contains(&def.name.as_str());
        let proxy = PREDEFINED_ARGS.contains(&def.name.as_str());
        Ok((automatic || proxy).then(String::new))
    }
}

impl StageState {
    /// An ARG takes `value`; it is a variable unless an ENV of the same name hides it.
    fn set_arg(&mut self, key: &str, value: String) {
        if !self.index.env_at.contains_key(key) {
            self.index.vars.insert(key.to_string(), value.clone());
        }
        set(&mut self.args, &mut self.index.arg_at, key, value);
    }

    /// An ENV sets `value`, over an ARG of the same name.
    fn set_env(&mut self, key: &str, value: String) {
        self.index.vars.insert(key.to_string(), value.clone());
        set(&mut self.config.env, &mut self.index.env_at, key, value);
    }
}

/// Set `key` in `list` (where `at` says it is), in place or appended.
fn set(list: &mut Vec<(String, String)>, at: &mut HashMap<String, usize>, key: &str, value: String) {
    match at.get(key).and_then(|&i| list.get_mut(i)) {
        Some(slot) => slot.1 = value,
        None => {
            at.insert(key.to_string(), list.len());
            list.push((key.to_string(), value));
        }
    }
}

fn healthcheck_config(h: &Healthcheck) -> HealthcheckConfig {
    let test = match &h.test {
        None => vec!["NONE".to_string()],
        Some(CommandLine::Exec(v)) => std::iter::once("CMD".to_string()).chain(v.iter().cloned()).collect(),
        Some(CommandLine::Shell(s)) => vec!["CMD-SHELL".to_string(), s.clone()],
    };
    HealthcheckConfig {
        test,
        interval: h.interval.clone(),
        timeout: h.timeout.clone(),
        start_period: h.start_period.clone(),
        start_interval: h.start_interval.clone(),
        retries: h.retries.clone(),
    }
}

/// Folds stage `stage` of `df` from an unknown base (its own instructions only, no build
/// args; the meta ARGs with their defaults as written): `visit(index, state)` sees each
/// instruction after the FROM with the state before it. One pass over the document's typed
/// commands, so a caller that needs the state at every instruction stays linear.
pub fn fold_stage(df: &Document<'_>, stage: &Stage, mut visit: impl FnMut(usize, &StageState)) {
    let mut inputs = FoldInputs::new(df.escape);
    inputs.meta_args = df.model.meta_args.iter().filter_map(|a| Some((a.name.clone(), a.default.clone()?))).collect();
    let mut state = StageState::from_base(None);
    for index in stage.instructions.start + 1..stage.instructions.end.min(df.instructions.len()) {
        visit(index, &state);
        if let Some(command) = df.command(index) {
            // A word that does not expand stops that instruction's effect where it is.
            let _ = state.apply(command, &inputs);
        }
    }
}

/// `path.Join(base, p)` when `p` is relative, cleaned (`..`, `.`, repeated `/`), as BuildKit
/// resolves WORKDIR; a trailing `/` is dropped.
pub fn join_path(base: &str, p: &str) -> String {
    let joined = if p.starts_with('/') { p.to_string() } else { format!("{base}/{p}") };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax;

    fn fold(text: &str, base: Option<ConfigState>) -> Vec<StageState> {
        let df = syntax::parse(text).unwrap();
        let inputs = FoldInputs::new(df.escape);
        let mut state = StageState::from_base(base);
        let mut states = Vec::new();
        for inst in &df.instructions[1..] {
            let cmd = Command::parse(inst, text).unwrap();
            state.apply(&cmd, &inputs).unwrap();
            states.push(state.clone());
        }
        states
    }

    #[test]
    fn workdir_user_env_shell_and_config() {
        let text = "FROM x\nARG V=1\nENV A=$V B=${A}x\nENV A=2\nWORKDIR app\nWORKDIR ../srv/./w/\nUSER u:$V\nSHELL [\"/bin/bash\",\"-c\"]\nCMD run it\nENTRYPOINT [\"/e\"]\nEXPOSE 80 53/udp\nLABEL k=\"a b\"\nHEALTHCHECK CMD true\n";
        let s = fold(text, None);
        let last = s.last().unwrap();
        assert_eq!(last.config.env[0], ("PATH".to_string(), DEFAULT_PATH.to_string()));
        // Values of one ENV see the scope before it.
        assert_eq!(s[1].config.env[1..], [("A".into(), "1".into()), ("B".into(), "x".into())]);
        assert_eq!(last.config.env[1], ("A".into(), "2".into()));
        assert_eq!(s[3].config.workdir, "/app");
        assert_eq!(last.config.workdir, "/srv/w");
        assert_eq!(last.config.user, "u:1");
        assert_eq!(last.config.cmd.as_deref(), Some(&["/bin/bash".into(), "-c".into(), "run it".into()][..]));
        assert_eq!(last.config.entrypoint.as_deref(), Some(&["/e".to_string()][..]));
        assert_eq!(last.config.exposed_ports, ["80/tcp", "53/udp"]);
        assert_eq!(last.config.labels["k"], "a b");
        assert_eq!(last.config.healthcheck.as_ref().unwrap().test, ["CMD-SHELL", "true"]);
        // ARGs reach RUN's environment, not the config.
        assert!(last.run_env().contains(&("V".into(), "1".into())));
        assert!(!last.config.env.iter().any(|(k, _)| k == "V"));
    }

    #[test]
    fn entrypoint_clears_an_inherited_cmd_only() {
        let base = ConfigState { cmd: Some(vec!["sh".into()]), ..Default::default() };
        let s = fold("FROM x\nENTRYPOINT [\"/e\"]\n", Some(base));
        assert_eq!(s[0].config.cmd, None);
        let s = fold("FROM x\nCMD [\"c\"]\nENTRYPOINT [\"/e\"]\n", None);
        assert_eq!(s[1].config.cmd.as_deref(), Some(&["c".to_string()][..]));
    }

    #[test]
    fn build_args_and_meta_args() {
        let df = syntax::parse("FROM x\nARG A\nARG B=d\nARG C\nARG TARGETARCH\n").unwrap();
        let mut inputs = FoldInputs::new('\\');
        inputs.build_args.insert("B".into(), "cli".into());
        inputs.meta_args.insert("C".into(), "meta".into());
        let mut st = StageState::from_base(None);
        for inst in &df.instructions[1..] {
            st.apply(&Command::parse(inst, df.text).unwrap(), &inputs).unwrap();
        }
        let args: Vec<(&str, &str)> = st.args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(args, [("B", "cli"), ("C", "meta"), ("TARGETARCH", "")]);
    }

    #[test]
    fn join_path_cleans() {
        assert_eq!(join_path("/", "a/b/"), "/a/b");
        assert_eq!(join_path("/a/b", "../../.."), "/");
        assert_eq!(join_path("/a", "/x//y"), "/x/y");
    }
}
