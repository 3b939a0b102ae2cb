//! Loading, splitting, tokenizing and batching the fixture corpus.

use corpus::{
    BatchSpec, CorpusSource, DataConfig, END_OF_TEXT, Split, SplitFractions, load_corpus, prepare,
    split_documents, train_or_load_tokenizer, training_batch,
};

use crate::fixture_dir;

/// A vocabulary the fixture's pretrain split can reach: 257 base tokens + 43 merges.
const FIXTURE_VOCAB: usize = 300;

fn fixture_config() -> DataConfig {
    DataConfig {
        corpus: CorpusSource::Paths(vec![fixture_dir()]),
        vocab_size: FIXTURE_VOCAB,
        ..DataConfig::paper()
    }
}

#[test]
fn loads_sorted_names_and_cleans_only_markdown() {
    let cache = tempfile::tempdir().expect("temp dir");
    let docs = load_corpus(&CorpusSource::Paths(vec![fixture_dir()]), cache.path()).expect("load");
    let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ferry.txt",
            "letter.md",
            "lighthouse.md",
            "notes/recipe.md",
            "notes/weather.txt",
            "orchard.md"
        ]
    );
    let lighthouse = &docs[2].text;
    assert!(lighthouse.starts_with("The Lighthouse Keeper\n\nScene One\n\nA narrow room"));
    assert!(lighthouse.contains("\nMARA\nThe lamp is trimmed"), "{lighthouse}");
    assert!(lighthouse.contains("[Aside] Three and a long"), "{lighthouse}");
    let recipe = &docs[3].text;
    assert!(recipe.contains("1. Soak two cups") && recipe.contains("it will be gummy."));
    assert!(recipe.contains("See the baking notes for variations"), "{recipe}");
    // `.txt` files are taken verbatim.
    let ferry = std::fs::read_to_string(fixture_dir().join("ferry.txt")).expect("read");
    assert_eq!(docs[0].text, ferry);
}

#[test]
fn a_list_of_paths_prefixes_folders_and_names_files() {
    let cache = tempfile::tempdir().expect("temp dir");
    let source =
        CorpusSource::Paths(vec![fixture_dir().join("notes"), fixture_dir().join("ferry.txt")]);
    let docs = load_corpus(&source, cache.path()).expect("load");
    let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["notes/recipe.md", "notes/weather.txt", "ferry.txt"]);
}

#[test]
fn split_is_disjoint_covering_and_seeded() {
    let cache = tempfile::tempdir().expect("temp dir");
    let docs = load_corpus(&CorpusSource::Paths(vec![fixture_dir()]), cache.path()).expect("load");
    let record = split_documents(&docs, 1, SplitFractions::default()).expect("split");
    // Six documents: validation max(1, round(0.6)) = 1, adapt max(1, round(1.2)) = 1, pretrain 4.
    assert_eq!((record.pretrain.len(), record.adapt.len(), record.validation.len()), (4, 1, 1));
    let mut all: Vec<String> =
        Split::ALL.iter().flat_map(|&s| record.documents(s).to_vec()).collect();
    all.sort();
    let mut names: Vec<String> = docs.iter().map(|d| d.name.clone()).collect();
    names.sort();
    assert_eq!(all, names, "every document in exactly one split");
    assert_eq!(record, split_documents(&docs, 1, SplitFractions::default()).expect("again"));
    let other = split_documents(&docs, 2, SplitFractions::default()).expect("seed 2");
    assert_ne!(record, other, "another seed deals the documents differently");
    // Reversing the input order changes nothing: the split depends on names only.
    let reversed: Vec<_> = docs.iter().rev().cloned().collect();
    assert_eq!(record, split_documents(&reversed, 1, SplitFractions::default()).expect("rev"));
}

#[test]
fn tokenizer_has_exact_vocab_round_trips_and_is_cached() {
    let cache = tempfile::tempdir().expect("temp dir");
    let docs = load_corpus(&CorpusSource::Paths(vec![fixture_dir()]), cache.path()).expect("load");
    let refs: Vec<_> = docs.iter().collect();
    let first = train_or_load_tokenizer(&refs, FIXTURE_VOCAB, cache.path()).expect("train");
    assert!(!first.cache_hit);
    assert_eq!(first.vocab_size(), FIXTURE_VOCAB);
    assert_eq!(first.tokenizer.token_to_id(END_OF_TEXT), Some(first.end_of_text));
    for doc in &docs {
        let ids = first.encode(&doc.text).expect("encode");
        assert_eq!(first.decode(&ids).expect("decode"), doc.text, "{}", doc.name);
    }
    // Text the tokenizer never saw, with multi-byte characters, still round-trips exactly.
    let unseen = "Ünïcödé — ✓ 漢字 \t tabs  and   spaces\n\n";
    assert_eq!(first.decode(&first.encode(unseen).expect("enc")).expect("dec"), unseen);

    let bytes = std::fs::read(&first.path).expect("read tokenizer.json");
    let second = train_or_load_tokenizer(&refs, FIXTURE_VOCAB, cache.path()).expect("load");
    assert!(second.cache_hit, "the second call loads the cached file");
    assert_eq!(second.path, first.path);
    assert_eq!(std::fs::read(&second.path).expect("read"), bytes, "not rewritten");

    // Training is deterministic: a fresh cache gives the same file byte for byte.
    let fresh = tempfile::tempdir().expect("temp dir");
    let third = train_or_load_tokenizer(&refs, FIXTURE_VOCAB, fresh.path()).expect("train");
    assert!(!third.cache_hit);
    assert_eq!(std::fs::read(&third.path).expect("read"), bytes);

    // Another size is another cache entry.
    let other = train_or_load_tokenizer(&refs, FIXTURE_VOCAB + 1, cache.path()).expect("train");
    assert!(!other.cache_hit);
    assert_eq!(other.vocab_size(), FIXTURE_VOCAB + 1);
    assert_ne!(other.hash, first.hash);
}

#[test]
fn prepare_streams_decode_to_the_split_documents_and_are_cached() {
    let cache = tempfile::tempdir().expect("temp dir");
    let config = fixture_config();
    let data = prepare(&config, cache.path()).expect("prepare");
    assert!(!data.tokenizer.cache_hit && !data.streams_cache_hit);
    assert_eq!(data.vocab_size(), FIXTURE_VOCAB);
    let docs = load_corpus(&config.corpus, cache.path()).expect("load");
    for split in Split::ALL {
        let stream = data.stream(split);
        assert!(stream.path().extension().is_some_and(|e| e == "u16"));
        let want: String = data
            .split
            .documents(split)
            .iter()
            .map(|n| {
                let doc = docs.iter().find(|d| &d.name == n).expect("doc");
                format!("{}{END_OF_TEXT}", doc.text)
            })
            .collect();
        assert_eq!(data.tokenizer.decode(&stream.to_vec()).expect("decode"), want, "{split}");
    }
    let recorded: corpus::SplitRecord =
        serde_json::from_slice(&std::fs::read(&data.split_path).expect("read split.json"))
            .expect("parse split.json");
    assert_eq!(recorded, data.split);

    let again = prepare(&config, cache.path()).expect("prepare again");
    assert!(again.tokenizer.cache_hit && again.streams_cache_hit);
    assert_eq!(again.counts(), data.counts());
    assert_eq!(again.pretrain.to_vec(), data.pretrain.to_vec());
}

#[test]
fn batches_from_prepared_data_are_seeded() {
    let cache = tempfile::tempdir().expect("temp dir");
    let data = prepare(&fixture_config(), cache.path()).expect("prepare");
    let spec = BatchSpec { rows: 3, context: 8 };
    let a = training_batch(&data.adapt, spec, 11, 0).expect("batch");
    assert_eq!(a, training_batch(&data.adapt, spec, 11, 0).expect("batch"));
    assert_ne!(a, training_batch(&data.adapt, spec, 12, 0).expect("batch"));
    assert_eq!(a.ids.len(), 3 * 9);
    assert!(a.ids.iter().all(|&id| (0..FIXTURE_VOCAB as i64).contains(&id)));
}
