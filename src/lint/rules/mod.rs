//! The rule registry: one file per rule, one table ([`RULES`]) listing them all.
//!
//! A rule file declares `pub static RULE: Rule` — its code, kebab-case name, category, default
//! severity, the hadolint codes and BuildKit check it corresponds to, and its documentation (what,
//! why, a bad and a good example) — plus its check function. The `rules/*.md` pages are generated
//! from these declarations ([`super::docs`]) and the examples are tested against the check.
//!
//! Example markers: in `bad`, a comment line starting with `# flagged` marks that the next
//! instruction must be reported by the rule; every finding must be on such a line. Comment
//! lines `# .dockerignore: PATTERN` give an example (or a test fixture) a build context whose
//! `.dockerignore` holds those patterns, in order ([`example_dockerignore`]).

pub use super::rule::{Rule, RuleMeta};
use crate::context::IgnoreFile;

mod add_instead_of_copy;
mod add_url_without_checksum;
mod apk_no_cache;
mod apk_pin_versions;
mod apt_get_yes;
mod apt_install_without_lists;
mod apt_lists_left;
mod apt_pin_versions;
mod apt_update_alone;
mod archive_copied_then_extracted;
mod build_in_final_stage;
mod cd_in_run;
mod chown_in_separate_layer;
mod cleanup_in_separate_layer;
mod consecutive_run;
mod consistent_instruction_casing;
mod copy_context_before_install;
mod copy_dest_needs_slash;
mod copy_from_own_stage;
mod copy_from_unknown_stage;
mod copy_ignored_file;
mod copy_relative_dest;
mod copy_secret_file;
mod credentials_in_url;
mod dead_keyserver;
mod dnf_pin_versions;
mod download_removed_in_later_layer;
mod duplicate_stage_name;
mod env_self_reference;
mod expose_invalid_format;
mod expose_proto_casing;
mod from_as_casing;
mod from_platform_flag_const;
mod gem_pin_versions;
mod go_pin_versions;
mod healthcheck_missing;
pub mod helpers;
mod invalid_default_arg_in_from;
mod invalid_definition_description;
mod json_args_recommended;
mod label_key_invalid;
mod label_not_in_schema;
mod label_value_invalid;
mod language_cache_left;
mod last_user_root;
mod latest_tag;
mod legacy_key_value_format;
mod maintainer_deprecated;
mod multiple_instructions;
mod no_empty_continuation;
mod no_install_recommends;
mod npm_pin_versions;
mod pip_no_cache_dir;
mod pip_pin_versions;
mod pipefail;
mod pointless_command;
mod redundant_target_platform;
mod remote_script_piped_to_shell;
mod required_labels;
mod reserved_stage_name;
mod rm_unquoted_variable;
mod rpm_cache_left;
mod rpm_install_yes;
mod secrets_in_arg_or_env;
mod shell_via_symlink;
mod stage_name_casing;
mod sudo_in_run;
pub mod syntax_error;
mod toolchain_in_final_stage;
mod trusted_registries;
mod undefined_arg_in_from;
mod undefined_var;
mod untagged_image;
mod use_apt_get;
mod useradd_without_no_log_init;
mod wget_and_curl;
mod wget_progress;
mod workdir_relative;
mod yum_pin_versions;
mod zypper_dist_upgrade;
mod zypper_pin_versions;

/// Every rule imgopt knows, in code order (a test checks the order and that every rule file is
/// listed). The only list of rules.
pub static RULES: &[&Rule] = &[
    &syntax_error::RULE,
    &workdir_relative::RULE,
    &untagged_image::RULE,
    &latest_tag::RULE,
    &json_args_recommended::RULE,
    &duplicate_stage_name::RULE,
    &reserved_stage_name::RULE,
    &undefined_arg_in_from::RULE,
    &multiple_instructions::RULE,
    &copy_from_own_stage::RULE,
    &copy_dest_needs_slash::RULE,
    &expose_invalid_format::RULE,
    &no_empty_continuation::RULE,
    &from_platform_flag_const::RULE,
    &redundant_target_platform::RULE,
    &add_instead_of_copy::RULE,
    &invalid_default_arg_in_from::RULE,
    &copy_relative_dest::RULE,
    &env_self_reference::RULE,
    &cd_in_run::RULE,
    &apt_get_yes::RULE,
    &pipefail::RULE,
    &use_apt_get::RULE,
    &apt_pin_versions::RULE,
    &rpm_install_yes::RULE,
    &pip_pin_versions::RULE,
    &shell_via_symlink::RULE,
    &npm_pin_versions::RULE,
    &copy_from_unknown_stage::RULE,
    &apk_pin_versions::RULE,
    &undefined_var::RULE,
    &yum_pin_versions::RULE,
    &dnf_pin_versions::RULE,
    &zypper_pin_versions::RULE,
    &gem_pin_versions::RULE,
    &zypper_dist_upgrade::RULE,
    &pointless_command::RULE,
    &rm_unquoted_variable::RULE,
    &copy_ignored_file::RULE,
    &go_pin_versions::RULE,
    &healthcheck_missing::RULE,
    &dead_keyserver::RULE,
    &apt_install_without_lists::RULE,
    &consecutive_run::RULE,
    &apt_lists_left::RULE,
    &apk_no_cache::RULE,
    &pip_no_cache_dir::RULE,
    &rpm_cache_left::RULE,
    &cleanup_in_separate_layer::RULE,
    &chown_in_separate_layer::RULE,
    &toolchain_in_final_stage::RULE,
    &no_install_recommends::RULE,
    &language_cache_left::RULE,
    &useradd_without_no_log_init::RULE,
    &archive_copied_then_extracted::RULE,
    &download_removed_in_later_layer::RULE,
    &build_in_final_stage::RULE,
    &copy_context_before_install::RULE,
    &apt_update_alone::RULE,
    &copy_secret_file::RULE,
    &secrets_in_arg_or_env::RULE,
    &last_user_root::RULE,
    &trusted_registries::RULE,
    &sudo_in_run::RULE,
    &credentials_in_url::RULE,
    &add_url_without_checksum::RULE,
    &remote_script_piped_to_shell::RULE,
    &maintainer_deprecated::RULE,
    &stage_name_casing::RULE,
    &from_as_casing::RULE,
    &consistent_instruction_casing::RULE,
    &legacy_key_value_format::RULE,
    &expose_proto_casing::RULE,
    &required_labels::RULE,
    &wget_and_curl::RULE,
    &label_key_invalid::RULE,
    &invalid_definition_description::RULE,
    &wget_progress::RULE,
    &label_not_in_schema::RULE,
    &label_value_invalid::RULE,
];

/// The `.dockerignore` an example or fixture stands for: its `# .dockerignore: PATTERN`
/// comment lines, one pattern each. None when it has no such line.
pub fn example_dockerignore(text: &str) -> Option<IgnoreFile> {
    let patterns: Vec<&str> =
        text.lines().filter_map(|l| l.trim_start().strip_prefix("# .dockerignore:")).map(str::trim).collect();
    (!patterns.is_empty()).then(|| IgnoreFile::from_text(".dockerignore", &patterns.join("\n")))
}

/// Finds a rule by code, name, hadolint code or BuildKit name (case-insensitive).
pub fn find(key: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.meta.matches(key))
}

#[cfg(test)]
mod tests;
