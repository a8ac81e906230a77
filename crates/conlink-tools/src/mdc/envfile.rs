//! Content of the `.env` file mdc writes. Compose reads it top to bottom and
//! later assignments win, so: mode markers first (mode env files may use
//! them), then the modes' env files in dependency order (later modes
//! override earlier ones), then mdc's computed variables last (they must not
//! be overridden by a mode by accident).

pub struct Mode {
    pub name: String,
    /// `MODES_DIR/NAME`, as written into COMPOSE_FILE and MDC_MODE_DIRS.
    pub path: String,
    pub compose_file: Option<String>,
    /// (path, content) of the mode's `env` and `.env`, in that order.
    pub env_files: Vec<(String, String)>,
}

/// `MDC_MODE_<name>` suffix: non-alphanumerics become `_` so it is a valid
/// variable name (as documented by the original).
pub fn marker_name(mode: &str) -> String {
    let suffix: String = mode.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("MDC_MODE_{suffix}")
}

pub fn compose_file_value(empty_base: &str, modes: &[Mode]) -> String {
    std::iter::once(empty_base)
        .chain(modes.iter().filter_map(|m| m.compose_file.as_deref()))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn profiles_value(modes: &[Mode]) -> String {
    modes.iter().map(|m| format!("MODE_{}", m.name)).collect::<Vec<_>>().join(",")
}

pub fn mode_dirs_value(modes: &[Mode]) -> String {
    modes.iter().map(|m| m.path.as_str()).collect::<Vec<_>>().join(",")
}

pub fn render(modes: &[Mode], empty_base: &str, compose_dir: &str) -> String {
    let mut out = String::new();
    for m in modes {
        out.push_str(&format!("{}=enabled\n", marker_name(&m.name)));
    }
    for m in modes {
        for (path, content) in &m.env_files {
            out.push_str(&format!("### mdc begin mode {} ({path})\n", m.name));
            out.push_str(content);
            if !content.is_empty() && !content.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("### mdc end mode {} ({path})\n", m.name));
        }
    }
    out.push_str(&format!("COMPOSE_FILE={}\n", compose_file_value(empty_base, modes)));
    out.push_str(&format!("COMPOSE_DIR={compose_dir}\n"));
    out.push_str(&format!("COMPOSE_PROFILES={}\n", profiles_value(modes)));
    out.push_str(&format!("MDC_MODE_DIRS=\"{}\"\n", mode_dirs_value(modes)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(name: &str, compose: bool, env: &[(&str, &str)]) -> Mode {
        let path = format!("./modes/{name}");
        Mode {
            compose_file: compose.then(|| format!("{path}/compose.yaml")),
            env_files: env.iter().map(|(p, c)| (format!("{path}/{p}"), c.to_string())).collect(),
            name: name.into(),
            path,
        }
    }

    #[test]
    fn full_env_file() {
        let modes =
            vec![mode("base", true, &[("env", "A=1\nB=2")]), mode("my-web", false, &[(".env", "B=3\n")])];
        let text = render(&modes, "./.compose-empty.yaml", "/p");
        assert_eq!(
            text,
            "MDC_MODE_base=enabled\nMDC_MODE_my_web=enabled\n\
             ### mdc begin mode base (./modes/base/env)\nA=1\nB=2\n### mdc end mode base (./modes/base/env)\n\
             ### mdc begin mode my-web (./modes/my-web/.env)\nB=3\n### mdc end mode my-web (./modes/my-web/.env)\n\
             COMPOSE_FILE=./.compose-empty.yaml:./modes/base/compose.yaml\nCOMPOSE_DIR=/p\n\
             COMPOSE_PROFILES=MODE_base,MODE_my-web\nMDC_MODE_DIRS=\"./modes/base,./modes/my-web\"\n"
        );
    }
}
