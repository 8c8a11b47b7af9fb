//! The stage state's image config ([`ConfigState`]) and an image's `config` object
//! ([`ContainerConfig`]), each into the other.

use std::collections::BTreeMap;

use crate::image::spec::{ContainerConfig, Empty, Healthcheck};
use crate::model::state::{ConfigState, HealthcheckConfig};

/// What a stage built on this config starts from.
pub fn config_state(config: Option<&ContainerConfig>) -> ConfigState {
    let Some(c) = config else { return ConfigState::default() };
    ConfigState {
        env: c
            .env
            .iter()
            .flatten()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect(),
        user: c.user.clone().unwrap_or_default(),
        workdir: c.working_dir.clone().unwrap_or_default(),
        cmd: c.cmd.clone(),
        entrypoint: c.entrypoint.clone(),
        shell: c.shell.clone(),
        labels: c.labels.clone().unwrap_or_default(),
        exposed_ports: c.exposed_ports.iter().flatten().map(|(k, _)| k.clone()).collect(),
        volumes: c.volumes.iter().flatten().map(|(k, _)| k.clone()).collect(),
        stop_signal: c.stop_signal.clone(),
        healthcheck: c.healthcheck.as_ref().map(|h| HealthcheckConfig {
            test: h.test.clone().unwrap_or_default(),
            interval: h.interval.map(go_duration),
            timeout: h.timeout.map(go_duration),
            start_period: h.start_period.map(go_duration),
            start_interval: h.start_interval.map(go_duration),
            retries: h.retries.map(|r| r.to_string()),
        }),
        onbuild: c.on_build.clone().unwrap_or_default(),
    }
}

/// The `config` object of the image a stage ends with, keeping the fields of the base's that
/// no instruction sets.
pub fn container_config(state: &ConfigState, base: Option<ContainerConfig>) -> ContainerConfig {
    let mut c = base.unwrap_or_default();
    let set = |v: &str| (!v.is_empty()).then(|| v.to_string());
    c.user = set(&state.user);
    c.working_dir = set(&state.workdir);
    c.env = Some(state.env.iter().map(|(k, v)| format!("{k}={v}")).collect());
    c.cmd = state.cmd.clone();
    c.entrypoint = state.entrypoint.clone();
    c.shell = state.shell.clone();
    c.labels = (!state.labels.is_empty()).then(|| state.labels.clone());
    let keys = |v: &[String]| -> Option<BTreeMap<String, Empty>> {
        (!v.is_empty()).then(|| v.iter().map(|k| (k.clone(), Empty::default())).collect())
    };
    c.exposed_ports = keys(&state.exposed_ports);
    c.volumes = keys(&state.volumes);
    c.stop_signal = state.stop_signal.clone();
    c.on_build = (!state.onbuild.is_empty()).then(|| state.onbuild.clone());
    c.healthcheck = state.healthcheck.as_ref().map(|h| Healthcheck {
        test: Some(h.test.clone()),
        interval: h.interval.as_deref().and_then(parse_duration_ns),
        timeout: h.timeout.as_deref().and_then(parse_duration_ns),
        start_period: h.start_period.as_deref().and_then(parse_duration_ns),
        start_interval: h.start_interval.as_deref().and_then(parse_duration_ns),
        retries: h.retries.as_deref().and_then(|r| r.parse().ok()),
        other: Default::default(),
    });
    for key in ["User", "WorkingDir", "Env", "Cmd", "Entrypoint", "Shell", "Labels", "ExposedPorts", "Volumes"] {
        c.other.remove(key);
    }
    c
}

/// Nanoseconds as Go prints a duration (`1m30s`, `5s`, `500ms`).
fn go_duration(ns: i64) -> String {
    if ns % 1_000_000_000 == 0 {
        let s = ns / 1_000_000_000;
        match (s / 3600, s % 3600 / 60, s % 60) {
            (0, 0, s) => format!("{s}s"),
            (0, m, s) => format!("{m}m{s}s"),
            (h, m, s) => format!("{h}h{m}m{s}s"),
        }
    } else {
        format!("{}ms", ns / 1_000_000)
    }
}

/// Go's `time.ParseDuration` for the units HEALTHCHECK uses, in nanoseconds.
pub fn parse_duration_ns(s: &str) -> Option<i64> {
    let mut total: f64 = 0.0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * unit;
        rest = &rest[u_end..];
    }
    Some(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration_ns("5s"), Some(5_000_000_000));
        assert_eq!(parse_duration_ns("x"), None);
        assert_eq!(go_duration(90_000_000_000), "1m30s");
    }

    #[test]
    fn config_round_trips() {
        let c = ConfigState {
            env: vec![("PATH".into(), "/bin".into())],
            user: "app".into(),
            workdir: "/w".into(),
            cmd: Some(vec!["sh".into()]),
            exposed_ports: vec!["80/tcp".into()],
            healthcheck: Some(HealthcheckConfig {
                test: vec!["CMD-SHELL".into(), "true".into()],
                interval: Some("5s".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(config_state(Some(&container_config(&c, None))), c);
    }
}
