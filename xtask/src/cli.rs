//! A small option parser: each command takes the flags and values it knows,
//! then `finish` rejects whatever is left, so a typo is an error, not a no-op.

use anyhow::{Context, Result, bail};

pub struct Args {
    command: String,
    words: Vec<String>,
}

impl Args {
    pub fn new(command: &str, words: Vec<String>) -> Self {
        Args {
            command: command.to_owned(),
            words,
        }
    }

    /// Whether any of `names` (e.g. `--test`) was given; takes them out.
    pub fn flag(&mut self, names: &[&str]) -> bool {
        let before = self.words.len();
        self.words.retain(|w| !names.contains(&w.as_str()));
        self.words.len() != before
    }

    /// The value of `--name VALUE` or `--name=VALUE` (the last one wins).
    pub fn value(&mut self, names: &[&str]) -> Result<Option<String>> {
        let mut found = None;
        let mut i = 0;
        while i < self.words.len() {
            let word = &self.words[i];
            if names.contains(&word.as_str()) {
                if i + 1 >= self.words.len() {
                    bail!("{word} needs a value");
                }
                found = Some(self.words.remove(i + 1));
                self.words.remove(i);
                continue;
            }
            let inline = names.iter().find_map(|name| {
                word.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('='))
            });
            if let Some(value) = inline {
                found = Some(value.to_owned());
                self.words.remove(i);
                continue;
            }
            i += 1;
        }
        Ok(found)
    }

    /// `value` parsed as a number.
    pub fn number(&mut self, names: &[&str]) -> Result<Option<u64>> {
        match self.value(names)? {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .with_context(|| format!("{}: {text:?} is not a number", names[0])),
        }
    }

    /// The first word that is not an option (call after taking the
    /// options, so that no option's value is taken for it); takes it out.
    pub fn positional(&mut self) -> Option<String> {
        let at = self.words.iter().position(|w| !w.starts_with('-'))?;
        Some(self.words.remove(at))
    }

    /// Every argument was understood.
    pub fn finish(self) -> Result<()> {
        match self.words.first() {
            None => Ok(()),
            Some(word) => bail!(
                "unexpected argument {word:?} (cargo xtask --help lists the options of {})",
                self.command
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        Args::new("test", words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn values_flags_and_leftovers() {
        let mut a = args(&["--board", "b", "--test", "--timeout=30", "extra"]);
        assert!(a.flag(&["--test"]));
        assert!(!a.flag(&["--kvm"]));
        assert_eq!(a.value(&["--board"]).unwrap().as_deref(), Some("b"));
        assert_eq!(a.number(&["--timeout"]).unwrap(), Some(30));
        let error = a.finish().unwrap_err().to_string();
        assert!(error.contains("\"extra\""), "{error}");
    }

    #[test]
    fn positional_after_the_options() {
        let mut a = args(&["--board", "b", "dir", "--size"]);
        assert_eq!(a.value(&["--board"]).unwrap().as_deref(), Some("b"));
        assert!(a.flag(&["--size"]));
        assert_eq!(a.positional().as_deref(), Some("dir"));
        assert_eq!(a.positional(), None);
        assert!(a.finish().is_ok());
    }

    #[test]
    fn missing_value_is_an_error() {
        assert!(args(&["--board"]).value(&["--board"]).is_err());
        assert!(args(&["--timeout", "x"]).number(&["--timeout"]).is_err());
    }
}
