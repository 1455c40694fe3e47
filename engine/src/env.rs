//! Environment precedence: host (only with `include_os_env`) < spec < spawn < call.

use std::collections::BTreeMap;

use crate::spec::EnvironmentConfig;

/// The environment below call-level variables: the host's (read from this process, only when
/// `include_os_env` is set), then the spec's, then the spawn's, later layers winning.
pub fn base_env(
    config: &EnvironmentConfig,
    spawn: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if config.include_os_env {
        // Ambient authority: the host process environment.
        env.extend(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        );
    }
    env.extend(config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.extend(spawn.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// `base` overlaid with `call` (call-level variables win).
pub(crate) fn with_call_env(
    base: &BTreeMap<String, String>,
    call: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if call.is_empty() {
        return base.clone();
    }
    let mut env = base.clone();
    env.extend(call.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win() {
        let cfg = EnvironmentConfig {
            env: [
                ("A".to_string(), "spec".to_string()),
                ("B".to_string(), "spec".to_string()),
            ]
            .into(),
            include_os_env: false,
        };
        let spawn = [
            ("B".to_string(), "spawn".to_string()),
            ("C".to_string(), "spawn".to_string()),
        ]
        .into();
        let base = base_env(&cfg, &spawn);
        let call = [("C".to_string(), "call".to_string())].into();
        let env = with_call_env(&base, &call);
        assert_eq!(env["A"], "spec");
        assert_eq!(env["B"], "spawn");
        assert_eq!(env["C"], "call");
        assert!(
            !env.contains_key("PATH"),
            "host env must not leak without include_os_env"
        );
    }

    #[test]
    fn host_env_is_the_lowest_layer_when_included() {
        let (host_key, host_value) = std::env::vars()
            .next()
            .expect("the test process has at least one environment variable");
        let mut cfg = EnvironmentConfig {
            env: BTreeMap::new(),
            include_os_env: true,
        };
        let env = base_env(&cfg, &BTreeMap::new());
        assert_eq!(env.get(&host_key), Some(&host_value));
        cfg.env.insert(host_key.clone(), "spec".into());
        let env = base_env(&cfg, &BTreeMap::new());
        assert_eq!(env[&host_key], "spec");
        let spawn = [(host_key.clone(), "spawn".to_string())].into();
        assert_eq!(base_env(&cfg, &spawn)[&host_key], "spawn");
    }
}
