//! Markdown markup removal for `.md` corpus files (SPEC §8: "the plays with their Markdown markup
//! removed (keep speaker names and text)").
//!
//! The plays use a small subset of Markdown: `#` headings for title/act/scene, `**NAME**` speaker
//! lines, `_…_` or `*…*` stage directions, trailing double spaces as hard line breaks, and
//! backslash escapes (`\[`, `\-`, `1\.`). The cleaner also handles what a user's Markdown may
//! add: blockquotes, thematic breaks, links and images, inline code, fenced code, HTML tags and
//! comments. It keeps every word: headings keep their text, speaker names and stage directions
//! keep theirs, only the markup characters go. `.txt` files are not cleaned.
//!
//! Rules, applied line by line (docs/data.md has the examples):
//! - trailing whitespace (Markdown hard breaks) is trimmed; runs of blank lines become one;
//! - `#` heading markers, `>` quote markers and thematic breaks (`---`, `***`, `___`) go;
//! - `\x` for ASCII punctuation `x` becomes a literal `x` (never markup);
//! - a run of `*` is emphasis unless it stands alone between spaces (`a * b`); a run of `_` is
//!   emphasis unless it joins two letters or digits (`snake_case`); emphasis runs are removed;
//! - `[text](url)` and `![alt](url)` keep `text`/`alt`; `` `code` `` keeps `code`;
//! - HTML tags (`<b>`, `</i>`, `<br/>`) and comments (`<!-- … -->`) are removed; fenced code
//!   blocks keep their lines verbatim and lose the fences.

/// Removes Markdown markup from `source`, keeping the words. The result ends with one newline
/// (or is empty when no text remains).
pub fn clean_markdown(source: &str) -> String {
    let without_comments = strip_html_comments(&source.replace("\r\n", "\n"));
    let mut lines: Vec<String> = Vec::new();
    let mut in_fence: Option<&'static str> = None;
    for raw in without_comments.lines() {
        let trimmed_start = raw.trim_start();
        if let Some(fence) = in_fence {
            if trimmed_start.starts_with(fence) {
                in_fence = None;
            } else {
                lines.push(raw.trim_end().to_string());
            }
            continue;
        }
        if let Some(fence) = ["```", "~~~"].into_iter().find(|f| trimmed_start.starts_with(f)) {
            in_fence = Some(fence);
            continue;
        }
        lines.push(clean_line(raw));
    }
    let mut out = String::with_capacity(source.len());
    let mut blank_run = true; // Drops leading blank lines.
    for line in &lines {
        if line.is_empty() {
            if !blank_run {
                out.push('\n');
            }
            blank_run = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank_run = false;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Cleans one line outside a fenced code block.
fn clean_line(raw: &str) -> String {
    let mut line = raw.trim_end();
    // Block quotes, possibly nested: `> > text`.
    loop {
        let t = line.trim_start();
        match t.strip_prefix('>') {
            Some(rest) => line = rest.strip_prefix(' ').unwrap_or(rest),
            None => break,
        }
    }
    if is_thematic_break(line) {
        return String::new();
    }
    let heading = heading_text(line);
    let body = heading.unwrap_or(line);
    clean_inline(body).trim().to_string()
}

/// `---`, `***`, `___` (three or more, spaces allowed) and setext underlines `===`.
fn is_thematic_break(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3 && ["-", "*", "_", "="].iter().any(|m| t.chars().all(|c| c.to_string() == *m))
}

/// The text of an ATX heading (`## Title ##`), or `None` when the line is not one.
fn heading_text(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    let hashes = t.chars().take_while(|&c| c == '#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = &t[hashes..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    Some(rest.trim().trim_end_matches('#').trim_end())
}

/// Removes `<!-- … -->`, including comments spanning lines.
fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A character of the line and whether an escape made it literal.
#[derive(Clone, Copy)]
struct Ch {
    c: char,
    literal: bool,
}

/// Inline markup: escapes, code spans, links and images, HTML tags, emphasis.
fn clean_inline(line: &str) -> String {
    let chars = tokenize_escapes(line);
    let mut out: Vec<Ch> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch.literal {
            out.push(ch);
            i += 1;
            continue;
        }
        match ch.c {
            '`' => {
                let run = run_len(&chars, i, '`');
                if let Some(close) = find_run(&chars, i + run, '`', run) {
                    out.extend(chars[i + run..close].iter().map(|c| Ch { c: c.c, literal: true }));
                    i = close + run;
                } else {
                    out.extend(chars[i..i + run].iter().map(|c| Ch { c: c.c, literal: true }));
                    i += run;
                }
            }
            '!' if next_is(&chars, i + 1, '[') => {
                if let Some((text, end)) = link_at(&chars, i + 1) {
                    out.extend(text);
                    i = end;
                } else {
                    out.push(ch);
                    i += 1;
                }
            }
            '[' => {
                if let Some((text, end)) = link_at(&chars, i) {
                    out.extend(text);
                    i = end;
                } else {
                    out.push(ch);
                    i += 1;
                }
            }
            '<' => match html_tag_end(&chars, i) {
                Some(end) => i = end,
                None => {
                    out.push(ch);
                    i += 1;
                }
            },
            '*' | '_' | '~' => {
                let run = run_len(&chars, i, ch.c);
                let before = i.checked_sub(1).map(|j| chars[j].c);
                let after = chars.get(i + run).map(|c| c.c);
                let keep = match ch.c {
                    // `a * b`: an arithmetic star (or a list bullet), not emphasis.
                    '*' => run == 1 && is_space(before) && is_space(after),
                    // `snake_case`: an underscore inside a word.
                    '_' => is_word(before) && is_word(after),
                    // `~~strike~~` is markup; a single `~` is text.
                    _ => run != 2,
                };
                if keep {
                    out.extend(chars[i..i + run].iter().copied());
                }
                i += run;
            }
            _ => {
                out.push(ch);
                i += 1;
            }
        }
    }
    let text: String = out.iter().map(|c| c.c).collect();
    collapse_spaces(&text)
}

/// Splits a line into characters, turning `\x` (x ASCII punctuation) into a literal `x`.
fn tokenize_escapes(line: &str) -> Vec<Ch> {
    let mut out = Vec::with_capacity(line.len());
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\'
            && let Some(&n) = it.peek()
            && n.is_ascii_punctuation()
        {
            out.push(Ch { c: n, literal: true });
            it.next();
            continue;
        }
        out.push(Ch { c, literal: false });
    }
    out
}

fn run_len(chars: &[Ch], start: usize, c: char) -> usize {
    chars[start..].iter().take_while(|x| x.c == c && !x.literal).count()
}

fn next_is(chars: &[Ch], i: usize, c: char) -> bool {
    chars.get(i).is_some_and(|x| x.c == c && !x.literal)
}

/// The start of the next run of exactly `len` unescaped `c` at or after `from`.
fn find_run(chars: &[Ch], from: usize, c: char, len: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j].c == c && !chars[j].literal {
            let run = run_len(chars, j, c);
            if run == len {
                return Some(j);
            }
            j += run;
        } else {
            j += 1;
        }
    }
    None
}

/// `[text](target)` starting at `open`: the cleaned text and the index after `)`.
fn link_at(chars: &[Ch], open: usize) -> Option<(Vec<Ch>, usize)> {
    let mut depth = 0usize;
    let mut close = None;
    for (j, ch) in chars.iter().enumerate().skip(open) {
        if ch.literal {
            continue;
        }
        match ch.c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(j);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    if !next_is(chars, close + 1, '(') {
        return None;
    }
    let end = (close + 2..chars.len()).find(|&j| chars[j].c == ')' && !chars[j].literal)?;
    let inner: String = chars[open + 1..close]
        .iter()
        .map(|c| if c.literal { format!("\\{}", c.c) } else { c.c.to_string() })
        .collect();
    // The link text is cleaned on its own, then taken as literal characters.
    let text = clean_inline(&inner).chars().map(|c| Ch { c, literal: true }).collect();
    Some((text, end + 1))
}

/// The index after an HTML tag starting at `open` (`<b>`, `</i>`, `<br/>`, `<a href=…>`), or
/// `None` when the `<` is text (`a < b`, `<3`).
fn html_tag_end(chars: &[Ch], open: usize) -> Option<usize> {
    let first = chars.get(open + 1)?;
    let name_start = if first.c == '/' { open + 2 } else { open + 1 };
    if !chars.get(name_start)?.c.is_ascii_alphabetic() {
        return None;
    }
    let close = (name_start..chars.len()).find(|&j| chars[j].c == '>' && !chars[j].literal)?;
    // Tag names are letters/digits up to a space, `/` or `>`.
    let name_ok = chars[name_start..close]
        .iter()
        .take_while(|c| !(c.c == ' ' || c.c == '/'))
        .all(|c| c.c.is_ascii_alphanumeric() || c.c == '-');
    name_ok.then_some(close + 1)
}

fn is_space(c: Option<char>) -> bool {
    c.is_none_or(char::is_whitespace)
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

/// Collapses runs of spaces left where markup was removed (`a <b> c` → `a c`).
fn collapse_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_space = false;
    for c in text.chars() {
        if c == ' ' {
            if !prev_space {
                out.push(c);
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clean_markdown;

    #[test]
    fn play_markup_goes_and_words_stay() {
        let src = "# Macbeth\n\n## ACT I\n\n_Thunder. Enter three Witches_\n\n**First Witch**  \n\
                   When shall we three meet again  \nIn thunder?\n\n\n_\\[Aside]_ Anon.\n";
        let want = "Macbeth\n\nACT I\n\nThunder. Enter three Witches\n\nFirst Witch\n\
                    When shall we three meet again\nIn thunder?\n\n[Aside] Anon.\n";
        assert_eq!(clean_markdown(src), want);
    }

    #[test]
    fn escapes_are_literal_and_odd_emphasis_is_removed() {
        assert_eq!(clean_markdown("1\\. A lively flourish"), "1. A lively flourish\n");
        assert_eq!(clean_markdown("You,'\\--or 'I would"), "You,'--or 'I would\n");
        assert_eq!(clean_markdown("No, no; he'll __\\[ ]_  "), "No, no; he'll [ ]\n");
        assert_eq!(clean_markdown("*[He draws his sword.]*"), "[He draws his sword.]\n");
        assert_eq!(clean_markdown("\\*not emphasis\\*"), "*not emphasis*\n");
    }

    #[test]
    fn user_markdown_constructs() {
        let src = "> quoted **bold** text\n\n---\n\nSee [the site](http://x.invalid) and \
                   ![a cat](cat.png).\n\nUse `a_b * c` and snake_case, 2 * 3.\n\n<!-- hidden\n\
                   comment -->Shown <b>bold</b><br/> and a < b.\n\n```\n**kept** as is\n```\n";
        let want = "quoted bold text\n\nSee the site and a cat.\n\n\
                    Use a_b * c and snake_case, 2 * 3.\n\nShown bold and a < b.\n\n\
                    **kept** as is\n";
        assert_eq!(clean_markdown(src), want);
    }

    #[test]
    fn markup_only_text_cleans_to_nothing() {
        assert_eq!(clean_markdown("---\n\n<!-- x -->\n\n**\n"), "");
    }
}
