//! Process names as they may appear in file names (log files, per-process dump files):
//! every character other than ASCII letters, digits, `.`, `-` and `_` becomes `_`.

/// `my app/1` → `my_app_1`.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::file_safe;

    #[test]
    fn keeps_safe_characters_and_replaces_the_rest() {
        assert_eq!(file_safe("api-2.v1_x"), "api-2.v1_x");
        assert_eq!(file_safe("my app/1"), "my_app_1");
        assert_eq!(file_safe("café"), "caf_");
    }
}
