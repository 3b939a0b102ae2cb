//! Every user-caused error names the problem and the fix.

use std::fs;

use corpus::{
    CorpusError, CorpusSource, DataConfig, SplitFractions, load_corpus, prepare, split_documents,
    train_or_load_tokenizer,
};

use crate::fixture_dir;

fn paths(p: &[std::path::PathBuf]) -> CorpusSource {
    CorpusSource::Paths(p.to_vec())
}

fn one(p: &std::path::Path) -> CorpusSource {
    CorpusSource::Paths(vec![p.to_path_buf()])
}

#[test]
fn missing_path() {
    let cache = tempfile::tempdir().expect("temp dir");
    let missing = cache.path().join("no-such-folder");
    let err = load_corpus(&one(&missing), cache.path()).expect_err("missing");
    assert!(matches!(err, CorpusError::MissingPath { ref path } if *path == missing));
    assert!(err.to_string().contains("does not exist; fix:"), "{err}");
}

#[test]
fn empty_corpus() {
    let cache = tempfile::tempdir().expect("temp dir");
    let dir = cache.path().join("corpus");
    fs::create_dir(&dir).expect("mkdir");
    // Files that do not count: another extension, a hidden file, and Markdown with no text.
    fs::write(dir.join("data.csv"), "a,b\n").expect("write");
    fs::write(dir.join(".hidden.txt"), "secret").expect("write");
    fs::write(dir.join("only-markup.md"), "---\n\n<!-- nothing -->\n").expect("write");
    let err = load_corpus(&paths(&[dir]), cache.path()).expect_err("empty");
    assert!(matches!(err, CorpusError::EmptyCorpus { .. }), "{err:?}");
    assert!(err.to_string().contains("is empty") && err.to_string().contains("fix:"), "{err}");
}

#[test]
fn non_utf8_file_names_file_and_offset() {
    let cache = tempfile::tempdir().expect("temp dir");
    let file = cache.path().join("latin1.txt");
    // "caf" then 0xE9 (é in Latin-1), invalid in UTF-8 at byte offset 3.
    fs::write(&file, b"caf\xe9 au lait").expect("write");
    let err = load_corpus(&one(&file), cache.path()).expect_err("not utf-8");
    assert!(
        matches!(err, CorpusError::NotUtf8 { ref path, offset: 3 } if *path == file),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("latin1.txt") && msg.contains("offset 3") && msg.contains("iconv"));
}

#[test]
fn duplicate_document_names() {
    let cache = tempfile::tempdir().expect("temp dir");
    let (a, b) = (cache.path().join("a"), cache.path().join("b"));
    for dir in [&a, &b] {
        fs::create_dir(dir).expect("mkdir");
        fs::write(dir.join("same.txt"), "text").expect("write");
    }
    let err = load_corpus(&paths(&[a.join("same.txt"), b.join("same.txt")]), cache.path())
        .expect_err("duplicate");
    assert!(matches!(err, CorpusError::DuplicateName { ref name, .. } if name == "same.txt"));
}

#[test]
fn default_corpus_missing_says_run_setup() {
    let cache = tempfile::tempdir().expect("temp dir");
    let err = load_corpus(&CorpusSource::Default, cache.path()).expect_err("no corpus");
    assert!(err.to_string().contains("cargo xtask setup"), "{err}");
}

#[test]
fn too_few_documents_and_bad_fractions() {
    let cache = tempfile::tempdir().expect("temp dir");
    let docs = load_corpus(&paths(&[fixture_dir().join("notes")]), cache.path()).expect("load");
    assert_eq!(docs.len(), 2);
    let err = split_documents(&docs, 0, SplitFractions::default()).expect_err("two docs");
    assert!(err.to_string().contains("has 2 document(s) but the split needs at least 3"));

    let all = load_corpus(&paths(&[fixture_dir()]), cache.path()).expect("load");
    let bad = SplitFractions { pretrain: 0.5, adapt: 0.5, validation: 0.5 };
    let err = split_documents(&all, 0, bad).expect_err("sum 1.5");
    assert!(err.to_string().contains("sum to 1"), "{err}");
    let zero = SplitFractions { pretrain: 0.8, adapt: 0.2, validation: 0.0 };
    assert!(matches!(split_documents(&all, 0, zero), Err(CorpusError::BadFractions { .. })));
}

#[test]
fn vocab_too_small_and_not_reachable() {
    let cache = tempfile::tempdir().expect("temp dir");
    let docs = load_corpus(&paths(&[fixture_dir()]), cache.path()).expect("load");
    let refs: Vec<_> = docs.iter().collect();
    let err = train_or_load_tokenizer(&refs, 256, cache.path()).expect_err("too small");
    assert!(err.to_string().contains("use at least 257"), "{err}");

    // A few KB of text cannot hold 20,000 distinct merges.
    let config =
        DataConfig { corpus: paths(&[fixture_dir()]), vocab_size: 20_000, ..DataConfig::paper() };
    let err = prepare(&config, cache.path()).expect_err("not reachable");
    match err {
        CorpusError::VocabNotReached { requested: 20_000, reached } => {
            assert!(reached > 257 && reached < 20_000, "{reached}");
        }
        other => panic!("expected VocabNotReached, got {other:?}"),
    }
    // Nothing was cached for the failed size.
    assert!(
        !cache.path().join("tokenizers").exists()
            || fs::read_dir(cache.path().join("tokenizers")).expect("list").count() == 0
    );
}
